/* The Kubernetes client object: its server, credentials (a token re-read from its file every
 * minute and after a 401), TLS server name, and the knobs tests turn. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "k8sha/errors.h"
#include "kube/client_priv.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define TOKEN_RELOAD_MS 60000u
#define TOKEN_FILE_MAX (64u * 1024u)

k8sha__rt *k8sha__kube_rt(k8sha__kube *k) {
  return k->rt;
}

void k8sha__kube_set_default_timeout(k8sha__kube *k, uint64_t ms) {
  k->default_timeout_ms = ms ? ms : DEFAULT_TIMEOUT_MS;
}

void k8sha__kube_set_informer_backoff(k8sha__kube *k, uint64_t ms) {
  k->informer_backoff_ms = ms;
}

uint64_t k8sha__kube_informer_backoff(const k8sha__kube *k) {
  return k->informer_backoff_ms;
}

uint64_t k8sha__kube_random(k8sha__kube *k, uint64_t n) {
  /* xorshift64*: jitter only needs to be spread out, not unpredictable. */
  k->rng ^= k->rng >> 12;
  k->rng ^= k->rng << 25;
  k->rng ^= k->rng >> 27;
  return n ? (k->rng * UINT64_C(2685821657736338717)) % n : 0;
}

/* ---- the token ---- */

void k8sha__kube_reload_token(k8sha__kube *k) {
  k8sha__rt *rt = k->rt;
  const k8sha__kube_access *acc = k->access;
  char *text = NULL;
  size_t len = 0;
  int rc;

  if (!acc->token_file)
    return;
  rc = k8sha__read_file(&rt->alloc, acc->token_file, TOKEN_FILE_MAX, &text, &len);
  if (rc) {
    /* Keep the old token: a rotation in progress may briefly remove the file. */
    k8sha__log(rt, K8SHA_LOG_WARN, "kube", "cannot re-read the token file %s: %s",
               acc->token_file, rc == K8SHA_EIO ? strerror(errno) : k8sha_strerror(rc));
    return;
  }
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
    text[--len] = '\0';
  if (len == 0) {
    /* A rotation that truncates the file before writing the new token: keep the old one. */
    k8sha__log(rt, K8SHA_LOG_WARN, "kube", "the token file %s is empty; the token in use is kept",
               acc->token_file);
    k8sha__free(&rt->alloc, text);
    return;
  }
  rt->stats.token_reloads++;
  if (k->token) {
    memset(k->token, 0, strlen(k->token));
    k8sha__free(&rt->alloc, k->token);
  }
  k->token = text;
}

static void on_token_timer(void *user_data) {
  k8sha__kube *k = user_data;
  k8sha__kube_reload_token(k);
  k8sha__timer_start(k->token_timer, TOKEN_RELOAD_MS);
}

/* ---- the client ---- */

/* With tls-server-name, requests name that host (so SNI and certificate verification use it)
 * while CURLOPT_CONNECT_TO sends them to the server's real address. */
static int apply_tls_server_name(k8sha__kube *k, const char *server, const char *name) {
  const k8sha_allocator *a = &k->rt->alloc;
  const char *hostp = strstr(server, "://"), *end, *port = "443";
  char host[256], portbuf[16], *rule;
  size_t hlen;

  if (!hostp)
    return K8SHA_ECONFIG;
  hostp += 3;
  end = hostp[0] == '[' ? strchr(hostp, ']') : hostp + strcspn(hostp, ":/");
  if (!end)
    return K8SHA_ECONFIG;
  if (hostp[0] == '[')
    end++;
  hlen = (size_t)(end - hostp);
  if (hlen == 0 || hlen >= sizeof(host))
    return K8SHA_ECONFIG;
  memcpy(host, hostp, hlen);
  host[hlen] = '\0';
  if (*end == ':') {
    size_t plen = strcspn(end + 1, "/");
    if (plen == 0 || plen >= sizeof(portbuf))
      return K8SHA_ECONFIG;
    memcpy(portbuf, end + 1, plen);
    portbuf[plen] = '\0';
    port = portbuf;
  }
  k8sha__free(a, k->server);
  k->server = k8sha__asprintf(a, "https://%s:%s", name, port);
  rule = k8sha__asprintf(a, "%s:%s:%s:%s", name, port, host, port);
  if (!k->server || !rule) {
    k8sha__free(a, rule);
    return K8SHA_ENOMEM;
  }
  k->connect_to = curl_slist_append(NULL, rule);
  k8sha__free(a, rule);
  return k->connect_to ? 0 : K8SHA_ENOMEM;
}

/* curl_global_init is not thread-safe before 7.84, and contexts may be made on several threads
 * at once: libk8sha calls it once, on first use, under uv_once. */
static uv_once_t curl_once = UV_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void) {
  curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}


void k8sha__kube_set_max_in_flight(k8sha__kube *k, unsigned int n) {
  k->max_in_flight = n ? n : 1;
}

int k8sha__kube_new(k8sha__rt *rt, const k8sha__kube_access *acc, k8sha__kube **out) {
  k8sha__kube *k;

  uv_once(&curl_once, curl_init);
  if (curl_init_result != CURLE_OK)
    return K8SHA_ESYSTEM;
  k = k8sha__calloc(&rt->alloc, 1, sizeof(*k));
  if (!k)
    return K8SHA_ENOMEM;
  k->rt = rt;
  k->access = acc;
  k->default_timeout_ms = DEFAULT_TIMEOUT_MS;
  k->max_in_flight = K8SHA__MAX_IN_FLIGHT;
  k->rng = uv_hrtime() | 1;
  k->server = k8sha__strdup(&rt->alloc, acc->server);
  k->multi = curl_multi_init();
  k->pump_timer = k8sha__timer_new(rt, k8sha__kube_on_pump, k);
  if (!k->server || !k->multi || !k->pump_timer || k8sha__kube_glue_init(k) != 0)
    goto fail;
  if (acc->tls_server_name &&
      apply_tls_server_name(k, acc->server, acc->tls_server_name) != 0)
    goto fail;
  if (acc->token) {
    k->token = k8sha__strdup(&rt->alloc, acc->token);
    if (!k->token)
      goto fail;
  }
  if (acc->token_file) {
    k8sha__kube_reload_token(k);
    k->token_timer = k8sha__timer_new(rt, on_token_timer, k);
    if (!k->token_timer)
      goto fail;
    k8sha__timer_start(k->token_timer, TOKEN_RELOAD_MS);
  }
  *out = k;
  return 0;
fail:
  k8sha__kube_free(k);
  return K8SHA_ENOMEM;
}
