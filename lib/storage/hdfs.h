/* Internal: the built-in hdfs backend (WebHDFS, or HttpFS). */
#ifndef K8SHA_STORAGE_HDFS_H
#define K8SHA_STORAGE_HDFS_H

#include "config/hdfs_conf.h"
#include "storage/storage.h"

/* Registers the backend for hdfs with these settings (copied). 0 or K8SHA_ENOMEM. */
int k8sha__hdfs_backend_register(k8sha__storage *st, k8sha__rt *rt, const k8sha__hdfs_conf *conf);

#endif
