"""The seeded world of the lab's subscription (names fixed in ``lab.ids`` so docs and vars files can use them).

Ids and generated GUIDs are derived with uuid5 from the names, so they are the same at every start.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .. import ids
from . import containerservice, msi, servicebus_rules
from .store import Record

if TYPE_CHECKING:
    from .arm import ArmService

_NAMESPACE = uuid.UUID("6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b")

# The endpoint Microsoft's article (reference/scenarios.md A) shows, so its ScaledObject works verbatim.
PROMETHEUS_QUERY_ENDPOINT = f"https://{ids.MONITOR_WORKSPACE_NAME}-1234.{ids.LOCATION}.prometheus.monitor.azure.com"
SERVICEBUS_QUEUE = "orders"


def stable_uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def group_prefix(resource_group: str = ids.RESOURCE_GROUP) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{resource_group}"


def aks_id() -> str:
    # AKS answers with lower-case "resourcegroups" in ids, as the ManagedIdentity provider does.
    return (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{ids.RESOURCE_GROUP}"
            f"/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}")


def monitor_workspace_id() -> str:
    return f"{group_prefix()}/providers/Microsoft.Monitor/accounts/{ids.MONITOR_WORKSPACE_NAME}"


def servicebus_namespace_id() -> str:
    return f"{group_prefix()}/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}"


def node_resource_group() -> str:
    return f"MC_{ids.RESOURCE_GROUP}_{ids.AKS_NAME}_{ids.LOCATION}"


def resource_group(service: ArmService, name: str, location: str, tags: dict[str, str] | None = None,
                   managed_by: str | None = None, created: float | None = None) -> Record:
    body: dict[str, Any] = {
        "id": group_prefix(name), "name": name, "type": "Microsoft.Resources/resourceGroups",
        "location": location.replace(" ", "").lower(), "properties": {"provisioningState": "Succeeded"},
    }
    if tags:
        body["tags"] = dict(tags)
    if managed_by:
        body["managedBy"] = managed_by
    record = Record(body["id"], "microsoft.resources/resourcegroups", body)
    if created is not None:
        record.created = record.updated = created
    return service.store.put(record)


def _generic(service: ArmService, body: dict[str, Any]) -> Record:
    record = Record(body["id"], body["type"].lower(), body)
    record.created = record.updated = 0.0
    return service.store.put(record)


def seed(service: ArmService) -> None:
    """Resource group, AKS cluster (with its node resource group and kubelet identity),
    Azure Monitor workspace, Service Bus namespace with one queue."""
    resource_group(service, ids.RESOURCE_GROUP, ids.LOCATION, created=0.0)
    resource_group(service, node_resource_group(), ids.LOCATION, managed_by=aks_id(), created=0.0)
    kubelet = msi.create_identity(service, node_resource_group(), f"{ids.AKS_NAME}-agentpool", ids.LOCATION,
                                  created=0.0, client_id=stable_uuid("kubelet-client"),
                                  principal_id=stable_uuid("kubelet-principal"))
    cluster_principal = stable_uuid("cluster-principal")
    service.directory[cluster_principal] = ("ServicePrincipal", 0.0)
    containerservice.seed_cluster(service, kubelet, cluster_principal)

    _generic(service, {
        "id": monitor_workspace_id(),
        "name": ids.MONITOR_WORKSPACE_NAME,
        "type": "Microsoft.Monitor/accounts",
        "location": ids.LOCATION,
        "tags": {},
        "etag": f'"{stable_uuid("amw-etag")}"',
        "properties": {
            "accountId": stable_uuid("amw-account"),
            "metrics": {
                "prometheusQueryEndpoint": PROMETHEUS_QUERY_ENDPOINT,
                "internalId": "mac_" + stable_uuid("amw-internal"),
            },
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "defaultIngestionSettings": {
                "dataCollectionRuleResourceId": (
                    f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/MA_{ids.MONITOR_WORKSPACE_NAME}_{ids.LOCATION}_managed"
                    f"/providers/Microsoft.Insights/dataCollectionRules/{ids.MONITOR_WORKSPACE_NAME}"),
                "dataCollectionEndpointResourceId": (
                    f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/MA_{ids.MONITOR_WORKSPACE_NAME}_{ids.LOCATION}_managed"
                    f"/providers/Microsoft.Insights/dataCollectionEndpoints/{ids.MONITOR_WORKSPACE_NAME}"),
            },
        },
    })
    namespace = ids.SERVICEBUS_NAMESPACE_NAME
    namespace_record = _generic(service, {
        "id": servicebus_namespace_id(),
        "name": namespace,
        # Service Bus answers with its display names: "Namespaces" and "East US".
        "type": "Microsoft.ServiceBus/Namespaces",
        "location": "East US",
        "tags": {},
        "sku": {"name": "Standard", "tier": "Standard"},
        "properties": {
            "minimumTlsVersion": "1.2",
            "publicNetworkAccess": "Enabled",
            "disableLocalAuth": True,
            "zoneRedundant": False,
            "provisioningState": "Succeeded",
            "status": "Active",
            "metricId": f"{ids.SUBSCRIPTION_ID}:{namespace}",
            "serviceBusEndpoint": f"https://{namespace}.servicebus.windows.net:443/",
            "createdAt": "2026-01-05T10:00:00.000Z",
            "updatedAt": "2026-01-05T10:01:00.000Z",
        },
    })
    servicebus_rules.create_root_rule(service.store, namespace_record)
    _generic(service, {
        "id": f"{servicebus_namespace_id()}/queues/{SERVICEBUS_QUEUE}",
        "name": SERVICEBUS_QUEUE,
        "type": "Microsoft.ServiceBus/Namespaces/Queues",
        "location": "eastus",
        "properties": {
            "maxMessageSizeInKilobytes": 256, "maxSizeInMegabytes": 1024, "lockDuration": "PT1M",
            "requiresDuplicateDetection": False, "requiresSession": False, "deadLetteringOnMessageExpiration": False,
            "enableBatchedOperations": True, "maxDeliveryCount": 10, "status": "Active", "enablePartitioning": False,
            "enableExpress": False, "messageCount": 0, "sizeInBytes": 0,
            "countDetails": {"activeMessageCount": 0, "deadLetterMessageCount": 0, "scheduledMessageCount": 0,
                             "transferMessageCount": 0, "transferDeadLetterMessageCount": 0},
            "createdAt": "2026-01-05T10:02:00.000Z", "updatedAt": "2026-01-05T10:02:00.000Z",
        },
    })
