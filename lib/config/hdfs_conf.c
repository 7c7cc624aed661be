/* The hdfs backend's settings (hdfs_conf.h). Hadoop's configuration is gathered as Flink gathers
 * it: HADOOP_HOME's etc/hadoop and conf folders, Flink's `fs.hdfs.hadoopconf`, HADOOP_CONF_DIR
 * (each folder's core-site.xml, then hdfs-site.xml; a later file replaces an earlier value), then
 * the configuration's `flink.hadoop.<property>` keys. From it:
 *   - the file system: the storage directory's authority, or fs.defaultFS's for hdfs:///path;
 *   - its namenodes' HTTP addresses: for an HA nameservice (dfs.ha.namenodes.<ns>), each
 *     dfs.namenode.http-address.<ns>.<id>; else dfs.namenode.http-address, or the authority's
 *     host at Hadoop's port 9870; https addresses and port 9871 under dfs.http.policy HTTPS_ONLY;
 *   - the user: Kerberos (hadoop.security.authentication=kerberos), else HADOOP_USER_NAME, else
 *     the process's user, sent as WebHDFS's user.name. */
#include "config/hdfs_conf.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config_priv.h"
#include "config/hadoop_conf.h"
#include "k8sha/errors.h"

#define FLINK_HADOOP_PREFIX "flink.hadoop."

typedef struct reader {
  k8sha__hadoop_conf *h;
  char *(*getenv_fn)(const char *);
  k8sha__hdfs_conf *out;
  char *why;
  size_t why_len;
} reader;

/* Loads core-site.xml and hdfs-site.xml of one folder (each may be absent). */
static int load_folder(reader *r, const char *folder) {
  static const char *const files[] = {"core-site.xml", "hdfs-site.xml"};
  char path[1200];
  size_t i;
  int rc;
  if (!folder || !*folder)
    return 0;
  for (i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/%s", folder, files[i]);
    rc = k8sha__hadoop_conf_load(r->h, path, r->why, r->why_len);
    if (rc == K8SHA_ENOTFOUND)
      continue;
    if (rc)
      return rc;
    if (strlen(r->out->files) + strlen(path) + 3 < sizeof(r->out->files))
      snprintf(r->out->files + strlen(r->out->files), sizeof(r->out->files) - strlen(r->out->files),
               "%s%s", r->out->files[0] ? ", " : "", path);
  }
  return 0;
}

static int gather(reader *r, const k8sha_config *cfg) {
  const char *home = r->getenv_fn("HADOOP_HOME");
  const k8sha__entry *e = k8sha__config_find(cfg, "fs.hdfs.hadoopconf");
  char folder[1100], source[300];
  size_t i;
  int rc = 0;
  if (home && *home) {
    snprintf(folder, sizeof(folder), "%s/conf", home);
    rc = load_folder(r, folder);
    snprintf(folder, sizeof(folder), "%s/etc/hadoop", home);
    if (rc == 0)
      rc = load_folder(r, folder);
  }
  if (rc == 0 && e)
    rc = load_folder(r, e->value);
  if (rc == 0)
    rc = load_folder(r, r->getenv_fn("HADOOP_CONF_DIR"));
  for (i = 0; rc == 0 && i < cfg->n_entries; i++) {
    const k8sha__entry *k = &cfg->entries[i];
    if (strncmp(k->key, FLINK_HADOOP_PREFIX, strlen(FLINK_HADOOP_PREFIX)) != 0 ||
        !k->key[strlen(FLINK_HADOOP_PREFIX)])
      continue;
    snprintf(source, sizeof(source), "the configuration key %.200s", k->key);
    rc = k8sha__hadoop_conf_set(r->h, k->key + strlen(FLINK_HADOOP_PREFIX), k->value, source);
  }
  return rc;
}

/* A property's value: 1 with `out` (and where it was set in `from`), 0 when unset. */
static int get(reader *r, const char *name, char *out, size_t out_len, char *from,
               size_t from_len) {
  const char *source = NULL;
  int rc = k8sha__hadoop_conf_get(r->h, name, r->getenv_fn, out, out_len, &source);
  if (rc < 0) {
    snprintf(r->why, r->why_len, "%s (%s)", out, source ? source : "");
    return -1;
  }
  if (rc == 1 && from)
    snprintf(from, from_len, "%s (%s)", name, source);
  return rc;
}

/* "host:port" as Hadoop writes socket addresses; a host of 0.0.0.0 (every interface) becomes
 * `host_instead` when there is one. 0 with the URL, or K8SHA_ECONFIG. */
static int address_url(reader *r, const char *value, const char *from, const char *scheme,
                       const char *host_instead, char *url, size_t url_len) {
  const char *colon = strrchr(value, ':');
  char *end = NULL;
  unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
  size_t hlen = colon ? (size_t)(colon - value) : 0, i;
  for (i = 0; i < hlen; i++) {
    char c = value[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      break;
  }
  if (!colon || hlen == 0 || i < hlen || end == colon + 1 || *end || port == 0 || port > 65535) {
    snprintf(r->why, r->why_len, "%s: '%.200s' is not an address of the form host:port", from,
             value);
    return K8SHA_ECONFIG;
  }
  if (hlen == 7 && strncmp(value, "0.0.0.0", 7) == 0) {
    if (!host_instead) {
      snprintf(r->why, r->why_len,
               "%s: '%.200s' names every interface, not a host a client can reach", from, value);
      return K8SHA_ECONFIG;
    }
    snprintf(url, url_len, "%s://%s:%lu", scheme, host_instead, port);
  } else {
    snprintf(url, url_len, "%s://%.*s:%lu", scheme, (int)hlen, value, port);
  }
  return 0;
}

/* The authority of the storage directory, or of fs.defaultFS for hdfs:///path. */
static int authority(reader *r, const char *dir) {
  k8sha__hdfs_conf *out = r->out;
  const char *a = dir + strlen("hdfs://");
  size_t n = strcspn(a, "/");
  char fs[600], from[400];
  int rc;
  if (n > 0) {
    if (n >= sizeof(out->authority)) {
      snprintf(r->why, r->why_len, "the storage directory's namenode '%.*s' is too long",
               (int)(n > 80 ? 80 : n), a);
      return K8SHA_ECONFIG;
    }
    memcpy(out->authority, a, n);
    out->authority[n] = '\0';
    /* hdfs:///path names it too when it is the default file system */
    rc = get(r, "fs.defaultFS", fs, sizeof(fs), NULL, 0);
    out->default_fs = rc == 1 && strncasecmp(fs, "hdfs://", 7) == 0 &&
                      strcspn(fs + 7, "/") == n && strncmp(fs + 7, out->authority, n) == 0;
    return rc < 0 ? K8SHA_ECONFIG : 0;
  }
  out->default_fs = 1;
  rc = get(r, "fs.defaultFS", fs, sizeof(fs), from, sizeof(from));
  if (rc == 0)
    rc = get(r, "fs.default.name", fs, sizeof(fs), from, sizeof(from)); /* (its old name) */
  if (rc < 0)
    return K8SHA_ECONFIG;
  if (rc == 0) {
    snprintf(r->why, r->why_len,
             "'%s' names the default file system, but fs.defaultFS is not set (%s%s)", dir,
             out->files[0] ? "read: " : "no core-site.xml found through HADOOP_CONF_DIR or "
                                        "HADOOP_HOME, and no flink.hadoop.fs.defaultFS key",
             out->files);
    return K8SHA_ECONFIG;
  }
  if (strncasecmp(fs, "hdfs://", 7) != 0 || !fs[7] || fs[7] == '/') {
    snprintf(r->why, r->why_len, "'%s' names the default file system, but %s is '%.200s', not "
             "hdfs://namenode", dir, from, fs);
    return K8SHA_ECONFIG;
  }
  n = strcspn(fs + 7, "/");
  if (n >= sizeof(out->authority)) {
    snprintf(r->why, r->why_len, "%s: the namenode is too long", from);
    return K8SHA_ECONFIG;
  }
  memcpy(out->authority, fs + 7, n);
  out->authority[n] = '\0';
  return 0;
}

static int namenodes(reader *r) {
  k8sha__hdfs_conf *out = r->out;
  char key[400], value[600], from[400], policy[64], host[256];
  const char *scheme = "http", *kind = "http-address";
  unsigned port = K8SHA__HDFS_HTTP_PORT;
  int rc;

  rc = get(r, "dfs.http.policy", policy, sizeof(policy), from, sizeof(from));
  if (rc < 0)
    return K8SHA_ECONFIG;
  if (rc == 1 && strcmp(policy, "HTTPS_ONLY") == 0) {
    scheme = "https";
    kind = "https-address";
    port = K8SHA__HDFS_HTTPS_PORT;
  } else if (rc == 1 && strcmp(policy, "HTTP_ONLY") != 0 && strcmp(policy, "HTTP_AND_HTTPS") != 0) {
    snprintf(r->why, r->why_len, "%s: '%s' is not HTTP_ONLY, HTTPS_ONLY or HTTP_AND_HTTPS", from,
             policy);
    return K8SHA_ECONFIG;
  }

  /* An HA nameservice: the authority has no port and names its namenodes. */
  snprintf(key, sizeof(key), "dfs.ha.namenodes.%s", out->authority);
  rc = strchr(out->authority, ':') ? 0 : get(r, key, value, sizeof(value), from, sizeof(from));
  if (rc < 0)
    return K8SHA_ECONFIG;
  if (rc == 1) {
    const char *id = value;
    snprintf(out->nameservice, sizeof(out->nameservice), "%s", out->authority);
    while (*id) {
      size_t n = strcspn(id, ", \t\r\n");
      k8sha__hdfs_namenode *nn;
      char nn_from[400];
      if (n == 0) {
        id++;
        continue;
      }
      if (out->n_namenodes == K8SHA__HDFS_NAMENODES_MAX || n >= sizeof(nn->id)) {
        snprintf(r->why, r->why_len, "%s: more than %d namenodes, or an ID longer than 63 bytes",
                 from, K8SHA__HDFS_NAMENODES_MAX);
        return K8SHA_ECONFIG;
      }
      nn = &out->namenodes[out->n_namenodes];
      memcpy(nn->id, id, n);
      nn->id[n] = '\0';
      snprintf(key, sizeof(key), "dfs.namenode.%s.%s.%s", kind, out->authority, nn->id);
      rc = get(r, key, host, sizeof(host), nn_from, sizeof(nn_from));
      if (rc < 0)
        return K8SHA_ECONFIG;
      if (rc == 0) {
        snprintf(r->why, r->why_len, "the nameservice %s's namenode %s has no %s (%s lists it)",
                 out->authority, nn->id, key, from);
        return K8SHA_ECONFIG;
      }
      if (address_url(r, host, nn_from, scheme, NULL, nn->url, sizeof(nn->url)) != 0)
        return K8SHA_ECONFIG;
      snprintf(nn->from, sizeof(nn->from), "%.299s", nn_from);
      out->n_namenodes++;
      id += n;
    }
    if (out->n_namenodes == 0) {
      snprintf(r->why, r->why_len, "%s lists no namenode", from);
      return K8SHA_ECONFIG;
    }
    return 0;
  }

  /* One namenode: its HTTP address, else the authority's host at Hadoop's port. */
  {
    k8sha__hdfs_namenode *nn = &out->namenodes[0];
    size_t hlen = strcspn(out->authority, ":");
    char auth_host[256];
    snprintf(auth_host, sizeof(auth_host), "%.*s", (int)hlen, out->authority);
    snprintf(key, sizeof(key), "dfs.namenode.%s", kind);
    rc = get(r, key, host, sizeof(host), from, sizeof(from));
    if (rc < 0)
      return K8SHA_ECONFIG;
    if (rc == 1) {
      if (address_url(r, host, from, scheme, auth_host, nn->url, sizeof(nn->url)) != 0)
        return K8SHA_ECONFIG;
      snprintf(nn->from, sizeof(nn->from), "%.299s", from);
    } else {
      snprintf(host, sizeof(host), "%.240s:%u", auth_host, port);
      if (address_url(r, host, "the storage directory's namenode", scheme, NULL, nn->url,
                      sizeof(nn->url)) != 0)
        return K8SHA_ECONFIG;
      snprintf(nn->from, sizeof(nn->from), "the namenode's host at Hadoop's default %s port "
               "(no %.200s is set)", scheme, key);
    }
    out->n_namenodes = 1;
  }
  return 0;
}

static int user(reader *r) {
  k8sha__hdfs_conf *out = r->out;
  char auth[64], from[400], buf[2048]; /* (buf: the passwd entry v may point into) */
  struct passwd pw, *found = NULL;
  const char *v;
  int rc = get(r, "hadoop.security.authentication", auth, sizeof(auth), from, sizeof(from));
  if (rc < 0)
    return K8SHA_ECONFIG;
  if (rc == 1 && strcasecmp(auth, "kerberos") == 0) {
    out->kerberos = 1;
    snprintf(out->user_from, sizeof(out->user_from), "Kerberos");
    return 0;
  }
  if (rc == 1 && strcasecmp(auth, "simple") != 0) {
    snprintf(r->why, r->why_len, "%s: '%s' is not simple or kerberos", from, auth);
    return K8SHA_ECONFIG;
  }
  v = r->getenv_fn("HADOOP_USER_NAME");
  if (v && *v) {
    snprintf(out->user_from, sizeof(out->user_from), "HADOOP_USER_NAME");
  } else {
    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) != 0 || !found) {
      snprintf(r->why, r->why_len,
               "simple authentication needs a user name: the process's user id %u has none "
               "(set HADOOP_USER_NAME)", (unsigned)geteuid());
      return K8SHA_ECONFIG;
    }
    v = found->pw_name;
    snprintf(out->user_from, sizeof(out->user_from), "the process's user");
  }
  if (strlen(v) >= sizeof(out->user)) {
    snprintf(r->why, r->why_len, "%s is longer than %zu bytes", out->user_from,
             sizeof(out->user) - 1);
    return K8SHA_ECONFIG;
  }
  snprintf(out->user, sizeof(out->user), "%s", v);
  return 0;
}

int k8sha__hdfs_conf_read(const k8sha_config *cfg, const char *dir,
                          char *(*getenv_fn)(const char *), k8sha__hdfs_conf *out, char *why,
                          size_t why_len) {
  reader r = {NULL, getenv_fn, out, why, why_len};
  int rc;
  memset(out, 0, sizeof(*out));
  if (strncmp(dir, "hdfs://", 7) != 0) {
    snprintf(why, why_len, "'%s' is not an hdfs:// storage directory", dir);
    return K8SHA_ECONFIG;
  }
  if (!(r.h = k8sha__hadoop_conf_new(&cfg->alloc)))
    return K8SHA_ENOMEM;
  rc = gather(&r, cfg);
  if (rc == 0)
    rc = authority(&r, dir);
  if (rc == 0)
    rc = namenodes(&r);
  if (rc == 0)
    rc = user(&r);
  k8sha__hadoop_conf_free(r.h);
  if (rc == K8SHA_ENOMEM)
    snprintf(why, why_len, "out of memory");
  return rc;
}
