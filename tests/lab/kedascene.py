"""Building the seeds' scenes for the lab KEDA tests with the public clients (SDKs, kubernetes client).

Importable as ``lab.kedascene`` (tests and hack scripts): each step is one documented manual step
of reference/scenarios.md, done through ARM and the Kubernetes API over HTTPS.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from . import ids
from .azure import clients

RG = ids.RESOURCE_GROUP
AUDIENCE = ids.TOKEN_EXCHANGE_AUDIENCE
DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419"
MONITORING_DATA_READER = "b0d8363b-8ddd-447d-831f-62ca05bff136"
SAMPLE_IMAGE = "ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def enable_cluster(env: dict[str, str], keda: bool = True) -> str:
    from azure.mgmt.containerservice import models
    aks = clients.containerservice_client(env)
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    cluster.oidc_issuer_profile = models.ManagedClusterOIDCIssuerProfile(enabled=True)
    cluster.security_profile.workload_identity = models.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)
    if keda:
        cluster.workload_auto_scaler_profile = models.ManagedClusterWorkloadAutoScalerProfile(
            keda=models.ManagedClusterWorkloadAutoScalerProfileKeda(enabled=True))
    cluster = aks.managed_clusters.begin_create_or_update(RG, ids.AKS_NAME, cluster).result()
    issuer: str = cluster.oidc_issuer_profile.issuer_url
    return issuer


def identity(env: dict[str, str], name: str) -> Any:
    from azure.mgmt.msi.models import Identity
    return clients.msi_client(env).user_assigned_identities.create_or_update(RG, name, Identity(location=ids.LOCATION))


def credential(env: dict[str, str], identity_name: str, name: str, issuer: str, subject: str) -> None:
    from azure.mgmt.msi.models import FederatedIdentityCredential
    clients.msi_client(env).federated_identity_credentials.create_or_update(
        RG, identity_name, name, FederatedIdentityCredential(issuer=issuer, subject=subject, audiences=[AUDIENCE]))


def delete_credential(env: dict[str, str], identity_name: str, name: str) -> None:
    clients.msi_client(env).federated_identity_credentials.delete(RG, identity_name, name)


def assign(env: dict[str, str], scope: str, role_guid: str, principal_id: str) -> str:
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    name = str(uuid.uuid4())
    clients.authorization_client(env).role_assignments.create(scope, name, RoleAssignmentCreateParameters(
        role_definition_id=f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
        principal_id=principal_id, principal_type="ServicePrincipal"))
    return name


def unassign(env: dict[str, str], scope: str, name: str) -> None:
    clients.authorization_client(env).role_assignments.delete(scope, name)


def annotate_account(core: Any, namespace: str, name: str, client_id: str, create: bool = False) -> None:
    import kubernetes
    annotations = {"azure.workload.identity/client-id": client_id}
    if create:
        core.create_namespaced_service_account(namespace, kubernetes.client.V1ServiceAccount(
            metadata=kubernetes.client.V1ObjectMeta(name=name, annotations=annotations)))
    else:
        core.patch_namespaced_service_account(name, namespace, {"metadata": {"annotations": annotations}})


def restart(apps: Any, namespace: str, name: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    apps.patch_namespaced_deployment(name, namespace, {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": f"{stamp}-{uuid.uuid4().hex[:6]}"}}}}})


def trigger_auth(custom: Any, namespace: str, name: str, client_id: str | None) -> None:
    pod_identity: dict[str, Any] = {"provider": "azure-workload"}
    if client_id:
        pod_identity["identityId"] = client_id
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "triggerauthentications", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": name, "namespace": namespace}, "spec": {"podIdentity": pod_identity}})


def servicebus_env(queue: str, count: int, mode: str) -> list[dict[str, str]]:
    return [{"name": "OPERATION_MODE", "value": mode}, {"name": "MESSAGE_COUNT", "value": str(count)},
            {"name": "AZURE_SERVICEBUS_QUEUE_NAME", "value": queue},
            {"name": "AZURE_SERVICEBUS_HOSTNAME", "value": f"{ids.SERVICEBUS_NAMESPACE_NAME}.servicebus.windows.net"}]


def producer_job(account: str, queue: str = "orders", count: int = 100) -> dict[str, Any]:
    """The seed's producer Job (reference/scenarios.md B step 9; azure-aks-docs keda-workload-identity.md)."""
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "myproducer"}, "spec": {"template": {
        "metadata": {"labels": {"azure.workload.identity/use": "true"}},
        "spec": {"serviceAccountName": account, "containers": [{
            "image": SAMPLE_IMAGE, "name": "myproducer", "resources": {}, "env": servicebus_env(queue, count, "producer")}],
            "restartPolicy": "Never"}}}}


def consumer_scaled_job(account: str, auth: str, queue: str = "orders", name: str = "myconsumer-scaledjob") -> dict[str, Any]:
    """The seed's ScaledJob, verbatim (reference/scenarios.md B)."""
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": name}, "spec": {
        "jobTargetRef": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}}, "spec": {
            "serviceAccountName": account, "containers": [{"image": SAMPLE_IMAGE, "name": "myconsumer",
                                                           "env": servicebus_env(queue, 10, "consumer")}],
            "restartPolicy": "Never"}}},
        "triggers": [{"type": "azure-servicebus", "metadata": {"queueName": queue, "namespace": ids.SERVICEBUS_NAMESPACE_NAME,
                                                               "messageCount": "10"},
                      "authenticationRef": {"name": auth}}]}}


def events(core: Any, namespace: str, name: str | None = None) -> list[Any]:
    items = core.list_namespaced_event(namespace).items
    return [e for e in items if name is None or e.involved_object.name == name]


def queue_count(env: dict[str, str], queue: str = "orders") -> int:
    path = (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.ServiceBus/namespaces/"
            f"{ids.SERVICEBUS_NAMESPACE_NAME}/queues/{queue}")
    answer = clients.arm(env, "GET", path, api_version="2021-11-01")
    return int(answer.json()["properties"]["countDetails"]["activeMessageCount"])


def operator_log(core: Any, namespace: str) -> str:
    pods = core.list_namespaced_pod(namespace, label_selector="app=keda-operator").items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    newest = max(running, key=lambda p: p.metadata.creation_timestamp)
    log: str = core.read_namespaced_pod_log(newest.metadata.name, namespace)
    return log
