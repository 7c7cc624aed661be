#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR as a distribution package does, checks the installed
# tree, then builds and runs a consumer program using only the installed files and
# `pkg-config --cflags --libs libk8sha`.
#
#   check-install.sh BUILD SRC SANITIZE PREFIX BINDIR LIBDIR INCLUDEDIR LIBEXECDIR VERSION TOOLS
#
# BINDIR, LIBDIR, INCLUDEDIR and LIBEXECDIR are absolute (PREFIX joined with meson's option),
# VERSION is the release (0.1.0), TOOLS is `tools` when the k8sha CLI and k8sha-kube-lite are
# built. The tree must hold exactly the headers of include/, the library with its two links, the
# .pc file, the CLI in BINDIR, k8sha-kube-lite in LIBEXECDIR/libk8sha (a development helper, off
# the PATH) and, in a build with -Djava=enabled, the JNI shim: anything else (a test program, a
# static archive, an example) fails the test.
set -euo pipefail
build=$1 src=$2 sanitize=$3 prefix=$4 bindir=$5 libdir=$6 includedir=$7 libexecdir=$8
version=$9 tools=${10}
# The library's file is named after the soname's major and the release's minor and patch
# (docs/abi.md): libk8sha.so.1.1.0 for 0.1.0.
libversion=1.${version#*.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/root
fail() { echo "FAIL: $*"; exit 1; }

DESTDIR=$dest meson install -C "$build" --quiet --no-rebuild
# The JNI shim's folder is configured after the tests', so meson cannot pass this in an argument.
meson introspect --targets "$build" > "$work/targets.json"
jni=no
if grep -q '"name": "k8sha-jni"' "$work/targets.json"; then jni=yes; fi

# What may be installed, and nothing else.
expected=$work/expected actual=$work/actual
{
  echo "$includedir/k8sha.h"
  for h in "$src"/include/k8sha/*.h "$src"/include/k8sha/*.h.in; do
    h=$(basename "$h"); echo "$includedir/k8sha/${h%.in}"
  done
  echo "$libdir/libk8sha.so"
  echo "$libdir/libk8sha.so.1"
  echo "$libdir/libk8sha.so.$libversion"
  echo "$libdir/pkgconfig/libk8sha.pc"
  if [ "$tools" = tools ]; then
    echo "$bindir/k8sha"
    echo "$libexecdir/libk8sha/k8sha-kube-lite"
  fi
  if [ "$jni" = yes ]; then echo "$libdir/libk8sha-jni.so"; fi
} | sort > "$expected"
(cd "$dest" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort) > "$actual"
if ! diff -u "$expected" "$actual" > "$work/tree.diff"; then
  echo "the installed tree differs from what is expected (- expected, + installed):"
  grep -E '^[-+]/' "$work/tree.diff"
  exit 1
fi
echo "installed: $(wc -l < "$actual") files, exactly as expected"

# The library: the soname link points to the file, the development link to the soname link.
lib=$dest$libdir/libk8sha.so.1
[ -L "$lib" ] || fail "$libdir/libk8sha.so.1 is not a symbolic link"
[ "$(readlink "$lib")" = "libk8sha.so.$libversion" ] ||
  fail "libk8sha.so.1 points to '$(readlink "$lib")', expected libk8sha.so.$libversion"
[ -f "$dest$libdir/libk8sha.so.$libversion" ] && [ ! -L "$dest$libdir/libk8sha.so.$libversion" ] ||
  fail "libk8sha.so.$libversion is not a regular file"
[ -L "$dest$libdir/libk8sha.so" ] && [ "$(readlink -f "$dest$libdir/libk8sha.so")" = "$(readlink -f "$lib")" ] ||
  fail "the development link libk8sha.so does not lead to libk8sha.so.1"
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\].*/\1/p')
[ "$soname" = libk8sha.so.1 ] || fail "SONAME is '$soname', expected libk8sha.so.1"

# Nothing installed may keep a search path into the build tree (meson drops its own on install).
elfs=("$lib")
[ "$tools" = tools ] && elfs+=("$dest$bindir/k8sha" "$dest$libexecdir/libk8sha/k8sha-kube-lite")
[ "$jni" = yes ] && elfs+=("$dest$libdir/libk8sha-jni.so")
for f in "${elfs[@]}"; do
  if readelf -d "$f" | grep -E '\((RPATH|RUNPATH)\)'; then fail "${f#"$dest"} has a library search path"; fi
done

# The .pc file: where it is installed, the directories it names, its version and requirements.
pc=$dest$libdir/pkgconfig/libk8sha.pc
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig
for v in prefix:"$prefix" libdir:"$libdir" includedir:"$includedir"; do
  got=$(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --variable="${v%%:*}" libk8sha)
  [ "$got" = "${v#*:}" ] || fail "${pc#"$dest"}: ${v%%:*} is '$got', expected '${v#*:}'"
done
export PKG_CONFIG_SYSROOT_DIR=$dest
pkg-config --validate libk8sha
[ "$(pkg-config --modversion libk8sha)" = "$version" ] ||
  fail "${pc#"$dest"}: version $(pkg-config --modversion libk8sha), expected $version"
# libuv is in the public API (a host passes its uv_loop_t): Requires; the others are private.
reqs=$(pkg-config --print-requires libk8sha | tr '\n' ' ')
case " $reqs" in *" libuv"*) ;; *) fail "Requires lacks libuv (has: $reqs)" ;; esac
reqs=$(pkg-config --print-requires-private libk8sha | tr '\n' ' ')
for r in libcurl jansson yaml-0.1 libcrypto expat; do
  case " $reqs" in *" $r"*) ;; *) fail "Requires.private lacks $r (has: $reqs)" ;; esac
done

# The CLI, installed, runs on the installed library and links it by its soname.
if [ "$tools" = tools ]; then
  readelf -d "$dest$bindir/k8sha" | grep -q 'NEEDED.*\[libk8sha\.so\.1\]' ||
    fail "the installed k8sha does not link libk8sha.so.1"
  out=$(LD_LIBRARY_PATH=$dest$libdir "$dest$bindir/k8sha" version)
  [ "$out" = "k8sha $version" ] || fail "installed k8sha version printed '$out'"
  echo "$out (installed CLI)"
fi

extra=()
[ "$sanitize" = none ] || extra=(-fsanitize="$sanitize")
# shellcheck disable=SC2046
${CC:-cc} -std=c99 -Wall -Wextra -Werror "${extra[@]}" -o "$work/consumer" "$src/tests/install/consumer.c" \
  $(pkg-config --cflags --libs libk8sha)
readelf -d "$work/consumer" | grep -q 'NEEDED.*\[libk8sha\.so\.1\]' ||
  fail "the consumer does not link libk8sha.so.1"
out=$(LD_LIBRARY_PATH=$dest$libdir "$work/consumer")
echo "$out"
case "$out" in
  "libk8sha $version: cluster cluster1337 in namespace flink") ;;
  *) fail "unexpected output from the consumer" ;;
esac
