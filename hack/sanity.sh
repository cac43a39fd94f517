#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible-test requires
# (.../ansible_collections/kedaops/aks), offline.
set -euo pipefail
shared=${1:-../shared}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/.build/ansible_collections/kedaops/aks"

# ansible-test fetches get-pip.py from a host these machines cannot reach; use the stand-in.
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
if [ -f "$shared/tools/get_pip_24_2.py" ]; then
  cp "$shared/tools/get_pip_24_2.py" "$cache/get_pip_24_2.py"
fi

rm -rf "$build"
mkdir -p "$build"
cd "$root"
# Exactly the files git would commit (tracked, plus new ones not ignored).
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$build"

cd "$build"
# The copy lives inside this checkout's ignored .build/; give it a git index of its own so
# ansible-test lists its files from there rather than from the outer repository.
git init -q . && git add -A
python_version=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
shift || true
"$root/.venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
