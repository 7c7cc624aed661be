#!/usr/bin/env bash
# bench.py (Flink's own Kubernetes HA and libk8sha side by side) with the Python it draws its
# chart with: a virtual environment with matplotlib, made once under the cache folder (quietly;
# PyPI must be reachable the first time). Arguments go to bench.py.
#   bench.sh --line 1.20 --classpath FILE --adapter JAR --job JAR --kube-lite BIN --work DIR ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/bench-venv
if ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check matplotlib
fi
exec "$venv/bin/python" "$here/bench.py" "$@"
