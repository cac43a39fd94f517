#!/usr/bin/env bash
# make docs: the collection's HTML docs site, built as docs.ansible.com builds collection docs
# (antsibull-docs collection -> RST, then Sphinx with the Ansible theme), plus the user guides
# (docs/*.md) and the changelog. Offline and deterministic; every Sphinx warning is an error.
# Output: .build/docs/html/index.html
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
export PATH="$bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections"
out="$root/.build/docs"
src="$out/rst"
cd "$root"

rm -rf "$out"
mkdir -p "$src/guides"
chmod og-w "$src"  # antsibull-docs wants its destination writable by its owner only
cp docs/site/index.rst docs/site/ansible_references.rst "$src/"

# A page for every module and role, the plugin indexes and the environment variable index.
"$bin/antsibull-docs" --config-file docs/site/antsibull-docs.cfg collection \
  --use-current --fail-on-error --dest-dir "$src" kedaops.aks

# The user guides as they are in the repository, and the changelog rendered from its source.
for guide in docs/*.md; do
  cp "$guide" "$src/guides/"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r changelogs "$work/"
cp galaxy.yml "$work/"
(cd "$work" && "$bin/antsibull-changelog" generate --output-format rst --output "$src/changelog.rst" >/dev/null)

# -W --keep-going: every warning fails the build, after all of them are reported. -E -a: no
# pickled environment from an earlier run decides anything.
"$bin/sphinx-build" -q -E -a -W --keep-going -b html -c docs/site -d "$out/doctrees" "$src" "$out/html"
pages=$(find "$out/html/collections/kedaops/aks" \( -name '*_module.html' -o -name '*_role.html' \) | wc -l)
echo "docs: $out/html/index.html ($pages module and role pages)"
