"""Which api-version each emulated resource type accepts.

ARM routes by (resource type, api-version); a version the provider never registered is refused
before the provider sees the request. The lists are the versions published in
Azure/azure-rest-api-specs for each type (stable and preview folders), so any SDK that pins one of
them works, and a typo such as ``2024-11-31`` is refused as Azure refuses it.
"""

from __future__ import annotations

import re

from . import errors

VERSION_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$")

# specification/resources/resource-manager/Microsoft.Resources/{stable,preview}/*/resources.json
RESOURCE_GROUPS = [
    "2014-04-01", "2014-04-01-preview", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01",
    "2016-09-01", "2017-05-10", "2017-06-01", "2017-08-01", "2018-02-01", "2018-05-01", "2019-03-01",
    "2019-05-01", "2019-05-10", "2019-07-01", "2019-08-01", "2019-10-01", "2020-06-01", "2020-08-01",
    "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01",
    "2024-11-01", "2025-03-01", "2025-04-01",
]

# specification/msi/.../Microsoft.ManagedIdentity/ManagedIdentity/{stable,preview}/* (facts 1.1)
USER_ASSIGNED_IDENTITIES = [
    "2015-08-31-preview", "2018-11-30", "2021-09-30-preview", "2022-01-31-preview", "2023-01-31",
    "2023-07-31-preview", "2024-11-30", "2025-01-31-preview", "2025-05-31-preview", "2026-04-30", "2026-05-31",
]
# Federated identity credentials first appear in 2022-01-31-preview (facts 1.1).
FEDERATED_IDENTITY_CREDENTIALS = [
    "2022-01-31-preview", "2023-01-31", "2023-07-31-preview", "2024-11-30", "2025-01-31-preview",
    "2025-05-31-preview", "2026-04-30", "2026-05-31",
]

# specification/authorization/resource-manager/Microsoft.Authorization/{stable,preview}/*/authorization-RoleAssignmentsCalls.json
ROLE_ASSIGNMENTS = [
    "2015-06-01", "2015-07-01", "2017-10-01-preview", "2018-01-01-preview", "2018-09-01-preview",
    "2020-03-01-preview", "2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview", "2022-01-01-preview",
    "2022-04-01",
]
ROLE_DEFINITIONS = [
    "2015-06-01", "2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview",
]

# Metadata endpoints (the Azure Stack / custom cloud discovery document).
METADATA_ENDPOINTS = ["2015-01-01", "2019-05-01", "2020-06-01", "2022-09-01"]

# managedClusters has a new preview or stable version almost monthly; any well-formed version from
# the first GA (2017-08-31) on is accepted rather than pinning a list that goes stale (documented gap).
MANAGED_CLUSTERS_FIRST = "2017-08-31"


def check(version: str | None, supported: list[str] | None, resource_type: str = "") -> str:
    """Return the version or raise the ARM error Azure gives for it.

    ``supported=None`` accepts any well-formed version (types whose version list is open-ended).
    """
    if not version:
        raise errors.missing_api_version()
    if supported is None:
        if not VERSION_SHAPE.match(version):
            raise errors.invalid_api_version(version, [])
        return version
    if version.lower() not in {v.lower() for v in supported}:
        raise errors.invalid_api_version(version, supported)
    return version


def check_managed_clusters(version: str | None) -> str:
    version = check(version, None)
    if version[:10] < MANAGED_CLUSTERS_FIRST:
        raise errors.invalid_api_version(version, [MANAGED_CLUSTERS_FIRST + " or later"])
    return version


# The operation status resources (locations/operations, locations/operationresults) are older than
# managedClusters: the Azure CLI polls them with 2016-03-30 and 2017-08-31 (recordings: azure-cli
# test_aks_create_with_oidc_issuer_enabled.yaml #2, azure-cli-extensions test_aks_approuting_*.yaml).
CONTAINER_SERVICE_OPERATIONS_FIRST = "2016-03-30"


def check_operations(version: str | None) -> str:
    version = check(version, None)
    if version[:10] < CONTAINER_SERVICE_OPERATIONS_FIRST:
        raise errors.invalid_api_version(version, [CONTAINER_SERVICE_OPERATIONS_FIRST + " or later"])
    return version


def at_least(version: str, minimum: str) -> bool:
    """Dates compare as strings; a preview of the same date sorts after the stable one, as it ships later."""
    return version[:10] >= minimum[:10]
