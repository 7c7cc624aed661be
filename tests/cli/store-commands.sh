#!/usr/bin/env bash
# k8sha jobs / checkpoints / cleanup / orphans: usage errors, an empty cluster, an unreachable
# server. (Their output on real HA data is checked by tests/integration/store_processes.py.)
set -uo pipefail
k8sha=$1 kubelite=$2
tmp=$(mktemp -d)
kl_pid=""
trap '[ -n "$kl_pid" ] && kill "$kl_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- out:"; cat "$tmp/out"; echo "--- err:"; cat "$tmp/err"; exit 1; }
# expect STATUS TEXT CMD...: CMD exits with STATUS and TEXT is in its stdout or stderr
expect() {
  local want=$1 text=$2 rc
  shift 2
  "$@" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  [ "$rc" = "$want" ] || fail "$* exited with $rc, expected $want"
  grep -qF -- "$text" "$tmp/out" "$tmp/err" || fail "$*: '$text' not in its output"
}

"$kubelite" --port 0 --namespace flink --write-kubeconfig "$tmp/kc" > "$tmp/kl" 2>&1 &
kl_pid=$!
for _ in $(seq 600); do grep -q "listening on" "$tmp/kl" && break; sleep 0.05; done
conf=(-D "kubernetes.config.file=$tmp/kc" -D kubernetes.cluster-id=empty -D kubernetes.namespace=flink
      -D high-availability.type=kubernetes -D "high-availability.storageDir=$tmp/ha")

expect 2 "which job" "$k8sha" checkpoints "${conf[@]}"
expect 2 "is not a job id" "$k8sha" checkpoints not-a-job "${conf[@]}"
expect 2 "name --job JOBID or --cluster" "$k8sha" cleanup "${conf[@]}"
expect 2 "--dry-run shows what, --yes does it" "$k8sha" cleanup --job 0123456789abcdef0123456789abcdef "${conf[@]}"
expect 2 "not a job id" "$k8sha" cleanup --job nope --dry-run "${conf[@]}"
expect 0 "no jobs in the HA data of cluster empty" "$k8sha" jobs "${conf[@]}"
expect 0 "[]" "$k8sha" jobs --json "${conf[@]}"
expect 0 "does not exist" "$k8sha" checkpoints 0123456789abcdef0123456789abcdef "${conf[@]}"
expect 0 '"found": []' "$k8sha" orphans --json "${conf[@]}"
expect 0 '"dryRun": true' "$k8sha" cleanup --cluster --dry-run --json "${conf[@]}"

kill "$kl_pid"; wait "$kl_pid" 2>/dev/null; kl_pid=""
expect 1 "reading the HA ConfigMaps failed" "$k8sha" jobs "${conf[@]}" -D kubernetes.request-timeout=2s
echo "store commands: OK"
