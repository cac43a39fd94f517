"""Contract: an AKS cluster and the API server behind it agree on their version; the managed add-ons
follow the cluster's minor (reference/azure-keda-facts.md §5); enabling workload identity puts the
AKS-managed webhook's objects into kube-system and disabling it takes them away.

Driven as a user would: azure-mgmt-containerservice for the cluster (an upgrade is a PUT with
``kubernetesVersion``) and the kubernetes client for what the cluster then runs.
"""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

from lab import ids
from lab.azure import clients

from test_azure_containerservice import enable, update

RG = ids.RESOURCE_GROUP
WEBHOOK = "azure-wi-webhook-controller-manager"
WEBHOOK_CONFIGURATION = "azure-wi-webhook-mutating-webhook-configuration"


@pytest.fixture
def env(clean_lab):
    yield clean_lab.env
    clean_lab.reset()  # an upgraded cluster would change what later tests' API server reports


@pytest.fixture
def aks(env):
    return clients.containerservice_client(env)


@pytest.fixture
def kube(env):
    api = kubernetes.config.new_client_from_config(config_file=env["KUBECONFIG"])
    yield api
    api.close()


def image_tag(apps, name: str) -> str:
    return apps.read_namespaced_deployment(name, "kube-system").spec.template.spec.containers[0].image.rsplit(":", 1)[-1]


def test_the_cluster_and_its_api_server_report_one_version(aks, kube):
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    served = kubernetes.client.VersionApi(kube).get_code()
    assert (cluster.kubernetes_version, cluster.current_kubernetes_version) == ("1.35.2", "1.35.2")
    assert (served.git_version, served.minor) == ("v1.35.2", "35")
    nodes = json.loads(kubernetes.client.CoreV1Api(kube).list_node(_preload_content=False).data)
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes["items"]} == {"v1.35.2"}


def test_workload_identity_brings_the_managed_webhook_and_takes_it_away(aks, kube):
    apps = kubernetes.client.AppsV1Api(kube)
    admission = kubernetes.client.AdmissionregistrationV1Api(kube)
    with pytest.raises(ApiException) as absent:
        apps.read_namespaced_deployment(WEBHOOK, "kube-system")
    assert absent.value.status == 404
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=True, workload_identity=True))
    deployment = apps.read_namespaced_deployment(WEBHOOK, "kube-system")
    assert deployment.metadata.labels["kubernetes.azure.com/managedby"] == "aks"
    assert image_tag(apps, WEBHOOK) == "v1.5.1"  # 1.35's webhook (facts 5)
    [hook] = admission.read_mutating_webhook_configuration(WEBHOOK_CONFIGURATION).webhooks
    assert (hook.name, hook.object_selector.match_labels, hook.failure_policy, hook.reinvocation_policy) == (
        "mutation.azure-workload-identity.io", {"azure.workload.identity/use": "true"}, "Fail", "IfNeeded")
    assert hook.client_config.service.namespace == "kube-system"
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), workload_identity=False))
    with pytest.raises(ApiException) as gone:
        admission.read_mutating_webhook_configuration(WEBHOOK_CONFIGURATION)
    assert gone.value.status == 404
    assert WEBHOOK not in {d.metadata.name for d in apps.list_namespaced_deployment("kube-system").items}


def test_an_upgrade_moves_the_api_server_and_the_addons_to_the_new_minor(aks, kube):
    apps = kubernetes.client.AppsV1Api(kube)
    cluster = update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=True, workload_identity=True, keda=True))
    assert (image_tag(apps, "keda-operator"), image_tag(apps, WEBHOOK)) == ("2.17.2", "v1.5.1")
    cluster.kubernetes_version = "1.36.1"
    upgraded = update(aks, cluster)
    assert (upgraded.kubernetes_version, upgraded.current_kubernetes_version) == ("1.36.1", "1.36.1")
    assert kubernetes.client.VersionApi(kube).get_code().git_version == "v1.36.1"
    assert (image_tag(apps, "keda-operator"), image_tag(apps, WEBHOOK)) == ("2.19.0", "v1.5.1")
    crd = kubernetes.client.ApiextensionsV1Api(kube).read_custom_resource_definition("scaledobjects.keda.sh")
    assert crd.metadata.labels["app.kubernetes.io/version"] == "2.19.0"
    # An update that names no version keeps the cluster where it is.
    again = aks.managed_clusters.get(RG, ids.AKS_NAME)
    again.kubernetes_version = None
    assert update(aks, again).current_kubernetes_version == "1.36.1"
