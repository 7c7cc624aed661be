/* Fuzz target: kube-lite's HTTP/1.1 request parser, which reads the bytes of every client
 * (kubectl, Flink's fabric8 client, the Python client, libk8sha). Requests are parsed one after
 * the other as a pipelining client sends them; each is complete and framed as it said, or more
 * bytes are asked for, or it is refused with an HTTP status. A strict prefix of a request that
 * parsed is never a request: the parser waits for the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses the n bytes at p from a NUL-terminated copy, as the server's input buffer holds them. */
static int parse(const char *p, size_t n, kl_req **r, size_t *used) {
  char *copy = malloc(n + 1);
  if (!copy)
    abort();
  memcpy(copy, p, n);
  copy[n] = '\0';
  *r = NULL;
  *used = 0;
  int rc = kl_http_parse(copy, n, r, used);
  free(copy);
  return rc;
}

static void check_request(const kl_req *r) {
  if (!r->method || !*r->method || !r->path || r->path[0] != '/' || !r->target ||
      r->target[0] != '/')
    abort();
  if (r->body_len > REQUEST_BODY_MAX_BYTES || r->body[r->body_len] != '\0')
    abort();
  if (r->nparams < 0 || r->nparams > REQUEST_PARAMS_MAX)
    abort();
  for (int i = 0; i < r->nparams; i++)
    if (!r->params[i].key || !r->params[i].val)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  size_t off = 0;
  for (int i = 0; i < 16 && off < size; i++) {
    kl_req *r;
    size_t used;
    int rc = parse(in + off, size - off, &r, &used);
    if (rc == KL_PARSE_MORE) {
      if (r || used > size - off)
        abort();
      break;
    }
    if (rc != KL_PARSE_OK) {
      if (r || rc < 400 || rc > 599)
        abort(); /* refused, with a status to answer */
      break;
    }
    if (!r || used == 0 || used > size - off)
      abort();
    check_request(r);
    kl_req_free(r);
    kl_req *p;
    size_t pused;
    if (parse(in + off, used - 1, &p, &pused) != KL_PARSE_MORE || p)
      abort(); /* a request one byte short is incomplete, not another request nor an error */
    off += used;
  }
  return 0;
}
