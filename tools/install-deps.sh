#!/usr/bin/env bash
# Installs what building, testing and running the demo need, from Debian's packages.
# Idempotent and quiet: does nothing when everything is already present.
set -euo pipefail

packages=(
  gcc g++ meson ninja-build pkg-config
  libuv1-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev libexpat1-dev
  check valgrind
  libgnutls28-dev openssl
  python3 python3-kubernetes python3-venv
  spin abigail-tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# kubectl is used only by kube-lite's conformance test; any kubectl will do.
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
