/* Internal: the built-in s3 backend (schemes s3, s3a, s3p). */
#ifndef K8SHA_STORAGE_S3_H
#define K8SHA_STORAGE_S3_H

#include "config/s3_conf.h"
#include "storage/storage.h"

/* Registers the backend for s3, s3a and s3p with these settings (copied). 0 or K8SHA_ENOMEM. */
int k8sha__s3_backend_register(k8sha__storage *st, k8sha__rt *rt, const k8sha__s3_conf *conf);

#endif
