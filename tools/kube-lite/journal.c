/*
 * Persistence for --data-dir: an append-only journal of JSON lines.
 *
 * Each change is one write(2) of one line, without fsync: the page cache
 * outlives a SIGKILLed process, which is the crash this is for, and a
 * write per change keeps the server fast.  At start the journal is
 * replayed and rewritten as a snapshot (that rewrite is fsynced and
 * renamed into place), and it is rewritten again when it grows well past
 * the live data.  A torn last line (power loss) is skipped.
 */
#include "kl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMPACT_MIN_LINES 100000

struct kl_journal {
  kl_server *srv;
  char *dir;
  int fd;
  int lock_fd;
  size_t lines;
  bool failed;
};

static char *path_in(const char *dir, const char *file) {
  kl_buf b = {0};
  kl_buf_printf(&b, "%s/%s", dir, file);
  return kl_buf_steal(&b);
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static int res_by_name(const char *s) {
  for (int r = 0; r < KL_RES_COUNT; r++)
    if (s && strcmp(s, kl_resources[r].plural) == 0)
      return r;
  return -1;
}

static void replay(kl_journal *j, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  kl_store *st = j->srv->store;
  uint64_t max_rv = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    json_t *e = json_loadb(line, (size_t)n, 0, NULL);
    if (!e)
      continue;
    const char *op = json_string_value(json_object_get(e, "op"));
    int res = res_by_name(json_string_value(json_object_get(e, "resource")));
    uint64_t rv = 0;
    kl_parse_u64(json_string_value(json_object_get(e, "rv")), &rv);
    if (rv > max_rv)
      max_rv = rv;
    if (op && strcmp(op, "put") == 0 && res >= 0) {
      json_t *obj = json_object_get(e, "object");
      if (json_is_object(obj))
        kl_store_restore(st, res, json_incref(obj), rv);
    } else if (op && strcmp(op, "delete") == 0 && res >= 0) {
      const char *ns = json_string_value(json_object_get(e, "namespace"));
      const char *name = json_string_value(json_object_get(e, "name"));
      if (ns && name)
        kl_store_remove_quiet(st, res, ns, name);
    }
    json_decref(e);
  }
  free(line);
  fclose(f);
  kl_store_set_rv(st, max_rv);
}

static char *put_line(int res, uint64_t rv, json_t *obj, size_t *len) {
  size_t olen;
  char *o = kl_json_dumps(obj, &olen);
  kl_buf b = {0};
  kl_buf_reserve(&b, olen + 96);
  kl_buf_printf(&b, "{\"op\":\"put\",\"rv\":\"%llu\",\"resource\":\"%s\",\"object\":",
                (unsigned long long)rv, kl_resources[res].plural);
  kl_buf_append(&b, o, olen);
  kl_buf_puts(&b, "}\n");
  free(o);
  *len = b.len;
  return kl_buf_steal(&b);
}

/* Writes the live objects to a new file and renames it over the journal. */
static bool snapshot(kl_journal *j) {
  char *tmp = path_in(j->dir, "journal.jsonl.tmp");
  char *dst = path_in(j->dir, "journal.jsonl");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  kl_store *st = j->srv->store;
  if (ok) {
    char head[96];
    int hn = snprintf(head, sizeof head, "{\"op\":\"checkpoint\",\"rv\":\"%llu\"}\n",
                      (unsigned long long)kl_store_rv(st));
    ok = write_all(fd, head, (size_t)hn);
  }
  for (int res = 0; ok && res < KL_RES_COUNT; res++) {
    kl_obj **objs;
    size_t n = kl_store_collect(st, res, NULL, &objs);
    for (size_t i = 0; ok && i < n; i++) {
      size_t len;
      char *line = put_line(res, objs[i]->rv, objs[i]->json, &len);
      ok = write_all(fd, line, len);
      free(line);
    }
    free(objs);
  }
  if (fd >= 0) {
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
  }
  ok = ok && rename(tmp, dst) == 0;
  if (ok) {
    int dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    if (j->fd >= 0)
      close(j->fd);
    j->fd = open(dst, O_WRONLY | O_APPEND | O_CLOEXEC);
    ok = j->fd >= 0;
    j->lines = 0;
  } else {
    unlink(tmp);
  }
  free(tmp);
  free(dst);
  return ok;
}

kl_journal *kl_journal_open(kl_server *srv, const char *dir, char **err) {
  *err = NULL;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    kl_buf b = {0};
    kl_buf_printf(&b, "cannot create data dir %s: %s", dir, strerror(errno));
    *err = kl_buf_steal(&b);
    return NULL;
  }
  kl_journal *j = kl_xcalloc(1, sizeof *j);
  j->srv = srv;
  j->dir = kl_strdup(dir);
  j->fd = -1;
  char *lock = path_in(dir, "lock");
  j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(lock);
  /* Two servers on one journal would interleave lines; the kernel drops
   * the lock when a killed server dies, so restarts are not blocked. */
  if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    kl_buf b = {0};
    kl_buf_printf(&b, "data dir %s is in use by another kube-lite", dir);
    *err = kl_buf_steal(&b);
    kl_journal_close(j);
    return NULL;
  }
  char *path = path_in(dir, "journal.jsonl");
  replay(j, path);
  free(path);
  if (!snapshot(j)) {
    kl_buf b = {0};
    kl_buf_printf(&b, "cannot write journal in %s: %s", dir, strerror(errno));
    *err = kl_buf_steal(&b);
    kl_journal_close(j);
    return NULL;
  }
  return j;
}

static void append(kl_journal *j, const char *line, size_t len) {
  if (j->fd < 0 || !write_all(j->fd, line, len)) {
    if (!j->failed)
      kl_log("journal write failed: %s; changes are kept in memory only", strerror(errno));
    j->failed = true;
    return;
  }
  size_t live = kl_store_count(j->srv->store);
  if (++j->lines > COMPACT_MIN_LINES && j->lines > 4 * live)
    snapshot(j);
}

void kl_journal_put(kl_journal *j, int res, uint64_t rv, json_t *obj) {
  size_t len;
  char *line = put_line(res, rv, obj, &len);
  append(j, line, len);
  free(line);
}

void kl_journal_delete(kl_journal *j, int res, uint64_t rv, const char *ns, const char *name) {
  json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s}", "op", "delete", "rv", "", "resource",
                        kl_resources[res].plural, "namespace", ns, "name", name);
  char rvs[24];
  snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rv);
  json_object_set_new(e, "rv", json_string(rvs));
  size_t len;
  char *s = kl_json_dumps(e, &len);
  json_decref(e);
  s = kl_xrealloc(s, len + 2);
  s[len++] = '\n';
  s[len] = '\0';
  append(j, s, len);
  free(s);
}

void kl_journal_close(kl_journal *j) {
  if (!j)
    return;
  if (j->fd >= 0)
    close(j->fd);
  if (j->lock_fd >= 0)
    close(j->lock_fd);
  free(j->dir);
  free(j);
}
