#!/usr/bin/env bash
# Compares the built library's ABI with the committed baseline, with abigail's abidiff: an
# incompatible change (a changed function signature or struct layout, a removed symbol) fails;
# an added function is reported and passes. Any other change to what existing functions take or
# return (a struct's layout, even a field appended to a versioned struct) fails too: such a change
# is made deliberately, with the baseline rewritten in the same commit (--update).
#
# Usage: check-abi.sh LIBRARY HEADERS_DIR BASELINE [--update]
#   --update writes the library's ABI as the new baseline (only for a deliberate change before
#   1.0, or at a soname bump; see docs/abi.md).
set -euo pipefail
lib=$1 headers=$2 baseline=$3
if ! command -v abidw >/dev/null 2>&1 || ! command -v abidiff >/dev/null 2>&1; then
  echo "abidw/abidiff not found: install abigail-tools (tools/install-deps.sh does)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only what the public headers declare; no build paths, so the file is the same on every machine.
abidw --headers-dir "$headers" --drop-private-types --no-corpus-path --no-comp-dir-path --drop-undefined-syms \
  --out-file "$tmp/current.abi" "$lib"
if [ "${4:-}" = "--update" ]; then
  cp "$tmp/current.abi" "$baseline"
  echo "baseline written: $baseline"
  exit 0
fi
if [ ! -s "$baseline" ]; then
  echo "no baseline at $baseline (write one with --update)" >&2
  exit 1
fi
set +e
abidiff "$baseline" "$tmp/current.abi" > "$tmp/report" 2>&1
rc=$?
set -e
# abidiff's status is a bit field: 1 tool error, 2 usage error, 4 a change, 8 an incompatible one.
if [ $((rc & 3)) -ne 0 ]; then
  echo "abidiff failed (status $rc):" >&2
  cat "$tmp/report" >&2
  exit 1
fi
# Anything removed or changed, in functions or variables, fails; additions alone pass.
changed=$({ grep -E '^(Functions|Variables) changes summary:' "$tmp/report" || true; } |
  sed -E 's/.*: ([0-9]+) Removed[^,]*, ([0-9]+) Changed.*/\1 \2/' | awk '{s += $1 + $2} END {print s + 0}')
if [ $((rc & 8)) -ne 0 ] || [ "$changed" -gt 0 ]; then
  echo "ABI change against $baseline (removed or changed functions, types or variables):"
  cat "$tmp/report"
  echo "If this change is intended (before 1.0, or with a soname bump), rewrite the baseline:"
  echo "  $0 $lib $headers $baseline --update"
  exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  echo "compatible ABI changes against the baseline (additions only):"
  cat "$tmp/report"
else
  echo "ABI identical to the baseline"
fi
