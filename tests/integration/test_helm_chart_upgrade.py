"""The Helm path as users run it: site.yml with the role's chart defaults, only the repository URL the lab's.

    ansible-playbook playbooks/site.yml -e @playbooks/vars/helm-prometheus.yml \
        -e keda_helm_chart_repo_url=$LAB_CHART_REPO_URL -e keda_helm_chart_version=2.19.0
    ... the same with 2.20.2, then again: converges, upgrades, and reports no change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from lab.testing import REPO_ROOT


def _site(env: dict[str, str], version: str) -> dict[str, int]:
    bin_dir = os.path.dirname(sys.executable)
    proc = subprocess.run(
        [os.path.join(bin_dir, "ansible-playbook"), "-i", "localhost,", "playbooks/site.yml",
         "-e", "@playbooks/vars/helm-prometheus.yml", "-e", f"keda_helm_chart_repo_url={env['LAB_CHART_REPO_URL']}",
         "-e", f"keda_helm_chart_version={version}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"site.yml with {version} failed:\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
    recap = re.search(r"^localhost\s+:\s+(.*)$", proc.stdout, re.M)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap.group(1))}


def _release(env: dict[str, str]) -> tuple[str, str]:
    # helm lives in the main venv's bin; on the second ansible-core line PATH reaches it after that venv's.
    helm = shutil.which("helm", path=env["PATH"])
    assert helm, f"no helm on PATH {env['PATH']}"
    listed = subprocess.run([helm, "list", "-n", "keda", "-o", "json"], env=env,
                            capture_output=True, text=True, check=True).stdout
    release = json.loads(listed)[0]
    return release["chart"], release["revision"]


def test_site_installs_upgrades_2_19_0_to_2_20_2_and_then_changes_nothing(lab, tmp_path):
    lab.reset()
    env = lab.process_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(tmp_path / "helm" / name.lower())

    installed = _site(env, "2.19.0")
    assert installed["changed"] > 0 and installed["failed"] == 0
    assert _release(env) == ("keda-2.19.0", "1")

    upgraded = _site(env, "2.20.2")
    assert upgraded["changed"] == 1, upgraded  # the chart upgrade, nothing else
    assert _release(env) == ("keda-2.20.2", "2")

    lab.clear_requests()
    again = _site(env, "2.20.2")
    assert again["changed"] == 0, again
    assert _release(env) == ("keda-2.20.2", "2")
    # The chain probe's TokenRequest is the only POST: it creates nothing.
    assert [w["path"] for w in lab.writes("k8s") if not w["path"].endswith("/token")] == []
