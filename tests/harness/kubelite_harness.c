/* Test harness around the k8sha-kube-lite binary; see kubelite_harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kubelite_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#ifndef KUBELITE_BIN
#error "KUBELITE_BIN must name the k8sha-kube-lite binary"
#endif

#define READY_LINE "kube-lite listening on "
#define DEFAULT_READY_MS 30000
#define ADMIN_TOKEN "kube-lite-harness-admin"
#define ARGS_MAX 64

struct kubelite {
  pid_t pid;
  int out_fd; /* server stdout, read for "listening" lines */
  char pending[4096];
  size_t npending;
  int ready_ms;
  int port;
  bool tls, auth, persist;
  char dir[256];
  char url[128];
  char kubeconfig[300];
  char ca[300];
  char data[300];
  char tokens_path[300];
  char *extra[ARGS_MAX];
  size_t nextra;
  CURL *curl;
  bool external; /* a real API server named by the environment (tests/realkube) */
  char admin_token[128];
  char control[128]; /* external: the fault proxy's control endpoint base, or "" */
};

static void fail(const char *what);
static int simple(kubelite *k, const char *method, const char *path, const char *body,
                  const char *field);

/* ---- a real API server instead of kube-lite ---- */

bool kubelite_external_mode(void) {
  const char *kc = getenv("K8SHA_TEST_KUBECONFIG");
  return kc && *kc;
}

bool kubelite_is_external(const kubelite *k) {
  return k->external;
}

const char *kubelite_control_url(void) {
  const char *u = getenv("K8SHA_TEST_CONTROL_URL");
  return kubelite_external_mode() && u && *u ? u : NULL;
}

/* A request to the real server as its admin (the reset between tests); the body in *out when
 * `out` is not NULL (free() it). */
static long admin_request(kubelite *k, const char *method, const char *path, char **out) {
  CURL *c = curl_easy_init();
  char url[512], auth[200], *body = NULL;
  long code = -1;
  struct curl_slist *h;
  if (!c)
    return -1;
  snprintf(url, sizeof url, "%s%s", k->url, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", k->admin_token);
  h = curl_slist_append(NULL, auth);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CAINFO, k->ca);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kubelite_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, ""); /* straight to the server, whatever http_proxy says */
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300)
    fprintf(stderr, "kubelite harness: %s %s -> %ld %s\n", method, path, code, body ? body : "");
  if (out)
    *out = body;
  else
    free(body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return code;
}

/* Points `k` at the real server and empties the test namespace, so each test starts from a
 * clean slate as it does with a fresh kube-lite. */
static int start_external(kubelite *k) {
  const char *server = getenv("K8SHA_TEST_SERVER"), *ca = getenv("K8SHA_TEST_CA"),
             *token = getenv("K8SHA_TEST_ADMIN_TOKEN");
  if (!server || !ca || !token) {
    fail("K8SHA_TEST_KUBECONFIG needs K8SHA_TEST_SERVER, K8SHA_TEST_CA and "
         "K8SHA_TEST_ADMIN_TOKEN");
    return -1;
  }
  k->external = true;
  snprintf(k->url, sizeof k->url, "%s", server);
  snprintf(k->ca, sizeof k->ca, "%s", ca);
  snprintf(k->kubeconfig, sizeof k->kubeconfig, "%s", getenv("K8SHA_TEST_KUBECONFIG"));
  snprintf(k->admin_token, sizeof k->admin_token, "%s", token);
  snprintf(k->control, sizeof k->control, "%s",
           kubelite_control_url() ? kubelite_control_url() : "");
  if (strrchr(server, ':'))
    k->port = atoi(strrchr(server, ':') + 1);
  if (admin_request(k, "DELETE", "/api/v1/namespaces/flink/configmaps", NULL) != 200 ||
      admin_request(k, "DELETE", "/apis/coordination.k8s.io/v1/namespaces/flink/leases", NULL) !=
          200)
    return -1;
  return 0;
}

static void fail(const char *what) {
  fprintf(stderr, "kubelite harness: %s\n", what);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

/* Reads server stdout until a complete "listening" line, EOF or timeout. */
static int read_ready(kubelite *k, int timeout_ms) {
  long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : k->ready_ms);
  for (;;) {
    char *nl;
    while ((nl = memchr(k->pending, '\n', k->npending))) {
      *nl = '\0';
      size_t used = (size_t)(nl - k->pending) + 1;
      bool ready = strncmp(k->pending, READY_LINE, strlen(READY_LINE)) == 0;
      if (ready)
        snprintf(k->url, sizeof k->url, "%s", k->pending + strlen(READY_LINE));
      memmove(k->pending, k->pending + used, k->npending - used);
      k->npending -= used;
      if (ready) {
        /* "URL control URL" when the control endpoint has its own port */
        char *ctl = strstr(k->url, " control ");
        if (ctl && !k->external) {
          snprintf(k->control, sizeof k->control, "%s", ctl + 9);
          *ctl = '\0';
        }
        const char *colon = strrchr(k->url, ':');
        k->port = colon ? atoi(colon + 1) : 0;
        return 0;
      }
    }
    long long left = deadline - now_ms();
    if (left <= 0) {
      fail("timed out waiting for the server to listen");
      return -1;
    }
    struct pollfd p = {.fd = k->out_fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)left);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0)
      continue;
    if (k->npending == sizeof k->pending)
      k->npending = 0; /* a line this long is not ours */
    ssize_t n = read(k->out_fd, k->pending + k->npending, sizeof k->pending - k->npending);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int status = 0;
      waitpid(k->pid, &status, 0);
      fprintf(stderr, "kubelite harness: server exited before listening (status %d)\n",
              exit_code(status));
      k->pid = 0;
      return -1;
    }
    k->npending += (size_t)n;
  }
}

static int spawn(kubelite *k, int port) {
  const char *argv[ARGS_MAX * 2 + 32];
  size_t n = 0;
  char *wrapper = NULL;
  const char *w = getenv("KUBELITE_WRAPPER");
  if (w && *w) {
    wrapper = strdup(w);
    for (char *t = strtok(wrapper, " "); t && n < ARGS_MAX; t = strtok(NULL, " "))
      argv[n++] = t;
  }
  char portbuf[16];
  snprintf(portbuf, sizeof portbuf, "%d", port);
  argv[n++] = KUBELITE_BIN;
  argv[n++] = "--port";
  argv[n++] = portbuf;
  argv[n++] = "--write-kubeconfig";
  argv[n++] = k->kubeconfig;
  if (k->tls) {
    argv[n++] = "--tls";
    argv[n++] = "--write-ca";
    argv[n++] = k->ca;
  }
  if (k->auth) {
    argv[n++] = "--token-file";
    argv[n++] = k->tokens_path;
    argv[n++] = "--admin-token";
    argv[n++] = ADMIN_TOKEN;
  }
  if (k->persist) {
    argv[n++] = "--data-dir";
    argv[n++] = k->data;
  }
  for (size_t i = 0; i < k->nextra; i++)
    argv[n++] = k->extra[i];
  argv[n] = NULL;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    free(wrapper);
    fail("pipe failed");
    return -1;
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    free(wrapper);
    close(fds[0]);
    close(fds[1]);
    fail("fork failed");
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
#ifdef __linux__
    /* A test that dies on a failed assertion never runs its teardown;
     * take the server down with it instead of leaving it running. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
#endif
    /* A test framework may have blocked signals the server relies on. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* execvp: a KUBELITE_WRAPPER such as "valgrind" is found on PATH. */
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "kubelite harness: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  free(wrapper);
  close(fds[1]);
  k->pid = pid;
  k->out_fd = fds[0];
  k->npending = 0;
  if (read_ready(k, 0) != 0) {
    if (k->pid) {
      kill(k->pid, SIGKILL);
      waitpid(k->pid, NULL, 0);
      k->pid = 0;
    }
    close(k->out_fd);
    k->out_fd = -1;
    return -1;
  }
  return 0;
}

static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  int rc = fputs(text, f) < 0 ? -1 : 0;
  return fclose(f) == 0 ? rc : -1;
}

kubelite *kubelite_start(const kubelite_options *opts) {
  static const kubelite_options defaults = {0};
  if (!opts)
    opts = &defaults;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  kubelite *k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->out_fd = -1;
  const char *env = getenv("KUBELITE_READY_TIMEOUT_MS");
  k->ready_ms = opts->ready_timeout_ms > 0 ? opts->ready_timeout_ms
                : env && atoi(env) > 0     ? atoi(env)
                                           : DEFAULT_READY_MS;
  const char *tmp = getenv("TMPDIR");
  snprintf(k->dir, sizeof k->dir, "%s/kubelite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(k->dir)) {
    fail("mkdtemp failed");
    free(k);
    return NULL;
  }
  snprintf(k->kubeconfig, sizeof k->kubeconfig, "%s/kubeconfig", k->dir);
  snprintf(k->ca, sizeof k->ca, "%s/ca.crt", k->dir);
  snprintf(k->data, sizeof k->data, "%s/data", k->dir);
  snprintf(k->tokens_path, sizeof k->tokens_path, "%s/tokens", k->dir);
  k->tls = opts->tls;
  k->auth = opts->tokens != NULL;
  k->persist = opts->persist;
  for (size_t i = 0; opts->args && opts->args[i] && k->nextra < ARGS_MAX; i++)
    k->extra[k->nextra++] = strdup(opts->args[i]);
  if (kubelite_external_mode()) {
    /* (a real server always speaks TLS and keeps its data) */
    if (opts->tokens || opts->args) {
      fail("this test needs kube-lite itself (options), not a real server");
      kubelite_free(k);
      return NULL;
    }
    if (start_external(k) != 0) {
      kubelite_free(k);
      return NULL;
    }
    return k;
  }
  if (k->auth && write_text(k->tokens_path, opts->tokens) != 0) {
    fail("cannot write the token file");
    kubelite_free(k);
    return NULL;
  }
  if (spawn(k, 0) != 0) {
    kubelite_free(k);
    return NULL;
  }
  return k;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void kubelite_free(kubelite *k) {
  if (!k)
    return;
  if (k->pid)
    kubelite_stop(k);
  if (k->curl)
    curl_easy_cleanup(k->curl);
  for (size_t i = 0; i < k->nextra; i++)
    free(k->extra[i]);
  if (k->dir[0])
    nftw(k->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(k);
}

const char *kubelite_url(const kubelite *k) {
  return k->url;
}
int kubelite_port(const kubelite *k) {
  return k->port;
}
const char *kubelite_kubeconfig(const kubelite *k) {
  return k->kubeconfig;
}
const char *kubelite_admin_token(const kubelite *k) {
  return k->external ? k->admin_token : k->auth ? ADMIN_TOKEN : NULL;
}
const char *kubelite_ca_file(const kubelite *k) {
  return k->tls || k->external ? k->ca : NULL;
}
const char *kubelite_data_dir(const kubelite *k) {
  return k->persist ? k->data : NULL;
}
const char *kubelite_dir(const kubelite *k) {
  return k->dir;
}
pid_t kubelite_pid(const kubelite *k) {
  return k->pid;
}

static int terminate(kubelite *k, int sig) {
  if (!k->pid)
    return -1;
  kill(k->pid, sig);
  int status = 0;
  pid_t r;
  do
    r = waitpid(k->pid, &status, 0);
  while (r < 0 && errno == EINTR);
  k->pid = 0;
  if (k->out_fd >= 0) {
    close(k->out_fd);
    k->out_fd = -1;
  }
  /* Connections to the old process are dead; do not reuse them. */
  if (k->curl) {
    curl_easy_cleanup(k->curl);
    k->curl = NULL;
  }
  return r < 0 ? -1 : exit_code(status);
}

/* Through the fault proxy, the server "goes away" when the proxy stops listening and drops every
 * connection, and "comes back" when it listens again: the real server keeps its data in etcd. */
int kubelite_stop(kubelite *k) {
  return k->external && k->control[0] ? simple(k, "POST", "stop", "{}", NULL)
                                      : terminate(k, SIGTERM);
}
int kubelite_kill(kubelite *k) {
  return k->external ? kubelite_stop(k) : terminate(k, SIGKILL);
}

int kubelite_restart(kubelite *k) {
  if (k->external && k->control[0])
    return simple(k, "POST", "start", "{}", NULL);
  if (k->pid)
    kubelite_stop(k);
  return spawn(k, k->port);
}

int kubelite_wait_listening(kubelite *k, int timeout_ms) {
  if (k->external && k->control[0]) /* the proxy answers once it listens again */
    return simple(k, "GET", "listening", NULL, NULL);
  if (!k->pid || k->out_fd < 0)
    return -1;
  return read_ready(k, timeout_ms);
}

/* ---- control calls ----------------------------------------------------- */

size_t kubelite_collect(char *p, size_t size, size_t n, void *ud) {
  char **buf = ud;
  size_t old = *buf ? strlen(*buf) : 0;
  char *nb = realloc(*buf, old + size * n + 1);
  if (!nb)
    return 0;
  memcpy(nb + old, p, size * n);
  nb[old + size * n] = '\0';
  *buf = nb;
  return size * n;
}

int kubelite_control(kubelite *k, const char *method, const char *path, const char *json_body,
                     char **response) {
  if (response)
    *response = NULL;
  if (k->external && !k->control[0]) {
    fprintf(stderr, "kubelite harness: %s %s needs kube-lite, not a real server\n", method, path);
    return -1;
  }
  if (!k->curl && !(k->curl = curl_easy_init()))
    return -1;
  CURL *c = k->curl;
  curl_easy_reset(c);
  char url[512];
  snprintf(url, sizeof url, "%s/kube-lite/v1/%s", k->control[0] ? k->control : k->url, path);
  char *body = NULL;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  char auth[160];
  if (k->auth) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", ADMIN_TOKEN);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kubelite_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->ready_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, ""); /* straight to the server, whatever http_proxy says */
  if (json_body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
  if (k->tls)
    curl_easy_setopt(c, CURLOPT_CAINFO, k->ca);
  CURLcode rc = curl_easy_perform(c);
  long code = -1;
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  else
    fprintf(stderr, "kubelite harness: %s %s: %s\n", method, path, curl_easy_strerror(rc));
  curl_slist_free_all(h);
  if (response)
    *response = body;
  else
    free(body);
  return (int)code;
}

static int simple(kubelite *k, const char *method, const char *path, const char *body,
                  const char *field) {
  char *resp = NULL;
  int code = kubelite_control(k, method, path, body, &resp);
  int result = code >= 200 && code < 300 ? 0 : -1;
  if (result == 0 && field) {
    json_t *j = json_loads(resp ? resp : "", 0, NULL);
    result = (int)json_integer_value(json_object_get(j, field));
    json_decref(j);
  } else if (result != 0) {
    fprintf(stderr, "kubelite harness: %s %s -> %d %s\n", method, path, code, resp ? resp : "");
  }
  free(resp);
  return result;
}

int kubelite_add_fault(kubelite *k, const char *rule_json) {
  return simple(k, "POST", "faults", rule_json, "id");
}

int kubelite_clear_faults(kubelite *k) {
  return simple(k, "DELETE", "faults", NULL, NULL);
}

int kubelite_reseed(kubelite *k, uint64_t seed) {
  char body[64];
  snprintf(body, sizeof body, "{\"seed\":%llu}", (unsigned long long)seed);
  return simple(k, "POST", "seed", body, NULL);
}

int kubelite_end_watches(kubelite *k) {
  return simple(k, "POST", "watches/close", "{}", "closed");
}
/* Against a real server: compacts etcd at its current revision with etcdctl
 * (K8SHA_TEST_ETCDCTL, K8SHA_TEST_ETCD_ENDPOINT). */
static int compact_etcd(void) {
  const char *etcdctl = getenv("K8SHA_TEST_ETCDCTL"), *ep = getenv("K8SHA_TEST_ETCD_ENDPOINT");
  char cmd[1200], out[4096];
  size_t n;
  FILE *p;
  if (!etcdctl || !ep) {
    fprintf(stderr, "kubelite harness: compaction needs K8SHA_TEST_ETCDCTL and "
                    "K8SHA_TEST_ETCD_ENDPOINT\n");
    return -1;
  }
  snprintf(cmd, sizeof cmd, "'%s' --endpoints='%s' endpoint status -w json", etcdctl, ep);
  if (!(p = popen(cmd, "r")))
    return -1;
  n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  if (pclose(p) != 0)
    return -1;
  /* (member and cluster ids pass int64: read every number as a double; revisions are small) */
  json_t *j = json_loads(out, JSON_DECODE_INT_AS_REAL, NULL);
  json_int_t rev = (json_int_t)json_number_value(json_object_get(
      json_object_get(json_object_get(json_array_get(j, 0), "Status"), "header"), "revision"));
  json_decref(j);
  if (rev <= 0)
    return -1;
  snprintf(cmd, sizeof cmd, "'%s' --endpoints='%s' compaction %lld > /dev/null", etcdctl, ep,
           (long long)rev);
  return system(cmd) == 0 ? 0 : -1;
}

int kubelite_compact(kubelite *k) {
  return k->external ? compact_etcd() : simple(k, "POST", "compact", "{}", NULL);
}
int kubelite_send_bookmarks(kubelite *k) {
  return simple(k, "POST", "bookmarks", "{}", "sent");
}

int kubelite_set_bookmark_interval(kubelite *k, double seconds) {
  char body[64];
  snprintf(body, sizeof body, "{\"intervalSeconds\":%.3f}", seconds);
  return simple(k, "POST", "bookmarks", body, NULL);
}

int kubelite_refuse_connections(kubelite *k, double seconds) {
  char body[64];
  snprintf(body, sizeof body, "{\"seconds\":%.3f}", seconds);
  int rc = simple(k, "POST", "refuse", body, NULL);
  /* The server closed this connection as part of the refusal. */
  if (k->curl) {
    curl_easy_cleanup(k->curl);
    k->curl = NULL;
  }
  return rc;
}

int kubelite_rotate_token(kubelite *k, const char *old_token, const char *new_token) {
  json_t *b = json_pack("{s:s,s:s}", "old", old_token, "new", new_token);
  char *s = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  int rc = simple(k, "POST", "tokens/rotate", s, NULL);
  free(s);
  return rc;
}

char *kubelite_stats_json(kubelite *k) {
  char *resp = NULL;
  int code = kubelite_control(k, "GET", "stats", NULL, &resp);
  if (code != 200) {
    free(resp);
    return NULL;
  }
  return resp;
}

int kubelite_reset_stats(kubelite *k) {
  return simple(k, "POST", "stats/reset", "{}", NULL);
}

/* The value of label `name` in a Prometheus sample line's label set, into buf ("" if absent). */
static void metric_label(const char *line, const char *name, char *buf, size_t size) {
  char key[64];
  const char *p, *end = strchr(line, '}');
  size_t n = 0;
  snprintf(key, sizeof key, "%s=\"", name);
  buf[0] = '\0';
  for (p = strchr(line, '{'); p && p < end; p = strchr(p, ',')) {
    p++;
    if (strncmp(p, key, strlen(key)) == 0) {
      for (p += strlen(key); *p && *p != '"' && n + 1 < size; p++)
        buf[n++] = *p;
      buf[n] = '\0';
      return;
    }
  }
}

/* A real server counts the requests it served in /metrics (apiserver_request_total, by verb,
 * resource and code); those counters stand in for kube-lite's. They are updated before the
 * response is complete, so a client that has its answer sees its request counted. The verbs
 * there are the HTTP method, or LIST and WATCH. */
static long external_count(kubelite *k, const char *verb, const char *resource, int code) {
  static const char *const verbs[][2] = {
      {"get", "GET"},    {"list", "LIST"},   {"watch", "WATCH"},   {"create", "POST"},
      {"update", "PUT"}, {"patch", "PATCH"}, {"delete", "DELETE"}, {"deletecollection", "DELETE"},
  };
  const char *want = NULL;
  char *text = NULL, *line, *next;
  long total = 0;
  size_t i;
  for (i = 0; verb && i < sizeof verbs / sizeof verbs[0]; i++)
    if (strcmp(verbs[i][0], verb) == 0)
      want = verbs[i][1];
  if (verb && !want) {
    fprintf(stderr, "kubelite harness: no counter for verb %s on a real server\n", verb);
    return -1;
  }
  if (admin_request(k, "GET", "/metrics", &text) != 200) {
    free(text);
    return -1;
  }
  for (line = text; line && *line; line = next) {
    char v[32], r[64], c[16], scope[32];
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strncmp(line, "apiserver_request_total{", 24) != 0)
      continue;
    metric_label(line, "verb", v, sizeof v);
    metric_label(line, "resource", r, sizeof r);
    metric_label(line, "code", c, sizeof c);
    metric_label(line, "scope", scope, sizeof scope);
    if (want && strcmp(v, want) != 0)
      continue;
    /* DELETE of one object has scope "resource", of a collection "namespace" */
    if (verb && strcmp(want, "DELETE") == 0 &&
        (strcmp(verb, "delete") == 0) != (strcmp(scope, "resource") == 0))
      continue;
    if ((resource && strcmp(resource, r) != 0) || (code && code != atoi(c)))
      continue;
    total += (long)strtod(strchr(line, '}') + 1, NULL);
  }
  free(text);
  return total;
}

long kubelite_count(kubelite *k, const char *verb, const char *resource, int code) {
  if (k->external && !k->control[0])
    return external_count(k, verb, resource, code);
  char *s = kubelite_stats_json(k);
  if (!s)
    return -1;
  json_t *j = json_loads(s, 0, NULL);
  free(s);
  long total = 0;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(j, "requests"), i, e) {
    const char *v = json_string_value(json_object_get(e, "verb"));
    const char *r = json_string_value(json_object_get(e, "resource"));
    int c = (int)json_integer_value(json_object_get(e, "code"));
    if ((verb && (!v || strcmp(verb, v) != 0)) || (resource && (!r || strcmp(resource, r) != 0)) ||
        (code && code != c))
      continue;
    total += (long)json_integer_value(json_object_get(e, "count"));
  }
  json_decref(j);
  return total;
}

uint64_t kubelite_resource_version(kubelite *k) {
  char *resp = NULL;
  if (kubelite_control(k, "GET", "info", NULL, &resp) != 200) {
    free(resp);
    return 0;
  }
  json_t *j = json_loads(resp, 0, NULL);
  free(resp);
  const char *s = json_string_value(json_object_get(j, "resourceVersion"));
  uint64_t rv = s ? strtoull(s, NULL, 10) : 0;
  json_decref(j);
  return rv;
}
