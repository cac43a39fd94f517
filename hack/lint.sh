#!/usr/bin/env bash
# ansible-lint (production profile) on the roles and playbooks, offline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections" PATH="$root/.venv/bin:$PATH"
paths=()
for p in roles playbooks; do
  [ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ] && paths+=("$p")
done
if [ ${#paths[@]} -eq 0 ]; then
  echo "ansible-lint: no roles or playbooks yet"
  exit 0
fi
"$root/.venv/bin/ansible-lint" --offline --profile production --nocolor "${paths[@]}"
