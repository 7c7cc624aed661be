#!/usr/bin/env bash
# The Java API's tests: JUnit 5 through Maven, every JVM under -Xcheck:jni, against kube-lite;
# on JDK 17 and again on the newest JDK the machine has (/usr/lib/jvm). A JNI warning in any
# test JVM's output fails the run.
#   test.sh SHIM_DIR KUBE_LITE K8SHA_CLI LIBK8SHA
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
[ -n "$newest" ] && [ "$(readlink -f "$newest")" != "${jvms[0]}" ] && jvms+=("$newest")

status=0
for jvm in "${jvms[@]}"; do
  version=$("$jvm" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')
  extra=
  # (JDK 22 and later warn about System.load without this)
  [ "${version%%.*}" -ge 22 ] && extra=--enable-native-access=ALL-UNNAMED
  rm -rf "$target/surefire-reports"
  t0=$(date +%s)
  if mvn -q -B -f "$here/pom.xml" -Dk8sha.target="$target" -Dk8sha.jni="$shim_dir/libk8sha-jni.so" \
       -Dk8sha.kubelite="$kubelite" -Dk8sha.cli="$cli" -Dk8sha.test.jvm="$jvm" \
       -Dk8sha.jvm.args="$extra" test > "$target/mvn.log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
    cat "$target/mvn.log"
  fi
  # -Xcheck:jni reports on the JVM's own output, which Surefire keeps in these files
  if grep -l -E "WARNING in native method|FATAL ERROR in native method" \
       "$target"/surefire-reports/* > "$target/jni-warnings" 2>/dev/null; then
    echo "JNI warnings under -Xcheck:jni (Java $version):"
    grep -h -B2 -A8 -E "WARNING in native method|FATAL ERROR in native method" $(cat "$target/jni-warnings")
    result=FAILED
    status=1
  fi
  tests=$(cat "$target"/surefire-reports/TEST-*.xml 2>/dev/null |
    sed -n 's/.*<testsuite [^>]*tests="\([0-9]*\)".*/\1/p' | awk '{s += $1} END {print s + 0}')
  echo "java $version ($jvm): $tests tests $result in $(( $(date +%s) - t0 )) s, -Xcheck:jni"
done
exit $status
