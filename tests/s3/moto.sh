#!/usr/bin/env bash
# Runs a program with the credential sources of a pod on AWS, on loopback: moto's server (from
# PyPI, in a venv cached in ~/.cache/libk8sha/moto-<version>) as STS and as an S3 that checks
# every signature, set up by moto_setup.py; and creds_server.py as the container credentials
# endpoint and IMDSv2, handing out credentials STS issues for the same role. Then stops them:
#   moto.sh PROGRAM [ARGS...]
# The program finds them in K8SHA_TEST_MOTO_ENDPOINT, K8SHA_TEST_MOTO_BUCKET,
# K8SHA_TEST_MOTO_ROLE_ARN and K8SHA_TEST_CREDS_URL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=5.2.6
venv=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/moto-$version
if [ ! -x "$venv/bin/moto_server" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q "moto[server]==$version" \
    > "$venv.log" 2>&1 || { echo "moto.sh: installing moto $version failed:" >&2;
                            tail -20 "$venv.log" >&2; rm -rf "$venv"; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/k8sha-moto.XXXXXX")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
# moto checks signatures (and IAM policies) after the setup's 3 requests
INITIAL_NO_AUTH_ACTION_COUNT=3 "$venv/bin/python" "$here/moto_server.py" -H 127.0.0.1 -p "$port" \
  > "$work/moto.log" 2>&1 &
pid=$! creds_pid=
stop() {
  kill "$pid" $creds_pid 2>/dev/null; wait "$pid" $creds_pid 2>/dev/null; rm -rf "$work"
}
trap stop EXIT
endpoint=http://127.0.0.1:$port
for _ in $(seq 600); do # until it answers (a bound, not a pace)
  curl -s -o /dev/null "$endpoint/moto-api/" && break
  kill -0 "$pid" 2>/dev/null || { echo "moto.sh: moto exited:" >&2; cat "$work/moto.log" >&2; exit 1; }
  sleep 0.1
done
"$venv/bin/python" "$here/moto_setup.py" "$endpoint" "$work/env" ||
  { echo "moto.sh: setting moto up failed" >&2; tail -20 "$work/moto.log" >&2; exit 1; }
set -a
. "$work/env"
set +a
"$venv/bin/python" "$here/creds_server.py" "$endpoint" "$K8SHA_TEST_MOTO_ROLE_ARN" \
  "$work/creds.port" > "$work/creds.log" 2>&1 &
creds_pid=$!
for _ in $(seq 600); do
  [ -s "$work/creds.port" ] && break
  kill -0 "$creds_pid" 2>/dev/null || { echo "moto.sh: creds_server.py exited:" >&2; cat "$work/creds.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/creds.port" ] || { echo "moto.sh: creds_server.py did not start within 60 s" >&2; exit 1; }
export K8SHA_TEST_CREDS_URL=http://127.0.0.1:$(cat "$work/creds.port")
export K8SHA_TEST_MOTO_ENDPOINT=$endpoint
set +e
"$@"
rc=$?
if [ $rc -ne 0 ]; then
  echo "--- moto's log" >&2; tail -30 "$work/moto.log" >&2
fi
exit $rc
