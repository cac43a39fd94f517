"""Contract: the Kubernetes service inside a Lab (kubeconfig, env, reset) and its API for the Azure half.

Runs its own Lab with only the Kubernetes service, so it also proves the service works without the
"entra" and "arm" services present.
"""

from __future__ import annotations

import os
import threading

import pytest
import yaml
from lab.testing import REPO_ROOT

from lab import ids
from lab.core import Lab
from lab.k8s import ApiError, KubernetesService

KEDA = os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda")


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    lab = Lab(str(tmp_path_factory.mktemp("solo")), service_factories=[KubernetesService]).start()
    yield lab
    lab.stop()


@pytest.fixture
def k8s(solo):
    solo.reset()
    return solo.services["k8s"]


def _config_map(name: str, namespace: str = "kube-system", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def test_kubeconfig_and_env_point_at_the_service(solo):
    service = solo.services["k8s"]
    env = service.env()
    assert env["LAB_KUBE_URL"] == service.url and env["LAB_OIDC_ISSUER"] == service.issuer_url
    assert service.issuer_url == f"{service.url}/oidc/{ids.TENANT_ID}/{ids.AKS_ISSUER_GUID}/"
    with open(env["KUBECONFIG"], encoding="utf-8") as f:
        kubeconfig = yaml.safe_load(f)
    assert kubeconfig["current-context"] == "lab"
    cluster = kubeconfig["clusters"][0]
    assert cluster["name"] == "lab" and cluster["cluster"]["server"] == service.url
    assert kubeconfig["users"][0]["user"]["token"] == ids.KUBE_ADMIN_TOKEN
    with open(os.path.join(solo.state_dir, "env.sh"), encoding="utf-8") as f:
        assert f"export LAB_OIDC_ISSUER='{service.issuer_url}'" in f.read()


def test_apply_object_creates_then_replaces_keeping_identity(k8s):
    created = k8s.apply_object(_config_map("addon-config", a="1"))
    assert created["metadata"]["uid"] and created["data"] == {"a": "1"}
    replaced = k8s.apply_object(_config_map("addon-config", a="2"))
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert replaced["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert k8s.get_object("v1", "ConfigMap", "kube-system", "addon-config")["data"] == {"a": "2"}


def test_apply_object_registers_crds_and_runs_controllers(k8s):
    with open(os.path.join(KEDA, "keda.sh_scaledobjects.yaml"), encoding="utf-8") as f:
        k8s.apply_object(yaml.safe_load(f))
    assert k8s.list_objects("keda.sh/v1alpha1", "ScaledObject") == []
    k8s.apply_object({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "keda-operator", "namespace": "kube-system",
        "annotations": {"azure.workload.identity/client-id": "c0ffee00-0000-4000-8000-000000000001"}}})
    k8s.apply_object({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "keda-operator", "namespace": "kube-system"},
                      "spec": {"selector": {"matchLabels": {"app": "keda-operator"}}, "template": {
                          "metadata": {"labels": {"app": "keda-operator", "azure.workload.identity/use": "true"}},
                          "spec": {"serviceAccountName": "keda-operator",
                                   "containers": [{"name": "keda-operator", "image": "mcr.microsoft.com/oss/kedacore/keda:2.17.2"}]}}}})
    pods = k8s.list_objects("v1", "Pod", "kube-system")
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running"
    env = {e["name"]: e["value"] for e in pods[0]["spec"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"] == "c0ffee00-0000-4000-8000-000000000001"
    assert env["AZURE_AUTHORITY_HOST"] == "https://login.microsoftonline.com/"  # no lab Entra in this lab


def test_apply_object_needs_an_existing_namespace_and_a_known_kind(k8s):
    with pytest.raises(ApiError) as missing_ns:
        k8s.apply_object(_config_map("x", namespace="nowhere"))
    assert missing_ns.value.code == 404 and missing_ns.value.message == 'namespaces "nowhere" not found'
    with pytest.raises(ApiError) as missing_kind:
        k8s.apply_object({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": "j"}})
    assert missing_kind.value.code == 404


def test_delete_get_and_list_report_absence_plainly(k8s):
    k8s.apply_object(_config_map("doomed"))
    assert k8s.delete_object("v1", "ConfigMap", "kube-system", "doomed") is True
    assert k8s.delete_object("v1", "ConfigMap", "kube-system", "doomed") is False
    assert k8s.delete_object("keda.sh/v1alpha1", "ScaledObject", "default", "x") is False
    assert k8s.get_object("v1", "ConfigMap", "kube-system", "doomed") is None
    assert k8s.list_objects("keda.sh/v1alpha1", "TriggerAuthentication") == []


def test_concurrent_writers_are_serialised(k8s):
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for step in range(10):
                k8s.apply_object(_config_map(f"c{index}", step=str(step)))
                k8s.apply_object(_config_map("shared", writer=str(index)))
        except BaseException as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    names = {c["metadata"]["name"] for c in k8s.list_objects("v1", "ConfigMap", "kube-system")}
    assert {f"c{i}" for i in range(6)} | {"shared"} <= names
    assert all(k8s.get_object("v1", "ConfigMap", "kube-system", f"c{i}")["data"] == {"step": "9"} for i in range(6))


def test_reset_restores_the_seeded_cluster(k8s, solo):
    k8s.apply_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}})
    with open(os.path.join(KEDA, "keda.sh_triggerauthentications.yaml"), encoding="utf-8") as f:
        k8s.apply_object(yaml.safe_load(f))
    solo.reset()
    assert sorted(n["metadata"]["name"] for n in k8s.list_objects("v1", "Namespace")) == [
        "default", "kube-node-lease", "kube-public", "kube-system"]
    assert {(a["metadata"]["namespace"], a["metadata"]["name"]) for a in k8s.list_objects("v1", "ServiceAccount")} == {
        ("default", "default"), ("kube-node-lease", "default"), ("kube-public", "default"), ("kube-system", "default")}
    assert k8s.list_objects("apiextensions.k8s.io/v1", "CustomResourceDefinition") == []
    assert k8s.get_object("keda.sh/v1alpha1", "TriggerAuthentication", "default", "x") is None


def test_stopping_the_lab_stops_the_kubelet_thread(tmp_path):
    def kubelets() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "lab-k8s-kubelet" and t.is_alive()}

    before = kubelets()
    lab = Lab(str(tmp_path), service_factories=[KubernetesService]).start()
    assert len(kubelets() - before) == 1
    lab.stop()
    assert kubelets() - before == set()
