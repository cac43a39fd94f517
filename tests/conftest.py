"""Shared pytest fixtures: the lab, in-process (or the one `make lab-up` started)."""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
COLLECTIONS_PATH = os.path.join(REPO_ROOT, ".venv", "collections")

for path in (TESTS_DIR, COLLECTIONS_PATH):
    if path not in sys.path:
        sys.path.insert(0, path)


class LabHandle:
    """What tests need from a running lab: its env, its control endpoint, its objects."""

    def __init__(self, env: dict[str, str], lab=None):
        self.env = env
        self.lab = lab  # the in-process Lab, or None when using an external `make lab-up` lab
        self.control_url = env["LAB_CONTROL_URL"]
        self.ca_file = env["LAB_CA_FILE"]

    def control(self, method: str, path: str, payload=None):
        import ssl
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        ctx = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(req, context=ctx) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def requests(self, service: str | None = None) -> list[dict]:
        return self.control("GET", "/requests" + (f"?service={service}" if service else ""))

    def writes(self, service: str | None = None) -> list[dict]:
        """Write calls, not counting dry runs (dryRun=All) and token requests at Entra."""
        return [r for r in self.requests(service)
                if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
                and "dryRun=All" not in r["path"] and r["service"] not in ("entra", "control")]

    def clear_requests(self) -> None:
        self.control("DELETE", "/requests")

    def fault(self, **spec) -> None:
        self.control("POST", "/faults", spec)

    def settings(self, **values) -> dict:
        return self.control("PUT", "/settings", values)

    def reset(self) -> None:
        self.control("POST", "/reset")

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
    lab.control("DELETE", "/faults")
