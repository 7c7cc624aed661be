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
expect 1 "reading the HA ConfigMaps failed" "$k8sha" jobs "${conf[@]}"

# An API server that accepts connections and never answers: every command is bounded by its
# --timeout and says so (it hung for 40 s and more).
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' > "$tmp/hang.port" &
hang_pid=$!
trap '[ -n "$kl_pid" ] && kill "$kl_pid" 2>/dev/null; kill "$hang_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 600); do [ -s "$tmp/hang.port" ] && break; sleep 0.05; done
printf 'apiVersion: v1\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "http://127.0.0.1:%s"}}]\nusers: [{name: u, user: {token: t}}]\n' \
  "$(cat "$tmp/hang.port")" > "$tmp/kc-hang"
hang=(-D "kubernetes.config.file=$tmp/kc-hang" -D kubernetes.cluster-id=empty -D kubernetes.namespace=flink
      -D high-availability.type=kubernetes -D "high-availability.storageDir=$tmp/ha")
expect 1 "no answer within 2000 ms (--timeout)" "$k8sha" jobs "${hang[@]}" --timeout 2s
expect 1 "no answer within 1500 ms (--timeout)" "$k8sha" status "${hang[@]}" --timeout 1500ms
expect 1 "no answer within 2000 ms (--timeout)" "$k8sha" orphans "${hang[@]}" --timeout 2s
expect 2 "--timeout needs a duration" "$k8sha" jobs "${hang[@]}" --timeout soon
echo "store commands: OK"
