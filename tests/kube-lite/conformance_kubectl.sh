#!/usr/bin/env bash
# Conformance cross-check: drive k8sha-kube-lite with a real kubectl through
# the kubeconfig the server writes.  Usage: conformance_kubectl.sh SERVER_BINARY
# Exit 77 (skip) only when kubectl is not installed.
set -euo pipefail

BIN=${1:?usage: $0 path/to/k8sha-kube-lite}
KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "SKIP: kubectl is not installed (tools/install-deps.sh installs kubernetes-client)"
  exit 77
fi
WAIT=20 # seconds; a bound for hangs, not a synchronisation delay

TMP=$(mktemp -d)
SERVER_PID=
W_PID=
cleanup() {
  [ -n "$W_PID" ] && kill "$W_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# Start-up must take well under a second, measured up to the ready line.
t0=$(now_ms)
coproc SRV { exec "$BIN" --port 0 --write-kubeconfig "$TMP/kc" --namespace flink; }
SERVER_PID=$SRV_PID
read -r -t "$WAIT" -u "${SRV[0]}" ready || fail "server did not report readiness"
t1=$(now_ms)
[[ $ready == "kube-lite listening on http://127.0.0.1:"* ]] || fail "odd ready line: $ready"
[ -f "$TMP/kc" ] || fail "kubeconfig missing once ready"
echo "ready in $((t1 - t0)) ms: $ready"
[ $((t1 - t0)) -lt 1000 ] || fail "start-up took $((t1 - t0)) ms"

k() { "$KUBECTL" --kubeconfig "$TMP/kc" "$@"; }
# (asked of the server: a kubectl dispatcher picks the client matching the server's version)
echo "kubectl: $(k version 2>/dev/null | head -n1)"
# Patches of ConfigMaps kube-lite answered with 200, from its counters.
patches() {
  k get --raw /kube-lite/v1/stats |
    grep -o '"verb":"patch","resource":"configmaps","code":200,"count":[0-9]*' |
    grep -o '[0-9]*$' || echo 0
}

# The empty namespace lists fine (kubectl prints its notice on stderr).
k get configmaps -n flink >"$TMP/empty.out" 2>&1 || fail "get on an empty namespace: $(cat "$TMP/empty.out")"
grep -q "No resources found" "$TMP/empty.out" || fail "unexpected: $(cat "$TMP/empty.out")"

# Watch, reading events as they arrive.  kubectl lists, prints the list as
# ADDED events, then watches from the list's resourceVersion: once "first"
# is printed, every later change is guaranteed to reach the watch.
k create configmap first --from-literal=a=0 >/dev/null
mkfifo "$TMP/watch"
"$KUBECTL" --kubeconfig "$TMP/kc" get configmaps -w --output-watch-events \
  -o jsonpath='{.type} {.object.metadata.name}{"\n"}' >"$TMP/watch" &
W_PID=$!
exec 4<"$TMP/watch"
read -r -t "$WAIT" -u 4 got || fail "watch printed nothing"
[ "$got" = "ADDED first" ] || fail "watch: want 'ADDED first', got '$got'"

k create configmap demo --from-literal=a=1 >/dev/null
k get configmap demo -o json >"$TMP/stale.json"
k label configmap demo touched=yes >/dev/null
# Replacing with the stale copy must be refused with 409 Conflict.
if k replace -f "$TMP/stale.json" >"$TMP/replace.out" 2>&1; then
  fail "replace with a stale resourceVersion succeeded"
fi
grep -q "Conflict" "$TMP/replace.out" || fail "no Conflict: $(cat "$TMP/replace.out")"
grep -q "the object has been modified" "$TMP/replace.out" || fail "odd message: $(cat "$TMP/replace.out")"
# A replace from the fresh state succeeds; so do apply and patch.
k get configmap demo -o json | sed 's/"a": "1"/"a": "2"/' >"$TMP/fresh.json"
k replace -f "$TMP/fresh.json" >/dev/null || fail "replace with the current resourceVersion"
[ "$(k get configmap demo -o jsonpath='{.data.a}')" = 2 ] || fail "replace did not apply"
k patch configmap demo -p '{"data":{"b":"3"}}' >/dev/null || fail "strategic merge patch"
k create configmap other --from-literal=x=y >/dev/null
# apply: the first creates the object, the second sends the change as a strategic merge patch.
printf '%s\n' "apiVersion: v1" "kind: ConfigMap" "metadata:" "  name: applied" "data:" '  a: "1"' \
  >"$TMP/applied.yaml"
k apply -f "$TMP/applied.yaml" >"$TMP/apply.out" || fail "apply (create): $(cat "$TMP/apply.out")"
grep -q 'configmap/applied created' "$TMP/apply.out" || fail "apply: $(cat "$TMP/apply.out")"
before=$(patches)
sed -i 's/a: "1"/a: "2"/' "$TMP/applied.yaml"
k apply -f "$TMP/applied.yaml" >"$TMP/apply.out" || fail "apply (change): $(cat "$TMP/apply.out")"
grep -q 'configmap/applied configured' "$TMP/apply.out" || fail "apply: $(cat "$TMP/apply.out")"
[ "$(k get configmap applied -o jsonpath='{.data.a}')" = 2 ] || fail "apply did not change the data"
[ "$(patches)" -eq $((before + 1)) ] || fail "apply sent no patch ($before, then $(patches))"

k get configmaps >"$TMP/list.out"
grep -q "^demo  *2 " "$TMP/list.out" || fail "list: $(cat "$TMP/list.out")"
grep -q "^other " "$TMP/list.out" || fail "list: $(cat "$TMP/list.out")"
[ "$(k get configmaps -l touched=yes -o name)" = "configmap/demo" ] || fail "label selector"
[ "$(k get configmaps --field-selector metadata.name=other -o name)" = "configmap/other" ] || fail "field selector"

k delete configmap demo >"$TMP/delete.out" || fail "delete"
grep -q 'configmap "demo" deleted' "$TMP/delete.out" || fail "delete: $(cat "$TMP/delete.out")"
if k get configmap demo >"$TMP/gone.out" 2>&1; then fail "deleted object still there"; fi
grep -q 'NotFound' "$TMP/gone.out" || fail "not found: $(cat "$TMP/gone.out")"

# The watch saw every change, in order.
expected=("ADDED demo" "MODIFIED demo" "MODIFIED demo" "MODIFIED demo" "ADDED other"
  "ADDED applied" "MODIFIED applied" "DELETED demo")
for want in "${expected[@]}"; do
  read -r -t "$WAIT" -u 4 got || fail "watch ended or stalled waiting for '$want'"
  [ "$got" = "$want" ] || fail "watch: want '$want', got '$got'"
done
echo "watch events: ${expected[*]}"
kill "$W_PID" 2>/dev/null || true
wait "$W_PID" 2>/dev/null || true
W_PID=

# Leases are served too (kubectl resolves them through discovery).
k get leases >/dev/null 2>&1 || fail "get leases"

kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[ "$status" -eq 0 ] || fail "server exited with $status on SIGTERM"
echo "PASS"
