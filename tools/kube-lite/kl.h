/*
 * kube-lite: a small single-process Kubernetes API server for development
 * and tests.  Shared declarations for all translation units.
 *
 * The whole server runs on one libuv loop thread, so nothing below is
 * locked: every structure is touched only from loop callbacks.
 */
#ifndef KL_H
#define KL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

/* ---- protocol limits, named once --------------------------------------- */

/* corev1.MaxSecretSize; the apiserver applies it to ConfigMaps too. */
#define CONFIGMAP_MAX_BYTES 1048576
/* TotalAnnotationSizeLimitB in apimachinery. */
#define ANNOTATIONS_MAX_BYTES 262144
#define DNS1123_SUBDOMAIN_MAX 253
#define DNS1123_LABEL_MAX 63
#define LABEL_VALUE_MAX 63
#define QUALIFIED_NAME_MAX 63
/* The apiserver refuses request bodies above 3 MiB (MaxRequestBodyBytes). */
#define REQUEST_BODY_MAX_BYTES (3 * 1024 * 1024)
#define REQUEST_HEADER_MAX_BYTES 65536
#define REQUEST_PARAMS_MAX 32
/* A watcher that stops reading is dropped, as the apiserver drops slow
 * watchers, instead of letting its queue grow without bound. */
#define WATCH_MAX_QUEUED_BYTES (64u * 1024 * 1024)
#define CONNECTIONS_MAX 4096
#define DEFAULT_HISTORY 10000
/* History is also capped by (estimated) bytes of superseded objects. */
#define HISTORY_MAX_BYTES (256u * 1024 * 1024)
#define DEFAULT_BOOKMARK_MS 60000
#define DEFAULT_ADMIN_TOKEN "kube-lite-admin"
#define KL_SERVER_VERSION_MAJOR "1"
#define KL_SERVER_VERSION_MINOR "31"
#define KL_SERVER_GIT_VERSION "v1.31.0-kube-lite"

#define KL_UNUSED(x) ((void)(x))

/* ---- small utilities (util.c) ------------------------------------------ */

typedef struct kl_buf {
  char *data;
  size_t len, cap;
} kl_buf;

void kl_buf_reserve(kl_buf *b, size_t extra);
void kl_buf_append(kl_buf *b, const void *p, size_t n);
void kl_buf_puts(kl_buf *b, const char *s);
void kl_buf_printf(kl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes over to the caller (NUL-terminated) and resets b. */
char *kl_buf_steal(kl_buf *b);
void kl_buf_free(kl_buf *b);

/* Immutable bytes shared by many writers (one watch event sent to many
 * watchers is serialised once). */
typedef struct kl_shared {
  unsigned refs;
  size_t len;
  char data[];
} kl_shared;

/* Wraps payload in one HTTP/1.1 chunk ("<hex>\r\n<payload>\r\n"). */
kl_shared *kl_shared_chunk(const char *payload, size_t len);
kl_shared *kl_shared_ref(kl_shared *s);
void kl_shared_unref(kl_shared *s);

typedef struct kl_rng {
  uint64_t s[4];
} kl_rng;

void kl_rng_seed(kl_rng *r, uint64_t seed);
uint64_t kl_rng_next(kl_rng *r);
double kl_rng_unit(kl_rng *r);
void kl_random_bytes(void *p, size_t n);
void kl_uuid4(char out[37]);
void kl_time_rfc3339(char out[32], time_t t);
/* Re-emits an RFC 3339 time as metav1.MicroTime does: UTC, 6 digits. */
bool kl_time_micro_normalize(const char *in, char out[40]);
bool kl_time_parse(const char *in, time_t *out);
void kl_human_age(char out[32], time_t from, time_t now);
void kl_goquote(kl_buf *b, const char *s);
char *kl_strdup(const char *s);
void *kl_xmalloc(size_t n);
void *kl_xcalloc(size_t n, size_t m);
void *kl_xrealloc(void *p, size_t n);
bool kl_parse_u64(const char *s, uint64_t *out);
char *kl_json_dumps(const json_t *j, size_t *len);
bool kl_base64_valid(const char *s, size_t *decoded_len);
char *kl_base64_encode(const void *data, size_t len);
void kl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- resources ----------------------------------------------------------- */

typedef enum kl_res_id {
  KL_RES_CONFIGMAPS = 0,
  KL_RES_LEASES,
  KL_RES_COUNT,
  /* Not stored objects, but counted and authorised like resources. */
  KL_RES_NAMESPACES = KL_RES_COUNT,
  KL_RES_NONE,
} kl_res_id;

typedef struct kl_resdef {
  const char *plural;      /* configmaps */
  const char *kind;        /* ConfigMap */
  const char *list_kind;   /* ConfigMapList */
  const char *group;       /* "" for the core group */
  const char *api_version; /* v1, coordination.k8s.io/v1 */
  const char *qualified;   /* plural[.group], as apiserver messages say it */
  const char *short_name;
  /* Store policies copied from the apiserver's registry strategies. */
  bool create_on_update;
  bool unconditional_update;
} kl_resdef;

extern const kl_resdef kl_resources[KL_RES_COUNT];
const char *kl_res_plural(int res);

typedef enum kl_verb {
  KL_VERB_GET = 0,
  KL_VERB_LIST,
  KL_VERB_WATCH,
  KL_VERB_CREATE,
  KL_VERB_UPDATE,
  KL_VERB_PATCH,
  KL_VERB_DELETE,
  KL_VERB_DELETECOLLECTION,
  KL_VERB_COUNT,
  KL_VERB_NONRESOURCE = KL_VERB_COUNT,
} kl_verb;

extern const char *const kl_verb_names[KL_VERB_COUNT];
int kl_verb_from_name(const char *s);

/* ---- HTTP request (http_parse.c) --------------------------------------- */

typedef struct kl_param {
  char *key, *val;
} kl_param;

typedef struct kl_req {
  char *raw; /* one allocation holding every string below */
  char *method, *path;
  char *target; /* the request-target as sent (path and query, still encoded); owned */
  kl_param params[REQUEST_PARAMS_MAX];
  int nparams;
  char *authorization, *content_type, *accept;
  char *body;
  size_t body_len;
  bool keep_alive;
} kl_req;

enum { KL_PARSE_MORE = 0, KL_PARSE_OK = 1 };
/* Returns KL_PARSE_MORE, KL_PARSE_OK or an HTTP status code for a request
 * that cannot be parsed (411 for a chunked body, 505 for a version other
 * than HTTP/1.1). */
int kl_http_parse(const char *data, size_t len, kl_req **out, size_t *consumed);
const char *kl_req_param(const kl_req *r, const char *key);
/* A boolean query parameter as Go's strconv.ParseBool reads it. */
bool kl_req_param_true(const kl_req *r, const char *key);
void kl_req_free(kl_req *r);
const char *kl_http_reason(int code);

/* ---- forward declarations ------------------------------------------------ */

typedef struct kl_server kl_server;
typedef struct kl_conn kl_conn;
typedef struct kl_watch kl_watch;
typedef struct kl_store kl_store;
typedef struct kl_auth kl_auth;
typedef struct kl_token kl_token;
typedef struct kl_faults kl_faults;
typedef struct kl_tls kl_tls;
typedef struct kl_tls_session kl_tls_session;
typedef struct kl_journal kl_journal;
typedef struct kl_selector kl_selector;
typedef struct kl_proxy kl_proxy;
typedef struct kl_fwd kl_fwd;
typedef struct kl_orphan kl_orphan;

/* ---- server (http.c) ------------------------------------------------------ */

typedef struct kl_config {
  const char *host;
  int port;
  bool tls;
  const char *token_file;
  const char *admin_token;
  const char *kubeconfig_path;
  const char *ca_path;
  const char *context_namespace;
  const char *data_dir;
  size_t history;
  uint64_t bookmark_ms;
  uint64_t seed;
  bool verbose;
  int control_port;        /* < 0: the control endpoint is served on the API port only */
  const char *upstream;    /* proxy mode: the API server requests are forwarded to */
  const char *upstream_ca; /* ... and the CA its certificate is checked against */
} kl_config;

struct kl_server {
  uv_loop_t *loop;
  kl_config cfg;
  uv_tcp_t *listener; /* NULL while refusing connections */
  int port;
  uv_tcp_t *control_listener; /* with --control-port, or in proxy mode */
  int control_port;
  char control_url[64];
  kl_proxy *proxy;    /* proxy mode (--upstream): NULL when kube-lite serves its own store */
  kl_orphan *orphans; /* delayed requests whose client went away, served when due (http.c) */
  uv_timer_t reopen_timer;
  uv_timer_t bookmark_timer;
  uv_signal_t sig_term, sig_int;
  kl_conn *conns;
  size_t nconns;
  kl_store *store;
  kl_watch *watches;
  size_t nwatches;
  kl_auth *auth;
  kl_faults *faults;
  kl_tls *tls;
  kl_journal *journal;
  bool stopping;
  bool announced;
  time_t start_time;
  char url[64];
};

int kl_server_listen(kl_server *srv);
int kl_server_listen_control(kl_server *srv, int port);
/* Stops listening and drops the API connections (not the control listener's); listens again
 * after ms, or with ms < 0 only when kl_server_reopen() is called, which listens at once (or
 * keeps trying while the port is taken) and answers the calls waiting for it. */
void kl_server_refuse(kl_server *srv, kl_conn *keep, int64_t ms);
void kl_server_reopen(kl_server *srv);
/* Answers the control calls waiting for the API listener (GET listening). */
void kl_server_wake_listeners(kl_server *srv);
void kl_server_close_conns(kl_server *srv, kl_conn *keep);
void kl_server_stop(kl_server *srv);

/* ---- request context and replies (api.c, status.c) ---------------------- */

typedef struct kl_ctx {
  kl_server *srv;
  kl_conn *conn;
  kl_req *req;
  int verb;              /* kl_verb */
  int res;               /* kl_res_id */
  char *ns, *name;       /* decoded path parts, owned by the request */
  const kl_token *token; /* NULL when authentication is off */
  bool table;            /* client asked for a meta.k8s.io Table */
  bool partial;          /* ... for a meta.k8s.io PartialObjectMetadata (an object's metadata) */
  bool control;          /* kube-lite's own endpoint: not counted */
  int endpoint;          /* enum kl_endpoint in api.c */
  const char *sub;       /* path below /kube-lite/v1/ for control calls */
  int fault_code;        /* injected failure decided on arrival, or 0 */
  unsigned fault_retry_after;
  char *fault_retry_header; /* Retry-After value sent as given, or NULL; owned */
  bool fault_drop;          /* close the connection instead of answering */
  bool fault_after;         /* ... after serving the request (its answer is discarded) */
} kl_ctx;

void kl_dispatch(kl_conn *c, kl_req *req);
/* Moves what ctx owns (the request, decoded names, fault header) into a new context, for a
 * request answered later; ctx is left owning nothing. */
kl_ctx *kl_ctx_take(kl_ctx *ctx);
void kl_ctx_free(kl_ctx *ctx);
void kl_execute(kl_ctx *ctx);
void kl_reply_raw(kl_ctx *ctx, int code, const char *ctype, char *body, size_t len,
                  const char *extra_headers);
void kl_reply_json(kl_ctx *ctx, int code, json_t *body);
void kl_reply_status(kl_ctx *ctx, int code, const char *reason, const char *message,
                     json_t *details);
void kl_reply_not_found(kl_ctx *ctx, int res, const char *name);
void kl_reply_conflict(kl_ctx *ctx, int res, const char *name, const char *why);
void kl_reply_already_exists(kl_ctx *ctx, int res, const char *name);
void kl_reply_bad_request(kl_ctx *ctx, const char *message);
void kl_reply_invalid(kl_ctx *ctx, const char *kind, const char *group, const char *name,
                      json_t *causes);
void kl_reply_forbidden(kl_ctx *ctx);
json_t *kl_status_new(int code, const char *reason, const char *message, json_t *details);
json_t *kl_details(int res, const char *name);
void kl_count(kl_server *srv, int verb, int res, int code);

/* ---- connections (http.c) ------------------------------------------------- */

void kl_conn_send(kl_conn *c, const char *data, size_t len);
void kl_conn_send_owned(kl_conn *c, char *head, size_t head_len, char *body, size_t body_len);
void kl_conn_send_shared(kl_conn *c, kl_shared *s);
void kl_conn_response_done(kl_conn *c, bool keep_alive);
void kl_conn_stream_begin(kl_conn *c, kl_watch *w);
void kl_conn_stream_end(kl_conn *c, bool abort);
void kl_conn_delay(kl_conn *c, kl_ctx *ctx, uint64_t ms);
/* Keeps ctx on the connection until kl_server_wake_listeners() answers it. */
void kl_conn_park(kl_conn *c, kl_ctx *ctx);
/* Parses what the client pipelined, on the next loop turn. */
void kl_conn_resume(kl_conn *c);
/* The response is a stream (a client hanging up ends it at once). */
void kl_conn_stream_open(kl_conn *c);
void kl_conn_attach_forward(kl_conn *c, kl_fwd *f);
bool kl_conn_control_only(const kl_conn *c);
size_t kl_conn_queued(const kl_conn *c);
void kl_conn_close(kl_conn *c);
kl_server *kl_conn_server(const kl_conn *c);

/* ---- store (store.c) --------------------------------------------------- */

typedef struct kl_obj {
  struct kl_obj *next;
  int res;
  char *ns, *name;
  uint64_t rv;
  json_t *json; /* never mutated once stored: events share it */
} kl_obj;

enum { KL_EV_ADDED, KL_EV_MODIFIED, KL_EV_DELETED };

typedef struct kl_event {
  uint64_t rv;
  int type;
  int res;
  json_t *obj;  /* state after the change; for DELETED the last state */
  json_t *prev; /* state before an update, else NULL */
  /* Lazily serialised chunk-framed lines, indexed by kl_line_kind. */
  kl_shared *lines[4];
} kl_event;

enum kl_line_kind { KL_LINE_AS_IS, KL_LINE_ADDED, KL_LINE_DELETED_PREV, KL_LINE_COUNT_ };

kl_store *kl_store_new(size_t history);
void kl_store_free(kl_store *st);
kl_obj *kl_store_get(kl_store *st, int res, const char *ns, const char *name);
uint64_t kl_store_rv(const kl_store *st);
uint64_t kl_store_compacted_rv(const kl_store *st);
size_t kl_store_count(const kl_store *st);
size_t kl_store_history_len(const kl_store *st);
/* Stores obj (taking the reference) under a fresh resourceVersion which it
 * also writes into obj; journals it and tells the watchers. */
kl_obj *kl_store_put(kl_server *srv, int res, const char *ns, const char *name, json_t *obj);
void kl_store_delete(kl_server *srv, kl_obj *o);
/* Restores an object from the journal: no event, no journal write. */
void kl_store_restore(kl_store *st, int res, json_t *obj, uint64_t rv);
void kl_store_remove_quiet(kl_store *st, int res, const char *ns, const char *name);
void kl_store_set_rv(kl_store *st, uint64_t rv);
/* Sorted by namespace then name; ns NULL means every namespace. */
size_t kl_store_collect(kl_store *st, int res, const char *ns, kl_obj ***out);
void kl_store_compact(kl_store *st);
/* Events with rv > from, oldest first; false if from is already compacted. */
bool kl_store_history(kl_store *st, uint64_t from, kl_event ***out, size_t *n);
kl_shared *kl_event_line(kl_event *ev, int kind);
kl_shared *kl_event_make_line(const char *type, json_t *obj);

/* ---- selectors (selector.c) ------------------------------------------- */

kl_selector *kl_label_selector_parse(const char *s, char **err);
kl_selector *kl_field_selector_parse(const char *s, char **err);
bool kl_selectors_match(const kl_selector *labels, const kl_selector *fields, json_t *obj);
void kl_selector_free(kl_selector *s);

/* ---- validation (validate.c) ------------------------------------------- */

/* Turns a client body into the stored shape; NULL with *err set means a
 * 400 (malformed for this kind).  `in` is consumed. */
json_t *kl_normalize(int res, json_t *in, char **err);
/* NULL when valid, else an array of StatusCause objects. */
json_t *kl_validate(int res, json_t *obj, json_t *old);
bool kl_is_dns1123_label(const char *s);
void kl_cause_add(json_t *causes, const char *reason, const char *field, const char *message);
void kl_cause_invalid(json_t *causes, const char *field, const char *value_repr,
                      const char *detail);
char *kl_label_value_error(const char *v);
char *kl_qualified_name_error(const char *v);

/* ---- patch (patch.c) ----------------------------------------------------- */

json_t *kl_merge_patch(const json_t *target, const json_t *patch);

/* ---- resources (resources.c, table.c) ------------------------------------ */

void kl_handle_resource(kl_ctx *ctx);
void kl_handle_namespace(kl_ctx *ctx);
json_t *kl_table(int res, json_t **objs, size_t n, const char *rv, const char *include, time_t now);

/* ---- watch (watch.c) ------------------------------------------------------ */

struct kl_watch {
  kl_watch *prev, *next;
  kl_server *srv;
  kl_conn *conn;
  int res;
  char *ns;
  kl_selector *labels, *fields;
  bool bookmarks;
  bool table;
  uv_timer_t *timer;
};

void kl_watch_start(kl_ctx *ctx, kl_selector *labels, kl_selector *fields);
void kl_watch_notify(kl_server *srv, kl_event *ev);
size_t kl_watch_bookmark_all(kl_server *srv);
size_t kl_watch_end_all(kl_server *srv, bool abort);
void kl_watch_detach(kl_watch *w);
void kl_watch_reset_bookmark_timer(kl_server *srv);

/* ---- authentication (auth.c) ---------------------------------------------- */

struct kl_token {
  kl_token *next;
  char *token, *user;
  unsigned verbs[KL_RES_COUNT]; /* bit per kl_verb */
  bool admin;
};

kl_auth *kl_auth_load(const char *path, const char *admin_token, char **err);
void kl_auth_free(kl_auth *a);
const kl_token *kl_auth_lookup(const kl_auth *a, const char *authorization);
bool kl_auth_allows(const kl_token *t, int res, int verb);
bool kl_auth_rotate(kl_auth *a, const char *old_token, const char *new_token);
const char *kl_auth_admin_token(const kl_auth *a);

/* ---- faults, counters and the control endpoint (faults.c, control.c) ---- */

typedef struct kl_fault_decision {
  uint64_t latency_ms;
  int code; /* 0: serve normally */
  unsigned retry_after;
  const char *retry_header; /* owned by the rule: copy it */
  bool drop;
  bool after_apply; /* the request is served first; its answer is replaced */
} kl_fault_decision;

kl_faults *kl_faults_new(uint64_t seed);
void kl_faults_free(kl_faults *f);
void kl_faults_decide(kl_faults *f, const kl_ctx *ctx, kl_fault_decision *out);
void kl_faults_count(kl_faults *f, int verb, int res, int code);
json_t *kl_faults_stats(const kl_faults *f);
void kl_faults_stats_reset(kl_faults *f);
int kl_faults_add(kl_faults *f, json_t *rule, char **err);
json_t *kl_faults_list(const kl_faults *f);
void kl_faults_clear(kl_faults *f, int id);
void kl_faults_reseed(kl_faults *f, uint64_t seed);
void kl_fault_reply(kl_ctx *ctx);
void kl_handle_control(kl_ctx *ctx, const char *sub);

/* ---- proxy mode (proxy.c) ---------------------------------------------------- */

kl_proxy *kl_proxy_new(kl_server *srv, const char *upstream, const char *ca_file, char **err);
void kl_proxy_free(kl_proxy *p);
/* Sends the request upstream; its answer goes to ctx's connection.  Takes what ctx owns. */
void kl_proxy_forward(kl_ctx *ctx);
/* The connection of a forwarded request closed: a watch ends upstream too. */
void kl_proxy_client_gone(kl_fwd *f);
bool kl_proxy_is_watch(const kl_fwd *f);
/* Ends every forwarded watch (abort: drop the connections); returns how many. */
size_t kl_proxy_end_watches(kl_proxy *p, bool abort);

/* ---- TLS (tls.c) ------------------------------------------------------------- */

kl_tls *kl_tls_new(const char *data_dir, char **err);
void kl_tls_free(kl_tls *t);
const char *kl_tls_ca_pem(const kl_tls *t);
kl_tls_session *kl_tls_session_new(kl_tls *t, kl_conn *c);
void kl_tls_session_free(kl_tls_session *s);
/* Feeds ciphertext; appends plaintext to *plain.  Returns false when the
 * session failed and the connection must be dropped. */
bool kl_tls_feed(kl_tls_session *s, const char *data, size_t len, kl_buf *plain);
/* Encrypts plaintext; ciphertext goes out through kl_conn_send_raw. */
bool kl_tls_write(kl_tls_session *s, const char *data, size_t len);
void kl_conn_send_raw(kl_conn *c, char *data, size_t len);

/* ---- persistence (journal.c) ---------------------------------------------- */

kl_journal *kl_journal_open(kl_server *srv, const char *dir, char **err);
void kl_journal_put(kl_journal *j, int res, uint64_t rv, json_t *obj);
void kl_journal_delete(kl_journal *j, int res, uint64_t rv, const char *ns, const char *name);
void kl_journal_close(kl_journal *j);

/* ---- kubeconfig (main.c) ---------------------------------------------------- */

int kl_announce(kl_server *srv);

#endif
