#!/usr/bin/env bash
# The quick-start demo. Installs what is missing, builds libk8sha, and shows it at work against a
# local API server (k8sha-kube-lite):
#   1. `k8sha config check` on Flink's example configuration (and on a broken one);
#   2. three contenders elect a leader; the leader is killed with SIGKILL and another takes over
#      one lease later; the new leader stops cleanly and hands over at once; `k8sha status` shows
#      the lock as it goes.
# The HA stores (checkpoints, job graphs) and the mini-JobManager demo come in a later release.
set -euo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh
if [ -f build/demo/build.ninja ]; then
  meson setup --reconfigure build/demo >/dev/null
else
  meson setup build/demo >/dev/null
fi
ninja -C build/demo >/dev/null
k8sha=$PWD/build/demo/tools/k8sha/k8sha
kubelite=$PWD/build/demo/tools/kube-lite/k8sha-kube-lite

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$'\033[1m'; N=$'\033[0m'; else B=""; N=""; fi
say() { printf '%s\n' "${B}== $*${N}"; }
now_ms() { date +%s%3N; }
# wait_for FILE TEXT [SECONDS]: until TEXT appears in FILE.
wait_for() {
  local deadline=$(( $(date +%s) + ${3:-30} ))
  until grep -qF -- "$2" "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: '$2' never appeared in $1" >&2; exit 1; }
    sleep 0.05
  done
}

say "1. Flink's configuration, checked (examples/config/flink-conf.yaml)"
"$kubelite" --port 0 --namespace flink --write-kubeconfig "$work/kc" > "$work/kl.out" 2>&1 &
pids+=($!)
wait_for "$work/kl.out" "listening on"
conf=(-c examples/config/flink-conf.yaml -D "kubernetes.config.file=$work/kc"
      -D high-availability.kubernetes.leader-election.lease-duration=2s
      -D high-availability.kubernetes.leader-election.renew-deadline=1500ms
      -D high-availability.kubernetes.leader-election.retry-period=500ms)
"$k8sha" config check "${conf[@]}"
echo
say "   ...and a broken one: every problem, with file, line and key (exit status 2)"
cat > "$work/broken.yaml" <<'YAML'
kubernetes.cluster-id: My_Cluster
high-availability.type: kubernetes
high-availability.storageDir: gs://bucket/ha
high-availability.kubernetes.leader-election.renew-deadline: 20 s
YAML
"$k8sha" config check -c "$work/broken.yaml" -D "kubernetes.config.file=$work/kc" || echo "exit status: $?"
echo

say "2. Three JobManager contenders join the election (lease 2 s, renew deadline 1.5 s, retry 0.5 s)"
for n in 1 2 3; do
  "$k8sha" elect --identity "jm-$n" --address "http://jm-$n:8081" --timestamps "${conf[@]}" \
    > "$work/jm-$n.out" 2> "$work/jm-$n.err" &
  pids+=($!)
  eval "pid_$n=$!"
done
leader_of() { grep -l "granted" "$work"/jm-*.out 2>/dev/null | head -n 1 | xargs -r basename | sed 's/\.out$//' || true; }
for i in $(seq 600); do [ -n "$(leader_of)" ] && break; sleep 0.05; done
first=$(leader_of)
[ -n "$first" ] || { echo "demo: no leader was elected" >&2; cat "$work"/jm-*.err >&2; exit 1; }
echo "leader: $first"
"$k8sha" status "${conf[@]}"
echo

say "3. kill -9 the leader ($first): another takes over once its lease has run out"
eval "victim=\$pid_${first#jm-}"
t0=$(now_ms)
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
for i in $(seq 400); do
  second=$(grep -l "granted" "$work"/jm-*.out | grep -v "$first" | head -n 1 | xargs -r basename | sed 's/\.out$//' || true)
  [ -n "$second" ] && break
  sleep 0.02
done
[ -n "$second" ] || { echo "demo: no failover" >&2; exit 1; }
t1=$(grep "granted" "$work/$second.out" | head -n 1 | cut -d' ' -f1)
failover=$(( t1 - t0 ))
echo "new leader: $second, ${failover} ms after the kill (lease 2 s, counted from the last renew)"
echo

say "4. stop $second cleanly (SIGTERM): it releases the lock, the last contender takes over at once"
eval "victim=\$pid_${second#jm-}"
third=""
for n in 1 2 3; do [ "jm-$n" != "$first" ] && [ "jm-$n" != "$second" ] && third="jm-$n"; done
t0=$(now_ms)
kill -TERM "$victim"
wait "$victim" 2>/dev/null || true
wait_for "$work/$third.out" "granted" 10
t1=$(grep "granted" "$work/$third.out" | head -n 1 | cut -d' ' -f1)
handover=$(( t1 - t0 ))
echo "new leader: $third, ${handover} ms after SIGTERM"
wait_for "$work/$third.out" "published" 10
"$k8sha" status "${conf[@]}"
echo

say "Summary"
echo "crash failover:   ${failover} ms (kill -9 -> another contender granted; lease 2 s)"
echo "clean handover:   ${handover} ms (SIGTERM -> another contender granted)"
echo "terms granted:    $(cat "$work"/jm-*.out | grep -c granted) (each with a new session and a higher term)"
echo "event logs:"
for n in 1 2 3; do sed "s/^/  jm-$n  /" "$work/jm-$n.out"; done
