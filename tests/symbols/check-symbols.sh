#!/usr/bin/env bash
# The version script, the exported symbols of the built library and the K8SHA_EXPORT declarations
# in the public headers must name exactly the same functions, all of them k8sha_*.
set -euo pipefail
lib=$1 sym=$2 include=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' |
  grep -v -E '^(K8SHA_[0-9_.]+)$' | sort -u > "$tmp/exported"
grep -E '^\s+k8sha_[a-z0-9_]+;' "$sym" | tr -d ' \t;' | sort -u > "$tmp/script"
# Declarations: comments removed, statements split at ';', the identifier before '(' of every
# statement that carries K8SHA_EXPORT.
find "$include" \( -name '*.h' -o -name '*.h.in' \) -exec cat {} + | grep -v -E '^[[:space:]]*#' | tr '\n' ' ' |
  sed -E 's#/\*([^*]|\*+[^*/])*\*+/##g' | tr ';' '\n' | grep 'K8SHA_EXPORT' |
  sed -E 's/\(.*//; s/.*[ *]([a-z0-9_]+) *$/\1/' | sort -u > "$tmp/headers"

status=0
if ! diff -u "$tmp/script" "$tmp/exported" > "$tmp/d1"; then
  echo "version script and exported symbols differ (- script, + library):"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/script" "$tmp/headers" > "$tmp/d2"; then
  echo "version script and header declarations differ (- script, + headers):"; cat "$tmp/d2"; status=1
fi
if grep -v '^k8sha_' "$tmp/exported"; then
  echo "symbols above are exported but are not k8sha_*"; status=1
fi
n=$(wc -l < "$tmp/exported")
[ "$n" -gt 0 ] || { echo "no exported symbols found in $lib"; status=1; }
# Every symbol must carry the version node of the release that added it.
if nm -D --defined-only "$lib" | grep ' T k8sha_' | grep -v '@@K8SHA_' ; then
  echo "symbols above carry no version node"; status=1
fi
[ $status -eq 0 ] && echo "$n symbols: version script, library and headers agree"
exit $status
