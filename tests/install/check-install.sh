#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR, then builds and runs a consumer program using only
# the installed files and `pkg-config --cflags --libs libk8sha`.
set -euo pipefail
build=$1 src=$2 sanitize=${3:-none}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet --no-rebuild
pc=$(find "$dest" -name libk8sha.pc | head -n 1)
[ -n "$pc" ] || { echo "libk8sha.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
pkg-config --validate libk8sha
# libuv is in the public API (a host passes its uv_loop_t): Requires; the others are private.
reqs=$(pkg-config --print-requires libk8sha | tr '\n' ' ')
case " $reqs" in *" libuv"*) ;; *) echo "Requires lacks libuv (has: $reqs)"; exit 1 ;; esac
reqs=$(pkg-config --print-requires-private libk8sha | tr '\n' ' ')
for r in libcurl jansson yaml-0.1; do
  case " $reqs" in *" $r"*) ;; *) echo "Requires.private lacks $r (has: $reqs)"; exit 1 ;; esac
done

lib=$(find "$dest" -name 'libk8sha.so.1' | head -n 1)
[ -n "$lib" ] || { echo "libk8sha.so.1 was not installed"; exit 1; }
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\].*/\1/p')
[ "$soname" = libk8sha.so.1 ] || { echo "SONAME is '$soname', expected libk8sha.so.1"; exit 1; }
[ -e "$(dirname "$lib")/libk8sha.so" ] || { echo "the libk8sha.so development link is missing"; exit 1; }
# the file behind the soname link carries the soname's major: libk8sha.so.1.<minor>.<patch>
real=$(basename "$(readlink -f "$lib")")
case "$real" in libk8sha.so.1.*.*) ;; *) echo "the library file is $real, expected libk8sha.so.1.<minor>.<patch>"; exit 1 ;; esac
for h in k8sha.h k8sha/version.h k8sha/errors.h k8sha/config.h k8sha/common.h; do
  [ -n "$(find "$dest" -path "*/include/$h")" ] || { echo "$h was not installed"; exit 1; }
done

extra=()
[ "$sanitize" = none ] || extra=(-fsanitize="$sanitize")
# shellcheck disable=SC2046
${CC:-cc} -std=c99 -Wall -Wextra -Werror "${extra[@]}" -o "$dest/consumer" "$src/tests/install/consumer.c" \
  $(pkg-config --cflags --libs libk8sha)
out=$(LD_LIBRARY_PATH=$(dirname "$lib") "$dest/consumer")
echo "$out"
case "$out" in
  "libk8sha "*": cluster cluster1337 in namespace flink") ;;
  *) echo "unexpected output from the consumer"; exit 1 ;;
esac
