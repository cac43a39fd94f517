#!/usr/bin/env bash
# ruff (plugins, the unit tests and the whole lab), mypy --strict on every plugin (modules, action
# plugins, module_utils, plugin_utils, filters, inventory; see pyproject.toml) and on the lab package tests/lab,
# then ansible-lint (production profile) on the roles and playbooks, offline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections" PATH="$root/.venv/bin:$PATH"
echo "ruff check"
"$root/.venv/bin/ruff" check plugins tests/unit tests/conftest.py tests/contract/conftest.py tests/lab
echo "mypy (plugins, strict)"
# The package is named as Ansible imports it, through the collections path `make venv` links.
(cd "$root" && MYPYPATH="$root/.venv/collections" "$root/.venv/bin/mypy" --strict -p ansible_collections.kedaops.aks.plugins)
echo "mypy (tests/lab, strict)"
# The lab is the package ``lab`` under tests/ (as pytest's pythonpath imports it); the project's config applies.
(cd "$root/tests" && "$root/.venv/bin/mypy" --strict --no-warn-unused-configs --config-file "$root/pyproject.toml" -p lab)
paths=()
for p in roles playbooks; do
  [ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ] && paths+=("$p")
done
if [ ${#paths[@]} -eq 0 ]; then
  echo "ansible-lint: no roles or playbooks yet"
  exit 0
fi
"$root/.venv/bin/ansible-lint" --offline --profile production --nocolor "${paths[@]}"
