/* Internal: the store module's objects that the context makes (the public functions of the same
 * names without the second underscore), each with the context's env. */
#ifndef K8SHA_STORE_MAKE_H
#define K8SHA_STORE_MAKE_H

#include "election/env.h"
#include "k8sha/cleanup.h"
#include "k8sha/watch.h"

int k8sha__watch_new(k8sha_watch **out, k8sha__env *env, const char *label_selector,
                     k8sha_watch_cb cb, void *user_data);
int k8sha__cleanup_job(k8sha__env *env, k8sha_election *leader, const char *job_id,
                       unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                       void *user_data);
int k8sha__cleanup_cluster(k8sha__env *env, unsigned int flags, k8sha_found_cb found,
                           k8sha_cleanup_done_cb done, void *user_data);
int k8sha__orphans_scan(k8sha__env *env, k8sha_election *leader, k8sha_found_cb found,
                        k8sha_cleanup_done_cb done, void *user_data);

#endif
