/* A scripted HTTP/1.1 server on the test's own libuv loop, for feeding the client exactly the
 * bytes a test needs (malformed or truncated watch lines, in-band errors) at exactly the moment
 * it needs them. Every connection is closed after its response, unless fake_reply_keep answers. */
#ifndef K8SHA_FAKEAPI_H
#define K8SHA_FAKEAPI_H

#include <uv.h>

typedef struct fakeapi fakeapi;
typedef struct fake_conn fake_conn;

/* Called for each request (method and path with query); answer with fake_reply() or keep the
 * connection for streaming with fake_send()/fake_end(). */
typedef void (*fake_handler)(fakeapi *api, fake_conn *c, const char *method, const char *path,
                             void *user_data);

fakeapi *fake_start(uv_loop_t *loop, fake_handler h, void *user_data);
int fake_port(const fakeapi *api);
/* A complete response with a body, then close. */
void fake_reply(fake_conn *c, int status, const char *body);
/* The same with extra header lines (each ending "\r\n"). */
void fake_reply_headers(fake_conn *c, int status, const char *headers, const char *body);
/* A complete response that keeps the connection open for the client's next request. */
void fake_reply_keep(fake_conn *c, int status, const char *body);
/* Closes the connection without any answer (the request was read). */
void fake_drop(fake_conn *c);
/* Stops accepting connections: from now on the port refuses them (open ones go on). */
void fake_stop_listening(fakeapi *api);
/* Starts a chunked 200 response; then send chunks; end closes (cleanly, or mid-chunk). */
void fake_stream_begin(fake_conn *c);
void fake_send(fake_conn *c, const char *data);
void fake_end(fake_conn *c, int clean);
/* The request's body (NUL-terminated; "" when it had none), valid during the handler and until
 * the connection closes. The handler runs once the whole body (Content-Length) has arrived. */
const char *fake_body(const fake_conn *c);
/* Calls `cb` once when the connection closes (by either side, or fake_stop); for handlers that
 * keep streaming connections in lists of their own. */
void fake_on_close(fake_conn *c, void (*cb)(fake_conn *c, void *ud), void *ud);
/* Stops listening and closes all connections (before uv_loop_close). */
void fake_stop(fakeapi *api);

#endif
