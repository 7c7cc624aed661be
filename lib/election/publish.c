/* Publish, unpublish: a ConfigMap lock's entries ride its next write (a Lease's: addresses.c). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fail.h"
#include "core/k8s_names.h"
#include "election/elector_priv.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

/* ConfigMap lock: `p` completes with the next write that carries the entries as they are now. */
static void wait_for_write(k8sha_election *e, pending_done *p,
                           void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done **tail;
  p->done = done;
  p->ud = ud;
  for (tail = &e->waiting; *tail; tail = &(*tail)->next)
    ;
  *tail = p;
  /* A write already in flight was built before this change: write once more after it. */
  if (e->inflight)
    e->write_again = 1;
  else
    k8sha__elector_leader_write(e);
}

int k8sha_election_publish(k8sha_election *e, const char *component, const char *address,
                           void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done *p;
  char value[1024], key[300];

  if (!e || !component || !*component || !address)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_publish: election, component and address "
                                     "are required");
  K8SHA__LOOP_ONLY(e->env->rt, K8SHA_ETHREAD);
  /* The entry's key must be a valid ConfigMap key, or every renewal would be refused (422). */
  if (snprintf(key, sizeof(key), K8SHA__LEADER_KEY_PREFIX "%s", component) >= (int)sizeof(key) ||
      !k8sha__is_configmap_key(key))
    return k8sha__fail(K8SHA_EINVAL, "component '%.64s' does not make a valid ConfigMap key "
                                     "(letters, digits, '-', '_', '.'; at most %zu characters)",
                       component, sizeof(key) - 1 - strlen(K8SHA__LEADER_KEY_PREFIX));
  if (strlen(e->session) + 1 + strlen(address) >= sizeof(value))
    return k8sha__fail(K8SHA_EINVAL, "address of %zu bytes: at most %zu fit the lock entry "
                                     "(refused, never cut short)", strlen(address),
                       sizeof(value) - 2 - strlen(e->session));
  if (!k8sha__elector_lease_valid(e))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_election_publish: %s does not lead",
                       e->identity);
  snprintf(value, sizeof(value), "%s,%s", e->session, address);
  if (k8sha__elector_lease_mode(e))
    return k8sha__addresses_entry(e, component, value, done, ud);
  p = k8sha__calloc(&e->env->rt->alloc, 1, sizeof(*p));
  if (!p)
    return K8SHA_ENOMEM;
  json_object_del(e->removed, component);
  if (json_object_set_new(e->entries, component, json_string(value)) != 0) {
    k8sha__free(&e->env->rt->alloc, p);
    return K8SHA_ENOMEM;
  }
  wait_for_write(e, p, done, ud);
  return 0;
}

int k8sha_election_unpublish(k8sha_election *e, const char *component,
                             void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done *p;
  json_t *v;

  if (!e || !component || !*component)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_unpublish: election and component are "
                                     "required");
  K8SHA__LOOP_ONLY(e->env->rt, K8SHA_ETHREAD);
  if (!k8sha__elector_lease_valid(e))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_election_unpublish: %s does not lead",
                       e->identity);
  if (k8sha__elector_lease_mode(e))
    return k8sha__addresses_entry(e, component, NULL, done, ud);
  p = k8sha__calloc(&e->env->rt->alloc, 1, sizeof(*p));
  if (!p)
    return K8SHA_ENOMEM;
  v = json_object_get(e->entries, component);
  if (v && json_object_set(e->removed, component, v) != 0) {
    k8sha__free(&e->env->rt->alloc, p);
    return K8SHA_ENOMEM;
  }
  json_object_del(e->entries, component);
  wait_for_write(e, p, done, ud);
  return 0;
}
