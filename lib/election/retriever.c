/* Leader retrieval: the published address of one component, from the shared lock watch. */
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "election/elector.h"
#include "core/versioned.h"
#include "core/timer.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

struct k8sha_retriever {
  k8sha__env *env;
  k8sha__lock *lock;
  k8sha__lock_sub sub;
  char *key;               /* org.apache.flink.k8s.leader.<component> */
  k8sha_retriever_cb cb;
  k8sha_retriever_options opts;
  void *user_data;
  char *last;              /* the value last reported ("" for none), NULL before the first */
  k8sha__timer *first;     /* reports the state of an already-watched lock */
};

/* ConfigMap lock: the entry counts only while somebody holds the lock (a released lock has no
 * leader). Lease lock: the entries are in the addresses ConfigMap, which a leader empties of its
 * own when it releases, and the next one of the last term's when it takes over. */
static const char *current(k8sha_retriever *r) {
  json_t *obj = k8sha__lock_object(r->lock);
  const char *value, *why;
  k8sha__record rec;

  if (r->opts.lock == K8SHA_LOCK_LEASE) {
    value = json_string_value(json_object_get(json_object_get(obj, "data"), r->key));
    return value ? value : "";
  }
  if (!obj || k8sha__lock_read_record(r->lock, obj, &rec, &why, NULL) != 1 || !rec.holder[0])
    return "";
  value = json_string_value(json_object_get(k8sha__lock_entries(r->lock, obj, 0), r->key));
  return value ? value : "";
}

static void report(k8sha_retriever *r) {
  const char *v = current(r), *comma;
  char session[128], *copy;

  if (r->last && strcmp(r->last, v) == 0)
    return;
  copy = k8sha__strdup(&r->env->rt->alloc, v);
  if (!copy)
    return; /* reported with the next change */
  k8sha__free(&r->env->rt->alloc, r->last);
  r->last = copy;
  comma = strchr(v, ',');
  if (!*v || !comma || (size_t)(comma - v) >= sizeof(session)) {
    r->cb(r, NULL, NULL, r->user_data);
    return;
  }
  memcpy(session, v, (size_t)(comma - v));
  session[comma - v] = '\0';
  r->cb(r, comma + 1, session, r->user_data);
}

static void on_update(json_t *obj, void *ud) {
  (void)obj;
  report(ud);
}

static void on_first(void *ud) {
  report(ud);
}

static void on_error(int err, const char *message, void *ud) {
  k8sha_retriever *r = ud;
  if (r->opts.error)
    r->opts.error(r, err, message, r->user_data);
}

static const size_t options_sizes[] = {0, sizeof(k8sha_retriever_options)};

int k8sha__retriever_new(k8sha_retriever **out, k8sha__env *env,
                        const k8sha_retriever_options *opts, const char *component,
                        k8sha_retriever_cb cb, void *user_data) {
  k8sha_retriever_options o = K8SHA_RETRIEVER_OPTIONS_INIT;
  k8sha_retriever *r;
  char *name;
  int rc;

  if (!out || !env || !component || !*component || !cb)
    return K8SHA_EINVAL;
  if (opts) {
    if (!K8SHA__VERSION_OK(opts->version, options_sizes))
      return K8SHA_EINVAL;
    k8sha__versioned_copy(&o, opts, opts->version, options_sizes);
  }
  if (o.lock != K8SHA_LOCK_CONFIGMAP && o.lock != K8SHA_LOCK_LEASE)
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_retriever_new");
  r = k8sha__calloc(&env->rt->alloc, 1, sizeof(*r));
  if (!r)
    return K8SHA_ENOMEM;
  r->env = env;
  k8sha__rt_child(env->rt, 1);
  r->cb = cb;
  r->opts = o;
  r->opts.lock_name = NULL; /* (copied below; the caller's string need not outlive the call) */
  r->user_data = user_data;
  r->key = k8sha__asprintf(&env->rt->alloc, K8SHA__LEADER_KEY_PREFIX "%s", component);
  r->sub.on_update = on_update;
  r->sub.on_error = on_error;
  r->sub.user_data = r;
  name = o.lock_name ? k8sha__strdup(&env->rt->alloc, o.lock_name)
                     : k8sha__lock_default_name(env, o.lock);
  if (name && o.lock == K8SHA_LOCK_LEASE) {
    char *lease = name;
    name = k8sha__lock_addresses_name(env, lease);
    k8sha__free(&env->rt->alloc, lease);
  }
  r->first = k8sha__timer_new(env->rt, on_first, r);
  rc = r->key && name && r->first ? 0 : K8SHA_ENOMEM;
  if (rc == 0)
    rc = k8sha__lock_subscribe(env, K8SHA_LOCK_CONFIGMAP, name, &r->sub, &r->lock);
  k8sha__free(&env->rt->alloc, name);
  if (rc) {
    k8sha_retriever_free(r);
    return rc;
  }
  if (k8sha__lock_synced(r->lock))
    k8sha__timer_start(r->first, 0);
  *out = r;
  return 0;
}

void k8sha_retriever_free(k8sha_retriever *r) {
  if (!r)
    return;
  K8SHA__LOOP_ONLY_VOID(r->env->rt);
  k8sha__rt_child(r->env->rt, -1);
  if (r->lock)
    k8sha__lock_unsubscribe(r->lock, &r->sub);
  k8sha__timer_free(r->first);
  k8sha__free(&r->env->rt->alloc, r->key);
  k8sha__free(&r->env->rt->alloc, r->last);
  k8sha__free(&r->env->rt->alloc, r);
}
