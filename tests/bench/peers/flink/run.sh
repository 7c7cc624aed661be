#!/usr/bin/env bash
# Flink 1.20's own Kubernetes HA classes as benchmark contenders (this folder's Maven module):
#   run.sh [--target DIR] build                  build only
#   run.sh [--target DIR] election ARGS...       FlinkElectionPeer ARGS (a contender for
#                                                tests/bench/election_bench.py)
#   run.sh [--target DIR] store ARGS...          FlinkStoreBench ARGS (checkpoint store figures)
# The module is built quietly into DIR (default ${XDG_CACHE_HOME:-~/.cache}/libk8sha/peers-flink),
# again only when pom.xml or a source changed; concurrent starts wait for one build (flock). The
# runtime classpath (dependency:build-classpath) is written to DIR/runtime.classpath. The program
# replaces this shell (exec), so signals sent to this process reach the JVM. JAVA_OPTS, if set,
# goes to the JVM. A program given a bad or missing argument prints its usage and exits 2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/peers-flink
usage() {
  echo "usage: run.sh [--target DIR] {build | election ARGS... | store ARGS...}" >&2
  exit 2
}
if [ "${1:-}" = --target ]; then
  [ $# -ge 2 ] || usage
  target=$2
  shift 2
fi
[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
  build) ;;
  election) main=io.libk8sha.bench.flink.FlinkElectionPeer ;;
  store) main=io.libk8sha.bench.flink.FlinkStoreBench ;;
  *) usage ;;
esac
mkdir -p "$target"
target=$(cd "$target" && pwd)

# What the build is of: the pom and every source and resource, by content.
sum=$(cd "$here" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum |
  cut -c1-16)
build() {
  if [ "$(cat "$target/built" 2>/dev/null)" = "$sum" ] && [ -s "$target/runtime.classpath" ] &&
     [ -d "$target/classes" ]; then
    return 0
  fi
  rm -f "$target/built"
  if ! mvn -q -B -f "$here/pom.xml" -Dpeers.target="$target" package > "$target/maven.log" 2>&1
  then
    echo "run.sh: building $here failed (log: $target/maven.log):" >&2
    tail -30 "$target/maven.log" >&2
    return 1
  fi
  echo "$sum" > "$target/built"
}
exec 9> "$target/.lock"
flock 9
build
flock -u 9
exec 9>&-
[ "$cmd" = build ] && exit 0

# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
exec java ${JAVA_OPTS:-} -cp "$target/classes:$(cat "$target/runtime.classpath")" "$main" "$@"
