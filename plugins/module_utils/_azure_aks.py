# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AKS managed cluster features (Microsoft.ContainerService/managedClusters) over plain ARM REST.

azure-mgmt-containerservice is not a dependency (tens of MB of models, seconds to import); three
booleans do not need it. The update is the one ``az aks update`` does -- read the cluster, flip the
requested flags, PUT it back, await the long-running operation -- with one deliberate difference:
the PUT never carries ``agentPoolProfiles``.

Why no node pools in the PUT: node pools belong to the agentPools API. Restating them through
the cluster PUT fails as soon as they drifted from what the cluster has ("Node pool update via
managed cluster not allowed. Use per nodepool operations", "A new agent pool was introduced...",
Azure/AKS#972, #1511), and a restated stale ``count`` of an autoscaled pool puts every pool into
Scaling (pulumi-azure-native#4264). For an existing cluster AKS keeps the pools when the property
is absent; Microsoft's own ARO-HCP fleet reconciler updates clusters exactly this way ("an existing
cluster retains unowned fields ... but never submits pools or version").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import CLUSTER_OPTIONS, cluster_name
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource

# A stable api-version with every field used here (oidcIssuerProfile, securityProfile.workloadIdentity,
# workloadAutoScalerProfile.keda are all GA in it).
API_VERSION = "2024-10-01"
CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
FEATURES = ("oidc_issuer", "workload_identity", "keda")

# Read-only in the managedClusters schema: the SDKs never send them back, neither do we.
READ_ONLY_TOP = ("id", "name", "type", "systemData", "eTag")
READ_ONLY_PROPERTIES = ("provisioningState", "powerState", "maxAgentPools", "currentKubernetesVersion", "fqdn",
                        "privateFQDN", "azurePortalFQDN", "resourceUID")
# Owned by the agentPools API (see the module docstring).
NOT_RESTATED = ("agentPoolProfiles",)

# azure-cli's wording of the AKS rule (acs/managed_cluster_decorator.py).
WORKLOAD_IDENTITY_NEEDS_OIDC = ("Enabling workload identity requires enabling OIDC issuer "
                                "(set oidc_issuer: true, as az aks update --enable-oidc-issuer).")
OIDC_CANNOT_BE_DISABLED = ("The OIDC issuer of cluster {name} is enabled; AKS does not support disabling it "
                           "once enabled (https://learn.microsoft.com/azure/aks/use-oidc-issuer).")


def cluster_path(subscription_id: str, resource_group: str, name: str) -> str:
    return arm_resource(subscription_id, resource_group, CLUSTER_TYPE, Segment("name", cluster_name("name", name, "AKS cluster")))


def _flag(cluster: dict[str, Any], *path: str) -> bool:
    node: Any = cluster.get("properties") or {}
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return bool(node)


def features(cluster: dict[str, Any]) -> dict[str, bool]:
    return {
        "oidc_issuer": _flag(cluster, "oidcIssuerProfile", "enabled"),
        "workload_identity": _flag(cluster, "securityProfile", "workloadIdentity", "enabled"),
        "keda": _flag(cluster, "workloadAutoScalerProfile", "keda", "enabled"),
    }


def cluster_state(cluster: dict[str, Any]) -> dict[str, Any]:
    """The module's view of a managed cluster."""
    properties = cluster.get("properties") or {}
    flags = features(cluster)
    return {
        "id": cluster.get("id"),
        "name": cluster.get("name"),
        "location": cluster.get("location"),
        "kubernetes_version": properties.get("currentKubernetesVersion") or properties.get("kubernetesVersion"),
        "oidc_issuer": flags["oidc_issuer"],
        "oidc_issuer_url": (properties.get("oidcIssuerProfile") or {}).get("issuerURL"),
        # The one issuer key of both cluster kinds (connected_cluster returns it too).
        "issuer_url": (properties.get("oidcIssuerProfile") or {}).get("issuerURL"),
        "workload_identity": flags["workload_identity"],
        "keda": flags["keda"],
        "provisioning_state": properties.get("provisioningState"),
    }


def get_cluster(conn: AzureConnection, resource_group: str, name: str) -> dict[str, Any]:
    """The cluster as ARM answers it; a missing cluster (or group) is Azure's 404 error."""
    return conn.arm().get(cluster_path(conn.subscription_id, resource_group, name), API_VERSION,
                          f"reading AKS cluster {name}")


def plan_features(current: dict[str, bool], requested: dict[str, bool | None], name: str) -> dict[str, bool]:
    """The flags to change ({feature: new value}); refuses, before any write, what AKS refuses."""
    wanted = {k: v for k, v in requested.items() if v is not None and v != current[k]}
    oidc_after = wanted.get("oidc_issuer", current["oidc_issuer"])
    if current["oidc_issuer"] and wanted.get("oidc_issuer") is False:
        raise OptionError("oidc_issuer: " + OIDC_CANNOT_BE_DISABLED.format(name=name))
    if requested.get("workload_identity") and not oidc_after:
        raise OptionError("workload_identity: " + WORKLOAD_IDENTITY_NEEDS_OIDC)
    return wanted


def update_body(cluster: dict[str, Any], changes: dict[str, bool]) -> dict[str, Any]:
    """The PUT body: the cluster as read, minus read-only fields and node pools, with only the
    requested flags flipped (sibling settings such as VPA or Defender are kept as they are)."""
    body = copy.deepcopy(cluster)
    for key in READ_ONLY_TOP:
        body.pop(key, None)
    properties = body.setdefault("properties", {})
    for key in READ_ONLY_PROPERTIES + NOT_RESTATED:
        properties.pop(key, None)
    if "oidcIssuerProfile" in properties:
        properties["oidcIssuerProfile"].pop("issuerURL", None)
    if "oidc_issuer" in changes:
        properties.setdefault("oidcIssuerProfile", {})["enabled"] = changes["oidc_issuer"]
    if "workload_identity" in changes:
        security = properties.get("securityProfile") or {}
        properties["securityProfile"] = security
        security.setdefault("workloadIdentity", {})["enabled"] = changes["workload_identity"]
    if "keda" in changes:
        autoscaler = properties.get("workloadAutoScalerProfile") or {}
        properties["workloadAutoScalerProfile"] = autoscaler
        autoscaler["keda"] = {**(autoscaler.get("keda") or {}), "enabled": changes["keda"]}
    return body


@dataclass(frozen=True)
class AksPlan:
    """What an aks_cluster task asks for: the cluster and the features given (None: leave as it is)."""

    resource_group: str
    name: str
    requested: dict[str, bool | None]
    timeout: float = 1800


def ensure_features(conn: AzureConnection, wanted: AksPlan,
                    check_mode: bool) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """Returns (changed, before, after) as cluster states. With nothing requested this is a read."""
    resource_group, name, requested, timeout = wanted.resource_group, wanted.name, wanted.requested, wanted.timeout
    cluster = get_cluster(conn, resource_group, name)
    before = cluster_state(cluster)
    changes = plan_features(features(cluster), requested, name)
    if not changes:
        return False, before, before
    if check_mode:
        predicted = {**before, **changes}
        if changes.get("oidc_issuer") and not before["oidc_issuer_url"]:
            predicted["oidc_issuer_url"] = predicted["issuer_url"] = None  # assigned by AKS when enabled
        return True, before, predicted
    path = cluster_path(conn.subscription_id, resource_group, name)

    def put() -> tuple[bool, dict[str, Any], dict[str, Any]]:
        updated = conn.arm().put_and_wait(path, API_VERSION, update_body(cluster, changes),
                                          f"updating AKS cluster {name}", timeout)
        return True, before, cluster_state(updated)

    def replan() -> tuple[bool, dict[str, Any], dict[str, Any]] | None:
        # Another operation (an upgrade, a node pool scale) held the cluster: decide again on the cluster
        # as that operation left it.
        nonlocal cluster, changes
        cluster = get_cluster(conn, resource_group, name)
        changes = plan_features(features(cluster), requested, name)
        if not changes:  # the other operation did it
            state = cluster_state(cluster)
            return False, state, state
        return None

    return retry_on_codes(put, frozenset(), timeout, first_delay=2.0, max_delay=OPERATION_IN_PROGRESS_MAX_DELAY,
                          transient=operation_in_progress, replan=replan)


# AKS answers 409 OperationNotAllowed while another operation runs on the cluster ("Operation is not
# allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a
# new operation."), https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/error-codes/operationnotallowed-error
# The same code also means permanent refusals, so only the in-progress wording is waited out.
OPERATION_NOT_ALLOWED = "OperationNotAllowed"
OPERATION_IN_PROGRESS_MAX_DELAY = 30.0


def operation_in_progress(err: AzureError) -> bool:
    return (err.code == OPERATION_NOT_ALLOWED and err.status in (409, None)
            and "in progress" in (err.message or "").lower())


ARGUMENT_SPEC: dict[str, Any] = {
    **CLUSTER_OPTIONS,
    "keda": {"type": "bool"},
    "timeout": {"type": "int", "default": 1800},
}


def build(params: dict[str, Any]) -> AksPlan:
    cluster_name("name", params["name"], "AKS cluster")
    return AksPlan(params["resource_group"], params["name"], {feature: params[feature] for feature in FEATURES},
                   params["timeout"])


def apply(connection: Connection, plan: AksPlan, check_mode: bool) -> Outcome:
    changed, before, after = ensure_features(connection.azure, plan, check_mode)
    computed = ("oidc_issuer_url", "issuer_url") if check_mode else ()  # known after apply
    return Outcome(changed, before, after, computed=computed, values={"cluster": after})


RESOURCE = Resource("aks_cluster", ARGUMENT_SPEC, build, apply, azure=True)
