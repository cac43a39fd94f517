"""Contract: the lab as a fleet (lab/fleetk8s.py). Each fleet cluster in ARM is backed by an API server of
its own, reached the way users reach AKS: ``listClusterUserCredential`` (POST, api-version 2024-10-01 as
the modules use) answers ``kubeconfigs[0].value``, base64 of a kubeconfig that kubectl uses as it is.
An Entra-only cluster (``aadProfile.managed`` and ``disableLocalAccounts``) hands out a kubelogin exec user,
refuses its admin credential (400) and takes only Entra tokens for the AKS server application (401 else).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.parse

import pytest
import requests
import yaml

from lab import ids
from lab.azure.fleet import SECOND_GROUP
from lab.testing import REPO_ROOT

API_VERSION = "2024-10-01"
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
CLUSTERS = [
    {"kind": "aks", "name": "aks-room-a", "resource_group": ids.RESOURCE_GROUP, "oidc_issuer": True, "workload_identity": True, "keda": True},
    {"kind": "aks", "name": "aks-room-b", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True},
    {"kind": "aks", "name": "aks-room-entra", "resource_group": ids.RESOURCE_GROUP, "oidc_issuer": True, "workload_identity": True,
     "entra_only": True},
    {"kind": "arc", "name": "arc-room-a", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True},
]


@pytest.fixture(scope="module")
def fleet(lab):
    lab.reset()
    lab.fleet(clusters=CLUSTERS)
    yield lab
    lab.reset()


def entra_token(lab, scope: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": ids.AUTOMATION_CLIENT_ID,
            "client_secret": ids.AUTOMATION_CLIENT_SECRET, "scope": scope}
    response = requests.post(f"{lab.env['AZURE_AUTHORITY_HOST'].rstrip('/')}/{ids.TENANT_ID}/oauth2/v2.0/token",
                             data=form, verify=lab.ca_file, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def arm(lab, method: str, path: str, body=None) -> requests.Response:
    token = entra_token(lab, "https://management.azure.com/.default")
    url = f"{lab.env['LAB_ARM_URL']}/subscriptions/{ids.SUBSCRIPTION_ID}{path}?api-version={API_VERSION}"
    return requests.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, verify=lab.ca_file, timeout=30)


def user_kubeconfig(lab, group: str, name: str, action: str = "listClusterUserCredential") -> dict:
    path = f"/resourceGroups/{urllib.parse.quote(group)}/providers/Microsoft.ContainerService/managedClusters/{name}/{action}"
    response = arm(lab, "POST", path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [k["name"] for k in body["kubeconfigs"]] == ["clusterUser"]
    return yaml.safe_load(base64.b64decode(body["kubeconfigs"][0]["value"]))


def kubectl(lab, kubeconfig: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(lab.process_env(), KUBECONFIG=kubeconfig, PATH=os.path.join(REPO_ROOT, ".venv", "bin") + os.pathsep + os.environ["PATH"])
    result = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_each_cluster_has_its_own_api_server_objects_and_issuer(fleet, tmp_path):
    configs = {}
    for group, name in ((ids.RESOURCE_GROUP, "aks-room-a"), (SECOND_GROUP, "aks-room-b")):
        config = user_kubeconfig(fleet, group, name)
        assert config["current-context"] == name and config["users"][0]["name"] == f"clusterUser_{group}_{name}"
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        configs[name] = str(path)
    servers = {name: yaml.safe_load(open(p, encoding="utf-8"))["clusters"][0]["cluster"]["server"] for name, p in configs.items()}
    assert len(set(servers.values()) | {fleet.env["LAB_KUBE_URL"]}) == 3

    kubectl(fleet, configs["aks-room-a"], "create", "configmap", "only-in-a", "-n", "default")
    assert kubectl(fleet, configs["aks-room-b"], "get", "configmap", "only-in-a", "-n", "default", check=False).returncode != 0
    assert "NotFound" in kubectl(fleet, fleet.env["KUBECONFIG"], "get", "configmap", "only-in-a", "-n", "default", check=False).stderr

    keys = set()
    for group, name in ((ids.RESOURCE_GROUP, "aks-room-a"), (SECOND_GROUP, "aks-room-b")):
        cluster = arm(fleet, "GET", f"/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}").json()
        issuer = cluster["properties"]["oidcIssuerProfile"]["issuerURL"]
        assert issuer.startswith(servers[name] + "/") and issuer.endswith("/")
        discovery = requests.get(issuer + ".well-known/openid-configuration", verify=fleet.ca_file, timeout=30).json()
        assert discovery["issuer"] == issuer
        jwks = requests.get(discovery["jwks_uri"], verify=fleet.ca_file, timeout=30).json()
        keys.add(json.dumps(jwks["keys"], sort_keys=True))
    assert len(keys) == 2  # a signing key per cluster


def test_keda_add_on_installed_where_arm_says_and_nowhere_else(fleet, tmp_path):
    config_a = tmp_path / "a.yaml"
    config_a.write_text(yaml.safe_dump(user_kubeconfig(fleet, ids.RESOURCE_GROUP, "aks-room-a")))
    config_b = tmp_path / "b.yaml"
    config_b.write_text(yaml.safe_dump(user_kubeconfig(fleet, SECOND_GROUP, "aks-room-b")))
    assert kubectl(fleet, str(config_a), "get", "deployment", "keda-operator", "-n", "kube-system").returncode == 0
    assert kubectl(fleet, str(config_b), "get", "crd", "scaledobjects.keda.sh", check=False).returncode != 0
    # The Arc cluster's kubeconfig (what an Arc host's vars name) reaches its own API server, without KEDA:
    arc_config = fleet.fleet_kubeconfig(SECOND_GROUP, "arc-room-a")
    assert kubectl(fleet, arc_config, "get", "ns", "kube-system").returncode == 0
    assert kubectl(fleet, arc_config, "get", "crd", "scaledobjects.keda.sh", check=False).returncode != 0


def test_entra_only_cluster_gives_kubelogin_and_takes_only_aks_server_app_tokens(fleet):
    config = user_kubeconfig(fleet, ids.RESOURCE_GROUP, "aks-room-entra")
    user = config["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "kubelogin"
    assert user["exec"]["args"][user["exec"]["args"].index("--server-id") + 1] == AKS_SERVER_APP

    path = f"/resourceGroups/{ids.RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/aks-room-entra/listClusterAdminCredential"
    refused = arm(fleet, "POST", path)
    assert refused.status_code == 400 and "disable local accounts" in refused.json()["error"]["message"]

    server = config["clusters"][0]["cluster"]["server"]

    def get(token):
        return requests.get(server + "/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"},
                            verify=fleet.ca_file, timeout=30)

    allowed = get(entra_token(fleet, f"{AKS_SERVER_APP}/.default"))
    assert allowed.status_code == 200, allowed.text
    for token in (ids.KUBE_ADMIN_TOKEN, entra_token(fleet, "https://management.azure.com/.default"), "not-a-token"):
        answer = get(token)
        assert answer.status_code == 401
        assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
