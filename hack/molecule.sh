#!/usr/bin/env bash
# Molecule scenarios (extensions/molecule/*) against a lab of their own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/.venv/bin"
export PATH="$bin:$PATH"
state="$root/.lab/molecule"
PYTHONPATH=tests "$bin/python" -m lab up --dir "$state" --collections-path .venv/collections \
  --python "$bin/python" --path-prepend "$bin"
trap 'PYTHONPATH=tests "$bin/python" -m lab down --dir "$state"' EXIT
# shellcheck disable=SC1091
source "$state/env.sh"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(addon helm arc k3s_issuer)
for scenario in "${scenarios[@]}"; do
  # Molecule keeps a scenario's state (e.g. "already prepared") between runs on one machine;
  # forget it so every run does the whole sequence against this fresh lab.
  "$bin/molecule" reset -s "$scenario" >/dev/null 2>&1 || true
  "$bin/molecule" test -s "$scenario"
done
