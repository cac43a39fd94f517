"""Runs every integration target through a real ``ansible-playbook`` against the lab.

A target is a role in targets/ (ansible-test layout); the playbooks inside assert their own
outcomes (changed / not changed, values, the lab's request log). Helper roles whose names
start with ``lab_`` or ``setup_`` are not targets.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "targets")


def _targets() -> list[str]:
    names = []
    for name in sorted(os.listdir(TARGETS)):
        if name.startswith(("lab_", "setup_")) or not os.path.isdir(os.path.join(TARGETS, name, "tasks")):
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("target", _targets())
def test_target(target, lab):
    lab.reset()
    env = lab.process_env()
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_ROLES_PATH"] = TARGETS
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(
        [os.path.join(bin_dir, "ansible-playbook"), "-i", "localhost,", os.path.join(HERE, "run_target.yml"),
         "-e", f"target={target}"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, f"target {target} failed:\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"
