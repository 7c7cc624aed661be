/* Internal: synchronous failures leave a message the caller can read with k8sha_last_error()
 * (per thread, as libgit2's git_error_last). */
#ifndef K8SHA_CORE_FAIL_H
#define K8SHA_CORE_FAIL_H

/* Sets this thread's last error message and returns `err`: `return k8sha__fail(K8SHA_EINVAL,
 * "job id '%s' is not 32 lowercase hex digits", id);` */
int k8sha__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
