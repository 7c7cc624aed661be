/*
 * kubelite_harness: start, control and stop a k8sha-kube-lite server from
 * C tests.
 *
 * A typical test:
 *
 *     kubelite *k = kubelite_start(NULL);          // plain HTTP, no auth
 *     ... point the code under test at kubelite_kubeconfig(k) or
 *         kubelite_url(k) ...
 *     kubelite_add_fault(k, "{\"verbs\":[\"update\"],\"code\":409,\"count\":3}");
 *     long puts = kubelite_count(k, "update", "configmaps", 0);
 *     kubelite_free(k);                            // SIGTERM, wait, clean up
 *
 * Every function that talks to the server returns a negative value on
 * transport failure and prints the reason on stderr.  Nothing here
 * sleeps: readiness is the server's "listening" line on its stdout.
 *
 * The server binary is the one built in this tree (KUBELITE_BIN, set by
 * meson).  Set KUBELITE_WRAPPER (e.g. "valgrind -q --error-exitcode=99")
 * to run the server under a wrapper, and KUBELITE_READY_TIMEOUT_MS to
 * change the readiness bound (default 30000 ms).
 *
 * Not thread-safe: use one kubelite from one thread.
 */
#ifndef KUBELITE_HARNESS_H
#define KUBELITE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kubelite kubelite;

typedef struct kubelite_options {
  /* Extra server arguments, NULL-terminated (may be NULL). */
  const char *const *args;
  /* Serve HTTPS; kubelite_ca_file() then names the CA to trust. */
  bool tls;
  /* Token file content ("token,user,rules" lines, see docs/kube-lite.md).
   * Non-NULL turns authentication on; kubelite_admin_token() is then the
   * token with every right, also written into the kubeconfig. */
  const char *tokens;
  /* Keep state in <dir>/data so kubelite_restart() finds it again. */
  bool persist;
  /* Bound for readiness in ms; 0 means $KUBELITE_READY_TIMEOUT_MS or 30000. */
  int ready_timeout_ms;
} kubelite_options;

/* Starts a server on a free loopback port and waits until it listens.
 * opts may be NULL.  Returns NULL (after printing why) on failure. */
kubelite *kubelite_start(const kubelite_options *opts);

/* With K8SHA_TEST_KUBECONFIG set (and K8SHA_TEST_SERVER, K8SHA_TEST_CA, K8SHA_TEST_ADMIN_TOKEN,
 * see tests/realkube), kubelite_start() starts nothing: it points at that real API server, whose
 * namespace "flink" it empties first (ConfigMaps and Leases), and kubelite_kubeconfig() is the
 * given kubeconfig (a user with the documented Role). Server control (faults, restarts,
 * counters, ...) is kube-lite's only: those calls fail (-1) there, and tests that need them are
 * not registered in that mode (it_add). kubelite_compact() compacts the real server's etcd
 * (with K8SHA_TEST_ETCDCTL and K8SHA_TEST_ETCD_ENDPOINT). */
bool kubelite_external_mode(void);
bool kubelite_is_external(const kubelite *k);
/* External mode with K8SHA_TEST_CONTROL_URL set: kube-lite as a fault proxy (--upstream) stands
 * between the tests and the real server and offers kube-lite's faults, stats and watches/close
 * there; K8SHA_TEST_SERVER is then the proxy's URL. NULL otherwise. (A server started here with
 * its own control port, --control-port or --upstream, is controlled on that port.) */
const char *kubelite_control_url(void);

/* Stops the server if it runs and removes the temporary directory. */
void kubelite_free(kubelite *k);

const char *kubelite_url(const kubelite *k); /* http(s)://127.0.0.1:PORT */
int kubelite_port(const kubelite *k);
const char *kubelite_kubeconfig(const kubelite *k);  /* written by the server */
const char *kubelite_admin_token(const kubelite *k); /* NULL when auth is off */
const char *kubelite_ca_file(const kubelite *k);     /* NULL without TLS */
const char *kubelite_data_dir(const kubelite *k);    /* NULL without persist */
const char *kubelite_dir(const kubelite *k);         /* private temp dir */
pid_t kubelite_pid(const kubelite *k);               /* 0 when stopped */

/* SIGTERM and wait.  Returns the exit status (0 for a clean shutdown), or
 * 128+signal if it died by a signal, or -1. */
int kubelite_stop(kubelite *k);
/* SIGKILL and wait, as a crash would. */
int kubelite_kill(kubelite *k);
/* Starts the server again on the same port with the same options (and
 * the same data dir when persisting).  Returns 0 once it listens. */
int kubelite_restart(kubelite *k);
/* Waits for the next "listening" announcement, e.g. the end of a
 * kubelite_refuse_connections() window.  Returns 0, or -1 on timeout or
 * exit.  timeout_ms <= 0 uses the readiness bound. */
int kubelite_wait_listening(kubelite *k, int timeout_ms);

/* ---- control endpoint (/kube-lite/v1/...) ---------------------------- */

/* Raw call.  Returns the HTTP status or -1; *response (may be NULL) gets
 * the body, to free(). */
int kubelite_control(kubelite *k, const char *method, const char *path, const char *json_body,
                     char **response);
/* Adds a fault rule (JSON, see docs/kube-lite.md); returns its id or -1. */
int kubelite_add_fault(kubelite *k, const char *rule_json);
int kubelite_clear_faults(kubelite *k);
/* Restarts the fault injector's random sequence. */
int kubelite_reseed(kubelite *k, uint64_t seed);
/* Ends every open watch cleanly; returns how many, or -1. */
int kubelite_end_watches(kubelite *k);
/* Drops all watch history: resuming from any older resourceVersion then
 * gets 410 Expired. */
int kubelite_compact(kubelite *k);
/* Closes the listening socket and every connection; listens again after
 * `seconds`.  Pair with kubelite_wait_listening(). */
int kubelite_refuse_connections(kubelite *k, double seconds);
/* Replaces token old_token by new_token (same user and rules). */
int kubelite_rotate_token(kubelite *k, const char *old_token, const char *new_token);
/* Sends a BOOKMARK now to every watch that allows bookmarks; returns the
 * number of watches reached, or -1. */
int kubelite_send_bookmarks(kubelite *k);
/* Changes the periodic bookmark interval (0 disables). */
int kubelite_set_bookmark_interval(kubelite *k, double seconds);
/* Requests served since start or the last reset, filtered by verb
 * (get, list, watch, create, update, patch, delete, deletecollection,
 * nonresource), resource (configmaps, leases, namespaces, "") and HTTP
 * code.  NULL / 0 match anything.  Returns -1 on failure. */
long kubelite_count(kubelite *k, const char *verb, const char *resource, int code);
/* Against a real server (kubelite_is_external) without a fault proxy, kubelite_count reads
 * kube-apiserver's own counters (apiserver_request_total in /metrics, as its admin): all clients
 * since the server started, so tests compare counts before and after; the other stats calls
 * fail there. */
/* The full counters document; free() it. */
char *kubelite_stats_json(kubelite *k);
int kubelite_reset_stats(kubelite *k);
/* A libcurl write callback appending to a NUL-terminated malloc'ed buffer (`char **` as
 * user data); for tests that talk to the server themselves. */
size_t kubelite_collect(char *p, size_t size, size_t n, void *ud);
/* Current global resourceVersion, or 0 on failure. */
uint64_t kubelite_resource_version(kubelite *k);

#ifdef __cplusplus
}
#endif

#endif
