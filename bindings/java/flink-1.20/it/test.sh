#!/usr/bin/env bash
# Real Flink 1.20 processes on libk8sha (run.py): builds the test job and Flink's runtime
# classpath (Flink's jars from Maven), then runs the failover scenarios.
#   test.sh TARGET KUBE_LITE                                  against kube-lite
#   test.sh TARGET KUBE_LITE --kubeconfig KC --control-url U  against a real API server, through
#                                                             the fault proxy (tests/realkube)
# TARGET is the Java build folder of bindings/java/test.sh (it holds the adapter's one jar,
# flink-1.20/libk8sha-flink-1.20-0.1.0-all.jar). Prints run.py's results; on failure also the
# tail of each process's log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=$(cd "$1" && pwd)
kubelite=$2
shift 2
t0=$(date +%s)
if ! mvn -q -B -f "$here/pom.xml" -Dk8sha.target="$target/flink-1.20-it" package \
     > "$target/flink-1.20-it.log" 2>&1; then
  cat "$target/flink-1.20-it.log"
  echo "flink-1.20 processes FAILED: the test job did not build"
  exit 1
fi
work=$(mktemp -d)
# (on kube-lite the job starts on Flink's own Kubernetes HA, switches to libk8sha, which writes
# Flink's pointer format, and goes back to Flink's own HA at the end)
server=(--kube-lite "$kubelite" --switch --back)
[ $# -gt 0 ] && server=("$@")
if python3 "$here/run.py" --classpath "$target/flink-1.20-it/flink.classpath" \
     --adapter "$target/flink-1.20/libk8sha-flink-1.20-0.1.0-all.jar" \
     --job "$target/flink-1.20-it/libk8sha-flink-1.20-it-0.1.0.jar" \
     --work "$work" "${server[@]}" > "$work/run.out" 2>&1; then
  sed 's/^/  /' "$work/run.out"
  echo "flink-1.20 processes: passed in $(( $(date +%s) - t0 )) s"
  rm -rf "$work"
  exit 0
fi
cat "$work/run.out"
for log in "$work"/*.log; do
  echo "---- $(basename "$log") (last lines)"
  grep -v "CheckpointFailureManager" "$log" | tail -40
done
echo "flink-1.20 processes FAILED (work folder $work)"
exit 1
