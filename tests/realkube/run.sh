#!/usr/bin/env bash
# The realkube tier: libk8sha against a real kube-apiserver and etcd, with RBAC as documented.
# (All output of a failing part is shown; the work dir is kept then.)
#
#   run.sh BUILD_DIR
#
# Takes the binaries build.sh has cached (it builds nothing here: without them the tier is
# skipped, exit 77, or fails when K8SHA_REALKUBE_REQUIRED is set, as ./test.sh sets it),
# starts them (cluster.sh), then, as the user bound
# to the documented Role: the integration suite (directly; the tests that inject faults through
# kube-lite as a fault proxy, --upstream), the Java tests and real Flink 1.20 and 2.3 processes, the process scenarios, the chaos
# campaign, the examples, the minijm demo; and the forbidden cases: a Role without `watch` and
# one without `update` must give a clear forbidden error naming the verb and resource, and never
# a leadership the contender cannot hold.
set -uo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
k8sha=$build/tools/k8sha/k8sha
failures=0
step() { echo; echo "== realkube: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

t0=$(date +%s)
missing=
kube_lite=$build/tools/kube-lite/k8sha-kube-lite
bin=$("$here/build.sh" --cached) ||
  missing="kube-apiserver and etcd are not built (tests/realkube/build.sh builds them with Go from the Go module proxy)"
if [ -n "$missing" ]; then
  if [ -n "${K8SHA_REALKUBE_REQUIRED:-}" ]; then
    echo "FAIL: $missing"
    exit 1
  fi
  echo "SKIP: $missing"
  exit 77
fi
echo "realkube: binaries: $bin"
"$bin/kube-apiserver" --version 2>/dev/null | sed 's/^/realkube: /'

w=$(mktemp -d)
cleanup() {
  [ -z "${proxy_pid:-}" ] || kill "$proxy_pid" 2>/dev/null
  "$here/cluster.sh" stop "$w"
  [ -n "${keep:-}" ] || rm -rf "$w"
}
trap cleanup EXIT
"$here/cluster.sh" start "$bin" "$w" || { echo "FAIL: the cluster did not start"; keep=1; exit 1; }
# shellcheck disable=SC1091
. "$w/env"
export K8SHA_TEST_KUBECONFIG=$w/user.kubeconfig K8SHA_TEST_SERVER=$APISERVER_URL
export K8SHA_TEST_CA=$APISERVER_CA K8SHA_TEST_ADMIN_TOKEN=$ADMIN_TOKEN
export K8SHA_TEST_ETCDCTL=$bin/etcdctl K8SHA_TEST_ETCD_ENDPOINT=$ETCD_ENDPOINT
# (the election tests of a contender that may not update ConfigMaps run as user noupdate)
export K8SHA_TEST_NOUPDATE_KUBECONFIG=$w/noupdate.kubeconfig

step "integration tests as service account flink (RBAC of docs/operations.md)"
# (test_kube_client checks the HTTP client's status mapping with verbs the library itself never
# uses, such as PATCH: it runs as the admin)
for t in kube_client watch election store fencing cleanup lifetimes; do
  kc=$w/user.kubeconfig
  [ "$t" = kube_client ] && kc=$w/admin.kubeconfig
  if K8SHA_TEST_KUBECONFIG=$kc "$build/tests/integration/test_$t" > "$w/$t.out" 2>&1; then
    grep -E "^[0-9]+%: Checks" "$w/$t.out" | sed "s/^/  test_$t: /"
    grep -E "^(not run|run through)" "$w/$t.out" | sed 's/^/  /'
  else
    bad "test_$t against the real server:"; grep -vE "^\[" "$w/$t.out" | tail -30
  fi
done

step "integration tests with faults, through kube-lite as a fault proxy (--upstream), as service account flink"
# The tests that inject faults, end watches or take the server away run with kube-lite's fault
# rules applied by kube-lite in front of the real server: every other request goes through.
"$kube_lite" --port 0 --upstream "$APISERVER_URL" --upstream-ca "$APISERVER_CA" \
  > "$w/faultproxy.out" 2> "$w/faultproxy.err" &
proxy_pid=$!
# (bounded wait for its ready line, which names both ports)
for i in $(seq 200); do grep -q "listening on" "$w/faultproxy.out" && break; sleep 0.05; done
proxy=$(sed -n 's/^kube-lite listening on \([^ ]*\) control .*/\1/p' "$w/faultproxy.out" | head -1)
control=$(sed -n 's/^kube-lite listening on .* control //p' "$w/faultproxy.out" | head -1)
if [ -z "$proxy" ]; then
  bad "kube-lite as a fault proxy did not start:"; cat "$w/faultproxy.err"
else
  sed -e "s|server: .*|server: $proxy|" -e '/certificate-authority/d' "$w/user.kubeconfig" > "$w/proxy.kubeconfig"
  for t in kube_client watch election store fencing cleanup lifetimes; do
    if K8SHA_TEST_KUBECONFIG=$w/proxy.kubeconfig K8SHA_TEST_SERVER=$proxy K8SHA_TEST_CONTROL_URL=$control \
         "$build/tests/integration/test_$t" > "$w/$t-faults.out" 2>&1; then
      grep -E "^[0-9]+%: Checks" "$w/$t-faults.out" | sed "s/^/  test_$t: /"
      grep "^not run" "$w/$t-faults.out" | sed 's/^/  /'
    else
      bad "test_$t through the fault proxy:"; grep -vE "^\[" "$w/$t-faults.out" | tail -30
    fi
  done
fi

if [ -f "$build/bindings/java/libk8sha-jni.so" ]; then
  step "the Java API's tests (bindings/java, -Xcheck:jni) as service account flink"
  if K8SHA_TEST_KUBECONFIG=$w/user.kubeconfig "$src/bindings/java/test.sh" "$build/bindings/java" \
       "$build/tools/kube-lite/k8sha-kube-lite" "$k8sha" "$build/lib/libk8sha.so.1" > "$w/java.out" 2>&1; then
    grep "^java " "$w/java.out" | sed 's/^/  /'
  else
    bad "the Java tests against the real server:"; tail -40 "$w/java.out"
  fi
  # Flink's own Kubernetes HA as a user with the RBAC of Flink's documentation (flinkedit), and
  # libk8sha beside it: switching from Flink's own HA to libk8sha and back (JUnit, both lines)
  for line in 1.20 2.3; do
    step "Flink $line's own HA with Flink's documented RBAC (ClusterRole edit), switching to libk8sha and back"
    if mvn -q -B -f "$src/bindings/java/flink-$line/pom.xml" \
         -Dk8sha.target="$build/bindings/java/maven/flink-$line-flinkrbac" \
         -Dk8sha.jni="$build/bindings/java/libk8sha-jni.so" \
         -Dk8sha.kubelite="$build/tools/kube-lite/k8sha-kube-lite" \
         -Dk8sha.kubeconfig="$w/flinkedit.kubeconfig" -Dk8sha.jvm.args=-Dio.libk8sha.test.flinkRbac=true \
         -Dtest='SwitchFromFlinkHaTest,ApplicationStoreTest' -Dsurefire.failIfNoSpecifiedTests=false \
         test > "$w/flinkrbac-$line.out" 2>&1 &&
       ! grep -q 'skipped="[1-9]' "$build/bindings/java/maven/flink-$line-flinkrbac"/surefire-reports/TEST-*.xml; then
      sed -n 's/.*<testsuite [^>]*name="\([^"]*\)"[^>]*tests="\([0-9]*\)"[^>]*skipped="\([0-9]*\)".*/  \1: \2 tests, \3 skipped/p' \
        "$build/bindings/java/maven/flink-$line-flinkrbac"/surefire-reports/TEST-*.xml
    else
      bad "Flink $line's own HA with its documented RBAC:"; tail -60 "$w/flinkrbac-$line.out"
    fi
  done
  if [ -n "${control:-}" ]; then
    for line in 1.20 2.3; do
      step "Flink $line processes (two JobManagers, a TaskManager) as service account flink, the server's outages through the fault proxy"
      if "$src/bindings/java/flink-common/it/test.sh" "$line" "$build/bindings/java/maven" \
           "$build/tools/kube-lite/k8sha-kube-lite" --kubeconfig "$w/proxy.kubeconfig" \
           --control-url "$control" > "$w/flink-$line.out" 2>&1; then
        sed 's/^/  /' "$w/flink-$line.out"
      else
        bad "Flink $line processes against the real server:"; tail -80 "$w/flink-$line.out"
      fi
    done
  fi
fi

step "processes: election (kill -9, SIGSTOP past the lease, API server killed and restarted; invariants on every server state)"
if K8SHA_TEST_APISERVER_DOWN="bash '$here/cluster.sh' apiserver-down '$w'" \
   K8SHA_TEST_APISERVER_UP="bash '$here/cluster.sh' apiserver-up '$w'" /usr/bin/python3 "$src/tests/integration/elect_processes.py" "$k8sha" none "$src" \
     > "$w/elect-processes.out" 2>&1; then
  grep -E "^(grants|server states|invariants)" "$w/elect-processes.out" | sed 's/^/  /'
else
  bad "election processes:"; tail -40 "$w/elect-processes.out"
fi

step "processes: stores (kill -9 at random moments while adding, a frozen deposed leader, the CLI)"
if /usr/bin/python3 "$src/tests/integration/store_processes.py" "$k8sha" none \
     "$build/tests/integration/store_worker" > "$w/processes.out" 2>&1; then
  grep -E "^  (retained|A refused)" "$w/processes.out" | sed 's/^ *//; s/^/  /'
else
  bad "store processes:"; tail -30 "$w/processes.out"
fi

step "processes: stores again, through the fault proxy (first a pointer update held in the server while its writer is killed: it lands after the crash, or is refused)"
if [ -n "${proxy:-}" ] &&
   K8SHA_TEST_KUBECONFIG=$w/proxy.kubeconfig K8SHA_TEST_SERVER=$proxy K8SHA_TEST_CONTROL_URL=$control \
     /usr/bin/python3 "$src/tests/integration/store_processes.py" "$k8sha" none \
     "$build/tests/integration/store_worker" > "$w/processes-faults.out" 2>&1; then
  grep -E "^  (held update|retained|A refused)" "$w/processes-faults.out" | sed 's/^ *//; s/^/  /'
else
  bad "store processes through the fault proxy:"; tail -30 "$w/processes-faults.out"
fi
[ -z "${proxy_pid:-}" ] || { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }

step "chaos: checkpointing contenders, each through its own fault proxy, under seeded faults (tests/chaos)"
if K8SHA_TEST_KUBECONFIG=$w/user.kubeconfig K8SHA_TEST_SERVER=$APISERVER_URL \
     /usr/bin/python3 "$src/tests/chaos/chaos.py" --kube-lite "$kube_lite" \
     --worker "$build/tests/chaos/chaos_worker" --faultfs "$build/tests/chaos/faultfs.so" \
     --seconds 30 > "$w/chaos.out" 2>&1; then
  grep -E "^chaos: (seed|actions|[0-9]+ ConfigMap|violations)" "$w/chaos.out" | sed 's/^/  /'
else
  bad "chaos against the real server:"; tail -30 "$w/chaos.out"
fi

step "examples and the minijm demo"
if K8SHA_EXAMPLES_KUBECONFIG=$w/user.kubeconfig bash "$src/tests/examples/examples.sh" \
     none "$build/examples" "$k8sha" > "$w/examples.out" 2>&1; then
  tail -1 "$w/examples.out" | sed 's/^/  /'
else
  bad "examples:"; cat "$w/examples.out"
fi
if bash "$src/examples/minijm/run-demo.sh" "$build/examples/minijm" "$k8sha" none \
     --against "$w/user.kubeconfig" --namespace flink > "$w/demo.out" 2>&1; then
  grep -E "failover after|handover after|checkpoints lost" "$w/demo.out" | sed 's/^ *//; s/^/  /'
else
  bad "minijm demo:"; tail -30 "$w/demo.out"
fi

step "forbidden: a Role without watch, a Role without update"
conf=(-D kubernetes.namespace=flink -D kubernetes.cluster-id=rbac -D high-availability.type=kubernetes
      -D "high-availability.storageDir=$w/ha"
      -D high-availability.kubernetes.leader-election.lease-duration=2s
      -D high-availability.kubernetes.leader-election.renew-deadline=1500ms
      -D high-availability.kubernetes.leader-election.retry-period=500ms)
# elect_until USER TEXT: runs `k8sha elect` as USER until TEXT shows in its stderr (bounded)
elect_until() {
  "$k8sha" elect --identity "$1-jm" --address "http://$1:8081" \
    -D "kubernetes.config.file=$w/$1.kubeconfig" "${conf[@]}" > "$w/$1.elect" 2> "$w/$1.err" &
  local pid=$! i
  for i in $(seq 300); do grep -qF -- "$2" "$w/$1.err" && break; sleep 0.05; done
  # as long again, to see whether it leads anyway; if it does, until the server has seen three
  # renewals of its record (bounded)
  for i in $(seq 60); do grep -q granted "$w/$1.elect" && break; sleep 0.05; done
  if grep -q granted "$w/$1.elect"; then
    local last="" now
    for i in $(seq 200); do
      now=$(lock_renew_time)
      if [ -n "$now" ] && [ "$now" != "$last" ]; then echo "renewed-by-server $now" >> "$w/$1.renewals"; last=$now; fi
      [ "$(grep -c renewed-by-server "$w/$1.renewals")" -ge 4 ] && break
      sleep 0.05
    done
  fi
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  curl -fsS --cacert "$APISERVER_CA" -H "Authorization: Bearer $ADMIN_TOKEN" -X DELETE \
    "$APISERVER_URL/api/v1/namespaces/flink/configmaps/rbac-cluster-config-map" >/dev/null 2>&1 || true
}
lock_renew_time() { # the renewTime of the rbac lock record, as the server holds it
  curl -fsS --cacert "$APISERVER_CA" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "$APISERVER_URL/api/v1/namespaces/flink/configmaps/rbac-cluster-config-map" 2>/dev/null |
    python3 -c 'import json,sys; a=json.load(sys.stdin)["metadata"]["annotations"]; print(json.loads(a["control-plane.alpha.kubernetes.io/leader"])["renewTime"])' 2>/dev/null
}
# Without watch the lock cannot be followed: every watch attempt must say so clearly. Acquiring
# and renewing need only get/create/update, so such a contender may lead; if it does, it must
# really hold the lock: its renewals land (three new renewTimes on the server) and it is not
# revoked.
elect_until nowatch "forbidden"
if grep -qF "K8SHA_EFORBIDDEN" "$w/nowatch.err" && grep -qiF "watch" "$w/nowatch.err" &&
   grep -qF "configmaps" "$w/nowatch.err"; then
  echo "  nowatch: $(grep -m1 -F K8SHA_EFORBIDDEN "$w/nowatch.err")"
else
  bad "no clear forbidden error naming watch and configmaps for the Role without watch:"; cat "$w/nowatch.err"
fi
if grep -q granted "$w/nowatch.elect"; then
  renews=$(grep -c "renewed-by-server" "$w/nowatch.renewals" 2>/dev/null || echo 0)
  [ "$renews" -ge 3 ] || bad "the contender without watch was granted but its renewals did not land ($renews)"
  grep "revoked" "$w/nowatch.elect" | grep -qv K8SHA_ECANCELED &&
    bad "the contender without watch was granted, then revoked: $(grep revoked "$w/nowatch.elect")"
  echo "  nowatch: leads and holds the lock ($renews renewals seen on the server)"
fi
# without update: never leads. check_noupdate WHAT runs it and checks its errors.
check_noupdate() {
  elect_until noupdate "forbidden"
  if grep -qF "K8SHA_EFORBIDDEN" "$w/noupdate.err" && grep -qF "update" "$w/noupdate.err" &&
     grep -qF "configmaps" "$w/noupdate.err"; then
    echo "  noupdate, $1: $(grep -m1 -F K8SHA_EFORBIDDEN "$w/noupdate.err")"
  else
    bad "no clear forbidden error naming update and configmaps for the Role without update ($1):"
    cat "$w/noupdate.err"
  fi
  grep -q granted "$w/noupdate.elect" &&
    bad "a contender that cannot update the lock was granted leadership ($1)"
}
# no lock yet: it may create the lock, but it is refused the renewal that precedes leading on it
check_noupdate "lock absent"
# the lock exists (a cluster has been running): taking it needs update
curl -fsS --cacert "$APISERVER_CA" -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json" \
  -X POST "$APISERVER_URL/api/v1/namespaces/flink/configmaps" \
  -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rbac-cluster-config-map","labels":{"app":"rbac","type":"flink-native-kubernetes","configmap-type":"high-availability"}}}' \
  > /dev/null || bad "creating the lock as admin failed"
check_noupdate "lock present"

echo
if [ "$failures" = 0 ]; then
  echo "realkube: all passed ($(( $(date +%s) - t0 )) s)"
else
  echo "realkube: $failures failure(s)"; keep=1
  echo "realkube: logs kept in $w"
  exit 1
fi
