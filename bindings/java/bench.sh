#!/usr/bin/env bash
# What the Java binding costs on top of C: the same sequential commit loop through the C API
# (tests/bench/commit_bench) and through Java (bench/CommitBench.java), one after the other
# against one kube-lite, each in its own cluster. Prints both lines. A benchmark, not a test.
#   bench.sh BUILD_DIR [COMMITS]        (BUILD_DIR configured with -Djava=enabled; default 1000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
n=${2:-1000}
jar=$build/bindings/java/maven/libk8sha-0.1.0.jar
[ -f "$jar" ] || mvn -q -B -f "$here/pom.xml" -Dk8sha.target="$build/bindings/java/maven" \
  -DskipTests package
work=$(mktemp -d)
trap 'kill $kl 2>/dev/null; rm -rf "$work"' EXIT
"$build/tools/kube-lite/k8sha-kube-lite" --host 127.0.0.1 --port 0 --namespace flink \
  --write-kubeconfig "$work/kubeconfig" > "$work/kube-lite.out" 2>&1 &
kl=$!
(timeout 30 tail -n +1 -f "$work/kube-lite.out" | grep -q -m1 "listening on") || true
grep -q "listening on" "$work/kube-lite.out" || { cat "$work/kube-lite.out"; exit 1; }
conf() { # conf NAME: a configuration file for cluster NAME
  printf '%s\n' "kubernetes.config.file: $work/kubeconfig" "kubernetes.cluster-id: $1" \
    "kubernetes.namespace: flink" "high-availability.type: kubernetes" \
    "high-availability.storageDir: file://$work/ha" > "$work/$1.yaml"
  echo "$work/$1.yaml"
}
echo "commit_bench: $n sequential commits of 512 bytes (counter + blob + pointer) on kube-lite, file storage in $work"
"$build/tests/bench/commit_bench" "$(conf c)" "$n"
java -cp "$jar" "$here/bench/CommitBench.java" "$(conf java)" "$n"
