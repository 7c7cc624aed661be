/* The file:// backend: blobs under the storage directory, written to a temporary name, fsynced,
 * linked into place (link() refuses to replace, so a blob is never overwritten) and the folder
 * fsynced. Paths are confined to the storage directory. The blocking calls run on libuv's
 * thread pool; what the loop thread makes goes through the context's allocator, the bytes a read
 * makes on the pool come from libc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/alloc.h"
#include "k8sha/errors.h"
#include "storage/storage.h"

#define FILE_BLOB_MAX (1024u * 1024u * 1024u) /* a state blob larger than this is refused */

typedef struct file_backend {
  uv_loop_t *loop;
  k8sha_allocator alloc;
  char *root; /* absolute path of the storage directory, no trailing '/' */
} file_backend;

typedef enum file_op { F_WRITE, F_READ, F_REMOVE, F_LIST } file_op;

typedef struct file_work {
  uv_work_t req;
  k8sha_allocator alloc; /* (a copy: the backend may be gone before the work's end) */
  file_op kind;
  k8sha_storage_op *op;
  char *path;       /* the blob (or, for list, the folder) */
  char *name_prefix;/* list: file names must start with this */
  char *uri_base;   /* list: URIs are uri_base + name */
  const void *data;
  size_t len;
  int status;
  char message[600];
  void *out;
  size_t out_len;
} file_work;

static void fail(file_work *w, int status, const char *what, int err) {
  w->status = status;
  snprintf(w->message, sizeof(w->message), "%s %s: %s", what, w->path, strerror(err));
}

static int fsync_dir_of(const char *path);

/* mkdir -p of the folder holding `path`; a folder made here is made durable in its parent (or a
 * crash could lose the folder, and every blob in it, after their writes were reported durable). */
static int make_parents(file_work *w, const char *path) {
  char buf[4096];
  size_t i, n = strlen(path);
  int err;
  if (n >= sizeof(buf))
    return ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (i = 1; i < n; i++) {
    if (buf[i] != '/')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0755) == 0) {
      if ((err = fsync_dir_of(buf)) != 0)
        return err;
    } else if (errno != EEXIST) {
      return errno;
    }
    buf[i] = '/';
  }
  (void)w;
  return 0;
}

static int fsync_dir_of(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  int fd, rc = 0;
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (n == 0 || n >= sizeof(dir))
    return 0;
  memcpy(dir, path, n);
  dir[n] = '\0';
  fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return errno;
  if (fsync(fd) != 0)
    rc = errno;
  close(fd);
  return rc;
}

static void do_write(file_work *w) {
  char tmp[4200];
  static unsigned long counter;
  const char *slash = strrchr(w->path, '/');
  const char *p = w->data;
  size_t left = w->len;
  int fd, err;

  if ((err = make_parents(w, w->path)) != 0)
    return fail(w, K8SHA_ESTORAGE, "cannot create the folder of", err);
  snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp-%ld-%lu", (int)(slash - w->path), w->path, slash + 1,
           (long)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(w, K8SHA_ESTORAGE, "cannot write", errno);
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      err = errno;
      close(fd);
      unlink(tmp);
      return fail(w, K8SHA_ESTORAGE, "cannot write", err);
    }
    p += n;
    left -= (size_t)n;
  }
  if (fsync(fd) != 0) {
    err = errno;
    close(fd); /* the descriptor goes whatever fsync said */
    unlink(tmp);
    return fail(w, K8SHA_ESTORAGE, "cannot make durable", err);
  }
  if (close(fd) != 0) {
    err = errno;
    unlink(tmp);
    return fail(w, K8SHA_ESTORAGE, "cannot make durable", err);
  }
  /* link() fails when the name exists: an existing blob is never replaced. */
  if (link(tmp, w->path) != 0) {
    err = errno;
    unlink(tmp);
    if (err == EEXIST)
      return fail(w, K8SHA_EEXISTS, "blob exists (blobs are never overwritten):", err);
    return fail(w, K8SHA_ESTORAGE, "cannot write", err);
  }
  unlink(tmp);
  if ((err = fsync_dir_of(w->path)) != 0)
    return fail(w, K8SHA_ESTORAGE, "cannot make durable the folder of", err);
}

static void do_read(file_work *w) {
  int fd = open(w->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  size_t got = 0;
  if (fd < 0)
    return fail(w, errno == ENOENT ? K8SHA_ENOTFOUND : K8SHA_ESTORAGE, "cannot read", errno);
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FILE_BLOB_MAX) {
    int err = errno ? errno : EFBIG;
    close(fd);
    return fail(w, K8SHA_ESTORAGE, "cannot read (not a regular file under 1 GiB)", err);
  }
  w->out = malloc((size_t)st.st_size + 1); /* (on the pool: libc) */
  if (!w->out) {
    close(fd);
    return fail(w, K8SHA_ENOMEM, "cannot read", ENOMEM);
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, (char *)w->out + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      return fail(w, K8SHA_ESTORAGE, "cannot read", err);
    }
    got += (size_t)n;
  }
  close(fd);
  w->out_len = got;
}

static void do_remove(file_work *w) {
  if (unlink(w->path) != 0 && errno != ENOENT)
    fail(w, K8SHA_ESTORAGE, "cannot delete", errno);
}

static void do_list(file_work *w) {
  DIR *d = opendir(w->path);
  struct dirent *de;
  size_t plen = strlen(w->name_prefix);
  if (!d) {
    if (errno != ENOENT) /* no folder yet: nothing to list */
      fail(w, K8SHA_ESTORAGE, "cannot list", errno);
    return;
  }
  while ((de = readdir(d)) != NULL) {
    char uri[4400];
    /* Temporary files of unfinished writes (".<blob>.tmp-<pid>-<n>") are listed too: one left
     * by a crashed writer is garbage that only an orphan scan or a cleanup can find. */
    const char *name = de->d_name;
    if (name[0] == '.') {
      if (!strstr(name, ".tmp-"))
        continue;
      name++;
    }
    if (strncmp(name, w->name_prefix, plen) != 0)
      continue;
    snprintf(uri, sizeof(uri), "%s%s", w->uri_base, de->d_name);
    if (k8sha_storage_op_add_entry(w->op, uri) != 0) {
      w->status = K8SHA_ENOMEM;
      break;
    }
  }
  closedir(d);
}

static void work(uv_work_t *req) {
  file_work *w = req->data;
  switch (w->kind) {
  case F_WRITE: do_write(w); break;
  case F_READ: do_read(w); break;
  case F_REMOVE: do_remove(w); break;
  case F_LIST: do_list(w); break;
  }
}

static void work_free(file_work *w) {
  k8sha_allocator a = w->alloc;
  k8sha__free(&a, w->path);
  k8sha__free(&a, w->name_prefix);
  k8sha__free(&a, w->uri_base);
  k8sha__free(&a, w);
}

static void after(uv_work_t *req, int status) {
  file_work *w = req->data;
  (void)status;
  k8sha_storage_op_complete(w->op, w->status, w->status ? w->message : NULL, w->out, w->out_len);
  free(w->out);
  work_free(w);
}

/* The local path of a file:// URI inside the storage directory in *out: 0, K8SHA_EINVAL when it
 * is not one, or K8SHA_ENOMEM. */
static int confined_path(const file_backend *fb, const char *uri, char **out) {
  const char *p;
  size_t rlen = strlen(fb->root);
  if (strncmp(uri, "file://", 7) != 0)
    return K8SHA_EINVAL;
  p = uri + 7;
  if (strncmp(p, fb->root, rlen) != 0 || (p[rlen] != '/' && p[rlen] != '\0'))
    return K8SHA_EINVAL;
  /* No "..", ".", empty components or control characters anywhere. */
  {
    const char *s = p;
    while (*s) {
      const char *e;
      if (*s == '/') {
        s++;
        continue;
      }
      e = strchr(s, '/');
      if (!e)
        e = s + strlen(s);
      if ((e - s == 1 && s[0] == '.') || (e - s == 2 && s[0] == '.' && s[1] == '.'))
        return K8SHA_EINVAL;
      for (; s < e; s++)
        if ((unsigned char)*s < 0x20)
          return K8SHA_EINVAL;
    }
    if (strstr(p, "//"))
      return K8SHA_EINVAL;
  }
  *out = k8sha__strdup(&fb->alloc, p);
  return *out ? 0 : K8SHA_ENOMEM;
}

static int submit(file_backend *fb, file_op kind, const char *uri, const void *data, size_t len,
                  k8sha_storage_op *op) {
  file_work *w;
  char *path;
  int rc = confined_path(fb, uri, &path);
  if (rc)
    return rc; /* (EINVAL: outside the storage directory, or not a plain path) */
  w = k8sha__calloc(&fb->alloc, 1, sizeof(*w));
  if (!w) {
    k8sha__free(&fb->alloc, path);
    return K8SHA_ENOMEM;
  }
  w->alloc = fb->alloc;
  w->path = path;
  w->kind = kind;
  w->op = op;
  w->data = data;
  w->len = len;
  w->req.data = w;
  if (kind == F_LIST) {
    /* "file:///root/cid/completedCheckpoint": folder /root/cid, names starting with the rest */
    char *slash = strrchr(path, '/');
    const char *uslash = strrchr(uri, '/');
    w->name_prefix = k8sha__strdup(&fb->alloc, slash + 1);
    *slash = '\0';
    w->uri_base = k8sha__strndup(&fb->alloc, uri, (size_t)(uslash - uri) + 1);
    if (!w->name_prefix || !w->uri_base) {
      work_free(w);
      return K8SHA_ENOMEM;
    }
  }
  if (uv_queue_work(fb->loop, &w->req, work, after) != 0) {
    work_free(w);
    return K8SHA_ESTORAGE;
  }
  return 0;
}

static int fb_write(void *self, const char *uri, const void *data, size_t len,
                    k8sha_storage_op *op) {
  if (len > FILE_BLOB_MAX)
    return K8SHA_ESTORAGE; /* (more than the file backend takes in one blob) */
  return submit(self, F_WRITE, uri, data, len, op);
}
static int fb_read(void *self, const char *uri, k8sha_storage_op *op) {
  return submit(self, F_READ, uri, NULL, 0, op);
}
static int fb_remove(void *self, const char *uri, k8sha_storage_op *op) {
  return submit(self, F_REMOVE, uri, NULL, 0, op);
}
static int fb_list(void *self, const char *prefix, k8sha_storage_op *op) {
  return submit(self, F_LIST, prefix, NULL, 0, op);
}

static void fb_destroy(void *self) {
  file_backend *fb = self;
  k8sha_allocator a = fb->alloc;
  k8sha__free(&a, fb->root);
  k8sha__free(&a, fb);
}

int k8sha__file_backend_register(k8sha__storage *st, k8sha__rt *rt, const char *storage_dir) {
  k8sha_storage_backend vt = {K8SHA_STORAGE_BACKEND_VERSION, "file", fb_write, fb_read,
                              fb_remove, fb_list, fb_destroy};
  file_backend *fb = k8sha__calloc(&rt->alloc, 1, sizeof(*fb));
  int rc;
  if (!fb)
    return K8SHA_ENOMEM;
  fb->loop = rt->loop;
  fb->alloc = rt->alloc;
  fb->root = k8sha__strdup(&rt->alloc, storage_dir + 7); /* after "file://" */
  if (!fb->root) {
    k8sha__free(&rt->alloc, fb);
    return K8SHA_ENOMEM;
  }
  rc = k8sha__storage_register(st, &vt, fb);
  if (rc)
    fb_destroy(fb);
  return rc;
}
