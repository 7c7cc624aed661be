/* Error codes, version, base64 and Kubernetes naming rules. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "core/base64.h"
#include "core/mailbox.h"
#include "core/versioned.h"
#include "k8sha/cleanup.h"
#include "core/k8s_names.h"
#include "testutil.h"

static const int all_codes[] = {
    K8SHA_EINVAL,        K8SHA_ENOMEM,    K8SHA_ECONFIG,     K8SHA_EIO,
    K8SHA_EAPI,          K8SHA_ENOTFOUND, K8SHA_EEXISTS,     K8SHA_ECONFLICT,
    K8SHA_ENOTLEADER,    K8SHA_ETOOLARGE, K8SHA_EUNAUTHORIZED, K8SHA_EFORBIDDEN,
    K8SHA_ETIMEDOUT,     K8SHA_ECANCELED, K8SHA_ESTORAGE,    K8SHA_ECORRUPT,
    K8SHA_EUNKNOWN_OUTCOME, K8SHA_EINVALID_OBJECT, K8SHA_EEXPIRED, K8SHA_ETOOMANYREQUESTS,
    K8SHA_EUNAVAILABLE,  K8SHA_ETLS,      K8SHA_ENOTSUP,     K8SHA_EBUSY,
    K8SHA_ECLOSED,       K8SHA_ETHREAD,   K8SHA_EBADRESPONSE, K8SHA_ESYSTEM};

START_TEST(every_error_has_its_own_name_and_text) {
  size_t n = sizeof(all_codes) / sizeof(all_codes[0]), i, j;
  for (i = 0; i < n; i++) {
    ck_assert_int_lt(all_codes[i], 0);
    ck_assert_str_ne(k8sha_strerror(all_codes[i]), "unknown error");
    ck_assert_str_ne(k8sha_err_name(all_codes[i]), "unknown");
    ck_assert_int_eq(strncmp(k8sha_err_name(all_codes[i]), "K8SHA_E", 7), 0);
    for (j = 0; j < i; j++) {
      ck_assert_int_ne(all_codes[i], all_codes[j]);
      ck_assert_str_ne(k8sha_strerror(all_codes[i]), k8sha_strerror(all_codes[j]));
      ck_assert_str_ne(k8sha_err_name(all_codes[i]), k8sha_err_name(all_codes[j]));
    }
  }
  ck_assert_str_eq(k8sha_err_name(K8SHA_ENOTLEADER), "K8SHA_ENOTLEADER");
  ck_assert_str_eq(k8sha_err_name(K8SHA_EUNKNOWN_OUTCOME), "K8SHA_EUNKNOWN_OUTCOME");
  ck_assert_str_eq(k8sha_strerror(0), "success");
  ck_assert_str_eq(k8sha_err_name(0), "K8SHA_OK");
  ck_assert_str_eq(k8sha_strerror(-9999), "unknown error");
  ck_assert_str_eq(k8sha_strerror(7), "unknown error");
  ck_assert_str_eq(k8sha_err_name(-9999), "unknown");
}
END_TEST

/* Cleanup's kinds are an enum with names for printing. */
START_TEST(found_kinds_have_names) {
  static const char *const names[] = {"configmap", "entry", "blob", "unreadable", "orphan-blob",
                                      "orphan-configmap"};
  int k;
  for (k = K8SHA_FOUND_CONFIGMAP; k <= K8SHA_FOUND_ORPHAN_CONFIGMAP; k++)
    ck_assert_str_eq(k8sha_found_kind_name((k8sha_found_kind)k), names[k]);
  ck_assert_str_eq(k8sha_found_kind_name((k8sha_found_kind)99), "unknown");
}
END_TEST

START_TEST(version_matches_the_header) {
  ck_assert_uint_eq(k8sha_version(), K8SHA_VERSION_NUMBER);
  ck_assert_str_eq(k8sha_version_string(), K8SHA_VERSION_STRING);
  ck_assert_uint_eq(K8SHA_VERSION_NUMBER >> 16, K8SHA_VERSION_MAJOR);
}
END_TEST

static void roundtrip(const char *plain, const char *encoded) {
  const k8sha_allocator *a = k8sha__default_allocator();
  char *enc = NULL;
  unsigned char *dec = NULL;
  size_t len = 0;
  ck_assert_int_eq(k8sha__base64_encode(a, (const unsigned char *)plain, strlen(plain), &enc), 0);
  ck_assert_str_eq(enc, encoded);
  ck_assert_int_eq(k8sha__base64_decode(a, enc, strlen(enc), &dec, &len), 0);
  ck_assert_uint_eq(len, strlen(plain));
  ck_assert_mem_eq(dec, plain, len);
  k8sha__free(a, enc);
  k8sha__free(a, dec);
}

/* The mechanism every versioned struct goes through, on a struct that has grown once: a caller
 * built against version 1 has fields up to `b`, one built against version 2 also `c`. */
typedef struct grown {
  unsigned int version;
  int a;
  const char *b;
  long c; /* since version 2 */
} grown;

static const size_t grown_sizes[] = {0, offsetof(grown, c), sizeof(grown)};

START_TEST(older_struct_versions_are_read_and_written_only_as_far_as_they_go) {
  grown defaults = {2, 1, "default b", 7}, in, out;
  unsigned char buf[sizeof(grown) + 8];
  grown *v1 = (grown *)buf;

  ck_assert_uint_eq(K8SHA__VERSIONS(grown_sizes), 2);
  ck_assert(!K8SHA__VERSION_OK(0u, grown_sizes));
  ck_assert(K8SHA__VERSION_OK(1u, grown_sizes));
  ck_assert(K8SHA__VERSION_OK(2u, grown_sizes));
  ck_assert(!K8SHA__VERSION_OK(3u, grown_sizes)); /* newer than the library: refused */

  /* options from a version-1 caller: its fields, the default for the newer one */
  in.version = 1;
  in.a = 5;
  in.b = "given b";
  in.c = 99; /* (not the caller's: a v1 caller's struct ends before c) */
  out = defaults;
  k8sha__versioned_copy(&out, &in, in.version, grown_sizes);
  ck_assert_int_eq(out.a, 5);
  ck_assert_str_eq(out.b, "given b");
  ck_assert_int_eq(out.c, 7);
  /* a result into a version-1 caller's buffer: not one byte past its struct */
  memset(buf, 0xAB, sizeof(buf));
  k8sha__versioned_copy(v1, &defaults, 1, grown_sizes);
  ck_assert_int_eq(v1->a, 1);
  ck_assert_uint_eq(buf[offsetof(grown, c)], 0xAB);
  ck_assert_uint_eq(buf[sizeof(buf) - 1], 0xAB);
  /* a version-2 caller gets everything */
  in.version = 2;
  out = defaults;
  k8sha__versioned_copy(&out, &in, in.version, grown_sizes);
  ck_assert_int_eq(out.c, 99);
}
END_TEST

/* The public structs: version 0 and versions newer than the library's are refused. */
START_TEST(public_struct_versions_outside_the_library_range_are_refused) {
  k8sha_ctx_options o;
  ck_assert_int_eq(k8sha_ctx_options_init(&o, 0), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION + 1), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION), 0);
  ck_assert_uint_eq(o.version, K8SHA_CTX_OPTIONS_VERSION);
}
END_TEST

/* The one backoff: the step doubles from the first to the cap, the pause lies between half the
 * step and the step, and a huge attempt number neither overflows nor passes the cap. */
START_TEST(backoff_doubles_to_its_cap_with_jitter) {
  static const uint64_t randoms[] = {0, 1, 7, 12345, UINT64_MAX / 3, UINT64_MAX};
  unsigned int attempt;
  size_t i;
  uint64_t step = 100;
  for (attempt = 1; attempt < 40; attempt++) {
    for (i = 0; i < sizeof(randoms) / sizeof(randoms[0]); i++) {
      uint64_t d = k8sha__backoff_ms(attempt, 100, 5000, randoms[i]);
      ck_assert_uint_ge(d, step / 2);
      ck_assert_uint_le(d, step);
    }
    step = step * 2 > 5000 ? 5000 : step * 2;
  }
  ck_assert_uint_eq(k8sha__backoff_ms(1, 100, 5000, 0), 50);
  ck_assert_uint_eq(k8sha__backoff_ms(1, 100, 5000, 50), 100);
  ck_assert_uint_eq(k8sha__backoff_ms(3, 100, 5000, 0), 200);
  ck_assert_uint_eq(k8sha__backoff_ms(4000000000u, 100, 5000, 2500), 5000);
  ck_assert_uint_eq(k8sha__backoff_ms(0, 800, 30000, 0), 400); /* (0 counts as the first) */
}
END_TEST

/* The mailbox: letters from several threads arrive, each thread's in its order; after the
 * close nothing is accepted. */
#define MB_THREADS 4
#define MB_EACH 2000
typedef struct mb_letter {
  k8sha__letter l; /* first */
  int thread, seq;
} mb_letter;
typedef struct mb_state {
  k8sha__mailbox box;
  mb_letter letters[MB_THREADS][MB_EACH];
  int next[MB_THREADS]; /* the next sequence number expected from each thread */
  int received, out_of_order, closed_cb;
} mb_state;
typedef struct mb_sender {
  mb_state *st;
  int thread;
} mb_sender;

static void mb_send(void *arg) {
  mb_sender *s = arg;
  int i;
  for (i = 0; i < MB_EACH; i++) {
    mb_letter *m = &s->st->letters[s->thread][i];
    m->thread = s->thread;
    m->seq = i;
    ck_assert_int_eq(k8sha__mailbox_post(&s->st->box, &m->l), 0);
  }
}

static void mb_on_mail(uv_async_t *h) {
  mb_state *st = h->data;
  k8sha__letter *l = k8sha__mailbox_take(&st->box);
  for (; l; l = l->next) {
    mb_letter *m = (mb_letter *)l;
    if (m->seq != st->next[m->thread])
      st->out_of_order++;
    st->next[m->thread] = m->seq + 1;
    st->received++;
  }
  if (st->received == MB_THREADS * MB_EACH)
    uv_stop(h->loop);
}

static void mb_closed(uv_handle_t *h) {
  mb_state *st = h->data;
  st->closed_cb = 1;
}

START_TEST(mailbox_delivers_every_letter_in_each_senders_order) {
  static mb_state st; /* (large: not on the stack) */
  mb_sender senders[MB_THREADS];
  uv_thread_t threads[MB_THREADS];
  mb_letter late;
  uv_loop_t loop;
  int i;

  memset(&st, 0, sizeof(st));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(k8sha__mailbox_init(&st.box, &loop, mb_on_mail, &st), 0);
  for (i = 0; i < MB_THREADS; i++) {
    senders[i].st = &st;
    senders[i].thread = i;
    ck_assert_int_eq(uv_thread_create(&threads[i], mb_send, &senders[i]), 0);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* (until the last letter arrives) */
  for (i = 0; i < MB_THREADS; i++)
    uv_thread_join(&threads[i]);
  ck_assert_int_eq(st.received, MB_THREADS * MB_EACH);
  ck_assert_int_eq(st.out_of_order, 0);
  for (i = 0; i < MB_THREADS; i++)
    ck_assert_int_eq(st.next[i], MB_EACH);

  k8sha__mailbox_close(&st.box, mb_closed);
  ck_assert_int_eq(k8sha__mailbox_post(&st.box, &late.l), K8SHA_ECLOSED);
  k8sha__mailbox_wake(&st.box); /* (a no-op once closed) */
  ck_assert_ptr_null(k8sha__mailbox_take(&st.box));
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(st.closed_cb, 1);
  k8sha__mailbox_destroy(&st.box);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(base64_rfc4648_vectors) {
  const k8sha_allocator *a = k8sha__default_allocator();
  unsigned char *dec = (unsigned char *)"untouched";
  size_t len = 0;
  roundtrip("", "");
  roundtrip("f", "Zg==");
  roundtrip("fo", "Zm8=");
  roundtrip("foo", "Zm9v");
  roundtrip("foob", "Zm9vYg==");
  roundtrip("fooba", "Zm9vYmE=");
  roundtrip("foobar", "Zm9vYmFy");
  /* Line breaks inside (as in PEM-ish data) are skipped. */
  ck_assert_int_eq(k8sha__base64_decode(a, "Zm9v\nYmFy\n", 10, &dec, &len), 0);
  ck_assert_mem_eq(dec, "foobar", 6);
  k8sha__free(a, dec);
  dec = NULL;
  ck_assert_int_eq(k8sha__base64_decode(a, "Zm9v!", 5, &dec, &len), K8SHA_ECORRUPT);
  ck_assert_int_eq(k8sha__base64_decode(a, "Zm9vY", 5, &dec, &len), K8SHA_ECORRUPT);
  ck_assert_int_eq(k8sha__base64_decode(a, "Zg=a", 4, &dec, &len), K8SHA_ECORRUPT);
  ck_assert_int_eq(k8sha__base64_decode(a, "Zm9v=", 5, &dec, &len), K8SHA_ECORRUPT);
  ck_assert_ptr_null(dec);
}
END_TEST

START_TEST(kubernetes_names) {
  ck_assert(k8sha__is_dns_subdomain("cluster1337-cluster-config-map"));
  ck_assert(k8sha__is_dns_subdomain("a.b-c.d"));
  ck_assert(!k8sha__is_dns_subdomain(""));
  ck_assert(!k8sha__is_dns_subdomain("A"));
  ck_assert(!k8sha__is_dns_subdomain("a_b"));
  ck_assert(!k8sha__is_dns_subdomain("-a"));
  ck_assert(!k8sha__is_dns_subdomain("a-"));
  ck_assert(!k8sha__is_dns_subdomain("a..b"));
  ck_assert(!k8sha__is_dns_subdomain("a.-b"));
  ck_assert(k8sha__is_dns_label("flink"));
  ck_assert(!k8sha__is_dns_label("a.b"));
  ck_assert(k8sha__is_configmap_key("checkpointID-0000000000000000001"));
  ck_assert(k8sha__is_configmap_key("org.apache.flink.k8s.leader.restserver"));
  ck_assert(!k8sha__is_configmap_key("a/b"));
  ck_assert(!k8sha__is_configmap_key(".."));
  {
    char long_name[300];
    memset(long_name, 'a', 253);
    long_name[253] = '\0';
    ck_assert(k8sha__is_dns_subdomain(long_name));
    long_name[253] = 'a';
    long_name[254] = '\0';
    ck_assert(!k8sha__is_dns_subdomain(long_name));
    memset(long_name, 'a', 64);
    long_name[63] = '\0';
    ck_assert(k8sha__is_dns_label(long_name));
    long_name[63] = 'a';
    long_name[64] = '\0';
    ck_assert(!k8sha__is_dns_label(long_name));
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, every_error_has_its_own_name_and_text);
  tcase_add_test(tc, backoff_doubles_to_its_cap_with_jitter);
  tcase_add_test(tc, found_kinds_have_names);
  tcase_add_test(tc, version_matches_the_header);
  tcase_add_test(tc, older_struct_versions_are_read_and_written_only_as_far_as_they_go);
  tcase_add_test(tc, public_struct_versions_outside_the_library_range_are_refused);
  tcase_add_test(tc, mailbox_delivers_every_letter_in_each_senders_order);
  tcase_add_test(tc, base64_rfc4648_vectors);
  tcase_add_test(tc, kubernetes_names);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
