#!/usr/bin/env bash
# Model-checks tests/model/k8sha.pml with Spin (docs/model.md).
#
#   1. Exhaustive searches of the model as the code is, in several small configurations: every
#      one must end with "errors: 0" and a completed search.
#   2. Each seeded bug must be found: a
#      breadth-first search stops at the shortest counterexample, and `spin -t` must replay its
#      trail to the expected property violation. The trail's narration is printed.
#   3. Reachability probes: situations the properties are about must actually arise within the
#      bounds, or a clean result would mean nothing.
#
# Usage: check.sh [-q]        (-q: do not print the counterexample trails)
# Environment: MODEL_MEMLIM   memory bound for one search, in MB (default 1536; the largest
#                             search needs about 1040)
#              CC             C compiler for the verifiers (default: gcc, else cc)
# Exit status: 0 when every check passed, 1 otherwise (also when spin is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model="$here/k8sha.pml"
quiet=0
[ "${1:-}" = "-q" ] && quiet=1
memlim=${MODEL_MEMLIM:-1536}

if ! command -v spin >/dev/null 2>&1; then
  echo "model: spin is not installed (Debian package 'spin'; tools/install-deps.sh installs it)" >&2
  exit 1
fi
cc=${CC:-}
if [ -z "$cc" ]; then
  if command -v gcc >/dev/null 2>&1; then cc=gcc; else cc=cc; fi
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "model: no C compiler ($cc) to build the verifier" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/k8sha-model.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The configurations (the model's defaults are MAIN's).
MAIN="-DNC=2 -DNJOBS=2 -DNCK=2 -DNCK1=1 -DMAXG=2 -DMAXGU=1"
RETENTION="-DNC=2 -DNJOBS=1 -DNCK=3 -DMAXG=3 -DMAXGU=2"
THREE="-DNC=3 -DNJOBS=2 -DNCK=2 -DNCK1=1 -DMAXG=2 -DMAXGU=1"

passed=0
failed=0
summary=()
n=0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
field() { # field FILE REGEX: the first number after REGEX on its first matching line
  grep -m1 -o -E "$2 *[0-9]+(\.[0-9]+)?" "$1" | grep -o -E '[0-9]+(\.[0-9]+)?$' || true
}

# build DIR OPT PANFLAGS SPINFLAGS...: generate and compile a verifier in DIR
build() {
  local dir=$1 opt=$2 panflags=$3
  shift 3
  mkdir -p "$dir"
  cp "$model" "$dir/k8sha.pml"
  if ! (cd "$dir" && spin -a "$@" k8sha.pml >spin-a.log 2>&1); then
    cat "$dir/spin-a.log"
    return 1
  fi
  # shellcheck disable=SC2086
  if ! (cd "$dir" && "$cc" "$opt" -w -DSAFETY -DMEMLIM="$memlim" $panflags -o pan pan.c \
          >cc.log 2>&1); then
    cat "$dir/cc.log"
    return 1
  fi
}

ok() {
  passed=$((passed + 1))
  summary+=("ok    $1")
}
bad() {
  failed=$((failed + 1))
  summary+=("FAIL  $1")
  echo "FAIL: $1" >&2
}

# clean NAME SPINFLAGS...: exhaustive search, must find nothing
clean() {
  local name=$1
  shift
  n=$((n + 1))
  local dir="$work/$n" t0 t1
  echo "== $name: exhaustive search ($*)"
  t0=$(now)
  if ! build "$dir" -O1 "" "$@"; then
    bad "$name: the verifier did not build"
    return
  fi
  (cd "$dir" && ./pan -m10000 >pan.out 2>&1) || true
  t1=$(now)
  local out="$dir/pan.out"
  local states depth mem ptime
  states=$(grep -m1 -o -E '[0-9]+ states, stored' "$out" | grep -o -E '^[0-9]+' || true)
  depth=$(field "$out" 'depth reached')
  mem=$(grep -m1 -o -E '[0-9.]+[[:space:]]+total actual memory usage' "$out" | grep -o -E '^[0-9.]+' || true)
  ptime=$(field "$out" 'elapsed time')
  echo "   states stored: ${states:-?}, depth: ${depth:-?}, memory: ${mem:-?} MB," \
       "search: ${ptime:-?} s, total with build: $(elapsed "$t0" "$t1") s"
  if ! grep -q -E 'errors: 0$' "$out"; then
    grep -E 'errors:|violated|error' "$out" | head -5
    bad "$name: the verifier reports errors (run it by hand to see the trail)"
  elif grep -q -E 'Search not completed|reached -DMEMLIM|max search depth too small' "$out"; then
    grep -E 'Search not completed|reached -DMEMLIM|max search depth too small' "$out"
    bad "$name: the search did not complete"
  elif ! grep -q 'states, stored' "$out"; then
    tail -5 "$out"
    bad "$name: no result from the verifier"
  else
    ok "$name: ${states} states, depth ${depth}, ${mem} MB, $(elapsed "$t0" "$t1") s"
  fi
}

# expect NAME MARKER SPINFLAGS...: a breadth-first search must stop at an error whose trail
# replays to MARKER (the first "PROPERTY ..." or "REACHED" line of the replay)
expect() {
  local name=$1 marker=$2
  shift 2
  n=$((n + 1))
  local dir="$work/$n" t0 t1
  echo "== $name: must be found ($*)"
  t0=$(now)
  if ! build "$dir" -O0 "-DBFS" "$@"; then
    bad "$name: the verifier did not build"
    return
  fi
  (cd "$dir" && ./pan >pan.out 2>&1) || true
  local out="$dir/pan.out" errors states depth
  errors=$(field "$out" 'errors:')
  states=$(grep -m1 -o -E '[0-9]+ states, stored' "$out" | grep -o -E '^[0-9]+' || true)
  depth=$(field "$out" 'depth reached')
  if [ "${errors:-0}" = 0 ] || [ ! -f "$dir/k8sha.pml.trail" ]; then
    tail -8 "$out"
    t1=$(now)
    bad "$name: not found (no error, no trail)"
    return
  fi
  (cd "$dir" && spin -t "$@" k8sha.pml >replay.out 2>&1) || true
  t1=$(now)
  # The narration: one line per step, without the per-process indentation.
  sed -e 's/^[[:space:]]*//' -e 's/[[:space:]][[:space:]]*/ /g' -e 's/ $//' "$dir/replay.out" |
    grep -E '^(c[0-9]|server|-> |operator|PROPERTY|REACHED)' >"$dir/story" || true
  local first
  first=$(grep -m1 -E '^(PROPERTY|REACHED)' "$dir/story" || true)
  echo "   found after ${states:-?} states, trail of ${depth:-?} steps," \
       "$(elapsed "$t0" "$t1") s: ${first:-(no property line in the replay)}"
  if [ "$quiet" = 0 ]; then
    echo "   --- the counterexample, replayed by spin -t (last 40 lines) ---"
    tail -40 "$dir/story" | sed 's/^/   | /'
  fi
  if ! grep -q -E 'assertion violated' "$dir/replay.out"; then
    bad "$name: spin -t did not replay the trail to the failed assertion"
  elif [ "${first#"$marker"}" = "$first" ]; then
    bad "$name: expected '$marker', the replay shows '${first}'"
  else
    ok "$name: ${marker%%:*} after ${depth} steps"
  fi
}

start=$(now)
echo "model: $(spin -V), verifiers built with $cc, memory bound ${memlim} MB"

# 1. The model as the code is.
clean "main (2 contenders, 2 jobs, lock deleted once, 1 unknown outcome)" $MAIN
clean "retention (2 contenders, job with 3 checkpoints, 3 leaderships, 2 unknown outcomes)" \
  $RETENTION
clean "three contenders (3 contenders, 2 jobs)" $THREE

# 2. Seeded bugs: each must be caught.
expect "seeded bug: no claim" "PROPERTY (a)" $MAIN -DBUG_NO_CLAIM
expect "seeded bug: retired blobs deleted before the commit" "PROPERTY (b)" \
  $MAIN -DBUG_DELETE_BEFORE_COMMIT
expect "seeded bug: blob deleted on an unknown outcome" "PROPERTY (b)" \
  $MAIN -DBUG_DISCARD_UNKNOWN
expect "seeded bug: a higher claim not refused" "PROPERTY (a)" $MAIN -DBUG_NO_FENCED_OUT
expect "seeded bug: lock writes without resourceVersion" "PROPERTY (a)" \
  $MAIN -DBUG_UNCONDITIONAL_LOCK
expect "seeded bug: our term taken as ours whatever the session" "PROPERTY (a)" \
  $MAIN -DBUG_TERM_ONLY
expect "seeded bug: writing over another claim without reading the lock" "PROPERTY (a)" \
  $RETENTION -DBUG_NO_VERIFY

# 3. The situations the properties are about do arise within the bounds.
expect "reachable: a deposed leader's write refused after a 409" "REACHED" \
  $MAIN -DREACH_FENCED
expect "reachable: a delayed update landing after its leadership ended" "REACHED" \
  $MAIN -DREACH_LATE
expect "reachable: a claim on a recreated lock over an earlier claim" "REACHED" \
  $MAIN -DREACH_RECREATED
expect "reachable: retention dropping a marked entry" "REACHED" $RETENTION -DREACH_DROP
expect "reachable: a reused term refused by its session" "REACHED" $MAIN -DREACH_REUSED

echo
echo "model summary ($(elapsed "$start" "$(now)") s):"
for line in "${summary[@]}"; do
  echo "  $line"
done
echo "model: $passed passed, $failed failed"
[ "$failed" = 0 ]
