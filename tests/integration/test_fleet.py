"""site.yml, doctor.yml and teardown.yml over a fleet (issue 28): hosts from the real ``kedaops.aks.clusters``
inventory over a lab fleet of 3 AKS clusters (one with Entra-only access) and 1 Arc cluster, each with its own
API server, issuer and lab KEDA, run with forks 10 and the example vars ``playbooks/vars/fleet.yml`` (an
identity per cluster). Only endpoints point at the lab (the chart repository's URL).

- site converges every cluster: the lab KEDA on each authenticates with that cluster's identity through that
  cluster's issuer and reads the shared Prometheus workspace (the ScaledObject reads Ready); a re-run changes
  nothing on any host;
- two clusters broken in different links (an Azure one, a Kubernetes one) show as such in the doctor's fleet
  summary, the others healthy;
- teardown leaves every cluster (its Kubernetes objects, its KEDA add-on switch) and Azure as found;
- one identity shared by 21 clusters (21 issuers) is refused before any write, naming the identity.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
import requests
import yaml

from lab import ids
from lab.azure.fleet import SECOND_GROUP

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
FLEET = [
    {"kind": "aks", "name": "fleet-aks-1", "resource_group": ids.RESOURCE_GROUP, "oidc_issuer": True, "workload_identity": True},
    {"kind": "aks", "name": "fleet-aks-2", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True},
    {"kind": "aks", "name": "fleet-aks-3", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True, "entra_only": True},
    {"kind": "arc", "name": "fleet-arc-1", "resource_group": ids.RESOURCE_GROUP, "oidc_issuer": True, "workload_identity": True},
]
TARGET = "deployment-name-to-be-scaled"
K8S_KINDS = ("namespaces,serviceaccounts,configmaps,secrets,services,deployments,jobs,horizontalpodautoscalers,roles,"
             "rolebindings,clusterroles,clusterrolebindings,customresourcedefinitions,apiservices,"
             "mutatingwebhookconfigurations,validatingwebhookconfigurations")


@pytest.fixture
def fleet(lab, tmp_path):
    lab.reset()
    lab.fleet(clusters=FLEET)
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    # The example inventory, kept to this test's clusters.
    source = yaml.safe_load(open(os.path.join(ROOT, "playbooks", "inventory", "fleet.kedaops_aks.yml"), encoding="utf-8"))
    source["name_pattern"] = "fleet-*"
    (inventory / "fleet.kedaops_aks.yml").write_text(yaml.safe_dump(source))
    (inventory / "host_vars" / "fleet-arc-1.yml").write_text(
        yaml.safe_dump({"arc_kubeconfig": lab.fleet_kubeconfig(ids.RESOURCE_GROUP, "fleet-arc-1")}))
    configs = {c["name"]: kubeconfig(lab, tmp_path, c) for c in FLEET}
    for config in configs.values():
        kubectl(lab, config, "create", "deployment", TARGET, "--image", "nginx", "-n", "default")
    yield lab, str(inventory / "fleet.kedaops_aks.yml"), configs
    lab.reset()


def kubeconfig(lab, tmp_path, cluster: dict) -> str:
    """A test's own kubeconfig of a fleet cluster: its admin token, or for the Entra-only one an Entra token."""
    config = yaml.safe_load(open(lab.fleet_kubeconfig(cluster["resource_group"], cluster["name"]), encoding="utf-8"))
    if cluster.get("entra_only"):
        form = {"grant_type": "client_credentials", "client_id": ids.AUTOMATION_CLIENT_ID,
                "client_secret": ids.AUTOMATION_CLIENT_SECRET, "scope": f"{AKS_SERVER_APP}/.default"}
        answer = requests.post(f"{lab.env['AZURE_AUTHORITY_HOST'].rstrip('/')}/{ids.TENANT_ID}/oauth2/v2.0/token",
                               data=form, verify=lab.ca_file, timeout=30)
        config["users"][0]["user"] = {"token": answer.json()["access_token"]}
    path = tmp_path / f"{cluster['name']}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def kubectl(lab, config: str, *args: str) -> str:
    env = dict(lab.process_env(), KUBECONFIG=config)
    return subprocess.run([os.path.join(BIN, "kubectl"), *args], env=env, check=True, capture_output=True, text=True,
                          timeout=60).stdout


def play(lab, inventory: str, playbook: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(lab.process_env(), ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_SKIPPED_HOSTS="false")
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")  # helm and kubectl of `make venv`
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", playbook),
                           "-e", "keda_hosts=aks:arc", "-e", "@" + os.path.join(ROOT, "playbooks", "vars", "fleet.yml"),
                           "-e", f"keda_helm_chart_repo_url={lab.env['LAB_CHART_REPO_URL']}", "--forks", "10", *args],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def recap(run: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", run.stdout.split("PLAY RECAP", 1)[-1], re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


def scaled_object_ready(lab, config: str) -> bool:
    obj = json.loads(kubectl(lab, config, "get", "scaledobject", "azure-managed-prometheus-scaler", "-n", "default", "-o", "json"))
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions") or [])


def as_found(lab, configs: dict[str, str]) -> dict[str, set]:
    """Each cluster's Kubernetes objects (by kind, name, labels, annotations; AKS's own add-on objects, which
    follow the cluster's switches, left out) and its KEDA add-on switch; Azure's identities and role assignments."""
    state: dict[str, set] = {}
    for name, config in configs.items():
        objects = set()
        for item in json.loads(kubectl(lab, config, "get", K8S_KINDS, "-A", "-o", "json"))["items"]:
            meta = item["metadata"]
            if (meta.get("labels") or {}).get("kubernetes.azure.com/managedby") == "aks":
                continue
            annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != "deployment.kubernetes.io/revision"}
            objects.add((item["kind"], meta.get("namespace", ""), meta["name"], json.dumps(meta.get("labels") or {}, sort_keys=True),
                         json.dumps(annotations, sort_keys=True)))
        state[name] = objects
    token = lab_arm_token(lab)
    azure = set()
    for group in (ids.RESOURCE_GROUP, SECOND_GROUP):
        for identity in arm_get(lab, token, f"/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                                "2023-01-31")["value"]:
            azure.add(("identity", identity["id"].lower()))
        for cluster in arm_get(lab, token, f"/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters",
                               "2024-10-01")["value"]:
            keda = ((cluster["properties"].get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled")
            azure.add(("keda add-on", cluster["name"], bool(keda)))
    for assignment in arm_get(lab, token, "/providers/Microsoft.Authorization/roleAssignments", "2022-04-01")["value"]:
        azure.add(("role assignment", assignment["id"].lower()))
    state["azure"] = azure
    return state


def lab_arm_token(lab) -> str:
    form = {"grant_type": "client_credentials", "client_id": ids.AUTOMATION_CLIENT_ID,
            "client_secret": ids.AUTOMATION_CLIENT_SECRET, "scope": "https://management.azure.com/.default"}
    return requests.post(f"{lab.env['AZURE_AUTHORITY_HOST'].rstrip('/')}/{ids.TENANT_ID}/oauth2/v2.0/token",
                         data=form, verify=lab.ca_file, timeout=30).json()["access_token"]


def arm_get(lab, token: str, path: str, version: str) -> dict:
    answer = requests.get(f"{lab.env['LAB_ARM_URL']}/subscriptions/{ids.SUBSCRIPTION_ID}{path}?api-version={version}",
                          headers={"Authorization": f"Bearer {token}"}, verify=lab.ca_file, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def arm_delete(lab, token: str, path: str, version: str) -> None:
    answer = requests.delete(f"{lab.env['LAB_ARM_URL']}/subscriptions/{ids.SUBSCRIPTION_ID}{path}?api-version={version}",
                             headers={"Authorization": f"Bearer {token}"}, verify=lab.ca_file, timeout=30)
    assert answer.status_code in (200, 204), answer.text


def wait(what: str, probe, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_site_doctor_and_teardown_over_a_fleet(fleet):
    lab, inventory, configs = fleet
    found = as_found(lab, configs)

    converge = play(lab, inventory, "site.yml")
    assert converge.returncode == 0, converge.stdout[-20000:] + converge.stderr[-3000:]
    assert sorted(recap(converge)) == sorted(configs)
    for name, config in configs.items():
        wait(f"the ScaledObject on {name} to read Ready", lambda config=config: scaled_object_ready(lab, config))

    again = play(lab, inventory, "site.yml")
    assert again.returncode == 0, again.stdout[-20000:]
    assert {host: counts["changed"] for host, counts in recap(again).items()} == {name: 0 for name in configs}, again.stdout[-20000:]

    # Two clusters broken in different links: fleet-aks-1 loses its identity's federated credential (Azure),
    # fleet-aks-2's operator service account loses the client-id annotation (Kubernetes).
    token = lab_arm_token(lab)
    identity = f"/resourceGroups/{ids.RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-keda-fleet-aks-1"
    for credential in arm_get(lab, token, identity + "/federatedIdentityCredentials", "2023-01-31")["value"]:
        arm_delete(lab, token, f"{identity}/federatedIdentityCredentials/{credential['name']}", "2023-01-31")
    kubectl(lab, configs["fleet-aks-2"], "annotate", "serviceaccount", "keda-operator", "-n", "kube-system",
            "azure.workload.identity/client-id-")

    doctor = play(lab, inventory, "doctor.yml")
    assert doctor.returncode != 0
    output = doctor.stdout
    assert "2 of 4 clusters healthy" in output, output[-20000:]
    first = dict(re.findall(r"(fleet-[a-z]+-\d): first failing link (\S+):", output))
    assert first == {"fleet-aks-1": "credential_issuer", "fleet-aks-2": "service_account_annotation"}, output[-20000:]
    assert re.search(r"fleet-aks-3\s+healthy", output) and re.search(r"fleet-arc-1\s+healthy", output), output[-20000:]
    assert re.search(r"fleet-aks-1: fix: \S", output) and re.search(r"fleet-aks-2: fix: \S", output)

    teardown = play(lab, inventory, "teardown.yml", "-e", "keda_addon_disable_on_absent=true")
    assert teardown.returncode == 0, teardown.stdout[-20000:] + teardown.stderr[-3000:]
    after = as_found(lab, configs)
    for key in found:
        assert (sorted(after[key] - found[key]), sorted(found[key] - after[key])) == ([], []), f"{key}: (left behind, removed)"


def test_a_shared_identity_over_21_issuers_is_refused_before_any_write(fleet):
    lab, inventory, _configs = fleet
    # 18 more AKS clusters (ARM entries, each with its own issuer): 21 AKS hosts in all.
    more = [{"kind": "aks", "name": f"fleet-aks-{n}", "resource_group": SECOND_GROUP, "location": "westeurope",
             "oidc_issuer": True, "workload_identity": True} for n in range(4, 22)]
    lab.fleet(clusters=more, api_servers=False)
    lab.clear_requests()
    run = play(lab, inventory, "site.yml", "-e", "keda_hosts=aks", "-e", "keda_identity_name=id-keda-shared",
               "-e", "keda_identity_resource_group=rg-keda-integration", "-e", "keda_cluster_access=false")
    assert run.returncode != 0
    output = " ".join(run.stdout.split())
    assert "rg-keda-integration/id-keda-shared would need 21 federated credentials" in output, output[-5000:]
    assert "Microsoft Entra allows 20 per identity" in output
    assert lab.writes() == []
