"""make live-test without its inputs: it says what it needs, exits 0, and touches nothing."""

from __future__ import annotations

import os
import subprocess

import pytest

from lab.testing import REPO_ROOT

SCRIPT = os.path.join(REPO_ROOT, "hack", "live_test.sh")
INPUTS = ["AZURE_SUBSCRIPTION_ID", "LIVE_AKS_RESOURCE_GROUP", "LIVE_AKS_CLUSTER", "LIVE_RESOURCE_GROUP",
          "Azure credentials", "cluster credentials"]


@pytest.mark.parametrize("given, missing", [
    ({}, INPUTS),
    ({"AZURE_SUBSCRIPTION_ID": "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "LIVE_AKS_CLUSTER": "aks-1",
      "KUBECONFIG": "/nonexistent/kubeconfig"},
     ["LIVE_AKS_RESOURCE_GROUP", "LIVE_RESOURCE_GROUP", "Azure credentials"]),
], ids=["nothing-configured", "half-configured"])
def test_live_test_without_its_inputs_says_what_it_needs_and_exits_0(tmp_path, given, missing):
    # A shell without Azure or cluster configuration: no az on PATH, an empty HOME.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", **given}
    before = set(os.listdir(REPO_ROOT))
    proc = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[1]
    assert first.endswith("these inputs are missing: " + " ".join(missing)), proc.stdout
    for name in INPUTS:  # every input is explained, given or not
        assert f"  {name} " in proc.stdout, f"{name} is not explained"
    assert "Nothing was installed, read or created" in proc.stdout
    assert set(os.listdir(REPO_ROOT)) == before
    assert not os.path.exists(os.path.join(REPO_ROOT, ".build", "live", "state.json"))
