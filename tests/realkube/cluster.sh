#!/usr/bin/env bash
# Starts or stops a real etcd + kube-apiserver on loopback, the way envtest does, with RBAC.
#
#   cluster.sh start BIN_DIR WORK_DIR    # writes WORK_DIR/env and the kubeconfigs below
#   cluster.sh stop WORK_DIR
#   cluster.sh apiserver-down WORK_DIR   # kill -9 kube-apiserver (etcd keeps the data)
#   cluster.sh apiserver-up WORK_DIR     # start it again, same flags and port; until ready
#
# etcd on a temporary data dir; kube-apiserver with a self-signed serving certificate
# (--cert-dir), a service-account key pair made with openssl, --authorization-mode=RBAC, the
# watch cache off for configmaps (so that a watch resuming from a compacted resourceVersion gets
# 410 from etcd, as the compaction test needs; with the cache on, recent versions are served
# from memory) and a static token file with:
#   admin      (group system:masters)        -> WORK_DIR/admin.kubeconfig
#   service account flink: the Role and RoleBinding of docs/operations.md, applied as written there
#                                             -> WORK_DIR/user.kubeconfig
#   service account nowatch: that Role without watch   -> WORK_DIR/nowatch.kubeconfig
#   service account noupdate: that Role without update -> WORK_DIR/noupdate.kubeconfig
#   service account flinkedit: the RBAC of Flink's own documentation for its Kubernetes HA (the
#     ClusterRole edit: its rules, as aggregated from system:aggregate-to-edit and -to-view)
#                                             -> WORK_DIR/flinkedit.kubeconfig
# all in namespace "flink" (static tokens named as service-account users).
set -euo pipefail
cmd=$1
log() { echo "realkube: $*" >&2; }

ready() { # ready W: until /readyz answers (bounded)
  local i
  for i in $(seq 1200); do
    curl -fsS --cacert "$1/certs/apiserver.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
      "$APISERVER_URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
if [ "$cmd" = apiserver-down ] || [ "$cmd" = apiserver-up ]; then
  w=$2
  # shellcheck disable=SC1091
  . "$w/env"
  if [ "$cmd" = apiserver-down ]; then
    kill -9 "$APISERVER_PID" 2>/dev/null
    while kill -0 "$APISERVER_PID" 2>/dev/null; do sleep 0.05; done
    exit 0
  fi
  mapfile -t args < "$w/apiserver.args"
  "${args[@]}" >> "$w/apiserver.log" 2>&1 &
  sed -i "s/^APISERVER_PID=.*/APISERVER_PID=$!/" "$w/env"
  ready "$w" || { log "kube-apiserver did not come back"; exit 1; }
  exit 0
fi
if [ "$cmd" = stop ]; then
  w=$2
  [ -f "$w/env" ] || exit 0
  # shellcheck disable=SC1091
  . "$w/env"
  kill "$APISERVER_PID" "$ETCD_PID" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$APISERVER_PID" 2>/dev/null || kill -0 "$ETCD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$APISERVER_PID" "$ETCD_PID" 2>/dev/null || true
  exit 0
fi

bin=$2 w=$3
mkdir -p "$w/etcd-data" "$w/certs"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
etcd_port=$(freeport) peer_port=$(freeport) api_port=$(freeport)
openssl genrsa -out "$w/sa.key" 2048 2>/dev/null
openssl rsa -in "$w/sa.key" -pubout -out "$w/sa.pub" 2>/dev/null
tok() { openssl rand -hex 16; }
admin=$(tok) user=$(tok) nowatch=$(tok) noupdate=$(tok) flinkedit=$(tok)
cat > "$w/tokens.csv" <<EOT
$admin,admin,admin-uid,"system:masters"
$user,system:serviceaccount:flink:flink,flink-uid,"system:serviceaccounts,system:serviceaccounts:flink"
$nowatch,system:serviceaccount:flink:nowatch,nowatch-uid,"system:serviceaccounts,system:serviceaccounts:flink"
$noupdate,system:serviceaccount:flink:noupdate,noupdate-uid,"system:serviceaccounts,system:serviceaccounts:flink"
$flinkedit,system:serviceaccount:flink:flinkedit,flinkedit-uid,"system:serviceaccounts,system:serviceaccounts:flink"
EOT

t0=$(date +%s%3N)
# (no ETCD_* variables in the environment: etcd reads them as settings)
env -u ETCD_VERSION "$bin/etcd" --name=realkube --data-dir="$w/etcd-data" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
  --initial-cluster="realkube=http://127.0.0.1:$peer_port" \
  --unsafe-no-fsync --log-level=warn > "$w/etcd.log" 2>&1 &
etcd_pid=$!
api_args=("$bin/kube-apiserver"
  --etcd-servers="http://127.0.0.1:$etcd_port"
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1
  --secure-port="$api_port" --cert-dir="$w/certs"
  --service-cluster-ip-range=10.0.0.0/24
  --service-account-issuer=https://kubernetes.default.svc.cluster.local
  --service-account-key-file="$w/sa.pub" --service-account-signing-key-file="$w/sa.key"
  --token-auth-file="$w/tokens.csv" --authorization-mode=RBAC --anonymous-auth=false
  --endpoint-reconciler-type=none
  --watch-cache-sizes=configmaps#0)
printf '%s\n' "${api_args[@]}" > "$w/apiserver.args" # for apiserver-up
"${api_args[@]}" > "$w/apiserver.log" 2>&1 &
api_pid=$!
url=https://127.0.0.1:$api_port
cat > "$w/env" <<EOT
APISERVER_URL=$url
APISERVER_CA=$w/certs/apiserver.crt
ADMIN_TOKEN=$admin
ETCD_ENDPOINT=http://127.0.0.1:$etcd_port
ETCD_PID=$etcd_pid
APISERVER_PID=$api_pid
EOT
# A bound on readiness, not a pause: the loop ends as soon as /readyz answers.
for _ in $(seq 1200); do
  curl -fsS --cacert "$w/certs/apiserver.crt" -H "Authorization: Bearer $admin" "$url/readyz" \
    >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || { log "kube-apiserver exited:"; tail -20 "$w/apiserver.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS --cacert "$w/certs/apiserver.crt" -H "Authorization: Bearer $admin" "$url/readyz" \
  >/dev/null || { log "kube-apiserver not ready"; tail -20 "$w/apiserver.log" >&2; exit 1; }
log "etcd and kube-apiserver ready in $(( $(date +%s%3N) - t0 )) ms at $url"

api() { # api METHOD PATH JSON
  curl -fsS --cacert "$w/certs/apiserver.crt" -H "Authorization: Bearer $admin" \
    -H "Content-Type: application/json" -X "$1" "$url$2" -d "$3" > /dev/null
}
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"flink"}}'
# The Role and RoleBinding exactly as docs/operations.md gives them (its first yaml block, bound to
# service account flink in namespace flink: the user of the token above); for the variants, the
# same with one verb taken out, bound to another service account.
doc=$(cd "$(dirname "$0")/../.." && pwd)/docs/operations.md
awk '/^```yaml$/ { inside = 1; next } /^```$/ && inside { exit } inside' "$doc" > "$w/rbac.yaml"
grep -q "kind: Role$" "$w/rbac.yaml" && grep -q "kind: RoleBinding" "$w/rbac.yaml" ||
  { log "no Role and RoleBinding in the first yaml block of $doc"; exit 1; }
apply_rbac() { # apply_rbac FILE: each document to roles or rolebindings
  local part
  awk -v dir="$w" '/^---$/ { n++; next } { print > (dir "/rbac-part-" n+0 ".yaml") }' "$1"
  for part in "$w"/rbac-part-*.yaml; do
    local kind; kind=$(sed -n 's/^kind: //p' "$part")
    local coll=roles; [ "$kind" = RoleBinding ] && coll=rolebindings
    curl -fsS --cacert "$w/certs/apiserver.crt" -H "Authorization: Bearer $admin" \
      -H "Content-Type: application/yaml" -X POST --data-binary @"$part" \
      "$url/apis/rbac.authorization.k8s.io/v1/namespaces/flink/$coll" > /dev/null ||
      { log "applying $part failed"; cat "$part" >&2; exit 1; }
    rm -f "$part"
  done
}
apply_rbac "$w/rbac.yaml"
# variant NAME VERB: the documented Role without VERB, bound to service account NAME
variant() {
  sed -e "s/name: libk8sha-ha/name: $1-ha/" -e "s/^    name: flink .*/    name: $1/" \
      -e "s/\"$2\", //; s/, \"$2\"//" "$w/rbac.yaml" > "$w/rbac-$1.yaml"
  ! grep -q "\"$2\"" "$w/rbac-$1.yaml" || { log "could not take $2 out of the Role"; exit 1; }
  apply_rbac "$w/rbac-$1.yaml"
}
variant nowatch watch
variant noupdate update
# Flink's documentation binds the ClusterRole edit to the JobManagers' service account. edit's
# rules are aggregated by kube-controller-manager, which this server runs without; bind the two
# ClusterRoles they are aggregated from (the API server's own bootstrap roles) instead.
for from in edit view; do
  api POST /apis/rbac.authorization.k8s.io/v1/namespaces/flink/rolebindings \
    '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"flinkedit-'$from'"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:aggregate-to-'$from'"},"subjects":[{"kind":"ServiceAccount","name":"flinkedit","namespace":"flink"}]}'
done

kubeconfig() { # kubeconfig NAME TOKEN
  cat > "$w/$1.kubeconfig" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: realkube
  cluster:
    server: $url
    certificate-authority: $w/certs/apiserver.crt
users:
- name: $1
  user:
    token: $2
contexts:
- name: $1
  context: {cluster: realkube, user: $1, namespace: flink}
current-context: $1
EOT
}
kubeconfig admin "$admin"
kubeconfig user "$user"
kubeconfig nowatch "$nowatch"
kubeconfig noupdate "$noupdate"
kubeconfig flinkedit "$flinkedit"
