#!/usr/bin/env bash
# Provides a real kube-apiserver and etcd, built with the Go toolchain from the Go module proxy
# (no other downloads), cached by version under ${XDG_CACHE_HOME:-~/.cache}/libk8sha/realkube.
# Prints the folder holding kube-apiserver, etcd and etcdctl on its last line.
#
#   build.sh            # build what is missing (a cold build takes ~5 min on 2 cores)
#   build.sh --cached   # build nothing: print the folder when the binaries are cached, else
#                       # exit 1 (run.sh uses this; meson test never builds them)
#
# kube-apiserver: k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every staging
# module k8s.io/* with a local path), so a wrapper module requires k8s.io/kubernetes and replaces
# each staging module with its published v0.Y.Z tag, read from kubernetes' own go.mod.
# etcd: built the same way from go.etcd.io/etcd/server/v3 (also not installable directly).
# Debian's etcd-server package (3.4) would do too, but installing it starts a system service.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/realkube/kube-$K8S_VERSION-etcd-$ETCD_VERSION
log() { echo "realkube: $*" >&2; }

if [ -x "$cache/kube-apiserver" ] && [ -x "$cache/etcd" ] && [ -x "$cache/etcdctl" ]; then
  log "using cached binaries in $cache"
  echo "$cache"
  exit 0
fi
if [ "${1:-}" = --cached ]; then
  log "no kube-apiserver, etcd and etcdctl in $cache"
  exit 1
fi
command -v go >/dev/null || { log "no Go toolchain (go) on PATH"; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A Go older than a module's go directive fetches the right toolchain through the module proxy.
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod CGO_ENABLED=0 GOMAXPROCS=${GOMAXPROCS:-2}
start=$(date +%s)

log "building etcd $ETCD_VERSION"
mkdir -p "$work/etcd"
cat > "$work/etcd/go.mod" <<EOT
module etcdbuild

go 1.24

require (
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
	go.etcd.io/etcd/etcdctl/v3 $ETCD_VERSION
)
EOT
(cd "$work/etcd" &&
  go build -p 2 -trimpath -ldflags='-s -w' -o "$cache/etcd.tmp" go.etcd.io/etcd/server/v3 &&
  go build -p 2 -trimpath -ldflags='-s -w' -o "$cache/etcdctl.tmp" go.etcd.io/etcd/etcdctl/v3) >&2

log "building kube-apiserver $K8S_VERSION"
mkdir -p "$work/kube"
modfile=$(cd "$work/kube" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
staging=v0.${K8S_VERSION#v1.}
python3 - "$modfile" "$K8S_VERSION" "$staging" > "$work/kube/go.mod" <<'PY'
import json, subprocess, sys
modfile, version, staging = sys.argv[1:4]
mod = json.loads(subprocess.run(["go", "mod", "edit", "-json", modfile], check=True,
                                capture_output=True, text=True).stdout)
print("module kubebuild\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (" % (mod["Go"], version))
for r in mod.get("Replace") or []:
    new = r["New"]
    if new["Path"].startswith("./staging/"):
        print("\t%s => %s %s" % (r["Old"]["Path"], r["Old"]["Path"], staging))
    elif not new["Path"].startswith("./"):
        print("\t%s => %s %s" % (r["Old"]["Path"], new["Path"], new.get("Version", "")))
print(")")
PY
printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' \
  > "$work/kube/tools.go"
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
(cd "$work/kube" &&
  go build -p 2 -trimpath -ldflags="$ld" -o "$cache/kube-apiserver.tmp" \
    k8s.io/kubernetes/cmd/kube-apiserver) >&2

for b in etcd etcdctl kube-apiserver; do mv "$cache/$b.tmp" "$cache/$b"; done
log "built in $(( $(date +%s) - start )) s into $cache"
echo "$cache"
