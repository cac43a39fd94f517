# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pre-flight of site.yml and doctor.yml: where a run writes and which Azure actions it needs
there, as ``kedaops.aks.caller_permissions_info`` checks."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"
CLUSTER_WRITE = {"aks": "Microsoft.ContainerService/managedClusters/write",
                 "arc": "Microsoft.Kubernetes/connectedClusters/write"}
IDENTITY_WRITES = ["Microsoft.ManagedIdentity/userAssignedIdentities/write",
                   "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"]
SOURCE_WRITES = {"servicebus": ["Microsoft.ServiceBus/namespaces/write", "Microsoft.ServiceBus/namespaces/queues/write"],
                 "prometheus": ["Microsoft.Monitor/accounts/write"]}


def preflight_checks(cluster_resource_group: str, cluster_kind: str = "aks", identity_resource_group: str | None = None,
                     event_sources: list[dict[str, Any]] | None = None,
                     role_assignments: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The cluster's group (its write), the identity's group (identity and credential writes), each event
    source's group (role assignments; the source's creation where ``create: true``) and each extra role
    assignment's scope. An empty cluster resource group leaves the cluster and the identity out."""
    if cluster_kind not in CLUSTER_WRITE:
        raise AnsibleFilterError(f"preflight_checks: cluster_kind must be aks or arc, got {cluster_kind!r}")
    checks: list[dict[str, Any]] = []
    if cluster_resource_group:  # empty: a run that writes neither the cluster nor the identity (keda_scaling)
        checks.append({"resource_group": cluster_resource_group, "actions": [CLUSTER_WRITE[cluster_kind]]})
        checks.append({"resource_group": identity_resource_group or cluster_resource_group, "actions": list(IDENTITY_WRITES)})
    for source in event_sources or []:
        actions = [ROLE_ASSIGNMENTS_WRITE]
        if source.get("create"):
            actions += SOURCE_WRITES.get(source.get("type", ""), [])
        checks.append({"resource_group": source.get("resource_group"), "actions": actions})
    for assignment in role_assignments or []:
        checks.append({"scope": assignment.get("scope"), "actions": [ROLE_ASSIGNMENTS_WRITE]})
    return checks


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"preflight_checks": preflight_checks}
