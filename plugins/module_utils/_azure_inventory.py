# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet as inventory hosts: AKS managed clusters and Arc connected clusters of one or more
subscriptions, listed at subscription level (one list per subscription and kind, following
``nextLink``), turned into host vars, filtered and named.

``InventoryOptions.from_options`` (every refusal, before any call), ``cluster_host``, ``keep`` and
``host_names`` are pure and table-tested; ``list_clusters`` is the small ARM layer (the collection's
``ArmClient``: same authentication, retry policy -- 429 Retry-After included -- and error codes as
the modules). No cluster credential is read here.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils import _arc, _azure_aks
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import is_guid

KINDS = ("aks", "arc")
# Subscription-level lists: ManagedClusters_List and ConnectedCluster_ListBySubscription, both
# x-ms-pageable with nextLinkName nextLink (azure-rest-api-specs: containerservice .../aks/stable/
# 2024-10-01/managedClusters.json; hybridkubernetes .../stable/2026-05-01/connectedClusters.json).
LIST = {
    "aks": (_azure_aks.CLUSTER_TYPE, _azure_aks.API_VERSION),
    "arc": (_arc.CLUSTER_TYPE, _arc.API_VERSION),
}
# Subscriptions - List (https://learn.microsoft.com/rest/api/resources/subscriptions/list).
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
# A list that keeps answering nextLinks is cut here (ARM pages hold 100 to 1000 items).
MAX_PAGES = 1000


@dataclass
class InventoryOptions:
    """What to list and what to keep, checked before any call."""

    subscriptions: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    resource_groups: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    include_tags: dict[str, str | None] = field(default_factory=dict)
    exclude_tags: dict[str, str | None] = field(default_factory=dict)
    name_pattern: str | None = None

    @classmethod
    def from_options(cls, get: Callable[[str], Any]) -> InventoryOptions:
        subscriptions = _strings(get("subscriptions"), "subscriptions")
        for value in subscriptions:
            if not is_guid(value):
                raise OptionError(f"subscriptions: '{value}' is not a subscription id (a GUID)")
        kinds = _strings(get("kinds"), "kinds") or list(KINDS)
        wrong = [k for k in kinds if k not in KINDS]
        if wrong:
            raise OptionError(f"kinds: {', '.join(map(repr, wrong))} is not one of aks, arc")
        pattern = get("name_pattern")
        if pattern is not None and (not isinstance(pattern, str) or not pattern.strip()):
            raise OptionError("name_pattern: must be a non-empty glob such as 'aks-prod-*'")
        return cls(
            subscriptions=list(dict.fromkeys(s.lower() for s in subscriptions)),
            kinds=list(dict.fromkeys(kinds)),
            resource_groups=_strings(get("resource_groups"), "resource_groups"),
            locations=_strings(get("locations"), "locations"),
            include_tags=_tag_filter(get("include_tags"), "include_tags"),
            exclude_tags=_tag_filter(get("exclude_tags"), "exclude_tags"),
            name_pattern=pattern,
        )


def _strings(value: Any, option: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise OptionError(f"{option}: must be a list of strings")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise OptionError(f"{option}: every item must be a non-empty string")
    return [item.strip() for item in value]


def _tag_filter(value: Any, option: str) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OptionError(f"{option}: must be a mapping of tag name to value (null or '' for any value)")
    for key, wanted in value.items():
        if not isinstance(key, str) or not key:
            raise OptionError(f"{option}: tag names must be non-empty strings")
        if wanted is not None and not isinstance(wanted, (str, int, float, bool)):
            raise OptionError(f"{option}.{key}: the value must be a string, or null for any value")
    return {k: None if v in (None, "") else str(v) for k, v in value.items()}


# --- ARM resources as host vars ------------------------------------------------------------------


def _id_part(resource_id: str, name: str) -> str:
    """The segment after ``name`` (compared case-insensitively) in an ARM id: AKS answers ``resourcegroups``."""
    segments = [s for s in resource_id.split("/") if s]
    lowered = [s.lower() for s in segments]
    if name in lowered and lowered.index(name) + 1 < len(segments):
        return segments[lowered.index(name) + 1]
    return ""


def cluster_host(kind: str, resource: dict[str, Any]) -> dict[str, Any]:
    """The host vars of one cluster, as listed: what the roles need without another read."""
    properties = resource.get("properties") or {}
    resource_id = str(resource.get("id") or "")
    if kind == "aks":
        state = _azure_aks.cluster_state(resource)
        issuer = state["oidc_issuer_url"] if state["oidc_issuer"] else None
        keda: bool | None = state["keda"]
    else:
        state = _arc.cluster_state(resource)
        issuer = _arc.effective_issuer(resource)
        keda = None  # the AKS add-on does not exist on Arc; KEDA there is the Helm path
    return {
        "cluster_kind": kind,
        "cluster_id": resource_id,
        "cluster_subscription_id": _id_part(resource_id, "subscriptions").lower(),
        "cluster_resource_group": _id_part(resource_id, "resourcegroups"),
        "cluster_name": resource.get("name") or "",
        "cluster_location": resource.get("location") or "",
        "cluster_kubernetes_version": state["kubernetes_version"],
        "cluster_provisioning_state": properties.get("provisioningState"),
        "cluster_oidc_issuer": state["oidc_issuer"],
        "cluster_oidc_issuer_url": issuer,
        "cluster_workload_identity": state["workload_identity"],
        "cluster_keda": keda,
        "cluster_tags": dict(resource.get("tags") or {}),
    }


def _tag_matches(tags: dict[str, Any], key: str, wanted: str | None) -> bool:
    # Azure tag names are case-insensitive, values case-sensitive
    # (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations).
    found = next((v for k, v in tags.items() if k.lower() == key.lower()), None)
    if found is None:
        return False
    return wanted is None or str(found) == wanted


def keep(host: dict[str, Any], options: InventoryOptions) -> bool:
    """Whether a listed cluster passes every filter (the kinds were chosen by what was listed)."""
    if options.resource_groups and host["cluster_resource_group"].lower() not in {g.lower() for g in options.resource_groups}:
        return False
    if options.locations:
        wanted = {loc.replace(" ", "").lower() for loc in options.locations}
        if host["cluster_location"].replace(" ", "").lower() not in wanted:
            return False
    tags = host["cluster_tags"]
    if not all(_tag_matches(tags, k, v) for k, v in options.include_tags.items()):
        return False
    if any(_tag_matches(tags, k, v) for k, v in options.exclude_tags.items()):
        return False
    if options.name_pattern and not fnmatch.fnmatchcase(host["cluster_name"], options.name_pattern):
        return False
    return True


def host_names(hosts: list[dict[str, Any]]) -> list[str]:
    """One inventory host name per cluster, in order: the cluster's name where no other listed
    cluster has it; else ``<name>.<resource group>``, then ``<name>.<resource group>.<kind>``, then
    ``<name>.<resource group>.<kind>.<subscription id>``: the first form no other cluster shares."""

    def forms(host: dict[str, Any]) -> list[str]:
        name, group = host["cluster_name"], host["cluster_resource_group"].lower()
        return [name, f"{name}.{group}", f"{name}.{group}.{host['cluster_kind']}",
                f"{name}.{group}.{host['cluster_kind']}.{host['cluster_subscription_id']}"]

    all_forms = [forms(h) for h in hosts]
    names = []
    for index, mine in enumerate(all_forms):
        others = [f for i, f in enumerate(all_forms) if i != index]
        level = next((n for n in range(len(mine)) if all(o[n] != mine[n] for o in others)), len(mine) - 1)
        names.append(mine[level])
    return names


# --- ARM -------------------------------------------------------------------------------------------


def list_path(subscription_id: str, kind: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/{LIST[kind][0]}"


def list_all(arm: Any, path: str, api_version: str, action: str) -> tuple[list[dict[str, Any]], int]:
    """Every item of an ARM list (``value``), following ``nextLink``; (items, pages read).

    A nextLink is followed only on the ARM endpoint the first page came from: the bearer token goes
    with it, so a link elsewhere is refused rather than followed.
    """
    base = urllib.parse.urlsplit(arm.pipeline_client.format_url("/"))
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    url: str | None = path
    pages = 0
    while url:
        body = arm.get(url, api_version, action)
        pages += 1
        items.extend(v for v in body.get("value") or [] if isinstance(v, dict))
        url = body.get("nextLink") or None
        if url is None:
            break
        target = urllib.parse.urlsplit(url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise AzureError(f"Error {action}: the nextLink {url} leaves the ARM endpoint {base.netloc}",
                             code="InvalidNextLink")
        if url in seen or pages >= MAX_PAGES:
            raise AzureError(f"Error {action}: the list does not end (nextLink {url} after {pages} pages)",
                             code="InvalidNextLink")
        seen.add(url)
    return items, pages


def visible_subscriptions(arm: Any) -> list[str]:
    """The subscriptions the credential can see (when the inventory names none and no default is set)."""
    items, _pages = list_all(arm, "/subscriptions", SUBSCRIPTIONS_API_VERSION, "listing subscriptions")
    return [str(s["subscriptionId"]).lower() for s in items if s.get("subscriptionId") and s.get("state", "Enabled") == "Enabled"]


def list_clusters(arm: Any, subscriptions: list[str], kinds: list[str]) -> list[dict[str, Any]]:
    """The host vars of every cluster of ``kinds`` in ``subscriptions``: one list per subscription x kind."""
    hosts: list[dict[str, Any]] = []
    for subscription in subscriptions:
        for kind in kinds:
            label = "AKS managed clusters" if kind == "aks" else "Arc connected clusters"
            resources, _pages = list_all(arm, list_path(subscription, kind), LIST[kind][1],
                                         f"listing {label} of subscription {subscription}")
            hosts.extend(cluster_host(kind, r) for r in resources)
    return hosts
