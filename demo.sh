#!/usr/bin/env bash
# The quick-start demo. Installs what is missing, builds libk8sha, and shows it at work.
#
# Today (0.1) the library reads and checks Flink's high-availability configuration; the demo runs
# `k8sha config check` on the example configuration, in both of Flink's file forms, and on a
# broken one. The leader-election and checkpoint demo with mini JobManagers against a local API
# server replaces this once those parts exist.
set -euo pipefail
cd "$(dirname "$0")"

tools/install-deps.sh
if [ -f build/demo/build.ninja ]; then
  meson setup --reconfigure build/demo >/dev/null
else
  meson setup build/demo >/dev/null
fi
ninja -C build/demo >/dev/null
k8sha=build/demo/tools/k8sha/k8sha

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }

bold "== examples/config/flink-conf.yaml (Flink's flat form)"
cat examples/config/flink-conf.yaml
echo
bold "== k8sha config check -c examples/config/flink-conf.yaml"
"$k8sha" config check -c examples/config/flink-conf.yaml \
  -D kubernetes.config.file=examples/config/kubeconfig.yaml
echo
bold "== the nested config.yaml form, as JSON"
"$k8sha" config check -c examples/config/config.yaml \
  -D kubernetes.config.file=examples/config/kubeconfig.yaml --json
echo
bold "== a broken configuration: every problem, with file, line and key (exit status 2)"
broken=$(mktemp)
trap 'rm -f "$broken"' EXIT
cat > "$broken" <<'YAML'
kubernetes.cluster-id: My_Cluster
high-availability.type: kubernetes
high-availability.storageDir: gs://bucket/ha
high-availability.kubernetes.leader-election.renew-deadline: 20 s
YAML
set +e
"$k8sha" config check -c "$broken" -D kubernetes.config.file=examples/config/kubeconfig.yaml
echo "exit status: $?"
