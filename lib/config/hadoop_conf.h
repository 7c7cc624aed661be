/* Internal: a Hadoop configuration (the properties of core-site.xml and hdfs-site.xml, then those
 * the host's configuration forwards as `flink.hadoop.*`), for the built-in hdfs backend. Files
 * are read with expat as Hadoop's grammar: <configuration> holding <property> elements, each a
 * <name> and a <value> (or the same as attributes); a later definition replaces an earlier one,
 * except one marked <final>true</final>, as in Hadoop. */
#ifndef K8SHA_CONFIG_HADOOP_CONF_H
#define K8SHA_CONFIG_HADOOP_CONF_H

#include <stddef.h>

#include "k8sha/common.h"

#define K8SHA__HADOOP_FILE_MAX (1024u * 1024u) /* a larger configuration file is refused */

typedef struct k8sha__hadoop_conf k8sha__hadoop_conf;

/* An empty configuration; NULL when out of memory. */
k8sha__hadoop_conf *k8sha__hadoop_conf_new(const k8sha_allocator *a);
void k8sha__hadoop_conf_free(k8sha__hadoop_conf *c);

/* Adds the properties of the XML file at `path`. 0; K8SHA_ENOTFOUND when there is no such file
 * (nothing added); K8SHA_ECONFIG when it cannot be read or is not a Hadoop configuration (`why`
 * names the file, the line and what is wrong; nothing added); K8SHA_ENOMEM. */
int k8sha__hadoop_conf_load(k8sha__hadoop_conf *c, const char *path, char *why, size_t why_len);

/* The same for bytes in memory; `name` is what messages call them. */
int k8sha__hadoop_conf_parse(k8sha__hadoop_conf *c, const char *xml, size_t len, const char *name,
                             char *why, size_t why_len);

/* Sets a property (`source` names where it came from, for messages; copied). 0 or K8SHA_ENOMEM.
 * A final property keeps its value. */
int k8sha__hadoop_conf_set(k8sha__hadoop_conf *c, const char *name, const char *value,
                           const char *source);

/* A property's value with ${name} and ${env.NAME} references expanded, as Hadoop expands them
 * (an unresolved reference stays as written). 1 with `out` and, when `source` is not NULL, where
 * it was defined; 0 when the property is not set; -1 when the value does not fit `out_len` or
 * references loop (`out` then holds why). */
int k8sha__hadoop_conf_get(const k8sha__hadoop_conf *c, const char *name,
                           char *(*getenv_fn)(const char *), char *out, size_t out_len,
                           const char **source);

#endif
