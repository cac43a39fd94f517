"""doctor.yml checks the TriggerAuthentications as the user declared them (issue 24): a
ClusterTriggerAuthentication stays one, and keda_trigger_auth arguments the info module does not take
(identity_id) are not forwarded to it. Scenario B (the add-on with Service Bus) with its TriggerAuthentication
made a ClusterTriggerAuthentication that names the identity's client id, as a user who created the identity
beforehand writes it."""

from __future__ import annotations

import os
import subprocess

import yaml
from azure.mgmt.msi.models import Identity
from test_site_reliability import ROOT, _kubectl, site

from lab import ids
from lab.azure import clients

AUTH = "azure-servicebus-auth"


def _scenario_with_a_cluster_trigger_auth(path: str, client_id: str) -> str:
    with open(os.path.join(ROOT, "playbooks", "vars", "addon-servicebus.yml"), encoding="utf-8") as handle:
        scenario = yaml.safe_load(handle)
    scenario["keda_trigger_auths"] = [{"name": AUTH, "kind": "ClusterTriggerAuthentication", "identity_id": client_id}]
    for trigger in scenario["keda_scaled_jobs"][0]["triggers"]:
        trigger["authentication_ref"]["kind"] = "ClusterTriggerAuthentication"
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(scenario, handle)
    return "@" + path


def test_the_doctor_checks_a_cluster_trigger_auth_with_an_identity_id(lab, tmp_path):
    lab.reset()
    with open(os.path.join(ROOT, "playbooks", "vars", "addon-servicebus.yml"), encoding="utf-8") as handle:
        identity_name = yaml.safe_load(handle)["keda_identity_name"]
    identity = clients.msi_client(lab.env).user_assigned_identities.create_or_update(
        ids.RESOURCE_GROUP, identity_name, Identity(location=ids.LOCATION))
    variables = _scenario_with_a_cluster_trigger_auth(str(tmp_path / "vars.yml"), identity.client_id)

    converged = site(lab, "addon", "-e", variables)
    assert converged.returncode == 0, f"{converged.stdout[-20000:]}\n{converged.stderr[-3000:]}"
    found = subprocess.run([_kubectl(), "get", "clustertriggerauthentication", AUTH, "-o",
                            "jsonpath={.spec.podIdentity.identityId}"], env=lab.process_env(), capture_output=True,
                           text=True, check=False)
    assert (found.returncode, found.stdout) == (0, identity.client_id), found.stderr

    doctor = site(lab, "addon", "-e", variables, playbook="playbooks/doctor.yml")
    assert doctor.returncode == 0, f"{doctor.stdout[-20000:]}\n{doctor.stderr[-3000:]}"
    output = " ".join(doctor.stdout.split())
    assert (f"✓ trigger_auth:{AUTH} ClusterTriggerAuthentication {AUTH}: provider azure-workload, "
            f"identityId {identity.client_id}") in output, output[-10000:]
    assert "Every link holds; KEDA can authenticate." in output
