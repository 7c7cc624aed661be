#!/usr/bin/env bash
# The HA demo: three mini JobManagers (examples/minijm) on one Kubernetes API server.
#
#   run-demo.sh MINIJM K8SHA KUBE_LITE [--against KUBECONFIG [--namespace NS]] [--storage s3|hdfs]
#
# Without --against, a local k8sha-kube-lite with a data dir is the API server. The demo shows
# which one leads, kills it with kill -9 (failover: the next one takes over one lease later and
# recovers the job from its latest checkpoint), stops the new leader with SIGTERM (handover: the
# lock is released and the next one leads at once), restarts the API server (nothing is lost),
# shows `k8sha status` and `k8sha checkpoints`, and ends with a summary. It exits non-zero if a
# checkpoint reported committed was not recovered. Blobs go to a local folder; with --storage s3,
# to the S3 server whose endpoint, bucket and keys K8SHA_TEST_S3_* give (tests/s3/s3proxy.sh); with
# --storage hdfs, to the HDFS that HADOOP_CONF_DIR's fs.defaultFS names (tests/hdfs/minidfs.sh).
set -euo pipefail
minijm=$1 k8sha=$2 kubelite=$3
shift 3
against= namespace=default storage=file
while [ $# -gt 0 ]; do
  case $1 in
    --against) against=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --storage) storage=$2; shift 2 ;;
    *) echo "run-demo.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
pids=() server=
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' N=$'\033[0m'; else B= G= R= N=; fi
say() { printf '%s\n' "${B}== $*${N}"; }
note() { printf '   %s\n' "$*"; }
now_ms() { date +%s%3N; }
# wait_for FILE TEXT [SECONDS]: until TEXT appears in FILE (a bound, not a pause).
wait_for() {
  local deadline=$(( $(date +%s) + ${3:-30} ))
  until grep -qF -- "$2" "$1" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "${R}demo: '$2' never appeared in $(basename "$1")${N}" >&2
      tail -5 "$1" >&2 || true
      exit 1
    fi
    sleep 0.02
  done
}
# count FILE TEXT: lines of FILE containing TEXT
count() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
# first_time FILE TEXT: the timestamp (first word) of the first line with TEXT
first_time() { grep -F -- "$2" "$1" | head -1 | cut -d' ' -f1; }
# wait_commits N COUNT: until jm-N has logged COUNT commits (bounded)
wait_commits() {
  local deadline=$(( $(date +%s) + 30 ))
  until [ "$(count "$work/jm-$1.log" " committed ")" -ge "$2" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: jm-$1 does not commit" >&2; exit 1; }
    sleep 0.02
  done
}
last_committed() { grep -F " committed " "$1" | tail -1 | sed -E 's/.*checkpoint ([0-9]+) committed.*/\1/'; }

start_server() { # start_server [PORT]
  "$kubelite" --port "${1:-0}" --namespace flink --data-dir "$work/data" \
    --write-kubeconfig "$work/kc" > "$work/kl.out" 2>&1 &
  server=$!
  wait_for "$work/kl.out" "listening on"
}

if [ -n "$against" ]; then
  kubeconfig=$against ns=$namespace cid=libk8sha-demo-$$
else
  start_server
  port=$(sed -nE 's/.*listening on http:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' "$work/kl.out" | head -1)
  kubeconfig=$work/kc ns=flink cid=demo
fi
job=0000000000000000000000000000d3e0
conf=(-D "kubernetes.config.file=$kubeconfig" -D "kubernetes.namespace=$ns"
      -D "kubernetes.cluster-id=$cid" -D high-availability.type=kubernetes
      -D high-availability.kubernetes.leader-election.lease-duration=3s
      -D high-availability.kubernetes.leader-election.renew-deadline=2s
      -D high-availability.kubernetes.leader-election.retry-period=500ms)
case $storage in
  file) conf+=(-D "high-availability.storageDir=file://$work/ha") ;;
  s3)
    [ -n "${K8SHA_TEST_S3_ENDPOINT:-}" ] ||
      { echo "run-demo.sh: --storage s3 needs K8SHA_TEST_S3_* (run it through tests/s3/s3proxy.sh)" >&2; exit 2; }
    conf+=(-D "high-availability.storageDir=s3://$K8SHA_TEST_S3_BUCKET/demo-$$"
           -D "s3.endpoint=$K8SHA_TEST_S3_ENDPOINT" -D s3.path.style.access=true
           -D "s3.access-key=$K8SHA_TEST_S3_ACCESS_KEY" -D "s3.secret-key=$K8SHA_TEST_S3_SECRET_KEY") ;;
  hdfs)
    [ -n "${HADOOP_CONF_DIR:-}" ] ||
      { echo "run-demo.sh: --storage hdfs needs HADOOP_CONF_DIR (run it through tests/hdfs/minidfs.sh)" >&2; exit 2; }
    conf+=(-D "high-availability.storageDir=hdfs:///demo-$$/ha") ;;
  *) echo "run-demo.sh: --storage file, s3 or hdfs, not $storage" >&2; exit 2 ;;
esac

start_jm() { # start_jm N
  "$minijm" "${conf[@]}" --identity "jm-$1" --address "http://jm-$1:8081" --job "$job" \
    --interval 200 > "$work/jm-$1.log" 2>&1 &
  pids[$1]=$!
}
leader_of() { # the jm that logged "leading" most recently among the running ones
  local best= t=0 n lt
  for n in 1 2 3; do
    kill -0 "${pids[$n]}" 2>/dev/null || continue
    lt=$(grep -F " leading (" "$work/jm-$n.log" | tail -1 | cut -d' ' -f1)
    [ -n "$lt" ] && [ "$lt" -gt "$t" ] && t=$lt best=$n
  done
  echo "$best"
}
wait_for_new_leader() { # wait_for_new_leader OLD: until a running jm other than OLD leads
  local deadline=$(( $(date +%s) + 30 )) l
  while :; do
    l=$(leader_of)
    if [ -n "$l" ] && [ "$l" != "$1" ]; then echo "$l"; return; fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: no new leader" >&2; exit 1; }
    sleep 0.02
  done
}
lost=0
check_recovery() { # check_recovery NEW OLD: the new leader recovered at least OLD's last commit
  local got want
  wait_for "$work/jm-$1.log" "recovered job"
  got=$(grep -F "recovered job" "$work/jm-$1.log" | tail -1 | sed -E 's/.*from checkpoint ([0-9]+).*/\1/')
  want=$(last_committed "$work/jm-$2.log")
  note "jm-$2's last committed checkpoint: $want; jm-$1 recovered from checkpoint $got"
  if [ -n "$want" ] && [ "$got" -lt "$want" ]; then
    lost=$((lost + want - got))
    note "${R}checkpoints lost: $((want - got))${N}"
  fi
}

say "1. three mini JobManagers start (a checkpoint every 200 ms; lease 3 s)"
for n in 1 2 3; do start_jm "$n"; done
deadline=$(( $(date +%s) + 30 ))
until [ -n "$(leader_of)" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: nobody leads" >&2; exit 1; }
  sleep 0.02
done
first=$(leader_of)
wait_for "$work/jm-$first.log" "checkpoint 5 committed"
note "jm-$first leads: $(grep -E 'submitted job|found job' "$work/jm-$first.log" | head -1 | cut -d' ' -f2-)"
for n in 1 2 3; do [ "$n" = "$first" ] || note "jm-$n: $(grep -F 'leader is http' "$work/jm-$n.log" | tail -1 | cut -d' ' -f2-)"; done

say "2. kill -9 the leader (jm-$first): failover"
t_kill=$(now_ms)
{ kill -9 "${pids[$first]}"; wait "${pids[$first]}"; } 2>/dev/null || true
second=$(wait_for_new_leader "$first")
t_lead=$(first_time "$work/jm-$second.log" " leading (")
failover=$((t_lead - t_kill))
note "jm-$second leads ${failover} ms after the kill (the old lease had to run out)"
check_recovery "$second" "$first"
wait_commits "$second" 5

say "3. SIGTERM the new leader (jm-$second): clean handover"
t_term=$(now_ms)
kill -TERM "${pids[$second]}"
third=$(wait_for_new_leader "$second")
wait "${pids[$second]}" 2>/dev/null || true
t_lead=$(grep -F " leading (" "$work/jm-$third.log" | tail -1 | cut -d' ' -f1)
handover=$((t_lead - t_term))
note "jm-$third leads ${handover} ms after the SIGTERM (the lock was released)"
check_recovery "$third" "$second"

if [ -z "$against" ]; then
  say "4. restart the API server (same data dir): nothing is lost"
  wait_commits "$third" 3
  before=$(last_committed "$work/jm-$third.log")
  kill "$server"; wait "$server" 2>/dev/null || true
  start_server "$port"
  note "kube-lite restarted on port $port; jm-$third had committed up to checkpoint $before"
  target=$((before + 3))
  wait_for "$work/jm-$third.log" "checkpoint $target committed" 30
  note "jm-$third kept going: checkpoint $target committed after the restart"
fi

say "5. k8sha status and k8sha checkpoints $job"
"$k8sha" status "${conf[@]}" | sed 's/^/   /'
"$k8sha" checkpoints "$job" "${conf[@]}" | sed 's/^/   /'

committed=$(cat "$work"/jm-*.log | grep -cF " committed ")
say "summary"
note "failover after kill -9:       ${failover} ms (lease 3 s: the lease had to expire)"
note "handover after SIGTERM:       ${handover} ms"
note "checkpoints committed:        $committed"
if [ "$lost" = 0 ]; then note "${G}checkpoints lost:             0${N}"; else note "${R}checkpoints lost:             $lost${N}"; fi

for n in 1 2 3; do kill -TERM "${pids[$n]}" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
if [ -n "$against" ]; then
  "$k8sha" cleanup --cluster --yes "${conf[@]}" > /dev/null && note "demo data removed from the cluster"
fi
[ "$lost" = 0 ]
