#!/usr/bin/env bash
# k8sha config check: accepts the example configuration, rejects each invalid case with exit 2
# and a FILE:LINE: key: message line, prints JSON on request, and never prints a token.
set -uo pipefail
k8sha=$1 src=$2
ex=$src/examples/config
kc=$ex/kubeconfig.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE NEEDLE -- ARGS...: runs config check, wants exit CODE and NEEDLE in stdout+stderr.
expect() {
  local code=$1 needle=$2; shift 3
  local out rc
  checks=$((checks + 1))
  out=$("$k8sha" config check "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "exit $rc, expected $code: k8sha config check $*"; echo "$out" | sed 's/^/    /'
  elif ! grep -qF -- "$needle" <<<"$out"; then
    fail "output lacks '$needle': k8sha config check $*"; echo "$out" | sed 's/^/    /'
  fi
}

ok_args=(-c "$ex/flink-conf.yaml" -D "kubernetes.config.file=$kc")
expect 0 "cluster id          cluster1337" -- "${ok_args[@]}"
expect 0 "storage directory   s3://flink/recovery" -- "${ok_args[@]}"
expect 0 "namespace           flink" -- "${ok_args[@]}"
expect 0 "renew deadline      15 s (effective 10 s)" -- "${ok_args[@]}"
expect 0 "note: effective renew deadline is 10 s" -- "${ok_args[@]}"
expect 0 "kubernetes API: http://127.0.0.1:6443" -- "${ok_args[@]}"
expect 0 "retained checkpoints 3" -- -c "$ex/config.yaml" -D "kubernetes.config.file=$kc"
# FLINK_CONF_DIR is the default place to look.
checks=$((checks + 1))
out=$(FLINK_CONF_DIR=$ex "$k8sha" config check -D "kubernetes.config.file=$kc" 2>&1) ||
  fail "FLINK_CONF_DIR: $out"

# Invalid cases: each names the key (and the file and line when the key came from a file).
L=high-availability.kubernetes.leader-election
cat > "$tmp/bad.yaml" <<'YAML'
kubernetes.cluster-id: cluster1337
high-availability.type: kubernetes
high-availability.storageDir: s3://flink/recovery
kubernetes.namespace: flink
high-availability.kubernetes.leader-election.renew-deadline: 20 s
YAML
expect 2 "$tmp/bad.yaml:5: $L.renew-deadline: 20 s is longer than lease-duration (15 s)" -- \
  -c "$tmp/bad.yaml" -D "kubernetes.config.file=$kc"
b=("${ok_args[@]}")
expect 2 "override: kubernetes.cluster-id: empty (required)" -- "${b[@]}" -D kubernetes.cluster-id=
grep -v cluster-id "$ex/flink-conf.yaml" > "$tmp/no-id.yaml"
expect 2 "$tmp/no-id.yaml: kubernetes.cluster-id: missing (required)" -- -c "$tmp/no-id.yaml" -D "kubernetes.config.file=$kc"
expect 2 "kubernetes.cluster-id: '0123456789012345678901234567890123456789012345' is 46 characters long; at most 45" -- \
  "${b[@]}" -D kubernetes.cluster-id=0123456789012345678901234567890123456789012345
expect 2 "kubernetes.cluster-id: 'a#b' contains '#'" -- "${b[@]}" -D 'kubernetes.cluster-id=a#b'
expect 2 "kubernetes.cluster-id: '-ab' must start with a letter or a digit" -- "${b[@]}" -D kubernetes.cluster-id=-ab
expect 2 "kubernetes.cluster-id: 'Prod_1' gives the ConfigMap name 'Prod_1-cluster-config-map'" -- \
  "${b[@]}" -D kubernetes.cluster-id=Prod_1
expect 2 "override: high-availability.storageDir: empty (required)" -- "${b[@]}" -D high-availability.storageDir=
expect 2 "high-availability.storageDir: 'ftp://x/y' has the unknown scheme 'ftp'" -- \
  "${b[@]}" -D high-availability.storageDir=ftp://x/y
expect 2 "$L.retry-period: 15 s must be shorter than renew-deadline (15 s)" -- "${b[@]}" -D "$L.retry-period=15 s"
expect 2 "$L.lease-duration: '15 lightyears' is not a duration: unknown unit" -- "${b[@]}" -D "$L.lease-duration=15 lightyears"
expect 2 "execution.checkpointing.num-retained: '0': must be at least 1" -- "${b[@]}" -D execution.checkpointing.num-retained=0
expect 2 "state.checkpoints.num-retained: '-2': negative" -- "${b[@]}" -D state.checkpoints.num-retained=-2
expect 2 "high-availability.type: 'zookeeper' is not Kubernetes high availability" -- "${b[@]}" -D high-availability.type=zookeeper
expect 2 "kubernetes.namespace: 'Flink' is not a valid namespace" -- "${b[@]}" -D kubernetes.namespace=Flink
expect 2 "/nonexistent.yaml: cannot read the configuration file" -- -c /nonexistent.yaml
printf 'a: [1,\n' > "$tmp/broken.yaml"
expect 2 "$tmp/broken.yaml:2: not valid YAML" -- -c "$tmp/broken.yaml"
# Kubernetes access is reported on its own line; it decides the exit code only with --kube.
expect 0 "kubernetes API: not resolved here: override: kubernetes.config.file: cannot read '/nonexistent/kc'" -- \
  -c "$ex/flink-conf.yaml" -D kubernetes.config.file=/nonexistent/kc
expect 2 "kubernetes.config.file: cannot read '/nonexistent/kc'" -- -c "$ex/flink-conf.yaml" -D kubernetes.config.file=/nonexistent/kc --kube
expect 0 "kubernetes API: http://127.0.0.1:6443" -- "${ok_args[@]}" --kube
# Offline (no kubeconfig anywhere, not in a pod): the example configuration still validates.
checks=$((checks + 1))
out=$(env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME="$tmp/nohome" "$k8sha" config check -c "$ex/flink-conf.yaml" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "^kubernetes API: not resolved here: " <<<"$out" ||
   ! grep -q "cluster id          cluster1337" <<<"$out"; then
  fail "offline, the example configuration: exit $rc"; echo "$out" | sed 's/^/    /'
fi
checks=$((checks + 1))
env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME="$tmp/nohome" "$k8sha" config check -c "$ex/flink-conf.yaml" --kube > /dev/null 2>&1
[ $? -eq 2 ] || fail "offline with --kube: expected exit 2"
checks=$((checks + 1))
env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST HOME="$tmp/nohome" "$k8sha" config check -c "$ex/flink-conf.yaml" --json > "$tmp/offline.json"
[ $? -eq 0 ] || fail "offline --json: expected exit 0"
/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True and d["kubernetes"]["resolved"] is False and d["kubernetes"]["error"], d
' "$tmp/offline.json" || fail "offline --json is not what was expected"
expect 2 "-D expects key=value" -- -c "$ex/flink-conf.yaml" -D novalue
expect 2 "unknown argument '--frobnicate'" -- --frobnicate

# JSON output parses and carries the values.
checks=$((checks + 1))
"$k8sha" config check "${ok_args[@]}" --json > "$tmp/out.json" || fail "--json exited $?"
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fail "--json output is not what was expected"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True, d
assert d["high_availability"]["cluster_id"] == "cluster1337", d
assert d["high_availability"]["effective_renew_deadline_ms"] == 10000, d
assert d["kubernetes"]["server"] == "http://127.0.0.1:6443", d
assert any(x["severity"] == "note" for x in d["diagnostics"]), d
PY
checks=$((checks + 1))
"$k8sha" config check "${b[@]}" -D kubernetes.cluster-id=Bad_Id --json > "$tmp/bad.json"
[ $? -eq 2 ] || fail "--json with an invalid configuration should exit 2"
/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is False
e = [x for x in d["diagnostics"] if x["severity"] == "error"]
assert len(e) == 1 and e[0]["key"] == "kubernetes.cluster-id", e
' "$tmp/bad.json" || fail "--json errors are not what was expected"

# The token of the kubeconfig never shows, whatever happens.
secret=ultra-secret-token-4711
cat > "$tmp/kc-token.yaml" <<YAML
apiVersion: v1
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://10.1.2.3:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: $secret}}]
YAML
for extra in "" "--json" "-D kubernetes.cluster-id=Bad_Id"; do
  checks=$((checks + 1))
  # shellcheck disable=SC2086
  out=$("$k8sha" config check -c "$ex/flink-conf.yaml" -D "kubernetes.config.file=$tmp/kc-token.yaml" $extra 2>&1)
  grep -q "$secret" <<<"$out" && fail "the token was printed (args: $extra)"
  grep -q "10.1.2.3" <<<"$out" || [ -n "$extra" ] || fail "the server was not printed"
done
expect 0 "authentication      token" -- -c "$ex/flink-conf.yaml" -D "kubernetes.config.file=$tmp/kc-token.yaml"
expect 0 "NOT verified (insecure-skip-tls-verify)" -- -c "$ex/flink-conf.yaml" -D "kubernetes.config.file=$tmp/kc-token.yaml"

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
