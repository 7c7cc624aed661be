/* Storage faults for the chaos campaign, preloaded into a worker (LD_PRELOAD): while the file
 * named by CHAOS_FS_CONTROL holds "eio", fsync() of a file under CHAOS_FS_ROOT fails with EIO;
 * while it holds "enospc", write() to such a file fails with ENOSPC. Other files (the process's
 * pipes, sockets, the kubeconfig) are never touched. The harness switches the faults by
 * rewriting the control file (rename into place), so a fault starts and ends between calls. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { NONE, EIO_ON_FSYNC, ENOSPC_ON_WRITE };

static int current_fault(void) {
  const char *ctl = getenv("CHAOS_FS_CONTROL");
  char buf[16];
  ssize_t n;
  int fd;
  if (!ctl || (fd = open(ctl, O_RDONLY | O_CLOEXEC)) < 0)
    return NONE;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return NONE;
  buf[n] = '\0';
  if (strncmp(buf, "eio", 3) == 0)
    return EIO_ON_FSYNC;
  if (strncmp(buf, "enospc", 6) == 0)
    return ENOSPC_ON_WRITE;
  return NONE;
}

static int under_root(int fd) {
  const char *root = getenv("CHAOS_FS_ROOT");
  char link[64], path[4096];
  ssize_t n;
  if (!root || fd < 0)
    return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0)
    return 0;
  path[n] = '\0';
  return strncmp(path, root, strlen(root)) == 0;
}

ssize_t write(int fd, const void *buf, size_t count) {
  static ssize_t (*real)(int, const void *, size_t);
  if (!real)
    real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  if (fd > 2 && current_fault() == ENOSPC_ON_WRITE && under_root(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, count);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real)
    real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (current_fault() == EIO_ON_FSYNC && under_root(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
