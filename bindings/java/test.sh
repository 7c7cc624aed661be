#!/usr/bin/env bash
# The Java API's tests: JUnit 5 through Maven, every JVM under -Xcheck:jni, against kube-lite;
# on JDK 17 and again on the newest JDK the machine has (/usr/lib/jvm). A JNI warning in any
# test JVM's output fails the run (the core, then the Flink modules of each line: flink-1.20 and
# flink-2.3, which share flink-common). Then, once: the example from the jar alone, and real Flink
# processes failing over on libk8sha (flink-1.20/it, the same for 2.3).
#   test.sh SHIM_DIR KUBE_LITE K8SHA_CLI LIBK8SHA
# With K8SHA_TEST_KUBECONFIG set (tests/realkube), the tests run against that server instead of
# kube-lite, on JDK 17 only, and neither the example nor the Flink processes run (the realkube
# tier runs those through its fault proxy).
# SHIM_DIR holds libk8sha-jni.so (meson's build folder bindings/java); Maven builds under it. The
# tests load that shim (its run path finds LIBK8SHA); the jar bundles copies of both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
shim_dir=$(cd "$1" && pwd)
kubelite=$(abs "$2")
cli=$(abs "$3")
lib=$(abs "$4")
target=$shim_dir/maven
mkdir -p "$target/native"
cp "$shim_dir/libk8sha-jni.so" "$target/native/"
cp "$lib" "$target/native/libk8sha.so.1"

jvms=("$(readlink -f "$(command -v java)")")
newest=$(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | while read -r j; do
  printf '%s %s\n' "$("$j" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = //p')" "$j"; done | sort -n | tail -1 | cut -d' ' -f2)
[ -z "${K8SHA_TEST_KUBECONFIG:-}" ] && [ -n "$newest" ] &&
  [ "$(readlink -f "$newest")" != "${jvms[0]}" ] && jvms+=("$newest")

# flink_modules JVM JVM_ARGS: builds and tests each Flink line's module
flink_modules() {
  local line
  for line in 1.20 2.3; do
    mvn -q -B -f "$here/flink-$line/pom.xml" -Dk8sha.target="$target/flink-$line" \
      -Dk8sha.jni="$shim_dir/libk8sha-jni.so" -Dk8sha.kubelite="$kubelite" \
      -Dk8sha.test.jvm="$1" -Dk8sha.jvm.args="$2" \
      -Dk8sha.kubeconfig="${K8SHA_TEST_KUBECONFIG:-}" package || return 1
  done
}

status=0
for jvm in "${jvms[@]}"; do
  version=$("$jvm" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')
  extra=
  # (JDK 22 and later warn about System.load without this)
  [ "${version%%.*}" -ge 22 ] && extra=--enable-native-access=ALL-UNNAMED
  rm -rf "$target/surefire-reports" "$target"/flink-*/surefire-reports
  t0=$(date +%s)
  # (install: the Flink modules build against the core jar and its test helpers)
  if mvn -q -B -f "$here/pom.xml" -Dk8sha.target="$target" -Dk8sha.jni="$shim_dir/libk8sha-jni.so" \
       -Dk8sha.kubelite="$kubelite" -Dk8sha.cli="$cli" -Dk8sha.test.jvm="$jvm" \
       -Dk8sha.jvm.args="$extra" -Dk8sha.kubeconfig="${K8SHA_TEST_KUBECONFIG:-}" install \
       > "$target/mvn.log" 2>&1 &&
     flink_modules "$jvm" "$extra" >> "$target/mvn.log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
    cat "$target/mvn.log"
  fi
  # -Xcheck:jni reports on the JVM's own output, which Surefire keeps in these files
  if grep -l -E "WARNING in native method|FATAL ERROR in native method" \
       "$target"/surefire-reports/* "$target"/flink-*/surefire-reports/* \
       > "$target/jni-warnings" 2>/dev/null; then
    echo "JNI warnings under -Xcheck:jni (Java $version):"
    grep -h -B2 -A8 -E "WARNING in native method|FATAL ERROR in native method" $(cat "$target/jni-warnings")
    result=FAILED
    status=1
  fi
  tests=$(cat "$target"/surefire-reports/TEST-*.xml "$target"/flink-*/surefire-reports/TEST-*.xml 2>/dev/null |
    sed -n 's/.*<testsuite [^>]*tests="\([0-9]*\)".*/\1/p' | awk '{s += $1} END {print s + 0}')
  echo "java $version ($jvm): $tests tests $result in $(( $(date +%s) - t0 )) s, -Xcheck:jni"
done
[ -z "${K8SHA_TEST_KUBECONFIG:-}" ] || exit $status

# The example (examples/Leader.java) twice, from the jar alone: the shim bundled in it is
# extracted and loaded (no -Dio.libk8sha.jni.path, no java.library.path). The second leader
# recovers the first one's newest checkpoint.
t0=$(date +%s)
if mvn -q -B -f "$here/pom.xml" -Dk8sha.target="$target" -DskipTests package > "$target/mvn-package.log" 2>&1; then
  work=$(mktemp -d)
  "$kubelite" --host 127.0.0.1 --port 0 --namespace flink --write-kubeconfig "$work/kubeconfig" \
    > "$work/kube-lite.out" 2> "$work/kube-lite.err" &
  kl=$!
  (timeout 30 tail -n +1 -f "$work/kube-lite.out" | grep -q -m1 "listening on") || true
  printf '%s\n' "kubernetes.config.file: $work/kubeconfig" "kubernetes.cluster-id: example" \
    "kubernetes.namespace: flink" "high-availability.type: kubernetes" \
    "high-availability.storageDir: file://$work/ha" > "$work/flink-conf.yaml"
  jar=$target/libk8sha-0.1.0.jar
  example_ok=1
  for jm in jm-1 jm-2; do
    if ! java -Xcheck:jni -cp "$jar" "$here/examples/Leader.java" "$work/flink-conf.yaml" "$jm" \
         > "$work/$jm.out" 2>&1; then
      example_ok=0
    fi
    sed "s/^/  $jm: /" "$work/$jm.out"
  done
  kill "$kl" 2>/dev/null
  wait "$kl" 2>/dev/null
  if [ $example_ok = 1 ] && grep -q "^no checkpoint to recover" "$work/jm-1.out" &&
     grep -q "^recovered checkpoint 3: state written by jm-1" "$work/jm-2.out" &&
     grep -q "^committed checkpoint 6" "$work/jm-2.out" &&
     ! grep -q -E "WARNING in native method|FATAL ERROR in native method" "$work"/jm-*.out; then
    echo "java example: two leaders one after the other, the second recovered the first's checkpoint 3, in $(( $(date +%s) - t0 )) s"
    rm -rf "$work"
  else
    echo "java example FAILED (work folder $work)"
    status=1
  fi
else
  cat "$target/mvn-package.log"
  echo "java example FAILED: the jar did not build"
  status=1
fi

# Real Flink JobManagers and a TaskManager of each line fail over on libk8sha (once, on JDK 17;
# the realkube tier runs the same against the real API server).
if [ $status = 0 ]; then
  for line in 1.20 2.3; do
    "$here/flink-common/it/test.sh" "$line" "$target" "$kubelite" || status=1
  done
fi
exit $status
