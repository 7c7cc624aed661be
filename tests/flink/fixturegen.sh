#!/usr/bin/env bash
# Drives tests/flink/fixturegen (Apache Flink's own Kubernetes-HA classes) against kube-lite.
#   fixturegen.sh build VERSION
#   fixturegen.sh write|read VERSION KUBECONFIG NAMESPACE CLUSTER_ID STORAGE_DIR
#   fixturegen.sh fixtures VERSION OUTDIR KUBE_LITE_BINARY
# See tests/flink/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$here/fixturegen"
fixture_ns=flink
fixture_cluster=flink-fixture

die() { echo "fixturegen.sh: $*" >&2; exit 1; }

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 64
}

build() {
    local version=$1 log
    log=$(mktemp)
    if ! mvn -q -B -f "$project/pom.xml" -Dflink.version="$version" package >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "maven build for Flink $version failed"
    fi
    rm -f "$log"
    [ -s "$project/target/$version/classpath.txt" ] || die "no classpath file for Flink $version"
}

# run_java VERSION MODE KUBECONFIG NAMESPACE CLUSTER_ID STORAGE_DIR
run_java() {
    local version=$1; shift
    local dir="$project/target/$version"
    [ -s "$dir/classpath.txt" ] || build "$version"
    # No --add-opens/--add-exports are needed on Java 17 for this flow (checked for 1.20.1 and 2.3.0).
    java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
         -cp "$dir/classes:$(cat "$dir/classpath.txt")" \
         io.libk8sha.tests.flink.FixtureGen "$@"
}

fixtures() {
    local version=$1 outdir=$2 kubelite=$3
    [ -x "$kubelite" ] || die "kube-lite binary not executable: $kubelite"
    build "$version"

    local work storage_path storage_uri kc kl_pid url i log
    work=$(mktemp -d)
    log="$work/log"
    storage_path="/tmp/libk8sha-flink-fixture/flink-$version"
    storage_uri="file://$storage_path"
    kc="$work/kubeconfig"
    rm -rf "$storage_path"
    mkdir -p "$(dirname "$storage_path")"

    "$kubelite" --host 127.0.0.1 --port 0 --write-kubeconfig "$kc" --namespace "$fixture_ns" \
        >"$work/kube-lite.out" 2>"$work/kube-lite.err" &
    kl_pid=$!
    # shellcheck disable=SC2064
    trap "kill $kl_pid 2>/dev/null || true; wait $kl_pid 2>/dev/null || true; rm -rf '$work'" EXIT
    for ((i = 0; i < 100; i++)); do
        [ -f "$kc" ] && break
        kill -0 "$kl_pid" 2>/dev/null || { cat "$work/kube-lite.err" >&2; die "kube-lite exited"; }
        sleep 0.1
    done
    [ -f "$kc" ] || die "kube-lite did not become ready"
    url=$(sed -n 's/^ *server: *//p' "$kc" | head -n1)

    if ! run_java "$version" write "$kc" "$fixture_ns" "$fixture_cluster" "$storage_uri" >"$log" 2>&1; then
        cat "$log" >&2
        die "write failed (Flink $version)"
    fi

    rm -rf "$outdir"
    mkdir -p "$outdir/storage"
    outdir=$(cd "$outdir" && pwd)
    if ! curl -fsS "$url/api/v1/namespaces/$fixture_ns/configmaps" -o "$work/list.json"; then
        die "listing ConfigMaps from kube-lite failed"
    fi
    jq '[.items | sort_by(.metadata.name)[]
         | {apiVersion: "v1", kind: "ConfigMap",
            metadata: (.metadata | {name, namespace, labels, annotations}
                       | with_entries(select(.value != null))),
            data: (.data // {})}]' "$work/list.json" >"$outdir/configmaps.json" \
        || die "jq failed on the ConfigMap list"
    (cd "$storage_path" && find . -type f -exec cp --parents -p {} "$outdir/storage/" \;) \
        || die "copying $storage_path failed"

    if ! run_java "$version" read "$kc" "$fixture_ns" "$fixture_cluster" "$storage_uri" \
            >"$outdir/expected.json" 2>"$log"; then
        cat "$log" >&2
        die "read failed (Flink $version)"
    fi
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
    build)
        [ $# -eq 1 ] || usage
        build "$1" ;;
    write|read)
        [ $# -eq 5 ] || usage
        version=$1; shift
        if [ "$cmd" = write ]; then
            log=$(mktemp)
            if ! run_java "$version" write "$@" >"$log" 2>&1; then
                cat "$log" >&2; rm -f "$log"; die "write failed (Flink $version)"
            fi
            rm -f "$log"
        else
            run_java "$version" read "$@"
        fi ;;
    fixtures)
        [ $# -eq 3 ] || usage
        fixtures "$1" "$2" "$3" ;;
    *) usage ;;
esac
