#!/usr/bin/env bash
# The ThreadSanitizer tier: the tests where libk8sha's code runs on more than one thread.
#   context   the library-owned loop thread: k8sha_ctx_post() from many threads at once, waiters,
#             contexts made and freed on several threads at once, a context freed from another
#             thread with requests pending on its loop
#   storage, storage_faults
#             storage operations completed from other threads (a host backend's worker threads,
#             the file backend on libuv's thread pool, also when its writes fail)
#   s3_faults the s3 backend's transfers on libuv's thread pool, sharing one connection cache,
#             against a server on the test's own loop
#   hdfs_faults
#             the same for the hdfs backend, whose threads also share which namenode is active,
#             against namenodes and a datanode on the test's own loop
#   examples  the examples against kube-lite, among them `threaded` (an election and a checkpoint
#             store driven from a host without libuv) and `custom_backend` (completions from
#             worker threads)
# Builds build/tsan (gcc or clang, -Db_sanitize=thread) when missing. Reports in third-party code
# only are suppressed, each with its reason, in tests/tsan.supp.
#   tests/tsan.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/tsan}
start=$(date +%s)

if [ ! -f "$build/build.ninja" ]; then
  # (b_lundef=false: the shared library leaves the sanitizer's symbols to the executable)
  meson setup "$build" "$root" -Dwerror=true -Db_sanitize=thread -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stop=1:suppressions=$root/tests/tsan.supp"
status=0
meson test -C "$build" --no-rebuild --print-errorlogs core context storage storage_faults s3_faults \
  hdfs_faults examples ||
  status=$?
echo "tsan tier: $(( $(date +%s) - start )) s"
exit "$status"
