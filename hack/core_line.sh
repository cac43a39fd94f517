#!/usr/bin/env bash
# The collection on a second ansible-core line: the newest one (2.21, which needs Python 3.12):
# sanity, unit and integration tests, in .venv-2.21 next to the main .venv.
#   hack/core_line.sh [SHARED_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
venv="$root/.venv-2.21"
cd "$root"

# pyenv's versions directly: its shims can resolve to a broken interpreter.
python=$(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3.1[2-9] 2>/dev/null | head -1 || true)
python=${python:-$(command -v python3.12 || true)}
if [ -z "$python" ]; then
  echo "core_line: no Python 3.12+ on this machine; ansible-core 2.21 needs one" >&2
  exit 1
fi
if [ ! -f "$venv/.stamp" ] || [ meta/requirements.txt -nt "$venv/.stamp" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q 'ansible-core>=2.21,<2.22' -r meta/requirements.txt 'pytest>=8'
  touch "$venv/.stamp"
fi

hack/sanity.sh "$shared" "$venv"
# Same lab, same collections path (this checkout + kubernetes.core); only ansible-core and Python differ.
# On this line: the unit tests, every integration target (both shells) and the shell tests; the playbook
# scenarios (site/teardown life cycles, the fleet, the Helm upgrade, the doctor) run once, on the main line.
PATH="$venv/bin:$root/.venv/bin:$PATH" "$venv/bin/python" -m pytest tests/unit tests/integration/test_integration.py tests/integration/test_controller_shell.py \
  tests/integration/test_cluster_access.py -q -p no:cacheprovider
