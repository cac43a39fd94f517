"""Which api-version each emulated resource type accepts.

ARM routes by (resource type, api-version); a version the provider never registered is refused
before the provider sees the request. The lists are the versions published in
Azure/azure-rest-api-specs for each type (stable and preview folders), so any SDK that pins one of
them works, and a typo such as ``2024-11-31`` is refused as Azure refuses it.

How ARM refuses (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider,
"NoRegisteredProviderFound", and the messages users report, e.g. "No registered resource provider found for
location 'centralus' and API version '2018-07-02' for type 'storageAccounts'. The supported api-versions are
'2018-07-01, 2018-03-01-preview, ...'. The supported locations are 'eastus, eastus2, ...'."):
- a resource provider's type with a well-formed version it never registered: 400 ``NoRegisteredProviderFound``;
- a version that is not a date (``latest``, ``2021-13-01``), and ARM's own types (resource groups,
  subscriptions, Microsoft.Authorization): 400 ``InvalidApiVersionParameter``.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import TYPE_CHECKING

from .. import ids
from . import errors

if TYPE_CHECKING:
    from .context import ArmContext

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

# specification/resources/resource-manager/Microsoft.Resources/{stable,preview}/*/subscriptions.json
# (Subscriptions_List, Subscriptions_Get).
SUBSCRIPTIONS = [
    "2014-04-01-preview", "2015-11-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
    "2021-01-01", "2022-12-01",
]

# Metadata endpoints (the Azure Stack / custom cloud discovery document).
METADATA_ENDPOINTS = ["2015-01-01", "2019-05-01", "2020-06-01", "2022-09-01"]

# specification/servicebus/resource-manager/Microsoft.ServiceBus/{stable,preview}/* (namespaces and queues);
# 2026-01-01 is what the Azure CLI's servicebus commands send (azure-cli command_modules/servicebus/aaz/latest).
SERVICEBUS = [
    "2014-09-01", "2015-08-01", "2017-04-01", "2018-01-01-preview", "2021-01-01-preview", "2021-06-01-preview",
    "2021-11-01", "2022-01-01-preview", "2022-10-01-preview", "2023-01-01-preview", "2024-01-01", "2025-05-01-preview",
    "2026-01-01",
]

# specification/monitor/resource-manager/Microsoft.Monitor/Accounts/{stable,preview}/* (Azure Monitor workspaces);
# 2025-10-03 is what `az monitor account` sends (azure-cli command_modules/monitor/aaz/latest/monitor/account).
MONITOR_ACCOUNTS = ["2021-06-03-preview", "2023-04-03", "2025-05-03-preview", "2025-10-03", "2025-10-03-preview"]

# managedClusters has a new preview or stable version almost monthly
# (specification/containerservice/resource-manager/Microsoft.ContainerService/aks/{stable,preview}/*).
# Rather than a list that goes stale, the rule those folders follow: from the first GA (2017-08-31) on,
# no date after today, and stable versions on the first of a month (the two 2017/2018 exceptions aside).
MANAGED_CLUSTERS_FIRST = "2017-08-31"
MANAGED_CLUSTERS_EARLY_STABLE = {"2017-08-31", "2018-03-31"}
# The versions the recordings, the Azure CLI, ASO and this collection send, named in the refusal.
MANAGED_CLUSTERS_KNOWN = [
    "2017-08-31", "2021-08-01", "2022-09-01", "2024-05-01", "2024-07-02-preview", "2024-10-01", "2025-08-01",
    "2025-10-02-preview", "2026-05-01",
]


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


def for_type(ctx: ArmContext, supported: list[str], resource_type: str) -> str:
    """The version of a resource provider's request, or ARM's 400 NoRegisteredProviderFound for it."""
    version = check(ctx.api_version, None)
    if version.lower() not in {v.lower() for v in supported}:
        raise _not_registered(ctx, resource_type, version, supported)
    return version


def check_managed_clusters(ctx: ArmContext) -> str:
    version = check(ctx.api_version, None)
    date = version[:10]
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    stable = len(version) == 10
    if date < MANAGED_CLUSTERS_FIRST or date > today or (
            stable and not date.endswith("-01") and date not in MANAGED_CLUSTERS_EARLY_STABLE):
        raise _not_registered(ctx, "managedClusters", version, MANAGED_CLUSTERS_KNOWN)
    return version


def _not_registered(ctx: ArmContext, resource_type: str, version: str, supported: list[str]) -> errors.ArmError:
    from .context import REGIONS  # pylint: disable=import-outside-toplevel
    location = ids.LOCATION
    try:
        body = json.loads(ctx.request.body or b"{}")
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            location = body["location"].replace(" ", "").lower()
    except ValueError:
        pass
    return errors.no_registered_provider(resource_type, version, location, sorted(supported, reverse=True), sorted(REGIONS))


# The operation status resources (locations/operations, locations/operationresults) are older than
# managedClusters: the Azure CLI polls them with 2016-03-30 and 2017-08-31 (recordings: azure-cli
# test_aks_create_with_oidc_issuer_enabled.yaml #2, azure-cli-extensions test_aks_approuting_*.yaml).
CONTAINER_SERVICE_OPERATIONS_FIRST = "2016-03-30"


def check_operations(ctx: ArmContext) -> str:
    version = check(ctx.api_version, None)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    if not CONTAINER_SERVICE_OPERATIONS_FIRST <= version[:10] <= today:
        raise _not_registered(ctx, "locations/operations", version, [CONTAINER_SERVICE_OPERATIONS_FIRST, "2017-08-31"])
    return version


def at_least(version: str, minimum: str) -> bool:
    """Dates compare as strings; a preview of the same date sorts after the stable one, as it ships later."""
    return version[:10] >= minimum[:10]
