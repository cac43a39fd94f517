#!/usr/bin/env bash
# The paths users take: the Galaxy tarball installed into an empty collections path (offline,
# kubernetes.core from its local copy), ansible-doc of every module and role from that copy,
# the changelog and docs linted, and the execution environment's build context generated.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
export PATH="$bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"

echo "== ansible-galaxy collection build"
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/kedaops-aks-*.tar.gz)
leaks=$(tar -tzf "$tarball" | grep -E '(^|/)(\.lab|\.venv[^/]*|\.cache|\.build|\.pytest_cache|__pycache__|tests/output)(/|$)' || true)
if [ -n "$leaks" ]; then
  echo "the tarball carries lab state, venvs or caches:" >&2
  echo "$leaks" | head >&2
  exit 1
fi
echo "   $(basename "$tarball"): $(tar -tzf "$tarball" | wc -l) files, none of them lab state, venvs or caches"

echo "== install into an empty collections path (offline; kubernetes.core from its local copy)"
# kubernetes.core is already installed there (its copy from the ansible wheel), so the offline
# install must find the dependency satisfied instead of reaching for Galaxy.
mkdir -p "$work/collections/ansible_collections/kubernetes"
cp -r "$root/.venv/collections/ansible_collections/kubernetes/core" "$work/collections/ansible_collections/kubernetes/"
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-galaxy" collection install --offline \
  -p "$work/collections" "$tarball" >/dev/null
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
modules=$(cd plugins/modules && ls *.py | sed 's/\.py$//' | sort)
roles=$(ls roles | sort)
listed_modules=$("$bin/ansible-doc" -l kedaops.aks 2>/dev/null | awk '{print $1}' | sed 's/^kedaops\.aks\.//' | sort)
listed_roles=$("$bin/ansible-doc" -t role -l -j kedaops.aks 2>/dev/null \
  | "$bin/python" -c 'import json, sys; print("\n".join(sorted(k.split(".")[-1] for k in json.load(sys.stdin))))')
[ "$modules" = "$listed_modules" ] || { echo "ansible-doc -l lists: $listed_modules; expected: $modules" >&2; exit 1; }
[ "$roles" = "$listed_roles" ] || { echo "ansible-doc -t role -l lists: $listed_roles; expected: $roles" >&2; exit 1; }
for m in $modules; do "$bin/ansible-doc" -t module "kedaops.aks.$m" >/dev/null; done
for r in $roles; do "$bin/ansible-doc" -t role "kedaops.aks.$r" >/dev/null; done
echo "   ansible-doc renders $(echo $modules | wc -w) modules and $(echo $roles | wc -w) roles from the installed tarball"
unset ANSIBLE_COLLECTIONS_PATH

echo "== antsibull-changelog lint"
"$bin/antsibull-changelog" lint

echo "== antsibull-docs lint-collection-docs --plugin-docs"
export ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections"
"$bin/antsibull-docs" lint-collection-docs --plugin-docs --skip-rstcheck \
  "$root/.venv/collections/ansible_collections/kedaops/aks"

echo "== ansible-builder create (execution environment build context)"
"$bin/ansible-builder" create -f meta/execution-environment.yml -c "$work/ee" >/dev/null
grep -q 'helm-v3' "$work/ee/"*ile || { echo "the EE build context installs no helm 3" >&2; exit 1; }
diff -q bindep.txt meta/bindep.txt >/dev/null || { echo "bindep.txt and meta/bindep.txt differ" >&2; exit 1; }
cmp -s "$work/ee/_build/requirements.txt" meta/requirements.txt || { echo "the EE does not carry meta/requirements.txt" >&2; exit 1; }
echo "   build context ok: python requirements, bindep, kubernetes.core, helm 3"
