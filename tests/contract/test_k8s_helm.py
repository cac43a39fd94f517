"""Contract: helm 3 with the real kedacore/keda chart, from the lab's chart repository.

The chart is the one ``helm install keda kedacore/keda`` installs (2.19.0 and 2.20.2, packaged
unchanged; ``../shared/charts``), fetched with ``--repo $LAB_CHART_REPO_URL`` as users fetch it from
https://kedacore.github.io/charts. helm's client-side validation stays on (its default). The chart
renders cluster-scoped objects (ClusterRoles, the APIService, the ValidatingWebhookConfiguration),
so each test uninstalls its release before the next installs one.
"""

from __future__ import annotations

import uuid

import pytest
from lab.testing import REPO_ROOT

from lab import ids
from lab.k8s.testing import Raw, Tools

CLIENT_ID = "7c1f2e3d-4b5a-4968-8776-a5b4c3d2e1f0"
DEPLOYMENTS = {"keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"}
# What 2.20.2 renders besides the CRDs (../shared/charts/README.md).
CLUSTER_KINDS = {"clusterroles": {"keda-operator", "keda-operator-external-metrics-reader",
                                  "keda-operator-minimal-cluster-role", "keda-operator-webhook"},
                 "apiservices": {"v1beta1.external.metrics.k8s.io"},
                 "validatingwebhookconfigurations": {"keda-admission"}}


@pytest.fixture(scope="module")
def raw(lab):
    return Raw(lab.env["LAB_KUBE_URL"], lab.ca_file, ids.KUBE_ADMIN_TOKEN)


@pytest.fixture(scope="module")
def tools(lab, tmp_path_factory):
    return Tools(lab.env, REPO_ROOT, str(tmp_path_factory.mktemp("helm")))


@pytest.fixture
def ns(raw, tools):
    name = f"keda-{uuid.uuid4().hex[:8]}"
    yield name
    tools.helm("uninstall", "keda", "-n", name, "--wait", check=False)
    raw.request("DELETE", f"/api/v1/namespaces/{name}")


def chart(tools, verb: str, ns: str, *args: str, version: str = "2.20.2", check: bool = True):
    """``helm install|upgrade keda keda --repo <lab> --version X``, as the docs write it with --repo."""
    return tools.helm(verb, "keda", "keda", "--repo", tools.env["LAB_CHART_REPO_URL"], "--version", version,
                      "-n", ns, "--wait", "--timeout", "60s", *args, check=check)


def _env(pod: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0].get("env") or []}


def _names(tools, *args: str) -> set[str]:
    return {item["metadata"]["name"] for item in tools.kubectl_json("get", *args)["items"]}


def test_the_lab_serves_a_chart_repository_with_both_versions(tools):
    tools.helm("repo", "add", "kedacore", tools.env["LAB_CHART_REPO_URL"])
    listed = tools.helm("search", "repo", "kedacore/keda", "--versions", "-o", "json").stdout
    assert '"version":"2.20.2"' in listed and '"version":"2.19.0"' in listed
    shown = tools.helm("show", "chart", "keda", "--repo", tools.env["LAB_CHART_REPO_URL"], "--version", "2.20.2").stdout
    assert "name: keda" in shown and "appVersion: 2.20.2" in shown


def test_the_public_chart_reference_with_repo_is_refused_as_helm_refuses_it(tools):
    # Why the role's default is the bare name: with --repo helm looks the name up in that index.
    result = tools.helm("show", "chart", "kedacore/keda", "--repo", tools.env["LAB_CHART_REPO_URL"],
                        "--version", "2.20.2", check=False)
    assert result.returncode != 0 and 'chart "kedacore/keda" version "2.20.2" not found' in result.stderr


def test_install_upgrade_uninstall_with_wait_and_workload_identity(tools, raw, ns):
    installed = chart(tools, "install", ns, "--create-namespace", "--set", "crds.install=false",
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
    assert operator["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/kedacore/keda:2.20.2"
    assert operator["status"]["readyReplicas"] == 1
    # values.yaml says `cpu: 1`; the API server answers quantities as strings, as the typed clients expect.
    assert operator["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "1000Mi"}
    pods = tools.kubectl_json("get", "pods", "-n", ns, "-l", "app=keda-operator")["items"]
    assert _env(pods[0])["AZURE_CLIENT_ID"] == CLIENT_ID
    for plural, names in CLUSTER_KINDS.items():
        assert names <= _names(tools, plural), plural
    assert {"keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"} == _names(tools, "services", "-n", ns)
    apiservice = tools.kubectl_json("get", "apiservice", "v1beta1.external.metrics.k8s.io")
    available = next(c for c in apiservice["status"]["conditions"] if c["type"] == "Available")
    assert (available["status"], available["reason"]) == ("True", "Passed")
    releases = tools.kubectl_json("get", "secrets", "-n", ns, "-l", "owner=helm,name=keda")["items"]
    assert [(s["metadata"]["name"], s["type"]) for s in releases] == [("sh.helm.release.v1.keda.v1", "helm.sh/release.v1")]

    upgraded = chart(tools, "upgrade", ns, "--reuse-values", "--set", "operator.replicaCount=2")
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
    for plural, names in CLUSTER_KINDS.items():
        assert not names & _names(tools, plural), plural


def test_upgrade_from_2_19_0_to_2_20_2_and_rollback(tools, ns):
    chart(tools, "install", ns, "--create-namespace", "--set", "crds.install=false", version="2.19.0")
    image = "{.spec.template.spec.containers[0].image}"
    assert tools.kubectl("get", "deploy", "keda-operator", "-n", ns, "-o", f"jsonpath={image}").stdout == \
        "ghcr.io/kedacore/keda:2.19.0"
    chart(tools, "upgrade", ns, "--set", "crds.install=false", version="2.20.2")
    assert tools.kubectl("get", "deploy", "keda-operator", "-n", ns, "-o", f"jsonpath={image}").stdout == \
        "ghcr.io/kedacore/keda:2.20.2"
    tools.helm("rollback", "keda", "1", "-n", ns, "--wait", "--timeout", "60s")
    history = tools.helm("history", "keda", "-n", ns, "-o", "json").stdout
    assert '"chart":"keda-2.19.0","app_version":"2.19.0","description":"Rollback to 1"' in history
    deployment = tools.kubectl_json("get", "deploy", "keda-operator", "-n", ns)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/kedacore/keda:2.19.0"
    assert deployment["status"]["updatedReplicas"] == deployment["status"]["readyReplicas"] == 1


def test_optional_pod_disruption_budgets_and_network_policies(tools, ns):
    chart(tools, "install", ns, "--create-namespace", "--set", "crds.install=false",
          "--set", "networkPolicy.enabled=true", "--set", "networkPolicy.flavor=kubernetes",
          *[arg for part in ("operator", "metricServer", "webhooks")
            for arg in ("--set", f"podDisruptionBudget.{part}.minAvailable=1")])
    assert len(_names(tools, "poddisruptionbudgets", "-n", ns)) == 3
    assert len(_names(tools, "networkpolicies", "-n", ns)) == 3


def test_legacy_flat_service_account_keys_do_not_override_the_operator_keys(tools, ns):
    chart(tools, "install", ns, "--create-namespace", "--set", "crds.install=false",
          "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=ignored")
    names = _names(tools, "serviceaccounts", "-n", ns)
    assert {"keda-operator", "keda-metrics-server", "keda-webhook"} <= names and "ignored" not in names


def test_chart_uses_a_precreated_operator_account_when_told_not_to_create_it(tools, raw, ns):
    raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    raw.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {
        "name": "keda-operator", "labels": {"azure.workload.identity/use": "true"},
        "annotations": {"azure.workload.identity/client-id": CLIENT_ID}}})
    chart(tools, "install", ns, "--set", "crds.install=false",
          "--set", "serviceAccount.operator.create=false", "--set", "podIdentity.azureWorkload.enabled=true")
    account = tools.kubectl_json("get", "serviceaccount", "keda-operator", "-n", ns)
    assert "meta.helm.sh/release-name" not in account["metadata"].get("annotations", {})
    pods = tools.kubectl_json("get", "pods", "-n", ns, "-l", "app=keda-operator")["items"]
    assert _env(pods[0])["AZURE_CLIENT_ID"] == CLIENT_ID


def test_wait_times_out_when_the_operator_account_is_missing(tools, ns):
    result = tools.helm("install", "keda", "keda", "--repo", tools.env["LAB_CHART_REPO_URL"], "--version", "2.20.2",
                        "-n", ns, "--create-namespace", "--wait", "--timeout", "3s", "--set", "crds.install=false",
                        "--set", "serviceAccount.operator.create=false", check=False)
    assert result.returncode != 0 and "context deadline exceeded" in result.stderr
    deployment = tools.kubectl_json("get", "deployment", "keda-operator", "-n", ns)
    failure = next(c for c in deployment["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert 'serviceaccount "keda-operator" not found' in failure["message"]


def test_chart_installs_the_keda_crds_and_uninstall_removes_them(clean_lab, tmp_path):
    tools = Tools(clean_lab.env, REPO_ROOT, str(tmp_path))
    crds = ("scaledobjects.keda.sh", "scaledjobs.keda.sh", "triggerauthentications.keda.sh",
            "clustertriggerauthentications.keda.sh", "cloudeventsources.eventing.keda.sh",
            "clustercloudeventsources.eventing.keda.sh")
    chart(tools, "install", "keda", "--create-namespace")
    names = tools.kubectl("get", "crd", "-o", "name").stdout.split()
    assert sorted(f"customresourcedefinition.apiextensions.k8s.io/{c}" for c in crds) == \
        sorted(n for n in names if "keda.sh" in n)
    scaledobject = tools.kubectl_json("get", "crd", "scaledobjects.keda.sh")
    assert [c["name"] for c in scaledobject["spec"]["versions"][0]["additionalPrinterColumns"]][:3] == \
        ["ScaleTargetKind", "ScaleTargetName", "Min"]
    tools.helm("uninstall", "keda", "-n", "keda", "--wait", "--timeout", "60s")
    assert not [n for n in tools.kubectl("get", "crd", "-o", "name").stdout.split() if "keda.sh" in n]
