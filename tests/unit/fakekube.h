/* A minimal in-process Kubernetes API for ConfigMaps and Leases, on fakeapi: get, list, watch
 * (with replay from a resourceVersion), create, update (conditional on resourceVersion) and
 * delete (with a resourceVersion precondition), in one namespace-less store (the namespace in the
 * path is ignored). Field selectors on metadata.name and equality label selectors are honoured.
 * Enough for elections and the stores to run on the test's own loop, one thread. */
#ifndef K8SHA_FAKEKUBE_H
#define K8SHA_FAKEKUBE_H

#include <jansson.h>
#include <uv.h>

typedef struct fakekube fakekube;

fakekube *fk_start(uv_loop_t *loop);
int fk_port(const fakekube *fk);
/* The kubeconfig text for it (static storage). */
const char *fk_kubeconfig(const fakekube *fk);
/* Requests served so far. */
long fk_requests(const fakekube *fk);
/* Sets *flag while the fake itself runs (so that a test's allocator can leave its allocations
 * alone); NULL for none. */
void fk_set_busy_flag(fakekube *fk, int *flag);
/* Creates or replaces object `json` of `kind` ("configmaps", "leases") as another client would,
 * telling the watches. */
void fk_apply(fakekube *fk, const char *kind, const char *json);
/* The stored object (borrowed), or NULL. */
json_t *fk_get(const fakekube *fk, const char *kind, const char *name);
/* Ends every watch with an in-band 410 Expired, as after a compaction. */
void fk_expire_watches(fakekube *fk);
/* Watches open (and not ended by the fake). */
int fk_watches(const fakekube *fk);
/* Stops serving and frees; run the loop afterwards so that its handles close. */
void fk_stop(fakekube *fk);

#endif
