"""Contract: helm 3 install / upgrade / uninstall --wait of the KEDA test chart against the lab."""

from __future__ import annotations

import os
import uuid

import pytest
from lab.testing import REPO_ROOT

from lab import ids
from lab.k8s.testing import Raw, Tools

CHART = os.path.join(REPO_ROOT, "tests", "lab", "charts", "keda")
CLIENT_ID = "7c1f2e3d-4b5a-4968-8776-a5b4c3d2e1f0"
DEPLOYMENTS = {"keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"}


@pytest.fixture(scope="module")
def raw(lab):
    return Raw(lab.env["LAB_KUBE_URL"], lab.ca_file, ids.KUBE_ADMIN_TOKEN)


@pytest.fixture(scope="module")
def tools(lab, tmp_path_factory):
    return Tools(lab.env, REPO_ROOT, str(tmp_path_factory.mktemp("helm")))


@pytest.fixture
def ns(raw):
    name = f"keda-{uuid.uuid4().hex[:8]}"
    yield name
    raw.request("DELETE", f"/api/v1/namespaces/{name}")


def _env(pod: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0].get("env") or []}


def test_install_upgrade_uninstall_with_wait_and_workload_identity(tools, raw, ns):
    installed = tools.helm("install", "keda", CHART, "-n", ns, "--set", "crds.install=false", "--create-namespace", "--wait", "--timeout", "60s",
                           "--set", "podIdentity.azureWorkload.enabled=true",
                           "--set", f"podIdentity.azureWorkload.clientId={CLIENT_ID}",
                           "--set", f"podIdentity.azureWorkload.tenantId={ids.TENANT_ID}")
    assert "STATUS: deployed" in installed.stdout
    account = tools.kubectl_json("get", "serviceaccount", "keda-operator", "-n", ns)
    assert account["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert account["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": CLIENT_ID, "azure.workload.identity/tenant-id": ids.TENANT_ID,
        "azure.workload.identity/service-account-token-expiration": "3600",
        "meta.helm.sh/release-name": "keda", "meta.helm.sh/release-namespace": ns}
    deployments = {d["metadata"]["name"]: d for d in tools.kubectl_json("get", "deployments", "-n", ns)["items"]}
    assert set(deployments) == DEPLOYMENTS
    operator = deployments["keda-operator"]
    assert operator["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert operator["spec"]["template"]["spec"]["serviceAccountName"] == "keda-operator"
    assert operator["status"]["readyReplicas"] == 1
    pods = tools.kubectl_json("get", "pods", "-n", ns, "-l", "app=keda-operator")["items"]
    assert _env(pods[0])["AZURE_CLIENT_ID"] == CLIENT_ID
    releases = tools.kubectl_json("get", "secrets", "-n", ns, "-l", "owner=helm,name=keda")["items"]
    assert [(s["metadata"]["name"], s["type"]) for s in releases] == [("sh.helm.release.v1.keda.v1", "helm.sh/release.v1")]

    upgraded = tools.helm("upgrade", "keda", CHART, "-n", ns, "--set", "crds.install=false", "--wait", "--timeout", "60s", "--reuse-values",
                          "--set", "operator.replicaCount=2")
    assert "REVISION: 2" in upgraded.stdout
    assert len(tools.kubectl_json("get", "pods", "-n", ns, "-l", "app=keda-operator")["items"]) == 2
    statuses = {s["metadata"]["name"]: s["metadata"]["labels"]["status"]
                for s in tools.kubectl_json("get", "secrets", "-n", ns, "-l", "owner=helm")["items"]}
    assert statuses == {"sh.helm.release.v1.keda.v1": "superseded", "sh.helm.release.v1.keda.v2": "deployed"}
    assert "keda" in tools.helm("list", "-n", ns, "-q").stdout.split()

    tools.helm("uninstall", "keda", "-n", ns, "--wait", "--timeout", "60s")
    assert tools.kubectl_json("get", "deployments", "-n", ns)["items"] == []
    assert tools.kubectl_json("get", "secrets", "-n", ns, "-l", "owner=helm")["items"] == []
    assert tools.kubectl_json("get", "pods", "-n", ns)["items"] == []


def test_legacy_flat_service_account_keys_do_not_override_the_operator_keys(tools, ns):
    tools.helm("install", "keda", CHART, "-n", ns, "--set", "crds.install=false", "--create-namespace", "--wait",
               "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=ignored")
    names = {a["metadata"]["name"] for a in tools.kubectl_json("get", "serviceaccounts", "-n", ns)["items"]}
    assert {"keda-operator", "keda-metrics-server", "keda-webhook"} <= names and "ignored" not in names


def test_chart_uses_a_precreated_operator_account_when_told_not_to_create_it(tools, raw, ns):
    raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    raw.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "keda-operator", "annotations": {
        "azure.workload.identity/client-id": CLIENT_ID}}})
    tools.helm("install", "keda", CHART, "-n", ns, "--set", "crds.install=false", "--wait", "--timeout", "60s",
               "--set", "serviceAccount.operator.create=false", "--set", "podIdentity.azureWorkload.enabled=true")
    account = tools.kubectl_json("get", "serviceaccount", "keda-operator", "-n", ns)
    assert "meta.helm.sh/release-name" not in account["metadata"].get("annotations", {})
    pods = tools.kubectl_json("get", "pods", "-n", ns, "-l", "app=keda-operator")["items"]
    assert _env(pods[0])["AZURE_CLIENT_ID"] == CLIENT_ID


def test_wait_times_out_when_the_operator_account_is_missing(tools, ns):
    result = tools.helm("install", "keda", CHART, "-n", ns, "--set", "crds.install=false", "--create-namespace", "--wait", "--timeout", "3s",
                        "--set", "serviceAccount.operator.create=false", check=False)
    assert result.returncode != 0 and "context deadline exceeded" in result.stderr
    deployment = tools.kubectl_json("get", "deployment", "keda-operator", "-n", ns)
    failure = next(c for c in deployment["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert 'serviceaccount "keda-operator" not found' in failure["message"]


def test_chart_installs_the_keda_crds_and_uninstall_removes_them(clean_lab, tmp_path):
    tools = Tools(clean_lab.env, REPO_ROOT, str(tmp_path))
    crds = ("scaledobjects", "scaledjobs", "triggerauthentications", "clustertriggerauthentications")
    tools.helm("install", "keda", CHART, "-n", "keda", "--create-namespace", "--wait", "--timeout", "60s")
    names = tools.kubectl("get", "crd", "-o", "name").stdout.split()
    assert sorted(f"customresourcedefinition.apiextensions.k8s.io/{c}.keda.sh" for c in crds) == \
        sorted(n for n in names if n.endswith(".keda.sh"))
    tools.helm("uninstall", "keda", "-n", "keda", "--wait", "--timeout", "60s")
    assert not [n for n in tools.kubectl("get", "crd", "-o", "name").stdout.split() if n.endswith(".keda.sh")]
