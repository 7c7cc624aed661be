/* Helpers shared by the kube-lite integration tests (libcurl + jansson). */
#ifndef KT_H
#define KT_H

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

#include "kubelite_harness.h"

/* Generous bounds: the tests wait on events, these only stop a hang. */
#define KT_WAIT_MS 20000

typedef struct kt_resp {
  long code;
  CURLcode curl;
  json_t *json; /* NULL when the body is not JSON */
  char *body;
  char retry_after[32];
  double seconds;
} kt_resp;

/* token: NULL uses the admin token when auth is on; "" sends none. */
kt_resp kt_req(kubelite *k, const char *method, const char *path, const char *body,
               const char *ctype, const char *token);
void kt_resp_free(kt_resp *r);

/* An Accept header for the next requests (NULL: none, the default). */
extern const char *kt_accept;

/* Shorthands that fail the test on transport errors. */
kt_resp kt_get(kubelite *k, const char *path);
kt_resp kt_post(kubelite *k, const char *path, const char *body);
kt_resp kt_put(kubelite *k, const char *path, const char *body);
kt_resp kt_patch(kubelite *k, const char *path, const char *ctype, const char *body);
kt_resp kt_delete(kubelite *k, const char *path, const char *body);

/* Sends the parts on one plain-HTTP connection, pausing gap_ms after each but the last, and
 * returns all the server answered until it closed the connection (malloc'd, NUL-terminated).
 * For bytes no libcurl request would send: end with a request the server closes after. */
char *kt_raw(kubelite *k, const char *const *parts, size_t nparts, int gap_ms);
/* kt_raw with one part of len bytes, which may hold NULs. */
char *kt_raw_bytes(kubelite *k, const char *data, size_t len);
/* kt_raw in two steps: send the request now, read the answer later (until the server closes). */
typedef struct kt_conn kt_conn;
kt_conn *kt_raw_open(kubelite *k, const char *request);
char *kt_raw_finish(kt_conn *c);
/* Sends the request and closes the connection with a reset at once, as a killed client. */
void kt_raw_reset(kubelite *k, const char *request);

const char *kt_str(json_t *j, const char *dotted_path);
long long kt_int(json_t *j, const char *dotted_path);
/* Creates ConfigMap ns/name with one data key and optional label a=b
 * (label may be NULL); returns its resourceVersion as a number. */
unsigned long long kt_make_cm(kubelite *k, const char *ns, const char *name, const char *label);
unsigned long long kt_rv(json_t *obj);

/* ---- watch streams ---------------------------------------------------- */

typedef struct kt_watch kt_watch;
/* Opens a stream and returns once the server answered with headers, so
 * the watch is registered before the test writes anything. */
kt_watch *kt_watch_open(kubelite *k, const char *path, const char *token);
/* Next event (caller json_decref()s), or NULL on timeout or end. */
json_t *kt_watch_next(kt_watch *w, int timeout_ms);
/* Waits for the stream to end; returns true if it ended within the bound
 * with no transfer error (a clean chunked end). */
bool kt_watch_wait_end(kt_watch *w, int timeout_ms);
/* Waits for the stream to end, cleanly or not; false if it did not end within the bound.
 * *result is curl's result of the transfer. */
bool kt_watch_wait_done(kt_watch *w, int timeout_ms, CURLcode *result);
long kt_watch_code(kt_watch *w);
void kt_watch_close(kt_watch *w);

/* Asserts the next event has this type (and name when not NULL); returns
 * it for more checks (caller json_decref()s). */
json_t *kt_expect_event(kt_watch *w, const char *type, const char *name);

/* One server per test case: started by the fixture, stopped after. */
extern kubelite *kt_server;
void kt_start_default(void);
void kt_stop(void);
void kt_start_with(const kubelite_options *o);

int kt_run(Suite *s);

#endif
