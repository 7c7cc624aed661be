#!/usr/bin/env bash
# k8sha watch against kube-lite: every change shows while watches are ended, history is compacted
# (410 Expired, re-list) and the server restarts; at the end the state rebuilt from the output
# equals what the server holds. Waits are on the output file's contents, bounded.
set -uo pipefail
k8sha=$1 kubelite=$2 src=$3
tmp=$(mktemp -d)
kl_pid="" w_pid=""
cleanup() {
  [ -n "$w_pid" ] && kill "$w_pid" 2>/dev/null
  [ -n "$kl_pid" ] && kill "$kl_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- watch output:"; cat "$tmp/out" 2>/dev/null; echo "--- stderr:"; cat "$tmp/err" 2>/dev/null; exit 1; }

# wait_for FILE TEXT: until TEXT appears in FILE (bounded: 30 s of 0.05 s checks).
wait_for() {
  local i
  for i in $(seq 600); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "'$2' never appeared in $1"
}

start_server() { # start_server PORT
  rm -f "$tmp/kc"
  "$kubelite" --port "$1" --data-dir "$tmp/data" --namespace flink --write-kubeconfig "$tmp/kc" \
    > "$tmp/kl.out" 2>&1 &
  kl_pid=$!
  wait_for "$tmp/kl.out" "listening on"
}

start_server 0
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/kl.out" | head -n 1)
port=${url##*:}
api="$url/api/v1/namespaces/flink/configmaps"
labels='"labels":{"app":"cluster1337","configmap-type":"high-availability"}'
put() { # put NAME KEY VALUE: create or merge-patch a labelled ConfigMap
  curl -sf -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d "{\"data\":{\"$2\":\"$3\"}}" "$api/$1" ||
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"metadata\":{\"name\":\"$1\",$labels},\"data\":{\"$2\":\"$3\"}}" "$api" ||
  fail "cannot write $1"
}

put cm-a k 1
"$k8sha" watch -c "$src/examples/config/flink-conf.yaml" -D "kubernetes.config.file=$tmp/kc" --json \
  > "$tmp/out" 2> "$tmp/err" &
w_pid=$!
wait_for "$tmp/out" '"type":"SYNCED"'
grep -qF '"name":"cm-a"' "$tmp/out" || fail "the existing ConfigMap was not listed"

put cm-b k 2
wait_for "$tmp/out" '"k":"2"'

# The server ends every watch.
curl -sf -o /dev/null -X POST "$url/kube-lite/v1/watches/close" || fail "cannot end watches"
put cm-a k 3
wait_for "$tmp/out" '"k":"3"'

# History compacted while watches keep failing: the next watch gets 410 and the CLI re-lists.
curl -sf -o /dev/null -X POST -d '{"verbs":["watch"],"code":500,"count":100000}' "$url/kube-lite/v1/faults" ||
  fail "cannot add a fault"
curl -sf -o /dev/null -X POST "$url/kube-lite/v1/watches/close"
put cm-c k 4
curl -sf -o /dev/null -X DELETE "$api/cm-b" || fail "cannot delete cm-b"
curl -sf -o /dev/null -X POST "$url/kube-lite/v1/compact" || fail "cannot compact"
curl -sf -o /dev/null -X DELETE "$url/kube-lite/v1/faults" || fail "cannot clear faults"
wait_for "$tmp/out" '"k":"4"'
wait_for "$tmp/out" '"type":"DELETED","name":"cm-b"'
[ "$(grep -c '"type":"SYNCED"' "$tmp/out")" -ge 2 ] || fail "no re-list after 410"

# The server restarts (SIGKILL, same port, same data).
kill -9 "$kl_pid"; wait "$kl_pid" 2>/dev/null
start_server "$port"
put cm-d k 5
wait_for "$tmp/out" '"k":"5"'
curl -sf -o /dev/null -X DELETE "$api/cm-a" || fail "cannot delete cm-a"
wait_for "$tmp/out" '"type":"DELETED","name":"cm-a"'

# The state rebuilt from the output equals the server's.
curl -sf "$api?labelSelector=app%3Dcluster1337" > "$tmp/server.json" || fail "cannot list"
/usr/bin/python3 - "$tmp/out" "$tmp/server.json" <<'PY' || fail "the watch output does not match the server"
import json, sys
state = {}
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["type"] in ("ADDED", "MODIFIED"):
        state[ev["name"]] = ev["resourceVersion"]
    elif ev["type"] == "DELETED":
        state.pop(ev["name"], None)
server = {i["metadata"]["name"]: i["metadata"]["resourceVersion"]
          for i in json.load(open(sys.argv[2]))["items"]}
if state != server:
    sys.exit("watch saw %s, server has %s" % (state, server))
print("watch state matches the server:", sorted(server))
PY
echo "1 passed, 0 failed"
