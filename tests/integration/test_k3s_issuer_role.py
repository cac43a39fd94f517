"""The k3s_issuer role refuses an issuer with white space before it reads, writes or restarts anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISSUER = "https://eastus.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a/"
CONFIG = "kube-apiserver-arg:\n- service-account-issuer=https://kubernetes.default.svc.cluster.local\n"


def run_role(tmp_path, issuer: str) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [kedaops.aks.k3s_issuer]\n")
    extra = {"k3s_issuer_url": issuer, "k3s_issuer_config_path": str(tmp_path / "config.yaml"),
             # A restart would reach systemd; the service name makes any attempt fail loudly instead.
             "k3s_issuer_service": "kedaops-test-no-such-service"}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
                           "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("issuer", [ISSUER + "\n", ISSUER + " ", ISSUER[:-1] + "\t/"])
def test_an_issuer_with_white_space_is_refused_and_the_config_is_untouched(tmp_path, issuer):
    (tmp_path / "config.yaml").write_text(CONFIG)
    proc = run_role(tmp_path, issuer)
    assert proc.returncode != 0
    assert "k3s_issuer_url must be the connected cluster's issuer, an https URL without white space" in proc.stdout
    assert "Check the inputs" in proc.stdout and "Restart k3s" not in proc.stdout
    assert (tmp_path / "config.yaml").read_text() == CONFIG
