"""Contract: Microsoft.ContainerService/managedClusters in the lab, driven through azure-mgmt-containerservice."""

from __future__ import annotations

import kubernetes
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerservice import models

from lab import ids
from lab.azure import clients

RG = ids.RESOURCE_GROUP
API = "2026-08-01"
KEDA_DEPLOYMENTS = {"keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"}
KEDA_CRDS = {
    "scaledobjects.keda.sh": ("Namespaced", ["so"]),
    "scaledjobs.keda.sh": ("Namespaced", ["sj"]),
    "triggerauthentications.keda.sh": ("Namespaced", ["ta", "triggerauth"]),
    "clustertriggerauthentications.keda.sh": ("Cluster", ["cta", "clustertriggerauth"]),
}


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


@pytest.fixture
def aks(env):
    return clients.containerservice_client(env)


@pytest.fixture
def kube(env):
    """The Kubernetes lab the cluster is linked to, through the kubernetes client."""
    api = kubernetes.config.new_client_from_config(config_file=env["KUBECONFIG"])
    yield api
    api.close()


def enable(cluster, oidc: bool | None = None, workload_identity: bool | None = None, keda: bool | None = None):
    """Set the switches the way ``az aks update`` does: on the model read with GET."""
    if oidc is not None:
        cluster.oidc_issuer_profile = models.ManagedClusterOIDCIssuerProfile(enabled=oidc)
    if workload_identity is not None:
        if cluster.security_profile is None:
            cluster.security_profile = models.ManagedClusterSecurityProfile()
        cluster.security_profile.workload_identity = models.ManagedClusterSecurityProfileWorkloadIdentity(enabled=workload_identity)
    if keda is not None:
        if cluster.workload_auto_scaler_profile is None:
            cluster.workload_auto_scaler_profile = models.ManagedClusterWorkloadAutoScalerProfile()
        cluster.workload_auto_scaler_profile.keda = models.ManagedClusterWorkloadAutoScalerProfileKeda(enabled=keda)
    return cluster


def update(aks, cluster):
    return aks.managed_clusters.begin_create_or_update(RG, ids.AKS_NAME, cluster).result()


def test_seeded_cluster_has_oidc_workload_identity_and_keda_off(aks):
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    assert cluster.id == (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{RG}"
                          f"/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}")
    assert (cluster.location, cluster.kubernetes_version, cluster.provisioning_state) == ("eastus", "1.35.2", "Succeeded")
    assert cluster.oidc_issuer_profile.enabled is False and cluster.oidc_issuer_profile.issuer_url is None
    assert not (cluster.security_profile.workload_identity and cluster.security_profile.workload_identity.enabled)
    assert not (cluster.workload_auto_scaler_profile.keda and cluster.workload_auto_scaler_profile.keda.enabled)
    assert cluster.node_resource_group == f"MC_{RG}_{ids.AKS_NAME}_eastus"
    assert cluster.fqdn.endswith(".hcp.eastus.azmk8s.io")
    assert len(cluster.agent_pool_profiles) == 1


def test_put_is_a_long_running_operation_polled_through_azure_async_operation(aks, env, clean_lab):
    clean_lab.settings(aks_lro_polls=2)
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    cluster.tags = {"owner": "platform"}
    clean_lab.clear_requests()
    poller = aks.managed_clusters.begin_create_or_update(RG, ids.AKS_NAME, cluster)
    result = poller.result()
    assert (result.provisioning_state, result.tags) == ("Succeeded", {"owner": "platform"})
    calls = [(r["method"], r["path"].split("?")[0].rsplit("/", 2)[-2], r["status"]) for r in clean_lab.requests("arm")]
    assert calls == [("PUT", "managedClusters", 200), ("GET", "operations", 200), ("GET", "operations", 200),
                     ("GET", "operations", 200), ("GET", "managedClusters", 200)]


def test_operation_status_reports_in_progress_then_succeeded(env, clean_lab):
    clean_lab.settings(aks_lro_polls=1)
    path = f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}"
    cluster = clients.arm(env, "GET", path, api_version=API).json()
    put = clients.arm(env, "PUT", path, {"location": cluster["location"], "properties": cluster["properties"]}, api_version=API)
    assert (put.status, put.json()["properties"]["provisioningState"]) == (200, "Updating")
    operation_url = put.headers["Azure-AsyncOperation"]
    assert operation_url.startswith(env["AZURE_CLOUD_ENVIRONMENT"] + f"/subscriptions/{ids.SUBSCRIPTION_ID}"
                                    "/providers/Microsoft.ContainerService/locations/eastus/operations/")
    assert "Location" not in put.headers  # AO only (recordings README fact 8)
    token = clients.arm_token(env)
    first = clients.http(env, "GET", operation_url, headers={"Authorization": "Bearer " + token}).json()
    assert first["status"] == "InProgress"
    assert clients.arm(env, "GET", path, api_version=API).json()["properties"]["provisioningState"] == "Updating"
    busy = clients.arm(env, "PUT", path, {"location": cluster["location"], "properties": cluster["properties"]}, api_version=API)
    assert (busy.status, busy.error_code) == (409, "OperationNotAllowed")
    second = clients.http(env, "GET", operation_url, headers={"Authorization": "Bearer " + token}).json()
    assert (second["status"], second["name"]) == ("Succeeded", operation_url.split("/")[-1].split("?")[0])
    assert "startTime" in second and "endTime" in second
    assert clients.arm(env, "GET", path, api_version=API).json()["properties"]["provisioningState"] == "Succeeded"


def test_enabling_oidc_workload_identity_and_keda_returns_the_lab_issuer_and_installs_keda(aks, env, kube):
    result = update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=True, workload_identity=True, keda=True))
    assert result.oidc_issuer_profile.enabled is True
    assert result.oidc_issuer_profile.issuer_url == env["LAB_OIDC_ISSUER"]
    assert result.security_profile.workload_identity.enabled is True
    assert result.workload_auto_scaler_profile.keda.enabled is True
    assert aks.managed_clusters.get(RG, ids.AKS_NAME).oidc_issuer_profile.issuer_url == env["LAB_OIDC_ISSUER"]

    apps = kubernetes.client.AppsV1Api(kube)
    operator = apps.read_namespaced_deployment("keda-operator", "kube-system")
    pod_labels = operator.spec.template.metadata.labels
    assert operator.spec.template.spec.service_account_name == "keda-operator"
    assert (pod_labels["app"], pod_labels["app.kubernetes.io/name"], pod_labels["azure.workload.identity/use"]) == (
        "keda-operator", "keda-operator", "true")
    assert {d.metadata.name for d in apps.list_namespaced_deployment("kube-system").items} >= KEDA_DEPLOYMENTS
    kubernetes.client.CoreV1Api(kube).read_namespaced_service_account("keda-operator", "kube-system")
    crds = {c.metadata.name: c for c in kubernetes.client.ApiextensionsV1Api(kube).list_custom_resource_definition().items}
    assert set(crds) >= set(KEDA_CRDS)
    for name, (scope, short_names) in KEDA_CRDS.items():
        crd = crds[name]
        assert (crd.spec.scope, crd.spec.names.short_names, crd.spec.versions[0].name) == (scope, short_names, "v1alpha1")
        assert crd.metadata.labels["app.kubernetes.io/version"] == "2.17.2"  # the add-on on 1.35 (facts 5)


def test_disabling_keda_removes_the_addon_and_its_custom_resources(aks, kube):
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), keda=True))
    custom = kubernetes.client.CustomObjectsApi(kube)
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "triggerauthentications", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "azure-wi"},
        "spec": {"podIdentity": {"provider": "azure-workload"}}})
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), keda=False))
    assert aks.managed_clusters.get(RG, ids.AKS_NAME).workload_auto_scaler_profile.keda.enabled is False
    deployments = {d.metadata.name for d in kubernetes.client.AppsV1Api(kube).list_namespaced_deployment("kube-system").items}
    assert not deployments & KEDA_DEPLOYMENTS
    crds = {c.metadata.name for c in kubernetes.client.ApiextensionsV1Api(kube).list_custom_resource_definition().items}
    assert not crds & set(KEDA_CRDS)
    with pytest.raises(kubernetes.client.ApiException) as caught:
        custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", "triggerauthentications", "azure-wi")
    assert caught.value.status == 404


def test_workload_identity_without_oidc_issuer_is_refused(aks):
    with pytest.raises(HttpResponseError) as caught:
        update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), workload_identity=True))
    assert (caught.value.status_code, caught.value.error.message) == (
        400, "Enabling workload identity requires enabling OIDC issuer (--enable-oidc-issuer).")
    assert not aks.managed_clusters.get(RG, ids.AKS_NAME).security_profile.workload_identity


def test_disabling_an_enabled_oidc_issuer_is_refused(aks):
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=True))
    with pytest.raises(HttpResponseError) as caught:
        update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=False))
    assert (caught.value.status_code, caught.value.error.code, caught.value.error.message) == (
        400, "OIDCIssuerFeatureCannotBeDisabled", "OIDC issuer feature cannot be disabled.")


def test_profiles_left_out_of_a_put_keep_their_state(aks, env):
    update(aks, enable(aks.managed_clusters.get(RG, ids.AKS_NAME), oidc=True, workload_identity=True, keda=True))
    path = f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}"
    body = {"location": "eastus", "properties": {"kubernetesVersion": "1.35.2", "dnsPrefix": f"{ids.AKS_NAME}-dns"}}
    assert clients.arm(env, "PUT", path, body, api_version=API).status == 200
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    assert cluster.oidc_issuer_profile.enabled and cluster.security_profile.workload_identity.enabled
    assert cluster.workload_auto_scaler_profile.keda.enabled


def test_unmodelled_fields_are_kept_and_read_only_fields_in_the_body_are_ignored(env):
    path = f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}"
    cluster = clients.arm(env, "GET", path, api_version=API).json()
    properties = dict(cluster["properties"], fqdn="forged.example", provisioningState="Failed",
                      azureMonitorProfile={"metrics": {"enabled": True}})
    properties["oidcIssuerProfile"] = {"enabled": False, "issuerURL": "https://forged.example/"}
    answer = clients.arm(env, "PUT", path, {"location": "eastus", "properties": properties}, api_version=API).json()
    assert answer["properties"]["fqdn"] == cluster["properties"]["fqdn"]
    assert answer["properties"]["azureMonitorProfile"] == {"metrics": {"enabled": True}}
    assert "issuerURL" not in answer["properties"]["oidcIssuerProfile"]


@pytest.mark.parametrize("properties,code", [
    ({"oidcIssuerProfile": {"enabled": "yes"}}, "InvalidRequestContent"),
    ({"workloadAutoScalerProfile": {"keda": {}}}, "InvalidRequestContent"),
    ({"securityProfile": {"workloadIdentity": []}}, "InvalidRequestContent"),
    ({"dnsPrefix": "another-prefix"}, "PropertyChangeNotAllowed"),
])
def test_invalid_cluster_bodies_are_400(env, properties, code):
    path = f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}"
    response = clients.arm(env, "PUT", path, {"location": "eastus", "properties": properties}, api_version=API)
    assert (response.status, response.error_code) == (400, code)


def test_missing_cluster_is_404_resource_not_found(aks):
    with pytest.raises(ResourceNotFoundError) as caught:
        aks.managed_clusters.get(RG, "aks-missing")
    assert caught.value.error.code == "ResourceNotFound"


def test_clusters_are_listed_by_resource_group_and_subscription(aks):
    assert [c.name for c in aks.managed_clusters.list_by_resource_group(RG)] == [ids.AKS_NAME]
    assert [c.name for c in aks.managed_clusters.list()] == [ids.AKS_NAME]


def test_each_cluster_has_its_own_issuer_of_the_aks_shape(env, clean_lab):
    clean_lab.settings(aks_lro_polls=0)
    path = f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters"
    body = {"location": "eastus", "properties": {"dnsPrefix": "second", "oidcIssuerProfile": {"enabled": True}}}
    second = clients.arm(env, "PUT", f"{path}/aks-second", body, api_version=API).json()["properties"]["oidcIssuerProfile"]
    seeded = clients.arm(env, "PUT", f"{path}/{ids.AKS_NAME}", dict(body, properties={"oidcIssuerProfile": {"enabled": True}}),
                         api_version=API).json()["properties"]["oidcIssuerProfile"]
    assert seeded["issuerURL"] == env["LAB_OIDC_ISSUER"]
    # <host>/<tenant>/<cluster GUID>/, as https://eastus.oic.prod-aks.azure.com/<tenant>/<guid>/ on Azure.
    host, tenant, guid, tail = second["issuerURL"].rsplit("/", 3)
    assert (host, tenant, tail) == (env["LAB_OIDC_ISSUER"].rsplit("/", 3)[0], ids.TENANT_ID, "")
    assert guid != env["LAB_OIDC_ISSUER"].rsplit("/", 2)[1] and len(guid) == 36
    again = clients.arm(env, "PUT", f"{path}/aks-second", body, api_version=API).json()["properties"]["oidcIssuerProfile"]
    assert again["issuerURL"] == second["issuerURL"]
