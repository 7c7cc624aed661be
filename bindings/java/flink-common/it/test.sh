#!/usr/bin/env bash
# Real Flink processes of one Flink line on libk8sha (run.py): builds the test job and Flink's
# runtime classpath of that line (bindings/java/flink-LINE/it: Flink's jars from Maven), then runs
# the failover scenarios.
#   test.sh LINE TARGET KUBE_LITE                                  against kube-lite
#   test.sh LINE TARGET KUBE_LITE --kubeconfig KC --control-url U  against a real API server,
#                                                        through the fault proxy (tests/realkube)
# LINE is 1.20 or 2.3. TARGET is the Java build folder of bindings/java/test.sh (it holds the
# adapter's one jar, flink-LINE/libk8sha-flink-LINE-0.1.0-all.jar). Prints run.py's results; on
# failure also the tail of each process's log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
line=$1
target=$(cd "$2" && pwd)
kubelite=$3
shift 3
module=$here/../../flink-$line/it
[ -f "$module/pom.xml" ] || { echo "test.sh: no Flink line $line ($module)"; exit 2; }
t0=$(date +%s)
if ! mvn -q -B -f "$module/pom.xml" -Dk8sha.target="$target/flink-$line-it" package \
     > "$target/flink-$line-it.log" 2>&1; then
  cat "$target/flink-$line-it.log"
  echo "flink-$line processes FAILED: the test job did not build"
  exit 1
fi
work=$(mktemp -d)
# (on kube-lite the job starts on Flink's own Kubernetes HA, switches to libk8sha, which writes
# Flink's pointer format, and goes back to Flink's own HA at the end)
server=(--kube-lite "$kubelite" --switch --back)
[ $# -gt 0 ] && server=("$@")
if python3 "$here/run.py" --line "$line" --classpath "$target/flink-$line-it/flink.classpath" \
     --adapter "$target/flink-$line/libk8sha-flink-$line-0.1.0-all.jar" \
     --job "$target/flink-$line-it/libk8sha-flink-$line-it-0.1.0.jar" \
     --work "$work" "${server[@]}" > "$work/run.out" 2>&1; then
  sed 's/^/  /' "$work/run.out"
  echo "flink-$line processes: passed in $(( $(date +%s) - t0 )) s"
  rm -rf "$work"
  exit 0
fi
cat "$work/run.out"
for log in "$work"/*.log; do
  echo "---- $(basename "$log") (last lines)"
  grep -v "CheckpointFailureManager" "$log" | tail -40
done
echo "flink-$line processes FAILED (work folder $work)"
exit 1
