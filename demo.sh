#!/usr/bin/env bash
# The quick-start demo. Installs what is missing, builds libk8sha, and runs three mini
# JobManagers (examples/minijm) against a local API server (k8sha-kube-lite): the leader is
# killed with kill -9 and the next one recovers the job from its latest checkpoint; the new
# leader stops cleanly and hands over at once; the API server restarts and nothing is lost;
# `k8sha status` and `k8sha checkpoints` show the HA data; a summary gives the measured failover
# and handover times and the checkpoints lost (0).
#
#   ./demo.sh                                   # against k8sha-kube-lite
#   ./demo.sh --against ~/.kube/config [--namespace NS]   # against a real cluster (docs/operations.md)
set -euo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh
if [ -f build/demo/build.ninja ]; then
  meson setup --reconfigure build/demo >/dev/null
else
  meson setup build/demo >/dev/null
fi
ninja -C build/demo >/dev/null
exec examples/minijm/run-demo.sh build/demo/examples/minijm build/demo/tools/k8sha/k8sha \
  build/demo/tools/kube-lite/k8sha-kube-lite "$@"
