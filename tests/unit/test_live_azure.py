"""hack/live_azure.py (the Azure half of `make live-test`) against the lab's ARM and Entra.

Real Azure is the script's target; the lab answers the calls it makes that the lab serves (the
cluster, resource groups, identities, role assignment listing), so the script's reading of ARM,
its refusal of an existing group and its final check are proven here, not only on a subscription.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import yaml

from lab.testing import REPO_ROOT

SCRIPT = os.path.join(REPO_ROOT, "hack", "live_azure.py")
spec = importlib.util.spec_from_file_location("live_azure", SCRIPT)
live_azure = importlib.util.module_from_spec(spec)
spec.loader.exec_module(live_azure)


def helper(lab, state, *args):
    env = lab.process_env()
    return subprocess.run([sys.executable, SCRIPT, args[0], str(state), *args[1:]], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def azure(clean_lab, monkeypatch):
    for name, value in clean_lab.env.items():
        monkeypatch.setenv(name, value)
    return live_azure.Azure(clean_lab.env["AZURE_SUBSCRIPTION_ID"])


def test_the_run_records_the_cluster_and_creates_only_a_new_group(clean_lab, tmp_path):
    state = tmp_path / "state.json"
    proc = helper(clean_lab, state, "cluster", clean_lab.env["LAB_RESOURCE_GROUP"], clean_lab.env["LAB_AKS_NAME"])
    assert proc.returncode == 0, proc.stderr
    recorded = live_azure.load(str(state))["cluster"]
    assert recorded["location"] == clean_lab.env["LAB_LOCATION"] and recorded["keda_before"] is False

    proc = helper(clean_lab, state, "group", "rg-kedaops-live-1", recorded["location"])
    assert proc.returncode == 0, proc.stderr
    puts = [r for r in clean_lab.writes("arm") if r["path"].split("?")[0].endswith("/resourceGroups/rg-kedaops-live-1")]
    assert [r["method"] for r in puts] == ["PUT"] and puts[0]["status"] == 201

    clean_lab.clear_requests()
    proc = helper(clean_lab, tmp_path / "other.json", "group", clean_lab.env["LAB_RESOURCE_GROUP"], "eastus")
    assert proc.returncode != 0
    assert f"resource group {clean_lab.env['LAB_RESOURCE_GROUP']} already exists" in proc.stderr
    assert clean_lab.writes("arm") == [], "an existing group was written to"


def test_the_scenario_vars_point_at_the_run_s_group_and_sources(clean_lab, tmp_path):
    state = tmp_path / "state.json"
    assert helper(clean_lab, state, "cluster", clean_lab.env["LAB_RESOURCE_GROUP"],
                  clean_lab.env["LAB_AKS_NAME"]).returncode == 0
    recorded = live_azure.load(str(state))
    recorded.update(resource_group="rg-kedaops-live-1", servicebus={
        "id": clean_lab.env["LAB_SERVICEBUS_NAMESPACE_ID"], "namespace": "sb-keda-demo", "queue": "orders"})
    live_azure.save(str(state), recorded)
    out = tmp_path / "addon.yml"
    proc = helper(clean_lab, state, "vars", "addon", os.path.join(REPO_ROOT, "playbooks", "vars", "addon-servicebus.yml"),
                  str(out))
    assert proc.returncode == 0, proc.stderr
    variables = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert variables["aks_cluster_name"] == clean_lab.env["LAB_AKS_NAME"]
    assert variables["keda_identity_resource_group"] == "rg-kedaops-live-1"
    assert variables["keda_event_sources"] == [{"name": "orders", "type": "servicebus", "resource_group": "rg-kedaops-live-1",
                                                "namespace": "sb-keda-demo", "queue": "orders", "create": False}]
    assert "keda_role_assignments" not in variables  # derived from the source by the roles
    assert variables["keda_addon_disable_on_absent"] is True  # the add-on was off before the run


def test_the_final_check_fails_while_the_identity_remains(azure, clean_lab, tmp_path):
    state = tmp_path / "state.json"
    live_azure.cmd_group(azure, live_azure.load(str(state)) or {}, "rg-kedaops-live-2", "eastus")
    recorded = {"subscription": azure.subscription, "resource_group": "rg-kedaops-live-2",
                "scenarios": {"addon": {"identity": "keda-live-identity"}}}
    identity = f"{live_azure.group_path(recorded)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/keda-live-identity"
    azure.arm("PUT", identity, "msi", {"location": "eastus"})
    live_azure.cmd_identity(azure, recorded, "addon")
    assert recorded["scenarios"]["addon"]["principal_id"]

    with pytest.raises(SystemExit, match="addon: teardown left .*keda-live-identity"):
        live_azure.cmd_check_clean(azure, recorded, "addon")
    azure.arm("DELETE", identity, "msi")
    live_azure.cmd_check_clean(azure, recorded, "addon")
