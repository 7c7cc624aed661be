/* Internal: the settings of the built-in hdfs backend: which WebHDFS endpoints serve the storage
 * directory's file system and as whom, from Hadoop's configuration as Flink reads it
 * (HADOOP_HOME's and HADOOP_CONF_DIR's core-site.xml and hdfs-site.xml, then `flink.hadoop.*`
 * keys) and the environment (HADOOP_USER_NAME). */
#ifndef K8SHA_CONFIG_HDFS_CONF_H
#define K8SHA_CONFIG_HDFS_CONF_H

#include <stddef.h>

#include "k8sha/config.h"

#define K8SHA__HDFS_NAMENODES_MAX 8
#define K8SHA__HDFS_HTTP_PORT 9870  /* Hadoop 3's namenode HTTP port */
#define K8SHA__HDFS_HTTPS_PORT 9871

typedef struct k8sha__hdfs_namenode {
  char id[64];    /* the HA namenode ID, or "" */
  char url[300];  /* "http(s)://host:port" */
  char from[300]; /* the property (and file) that gave the address, or how it was derived */
} k8sha__hdfs_namenode;

typedef struct k8sha__hdfs_conf {
  char authority[256];   /* the file system the storage directory names: a nameservice, or
                            host[:port]; "" never (hdfs:/// is resolved through fs.defaultFS) */
  int default_fs;        /* it is fs.defaultFS's file system: hdfs:///path names it too */
  char nameservice[256]; /* the HA nameservice, or "" for one namenode */
  size_t n_namenodes;
  k8sha__hdfs_namenode namenodes[K8SHA__HDFS_NAMENODES_MAX];
  char user[256];        /* simple authentication's user.name; "" with Kerberos */
  int kerberos;          /* hadoop.security.authentication=kerberos: SPNEGO through GSS-API */
  char user_from[64];    /* "HADOOP_USER_NAME", "the process's user" */
  char files[900];       /* the Hadoop configuration files read, ", "-separated, or "" */
} k8sha__hdfs_conf;

/* Reads the settings for the storage directory `dir` (normalised, "hdfs://..."); `getenv_fn` is
 * getenv (tests pass their own). 0; K8SHA_ECONFIG with `why` naming the key, the file and what is
 * wrong; K8SHA_ENOMEM. Nothing is contacted. */
int k8sha__hdfs_conf_read(const k8sha_config *cfg, const char *dir,
                          char *(*getenv_fn)(const char *), k8sha__hdfs_conf *out, char *why,
                          size_t why_len);

#endif
