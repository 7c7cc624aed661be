#!/usr/bin/env bash
# Installs what is missing, then builds libk8sha five ways and runs the whole test suite:
#   build/werror  -Wall -Wextra -Werror, every suite
#   build/asan    AddressSanitizer + UndefinedBehaviorSanitizer, every suite
#   valgrind      the unit and integration suites of build/werror under valgrind (memcheck,
#                 leaks are errors)
#   realkube      (a suite of both builds) against a real kube-apiserver and etcd, built first
#   flink         (the -Werror build only) Flink's own HA classes, from Maven, write HA data that
#                 the k8sha commands then read, scan and clean, and Flink reads back
#   chaos         (the -Werror build only) 60 s of seeded faults against checkpointing contenders,
#                 then a check of every recorded ConfigMap version (tests/chaos/chaos.py)
#   model         (the -Werror build only) Spin checks the Promela model of election, claims, fenced
#                 writes and retention, and that it catches each seeded bug (docs/model.md)
#   s3            (a suite of both builds) the store tests, the s3 backend's tests and the demo
#                 against S3Proxy (checks signatures) and moto (STS, pod credential sources)
#   hdfs          (the -Werror build only, its own run) the store tests, the hdfs backend's tests
#                 and the demo against Hadoop's MiniDFSCluster (WebHDFS; one and two namenodes)
#   java          (the -Werror build only, -Djava=enabled) the Java API's JUnit tests under
#                 -Xcheck:jni on JDK 17 and the newest JDK present, and the Java example
#                 (bindings/java/test.sh); against the real API server too, in the realkube tier
#   build/pkg     a packager's build (--prefix=/usr, the multiarch libdir): meson's default test
#                 setup, offline (a network namespace with only the loopback interface)
#   build/tsan    ThreadSanitizer: the tests where the library runs on several threads
# realkube, flink, model, s3 and hdfs are not in meson's default test setup (docs/packaging.md): the runs
# below name the setup `full`, which has every suite.
# Ends with one line "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh || { echo "test.sh: installing dependencies failed" >&2; exit 1; }

status=0
passed=0
failed=0

setup() { # setup DIR [meson options...]
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

count() { # count LOG: adds the results of a meson test run to the totals
  local log=$1 p f
  [ -f "$log" ] || return 0
  p=$(grep -c '"result": "OK"' "$log" || true)
  f=$(grep -c -E '"result": "(FAIL|ERROR|TIMEOUT|UNEXPECTEDPASS)"' "$log" || true)
  passed=$((passed + p))
  failed=$((failed + f))
}

run() { # run TITLE DIR [meson test options...]
  local title=$1 dir=$2 log=testlog.json a prev=; shift 2
  for a in "$@"; do # meson names the log after an explicit setup: testlog-SETUP.json
    [ "$prev" = --setup ] && log=testlog-$a.json
    prev=$a
  done
  echo "== $title"
  rm -f "$dir/meson-logs/$log"
  local t0=$(date +%s)
  if ! ${RUN_WRAP:-} meson test -C "$dir" --print-errorlogs "$@"; then
    status=1
  fi
  echo "== $title: $(( $(date +%s) - t0 )) s"
  count "$dir/meson-logs/$log"
}

# The realkube tier's kube-apiserver and etcd (built from the Go module proxy, cached under
# ~/.cache/libk8sha): built here so that the build and its time show; the tier reuses them.
echo "== kube-apiserver and etcd for the realkube tier"
rk_start=$(date +%s)
if mkdir -p build && tests/realkube/build.sh > build/realkube-build.log 2>&1; then
  echo "ready in $(( $(date +%s) - rk_start )) s: $(tail -1 build/realkube-build.log)"
else
  echo "building them failed after $(( $(date +%s) - rk_start )) s (the realkube tests will fail):"
  tail -20 build/realkube-build.log
fi
# Without the binaries the realkube test skips (exit 77); here that is a failure.
export K8SHA_REALKUBE_REQUIRED=1

echo "== build: -Werror"
if setup build/werror -Dwerror=true -Djava=enabled && ninja -C build/werror >/dev/null; then
  run "tests (-Werror build)" build/werror --setup full --no-suite hdfs
  run "hdfs tier (-Werror build, MiniDFSCluster)" build/werror --setup full --suite hdfs
  run "unit and integration tests under valgrind" build/werror --setup valgrind --suite unit --suite integration
else
  ninja -C build/werror
  status=1
fi

# A distribution's build: --prefix=/usr with the multiarch libdir, meson's default test setup
# (which installs into a scratch DESTDIR and checks the tree), with no network: in a network
# namespace of its own, only the loopback interface up (docs/packaging.md).
echo "== build: a packager's (--prefix=/usr, multiarch libdir), tested offline"
if setup build/pkg --prefix=/usr --libdir="lib/$(gcc -print-multiarch)" -Dwerror=true &&
   ninja -C build/pkg >/dev/null; then
  if unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
    RUN_WRAP="unshare -n $PWD/tests/offline.sh" run "default tests offline (packager's build)" build/pkg
  else
    echo "(no network namespace here: the packager's tests run with the network)"
    run "default tests (packager's build)" build/pkg
  fi
else
  ninja -C build/pkg
  status=1
fi

echo "== build: ASan + UBSan"
if setup build/asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false &&
   ninja -C build/asan >/dev/null; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  run "tests (ASan + UBSan build)" build/asan --setup full --no-suite flink --no-suite chaos --no-suite model --no-suite hdfs
else
  ninja -C build/asan
  status=1
fi

echo "== build: ThreadSanitizer"
# The tests where the library's code runs on several threads (tests/tsan.sh says which).
if setup build/tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false && ninja -C build/tsan >/dev/null; then
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stop=1:suppressions=$PWD/tests/tsan.supp"
  run "threaded tests (TSan build)" build/tsan core context storage storage_faults s3_faults hdfs_faults examples
else
  ninja -C build/tsan
  status=1
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
