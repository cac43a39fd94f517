"""Contract: every api-version the collection sends is one Azure publishes for that resource type, and the lab serves it.

PUBLISHED lists, per resource type, the version folders of Azure/azure-rest-api-specs (stable and preview)
that matter here; USED names the types each api-version found in plugins/ is sent to. A version added to
plugins/ without a row here fails the first test, a version Azure never published the second.
"""

from __future__ import annotations

import os
import re

import pytest

from lab import ids
from lab.azure import clients
from lab.testing import REPO_ROOT

PUBLISHED: dict[str, tuple[str, list[str]]] = {
    "Microsoft.Resources/resourceGroups": (
        "specification/resources/resource-manager/Microsoft.Resources/{stable,preview}/*/resources.json",
        ["2019-10-01", "2020-06-01", "2021-01-01", "2021-04-01", "2022-09-01", "2024-03-01", "2024-11-01", "2025-04-01"]),
    "Microsoft.Resources/subscriptions": (
        "specification/resources/resource-manager/Microsoft.Resources/stable/*/subscriptions.json",
        ["2016-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01", "2022-12-01"]),
    "Microsoft.Authorization/permissions": (
        "specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json "
        "(Permissions_ListForResourceGroup, Permissions_ListForResource)", ["2015-07-01", "2022-04-01"]),
    "metadata/endpoints": (
        "ARM's cloud metadata document (https://management.azure.com/metadata/endpoints?api-version=...), as azure-cli "
        "and azure-identity read it", ["2019-05-01", "2020-06-01", "2022-09-01"]),
    "Microsoft.ManagedIdentity/userAssignedIdentities": (
        "specification/msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/{stable,preview}/*",
        ["2018-11-30", "2021-09-30-preview", "2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30",
         "2025-01-31-preview"]),
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials": (
        "same folders, from 2022-01-31-preview on",
        ["2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30", "2025-01-31-preview"]),
    "Microsoft.Authorization/roleAssignments": (
        "specification/authorization/resource-manager/Microsoft.Authorization/{stable,preview}/*/authorization-RoleAssignmentsCalls.json",
        ["2018-09-01-preview", "2020-04-01-preview", "2022-01-01-preview", "2022-04-01"]),
    "Microsoft.Authorization/roleDefinitions": (
        "specification/authorization/resource-manager/Microsoft.Authorization/{stable,preview}/*/authorization-RoleDefinitionsCalls.json",
        ["2018-01-01-preview", "2022-04-01", "2022-05-01-preview"]),
    "Microsoft.ContainerService/managedClusters": (
        "specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/*",
        ["2024-05-01", "2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01", "2025-01-01", "2025-08-01"]),
    "Microsoft.Kubernetes/connectedClusters": (
        "specification/hybridkubernetes/resource-manager/Microsoft.Kubernetes/{stable,preview}/* (arc-facts.md)",
        ["2021-10-01", "2022-10-01-preview", "2024-01-01", "2024-07-15-preview", "2026-05-01"]),
    "Microsoft.ServiceBus/namespaces": (
        "specification/servicebus/resource-manager/Microsoft.ServiceBus/{stable,preview}/*",
        ["2017-04-01", "2021-11-01", "2022-10-01-preview", "2024-01-01"]),
    "Microsoft.ServiceBus/namespaces/queues": ("same folders", ["2017-04-01", "2021-11-01", "2022-10-01-preview", "2024-01-01"]),
    "Microsoft.Monitor/accounts": (
        "specification/monitor/resource-manager/Microsoft.Monitor/Accounts/{stable,preview}/*",
        ["2021-06-03-preview", "2023-04-03", "2025-05-03-preview"]),
}

# Every api-version in plugins/ -> the resource types it is sent to (module_utils constant or SDK package).
USED: dict[str, list[str]] = {
    "2021-04-01": ["Microsoft.Resources/resourceGroups"],  # _azure_msi.resource_group_location
    "2022-09-01": ["metadata/endpoints"],  # _azure_auth.METADATA_API_VERSION
    "2024-11-30": ["Microsoft.ManagedIdentity/userAssignedIdentities",  # azure.mgmt.msi.v2024_11_30
                   "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"],
    "2022-04-01": ["Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleDefinitions",  # azure.mgmt.authorization.v2022_04_01
                   "Microsoft.Authorization/permissions"],  # _azure_permissions.API_VERSION
    "2022-12-01": ["Microsoft.Resources/subscriptions"],  # _azure_inventory.SUBSCRIPTIONS_API_VERSION
    "2024-10-01": ["Microsoft.ContainerService/managedClusters"],  # _azure_aks.API_VERSION
    "2026-05-01": ["Microsoft.Kubernetes/connectedClusters"],  # _arc.API_VERSION
    "2021-11-01": ["Microsoft.ServiceBus/namespaces", "Microsoft.ServiceBus/namespaces/queues"],  # _azure_servicebus.API_VERSION
    "2023-04-03": ["Microsoft.Monitor/accounts"],  # _azure_monitor.API_VERSION
}

GROUP = clients.group_path()
SUBSCRIPTION = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
# A lab path of each type to read with the version (the answer may be 404, never an api-version refusal).
PATHS = {
    "Microsoft.Resources/resourceGroups": GROUP,
    "metadata/endpoints": "/metadata/endpoints",
    "Microsoft.Resources/subscriptions": "/subscriptions",
    "Microsoft.Authorization/permissions": f"{GROUP}/providers/Microsoft.Authorization/permissions",
    "Microsoft.ManagedIdentity/userAssignedIdentities": f"{GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials":
        clients.identity_path("id-versions") + "/federatedIdentityCredentials",
    "Microsoft.Authorization/roleAssignments": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments",
    "Microsoft.Authorization/roleDefinitions": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions",
    "Microsoft.ContainerService/managedClusters": f"{GROUP}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}",
    "Microsoft.Kubernetes/connectedClusters": f"{GROUP}/providers/Microsoft.Kubernetes/connectedClusters/arc-cluster-name",
    "Microsoft.ServiceBus/namespaces": f"{GROUP}/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}",
    "Microsoft.ServiceBus/namespaces/queues":
        f"{GROUP}/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}/queues",
    "Microsoft.Monitor/accounts": f"{GROUP}/providers/Microsoft.Monitor/accounts/{ids.MONITOR_WORKSPACE_NAME}",
}

QUOTED = re.compile(r"""["'](\d{4}-\d{2}-\d{2}(?:-preview)?)["']""")
SDK_PACKAGE = re.compile(r"azure\.mgmt\.\w+\.v(\d{4})_(\d{2})_(\d{2})(_preview)?")


def versions_in_plugins() -> dict[str, set[str]]:
    """api-version -> the plugin files that send it (quoted literals and versioned SDK packages)."""
    found: dict[str, set[str]] = {}
    for folder, _dirs, files in os.walk(os.path.join(REPO_ROOT, "plugins")):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
            hits = set(QUOTED.findall(source))
            hits |= {f"{y}-{m}-{d}" + ("-preview" if p else "") for y, m, d, p in SDK_PACKAGE.findall(source)}
            for version in hits:
                found.setdefault(version, set()).add(os.path.relpath(path, REPO_ROOT))
    return found


def test_every_api_version_in_plugins_is_in_the_table():
    assert set(versions_in_plugins()) == set(USED)


@pytest.mark.parametrize("version", sorted(USED))
def test_every_api_version_in_plugins_is_published_for_its_types(version):
    for resource_type in USED[version]:
        source, published = PUBLISHED[resource_type]
        assert version in published, f"{version} is not published for {resource_type} ({source})"


@pytest.mark.parametrize("version,resource_type", [(v, t) for v, types in sorted(USED.items()) for t in types])
def test_the_lab_serves_every_api_version_plugins_send(env, version, resource_type):
    response = clients.arm(env, "GET", PATHS[resource_type], api_version=version)
    assert response.error_code not in ("InvalidApiVersionParameter", "NoRegisteredProviderFound", "MissingApiVersionParameter")
    assert response.status in (200, 404), response.body[:300]


@pytest.mark.parametrize("resource_type", sorted(PATHS))
def test_the_lab_refuses_a_version_azure_never_published(env, resource_type):
    response = clients.arm(env, "GET", PATHS[resource_type], api_version="2099-01-01")
    assert response.status == 400
    assert response.error_code in ("InvalidApiVersionParameter", "NoRegisteredProviderFound")
