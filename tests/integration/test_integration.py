"""Runs every integration target through a real ``ansible-playbook`` against the lab.

A target is a role in targets/ (ansible-test layout); the playbooks inside assert their own
outcomes (changed / not changed, values, the lab's request log). Helper roles whose names
start with ``lab_`` or ``setup_`` are not targets.

Every target runs through the default path: a module with a same-named action plugin
(plugins/action/) runs its core in the controller's worker (the controller shell). A subset of the
targets runs again with ``KEDAOPS_AKS_SHELL=module``, the documented opt-out (docs/performance.md):
the same playbooks, the same assertions, each module task its own process (the module shell). The
subset is the targets named in MODULE_SHELL_TARGETS whose module has an action plugin when the
tests are collected (without one there is only the module shell, which the first run covers).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "targets")
ACTION_PLUGINS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "plugins", "action")

# One Azure module, one Kubernetes module and one reading both sides: the module shell's added cost
# stays within make test's ~90 s budget (a target is ~25-35 s on an idle 2-core machine).
# tests/integration/test_controller_shell.py compares both shells task by task.
MODULE_SHELL_TARGETS = ("aks_cluster", "workload_sa", "workload_identity_info")


def _targets() -> list[str]:
    names = []
    for name in sorted(os.listdir(TARGETS)):
        if name.startswith(("lab_", "setup_")) or not os.path.isdir(os.path.join(TARGETS, name, "tasks")):
            continue
        names.append(name)
    return names


def _module_shell_targets() -> list[str]:
    return [name for name in MODULE_SHELL_TARGETS
            if name in _targets() and os.path.isfile(os.path.join(ACTION_PLUGINS, f"{name}.py"))]


def _run_target(lab, target: str, shell: str | None) -> None:
    lab.reset()
    env = lab.process_env()
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_ROLES_PATH"] = TARGETS
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("KEDAOPS_AKS_SHELL", None)
    if shell:
        env["KEDAOPS_AKS_SHELL"] = shell
    proc = subprocess.run(
        [os.path.join(bin_dir, "ansible-playbook"), "-i", "localhost,", os.path.join(HERE, "run_target.yml"),
         "-e", f"target={target}"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    where = f" ({shell} shell)" if shell else ""
    assert proc.returncode == 0, f"target {target}{where} failed:\n{proc.stdout[-20000:]}\n{proc.stderr[-5000:]}"


@pytest.mark.parametrize("target", _targets())
def test_target(target, lab):
    _run_target(lab, target, None)


@pytest.mark.parametrize("target", _module_shell_targets())
def test_target_module_shell(target, lab):
    _run_target(lab, target, "module")
