#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible-test requires
# (.../ansible_collections/kedaops/aks), offline.
#   hack/sanity.sh [SHARED_DIR] [VENV_DIR]   (VENV_DIR picks the ansible-core line; default .venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
venv=${2:-$root/.venv}
name=$(basename "$venv")
build="$root/.build/$name/ansible_collections/kedaops/aks"

# ansible-test fetches get-pip.py from a host these machines cannot reach. The stand-in bootstraps
# pip from the interpreter's ensurepip and then installs whichever pip version it is asked for, so
# it serves under the name of every version our ansible-test lines want (2.19: 24.2, 2.21: 25.2).
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
if [ -f "$shared/tools/get_pip_24_2.py" ]; then
  for version in 24_2 25_2; do
    cp "$shared/tools/get_pip_24_2.py" "$cache/get_pip_$version.py"
  done
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
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "ansible-test sanity: ansible-core $("$venv/bin/python" -c "import ansible.release as r; print(r.__version__)"), python $python_version"
"$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no
