#!/usr/bin/env bash
# Builds the client-go contender of tests/bench/election_bench.py (main.go beside this script)
# into OUT_BINARY, with the Go toolchain and the modules pinned by go.mod and go.sum, fetched from
# the Go module proxy (no other downloads).
#
#   build.sh OUT_BINARY
#
# The module cache and the build cache live under ${XDG_CACHE_HOME:-~/.cache}/libk8sha/go, never
# in the source tree. A cold build takes about 2.5 minutes on 2 cores; after that a build only
# links (a few seconds), and a binary that is up to date is left as it is. Quiet: it prints
# nothing unless the build fails, and then the go command's output.
set -euo pipefail
log() { echo "clientgo build: $*" >&2; }
if [ $# -ne 1 ]; then
  log "usage: build.sh OUT_BINARY"
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$1
case $out in /*) ;; *) out=$PWD/$out ;; esac
cache=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/go
command -v go >/dev/null || { log "no Go toolchain (go) on PATH"; exit 1; }
mkdir -p "$cache" "$(dirname "$out")"
# A Go older than go.mod's go directive fetches the right toolchain through the module proxy.
# -mod=readonly: go.sum is the record of what is built; nothing rewrites it.
export GOMODCACHE=$cache/mod GOCACHE=$cache/build GOTOOLCHAIN=auto \
  GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=0 GOMAXPROCS=${GOMAXPROCS:-2}
output=$(mktemp)
trap 'rm -f "$output"' EXIT
if ! (cd "$here" && go build -p 2 -trimpath -ldflags='-s -w' -o "$out" .) > "$output" 2>&1; then
  log "building $out failed:"
  cat "$output" >&2
  exit 1
fi
