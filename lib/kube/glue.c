/* libcurl's multi interface driven by libuv, after curl's docs/examples/multi-uv.c, with these
 * differences: poll errors are passed to curl as CURL_CSELECT_ERR; socket contexts are freed only
 * in their close callbacks; curl is never called from inside its own callbacks (a zero timeout
 * is run from the next timer tick, and completions are delivered after socket_action returns). */
#include <stdlib.h>
#include <uv.h>

#include "core/alloc.h"
#include "kube/client_priv.h"

typedef struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  k8sha__kube *k;
  k8sha_allocator alloc; /* a copy: the client may be gone when the close callback runs */
} sock_ctx;

static void sock_closed(uv_handle_t *h) {
  sock_ctx *s = h->data;
  k8sha_allocator a = s->alloc;
  k8sha__free(&a, s);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_ctx *s = h->data;
  k8sha__rt *rt;
  int flags = 0;

  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  rt = s->k->rt;
  K8SHA__ENTER(rt);
  k8sha__kube_socket_action(s->k, s->fd, flags);
  K8SHA__LEAVE(rt);
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp) {
  k8sha__kube *k = userp;
  sock_ctx *s = socketp;
  int events = 0;
  (void)easy;

  if (action == CURL_POLL_REMOVE) {
    if (s) {
      uv_poll_stop(&s->poll);
      uv_close((uv_handle_t *)&s->poll, sock_closed);
      curl_multi_assign(k->multi, fd, NULL);
    }
    return 0;
  }
  if (!s) {
    s = k8sha__calloc(&k->rt->alloc, 1, sizeof(*s));
    if (!s) {
      /* Not -1: curl would then abort every transfer of the multi handle, watches included, and
       * refuse new ones while any is left. This transfer alone fails, as out of memory, taken
       * out of curl as soon as curl has returned (process_finished). */
      k8sha__req *r = NULL;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
      if (!r)
        return -1; /* not one of ours (curl's own, closing a connection) */
      r->oom = r->unwatched = 1;
      k->unwatched = 1;
      return 0;
    }
    if (uv_poll_init_socket(k->rt->loop, &s->poll, fd) != 0) {
      k8sha__free(&k->rt->alloc, s);
      return -1;
    }
    s->poll.data = s;
    s->fd = fd;
    s->k = k;
    s->alloc = k->rt->alloc;
    curl_multi_assign(k->multi, fd, s);
  }
  if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
    events |= UV_READABLE;
  if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
    events |= UV_WRITABLE;
  uv_poll_start(&s->poll, events, on_poll);
  return 0;
}

static void on_curl_timer(void *user_data) {
  k8sha__kube *k = user_data;
  long next = -1;
  k8sha__kube_socket_action(k, CURL_SOCKET_TIMEOUT, 0);
  /* curl calls the timer function only when its next deadline changes. Should this call have
   * come before curl's own clock reached that deadline, curl still counts on a timer that has
   * already fired: re-arm from curl_multi_timeout() so no deadline is ever lost. */
  if (!k8sha__timer_active(k->curl_timer) && curl_multi_timeout(k->multi, &next) == CURLM_OK &&
      next >= 0)
    k8sha__timer_start(k->curl_timer, (uint64_t)next);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp) {
  k8sha__kube *k = userp;
  (void)multi;
  if (timeout_ms < 0)
    k8sha__timer_stop(k->curl_timer);
  else /* 0: on the next loop turn, never from inside this callback */
    k8sha__timer_start(k->curl_timer, (uint64_t)timeout_ms);
  return 0;
}

int k8sha__kube_glue_init(k8sha__kube *k) {
  k->curl_timer = k8sha__timer_new(k->rt, on_curl_timer, k);
  if (!k->curl_timer)
    return -1;
  curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
  curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
  curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
  return 0;
}

static void process_finished(k8sha__kube *k) {
  CURLMsg *msg;
  int left;

  /* Collect first: callbacks may add or remove transfers, which curl_multi_info_read must not
   * see in the middle of its iteration. */
  k8sha__req *done = NULL, **tail = &done, *r;
  int stream;
  while ((msg = curl_multi_info_read(k->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    r->curl_result = msg->data.result;
    curl_multi_remove_handle(k->multi, msg->easy_handle);
    r->state = REQ_FINISHING;
    if (r->is_stream)
      k8sha__stream_hold(r); /* (the list's reference: a callback below may close it) */
    r->finish_next = NULL;
    *tail = r;
    tail = &r->finish_next;
  }
  if (k->unwatched) {
    /* Transfers whose socket on_socket could not watch: nothing would ever wake them. */
    k->unwatched = 0;
    for (r = k->reqs; r; r = r->next) {
      if (!r->unwatched || r->state != REQ_ACTIVE)
        continue;
      curl_multi_remove_handle(k->multi, r->easy);
      r->curl_result = CURLE_OUT_OF_MEMORY;
      r->state = REQ_FINISHING;
      if (r->is_stream)
        k8sha__stream_hold(r);
      r->finish_next = NULL;
      *tail = r;
      tail = &r->finish_next;
    }
  }
  while (done) {
    r = done;
    done = r->finish_next;
    r->finish_next = NULL;
    stream = r->is_stream; /* (a request other than a stream may be gone after this) */
    k8sha__req_finished(r);
    if (stream)
      k8sha__stream_release(r);
  }
}

void k8sha__kube_socket_action(k8sha__kube *k, curl_socket_t fd, int flags) {
  int running;
  k->busy++;
  curl_multi_socket_action(k->multi, fd, flags, &running);
  k8sha__streams_dispatch(k);
  process_finished(k);
  k8sha__streams_dispatch(k);
  k->busy--;
}
