#!/usr/bin/env bash
# Runs a program with an S3 server that verifies SigV4 signatures (S3Proxy from Maven, on a free
# loopback port, objects as plain files in a scratch folder), then stops the server:
#   s3proxy.sh PROGRAM [ARGS...]
# The program finds the server in K8SHA_TEST_S3_ENDPOINT, K8SHA_TEST_S3_BUCKET (made empty),
# K8SHA_TEST_S3_ACCESS_KEY / K8SHA_TEST_S3_SECRET_KEY, and K8SHA_TEST_S3_ROOT: the folder that
# holds the bucket's objects as files (<root>/<bucket>/<key>). Its exit status is this script's.
# The classpath is resolved once per S3Proxy version into ~/.cache/libk8sha/s3proxy-<version>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<version>\(2\.[0-9.]*\)</version>.*:\1:p' "$here/pom.xml")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/s3proxy-$version
mkdir -p "$cache"
if [ ! -s "$cache/classpath" ]; then
  mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cache/classpath.tmp" \
    > "$cache/maven.log" 2>&1 || { echo "s3proxy.sh: resolving S3Proxy $version failed:" >&2;
                                   tail -20 "$cache/maven.log" >&2; exit 1; }
  mv "$cache/classpath.tmp" "$cache/classpath"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/k8sha-s3.XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bucket=k8sha-test
mkdir -p "$work/objects/$bucket"
cat > "$work/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$port
s3proxy.authorization=aws-v4
s3proxy.identity=AKIDLIBK8SHATEST
s3proxy.credential=libk8sha/test+secret=key
jclouds.provider=filesystem
jclouds.filesystem.basedir=$work/objects
CONF
java -Xmx256m -Dlogback.configurationFile="$here/logback.xml" -cp "$(cat "$cache/classpath")" \
  org.gaul.s3proxy.Main --properties "$work/s3proxy.conf" > "$work/server.log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap stop EXIT
# Ready when it answers (an unsigned request: 403); a bound, not a pace.
for _ in $(seq 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
  [ "$code" = 403 ] && break
  kill -0 "$pid" 2>/dev/null || { echo "s3proxy.sh: S3Proxy exited:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ "$code" = 403 ] || { echo "s3proxy.sh: S3Proxy did not answer within 60 s" >&2; exit 1; }
export K8SHA_TEST_S3_ENDPOINT=http://127.0.0.1:$port K8SHA_TEST_S3_BUCKET=$bucket
export K8SHA_TEST_S3_ACCESS_KEY=AKIDLIBK8SHATEST K8SHA_TEST_S3_SECRET_KEY='libk8sha/test+secret=key'
export K8SHA_TEST_S3_ROOT=$work/objects
set +e
"$@"
rc=$?
if [ $rc -ne 0 ] && [ -s "$work/server.log" ]; then
  echo "--- S3Proxy's log" >&2; tail -50 "$work/server.log" >&2
fi
exit $rc
