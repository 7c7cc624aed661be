/* Fuzz target: any bytes as a Hadoop configuration file (core-site.xml, hdfs-site.xml) through
 * config/hadoop_conf.h. A parse either adds its properties or fails adding nothing, with a
 * message; every property it added can be read back with its references expanded or a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/hadoop_conf.h"
#include "core/alloc.h"
#include "k8sha/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *no_env(const char *name) {
  return strcmp(name, "HOME") == 0 ? "/home/fuzz" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact copy: a read past `size` is a heap overflow for ASan. */
  char *xml = malloc(size ? size : 1), why[512], value[1024];
  k8sha__hadoop_conf *c = k8sha__hadoop_conf_new(k8sha__default_allocator());
  static const char *const names[] = {"fs.defaultFS", "dfs.nameservices", "dfs.ha.namenodes.ns1",
                                      "dfs.namenode.http-address", "a", "b"};
  size_t i;
  int rc;

  if (!xml || !c)
    abort();
  memcpy(xml, data, size);
  /* A property set before must survive a failed parse unchanged. */
  if (k8sha__hadoop_conf_set(c, "a", "before", "the fuzzer") != 0)
    abort();
  why[0] = '\0';
  rc = k8sha__hadoop_conf_parse(c, xml, size, "fuzz.xml", why, sizeof(why));
  if (rc != 0 && (rc != K8SHA_ECONFIG && rc != K8SHA_ENOMEM))
    abort();
  if (rc != 0 && (!why[0] || !memchr(why, '\0', sizeof(why))))
    abort();
  if (rc != 0) {
    if (k8sha__hadoop_conf_get(c, "a", no_env, value, sizeof(value), NULL) != 1 ||
        strcmp(value, "before") != 0)
      abort();
  }
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *source = NULL;
    int got = k8sha__hadoop_conf_get(c, names[i], no_env, value, sizeof(value), &source);
    if (got < -1 || got > 1 || (got != 0 && !memchr(value, '\0', sizeof(value))))
      abort();
    if (got == 1 && !source)
      abort();
  }
  k8sha__hadoop_conf_free(c);
  free(xml);
  return 0;
}
