"""Shared pytest fixtures: the lab, in-process (or the one `make lab-up` started)."""

from __future__ import annotations

import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".venv", "collections")

# pyproject.toml puts tests/ (the lab) and .venv/collections (the collection) on the pytest path.
from lab.control import LabControl  # noqa: E402


class LabHandle(LabControl):
    """What tests need from a running lab: its env, its control endpoint (``LabControl``), its objects."""

    def __init__(self, env: dict[str, str], lab=None):
        super().__init__(env)
        self.lab = lab  # the in-process Lab, or None when using an external `make lab-up` lab

    def process_env(self) -> dict[str, str]:
        """os.environ plus the lab's variables, for subprocesses (kubectl, helm, ansible)."""
        env = dict(os.environ)
        env.update(self.env)
        return env


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The lab for this test session.

    With LAB_CONTROL_URL set (a lab from `make lab-up`, env.sh sourced), that lab is used;
    otherwise one is started in this process on free ports and stopped at the end.
    """
    if os.environ.get("LAB_CONTROL_URL") and os.environ.get("LAB_USE_EXTERNAL", "1") == "1":
        prefixes = ("LAB_", "AZURE_", "KUBECONFIG", "REQUESTS_CA", "SSL_CERT", "ANSIBLE_")
        env = {k: v for k, v in os.environ.items() if k.startswith(prefixes)}
        yield LabHandle(env)
        return
    from lab.core import Lab  # pylint: disable=import-outside-toplevel
    extra = {
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    instance = Lab(str(tmp_path_factory.mktemp("lab")), extra_env=extra).start()
    try:
        yield LabHandle(instance.env(), instance)
    finally:
        instance.stop()


@pytest.fixture
def clean_lab(lab):
    """The lab reset to its seeded state, with an empty request log and no faults."""
    lab.reset()
    yield lab
    lab.clear_faults()
