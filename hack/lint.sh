#!/usr/bin/env bash
# ruff (plugins and the unit tests), mypy (strict on plugins/module_utils, see pyproject.toml),
# then ansible-lint (production profile) on the roles and playbooks, offline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections" PATH="$root/.venv/bin:$PATH"
echo "ruff check"
"$root/.venv/bin/ruff" check plugins tests/unit tests/conftest.py tests/contract/conftest.py tests/lab/control.py
echo "mypy (plugins/module_utils, strict)"
# The package is named as Ansible imports it, through the collections path `make venv` links.
(cd "$root" && MYPYPATH="$root/.venv/collections" "$root/.venv/bin/mypy" -p ansible_collections.kedaops.aks.plugins.module_utils)
paths=()
for p in roles playbooks; do
  [ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ] && paths+=("$p")
done
if [ ${#paths[@]} -eq 0 ]; then
  echo "ansible-lint: no roles or playbooks yet"
  exit 0
fi
"$root/.venv/bin/ansible-lint" --offline --profile production --nocolor "${paths[@]}"
