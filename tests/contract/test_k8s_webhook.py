"""Contract: the Azure Workload Identity webhook's mutation of pods at creation."""

from __future__ import annotations

import re

import yaml

from lab import ids

CLIENT_ID = "0d2a1c5e-8b7f-4e6a-9c3d-2f1e0a9b8c7d"
TOKEN_FILE = "/var/run/secrets/azure/tokens/azure-identity-token"
AZURE_VARS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")


# The lab's Entra endpoint when the Azure half runs, else the public cloud's authority.
AUTHORITY = re.compile(r"^(https://login\.microsoftonline\.com/|https://127\.0\.0\.1:\d+/)$")


def _pod(name: str, labelled: bool = True, account: str = "wi", **extra) -> dict:
    labels = {"azure.workload.identity/use": "true"} if labelled else {}
    body = {"metadata": {"name": name, "labels": labels},
            "spec": {"serviceAccountName": account, "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    for key, value in extra.items():
        body["metadata" if key == "annotations" else "spec"][key] = value
    return body


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def _account(raw, ns: str, annotations: dict | None = None) -> None:
    raw.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "wi", "annotations": annotations or {}}})


def test_labelled_pod_of_an_annotated_account_gets_env_volume_and_mount(raw, ns):
    _account(raw, ns, {"azure.workload.identity/client-id": CLIENT_ID,
                       "azure.workload.identity/service-account-token-expiration": "7200"})
    pod = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod("p")).json()
    container = pod["spec"]["containers"][0]
    assert [e["name"] for e in container["env"]] == list(AZURE_VARS)
    env = _env(container)
    assert env["AZURE_CLIENT_ID"] == CLIENT_ID and env["AZURE_TENANT_ID"] == ids.TENANT_ID
    assert env["AZURE_FEDERATED_TOKEN_FILE"] == TOKEN_FILE and AUTHORITY.match(env["AZURE_AUTHORITY_HOST"])
    mount = next(m for m in container["volumeMounts"] if m["name"] == "azure-identity-token")
    assert mount == {"name": "azure-identity-token", "readOnly": True, "mountPath": "/var/run/secrets/azure/tokens"}
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "azure-identity-token")
    assert volume["projected"]["sources"] == [{"serviceAccountToken": {
        "audience": "api://AzureADTokenExchange", "expirationSeconds": 7200, "path": "azure-identity-token"}}]


def test_unlabelled_pod_is_left_alone(raw, ns):
    _account(raw, ns, {"azure.workload.identity/client-id": CLIENT_ID})
    pod = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod("plain", labelled=False)).json()
    assert "env" not in pod["spec"]["containers"][0]
    assert all(v["name"] != "azure-identity-token" for v in pod["spec"]["volumes"])


def test_account_without_client_id_gets_tenant_token_file_and_authority_only(raw, ns):
    _account(raw, ns, {"azure.workload.identity/tenant-id": "11111111-2222-3333-4444-555555555555"})
    pod = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod("p")).json()
    env = _env(pod["spec"]["containers"][0])
    assert "AZURE_CLIENT_ID" not in env
    assert env["AZURE_TENANT_ID"] == "11111111-2222-3333-4444-555555555555"
    assert env["AZURE_FEDERATED_TOKEN_FILE"] == TOKEN_FILE and env["AZURE_AUTHORITY_HOST"]


def test_existing_env_is_kept_and_skipped_containers_are_untouched(raw, ns):
    _account(raw, ns, {"azure.workload.identity/client-id": CLIENT_ID})
    body = _pod("p", annotations={"azure.workload.identity/skip-containers": "sidecar;other"})
    body["spec"]["containers"] = [
        {"name": "app", "image": "busybox:1.36", "env": [{"name": "AZURE_CLIENT_ID", "value": "mine"}]},
        {"name": "sidecar", "image": "busybox:1.36"}]
    pod = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", body).json()
    app, sidecar = pod["spec"]["containers"]
    assert _env(app)["AZURE_CLIENT_ID"] == "mine" and len(app["env"]) == 4
    assert "env" not in sidecar and all(m["name"] != "azure-identity-token" for m in sidecar["volumeMounts"])


def test_out_of_range_token_expiration_is_denied_by_the_webhook(raw, ns):
    _account(raw, ns, {"azure.workload.identity/client-id": CLIENT_ID,
                       "azure.workload.identity/service-account-token-expiration": "60"})
    denied = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod("p")).json()
    assert denied["code"] == 400
    assert denied["message"] == ('admission webhook "mutation.azure-workload-identity.io" denied the request: token '
                                 'expiration 60 not valid. Expected value to be between 3600 and 86400')


def test_annotating_the_account_changes_only_pods_created_afterwards(tools, raw, ns, tmp_path):
    """The documented operator flow: label the pods, annotate the account, restart the rollout."""
    _account(raw, ns)
    before = raw.request("POST", f"/api/v1/namespaces/{ns}/pods", _pod("early")).json()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "keda-operator", "namespace": ns},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "keda-operator"}}, "template": {
                      "metadata": {"labels": {"app": "keda-operator", "azure.workload.identity/use": "true"}},
                      "spec": {"serviceAccountName": "wi",
                               "containers": [{"name": "keda-operator", "image": "ghcr.io/kedacore/keda:2.20.2"}]}}}}
    manifest = tmp_path / "operator.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    tools.kubectl("apply", "-f", str(manifest))
    tools.kubectl("rollout", "status", "deployment/keda-operator", "-n", ns, "--timeout=20s")
    selector = "app=keda-operator"
    for pod in tools.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]:
        assert "AZURE_CLIENT_ID" not in _env(pod["spec"]["containers"][0])
    tools.kubectl("annotate", "serviceaccount", "wi", "-n", ns, f"azure.workload.identity/client-id={CLIENT_ID}")
    for pod in tools.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]:
        assert "AZURE_CLIENT_ID" not in _env(pod["spec"]["containers"][0])  # existing pods never change
    tools.kubectl("rollout", "restart", "deployment/keda-operator", "-n", ns)
    tools.kubectl("rollout", "status", "deployment/keda-operator", "-n", ns, "--timeout=20s")
    pods = tools.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]
    assert len(pods) == 2
    for pod in pods:
        env = _env(pod["spec"]["containers"][0])
        assert set(AZURE_VARS) <= set(env) and env["AZURE_CLIENT_ID"] == CLIENT_ID
    early = raw.request("GET", f"/api/v1/namespaces/{ns}/pods/early").json()
    assert early["metadata"]["uid"] == before["metadata"]["uid"]
    assert early["spec"]["containers"] == before["spec"]["containers"]
    assert early["spec"]["volumes"] == before["spec"]["volumes"]
