"""The docs site (make docs): a page for every module and role, the guides, the changelog, and a
module page as a browser renders it (headless Chromium, Debian's ``chromium`` package)."""

from __future__ import annotations

import glob
import html as html_text
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from lab.testing import REPO_ROOT

SITE = os.path.join(REPO_ROOT, ".build", "docs", "html")
PAGES = os.path.join(SITE, "collections", "kedaops", "aks")
# Kept after the run (CI keeps .build/ as the build's artifacts).
SCREENSHOTS = os.path.join(REPO_ROOT, ".build", "docs", "screenshots")
BIN = os.path.dirname(sys.executable)
# The flags Chromium needs to run headless here: no sandbox (root in CI), no GPU, and none of
# its own network traffic (QUIC, component updates, sync, first-run and background requests).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,1024"]
# Measures the rendered options table of the page it is added to and writes what it saw into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const table = document.querySelector("#parameters table.ansible-option-table");
  const seen = {table: !!table};
  if (table) {
    const box = table.getBoundingClientRect();
    seen.width = box.width;
    seen.height = box.height;
    seen.options = [...table.querySelectorAll(".ansible-option-title")].map(e => e.textContent.trim());
    seen.invisible = [...table.querySelectorAll("tbody tr")].filter(r => r.getBoundingClientRect().height <= 0).length;
  }
  seen.font = getComputedStyle(document.body).fontFamily;
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
});
</script>
"""


@pytest.fixture(scope="module")
def site():
    """The built site; built here when `make docs` has not run yet."""
    if not os.path.exists(os.path.join(SITE, "index.html")):
        subprocess.run([os.path.join(REPO_ROOT, "hack", "docs.sh")], check=True, capture_output=True, text=True)
    return SITE


def _modules() -> list[str]:
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO_ROOT, "plugins", "modules", "*.py"))
                  if not p.endswith("__init__.py"))


def _roles() -> list[str]:
    return sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                  for p in glob.glob(os.path.join(REPO_ROOT, "roles", "*", "meta", "argument_specs.yml")))


def test_every_module_and_role_has_a_page(site):
    modules, roles = _modules(), _roles()
    assert modules and roles
    missing = [f"{m}_module.html" for m in modules if not os.path.exists(os.path.join(PAGES, f"{m}_module.html"))]
    missing += [f"{r}_role.html" for r in roles if not os.path.exists(os.path.join(PAGES, f"{r}_role.html"))]
    assert not missing, f"pages missing from the site: {missing}"
    with open(os.path.join(site, "collections", "index_module.html"), encoding="utf-8") as f:
        index = f.read()
    assert all(f"{m}_module.html" in index for m in modules)


def test_the_guides_and_the_changelog_are_on_the_site(site):
    for guide in glob.glob(os.path.join(REPO_ROOT, "docs", "*.md")):
        name = os.path.basename(guide)[:-3]
        with open(guide, encoding="utf-8") as f:
            title = f.readline().lstrip("# ").strip()
        with open(os.path.join(site, "guides", f"{name}.html"), encoding="utf-8") as f:
            page = f.read()
        assert title.split(" ")[0] in page, f"guides/{name}.html lacks its title {title!r}"
    with open(os.path.join(REPO_ROOT, "galaxy.yml"), encoding="utf-8") as f:
        version = yaml.safe_load(f)["version"]
    with open(os.path.join(REPO_ROOT, "changelogs", "changelog.yaml"), encoding="utf-8") as f:
        released = sorted(yaml.safe_load(f)["releases"])
    with open(os.path.join(site, "changelog.html"), encoding="utf-8") as f:
        changelog = f.read()
    assert released and all(f"v{v}" in changelog for v in released), (version, released)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _option_names(module: str) -> list[str]:
    """The module's options after doc fragments are merged, as ansible-doc (and the site) sees them; the
    table has a row for every suboption too, titled with its own name."""
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", f"kedaops.aks.{module}"],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO_ROOT, ".venv", "collections")})

    def names(options: dict) -> list[str]:
        return [n for name, option in options.items() for n in [name, *names(option.get("suboptions") or {})]]

    return sorted(names(json.loads(proc.stdout)[f"kedaops.aks.{module}"]["doc"]["options"]))


def test_a_module_page_renders_its_options_table_in_chromium(site, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium on PATH: `make docs-test` installs Debian's chromium package when it runs as "
                    "root (as CI does); as another user, install it with `apt-get install chromium`")
    module = "managed_identity"
    page = os.path.join(PAGES, f"{module}_module.html")
    flags = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]

    # The page exactly as built, as a screenshot kept with the build.
    os.makedirs(SCREENSHOTS, exist_ok=True)
    shot = os.path.join(SCREENSHOTS, f"{module}_module.png")
    if os.path.exists(shot):
        os.remove(shot)
    # Tall enough to hold the note, the synopsis and the start of the options table.
    subprocess.run([chromium, *flags, "--window-size=1280,2400", "--virtual-time-budget=5000",
                    f"--screenshot={shot}", "file://" + page],
                   capture_output=True, text=True, timeout=120, check=True)
    with open(shot, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, f"{shot}: {len(png)} bytes"

    # A copy of the site whose module page carries the probe; the rendered DOM reports what it measured.
    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    probed = copy / "collections" / "kedaops" / "aks" / f"{module}_module.html"
    html = probed.read_text(encoding="utf-8")
    assert html.count("</body>") == 1
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = subprocess.run([chromium, *flags, "--virtual-time-budget=5000", "--dump-dom", "file://" + str(probed)],
                          capture_output=True, text=True, timeout=120, check=True)
    start = proc.stdout.find('<pre id="probe">')
    assert start >= 0, f"the probe did not run:\n{proc.stdout[:2000]}\n{proc.stderr[-2000:]}"
    seen = json.loads(html_text.unescape(proc.stdout[start + len('<pre id="probe">'):proc.stdout.index("</pre>", start)]))
    assert seen["table"], "no options table under Parameters"
    assert seen["width"] > 300 and seen["height"] > 500, seen
    assert seen["invisible"] == 0, seen
    assert sorted(seen["options"]) == _option_names(module)
    # The Ansible theme's stylesheet applied (a page without its CSS falls back to the browser's serif).
    assert "Lato" in seen["font"], seen["font"]
