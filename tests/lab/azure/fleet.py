"""The lab as a fleet (issue 28): more AKS managed clusters and Arc connected clusters in ARM, so that
an inventory can list tens of clusters at subscription level, page by page.

They answer GET and the subscription- and resource-group-level lists exactly as the seeded ones do
(``containerservice`` and ``connectedclusters`` serve them), each with its own OIDC issuer. With
``api_servers`` each is backed by an API server of its own (``lab.fleetk8s``: own objects, issuer and
signing key, lab KEDA, kubeconfig), the seeded Arc cluster too (the seeded AKS cluster is the lab's own
API server); without, they are ARM entries only (cheap, for inventory work). The seeded AKS cluster and the
seeded Arc cluster count as the first of each kind, so
``{"aks": 20, "arc": 5}`` means a subscription holding 20 AKS and 5 Arc clusters.

Control route (``LAB_CONTROL_URL``): ``POST /services/arm/fleet`` with ``{"aks": N, "arc": M}`` (the
standard fleet below) or ``{"clusters": [{kind, name, resource_group, location, tags, oidc_issuer,
workload_identity, keda, kubernetes_version, provisioning_state, entra_only}, ...]}``, either with
``"api_servers": true``; ``GET`` lists the fleet's ids. ``LAB_FLEET=<aks>,<arc> make lab-up`` posts
``{"aks": <aks>, "arc": <arc>, "api_servers": true}`` at start. ``entra_only``: AKS-managed Entra
integration with local accounts disabled (the API server then takes Entra tokens for the AKS server
application only, fleetk8s).
A lab reset removes them with everything else.

Paging: the list operations (``ManagedClusters_List``, ``ConnectedCluster_ListBySubscription``) are
``x-ms-pageable`` with ``nextLinkName: nextLink`` (azure-rest-api-specs
specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2024-10-01/managedClusters.json,
specification/hybridkubernetes/resource-manager/Microsoft.Kubernetes/HybridKubernetes/stable/2026-05-01/connectedClusters.json);
the page size is the service's choice, which the lab setting ``arm_list_page_size`` stands for
(``context.paginate``).
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from .. import fleetk8s, ids
from ..core import Request, Response
from . import connectedclusters, containerservice, seed
from .context import check_location, check_tags, normalize_location, resource_group_id
from .errors import ArmError
from .store import Record

if TYPE_CHECKING:
    from .arm import ArmService

# The standard fleet's second resource group (the first is the seeded one) and its location.
SECOND_GROUP = "rg-keda-fleet-west"
SECOND_LOCATION = "westeurope"
KINDS = ("aks", "arc")
FIELDS = {"kind", "name", "resource_group", "location", "tags", "oidc_issuer", "workload_identity", "keda",
          "kubernetes_version", "provisioning_state", "entra_only"}


def standard_fleet(aks: int, arc: int) -> list[dict[str, Any]]:
    """The clusters ``LAB_FLEET=<aks>,<arc>`` adds beside the seeded pair: alternating between the seeded
    resource group (eastus) and ``rg-keda-fleet-west`` (westeurope); every third one tagged
    ``env=prod``, the others ``env=staging``, odd AKS ones with ``team=payments``; AKS ones with the
    OIDC issuer and workload identity on, every fourth with the KEDA add-on too; Arc ones with both on."""
    if aks < 1 or arc < 1:
        raise ValueError("a fleet holds at least the seeded AKS and Arc clusters: aks >= 1, arc >= 1")
    clusters: list[dict[str, Any]] = []
    for kind, count, prefix in (("aks", aks, "aks-fleet"), ("arc", arc, "arc-fleet")):
        for number in range(2, count + 1):
            west = number % 2 == 1
            tags = {"env": "prod" if number % 3 == 0 else "staging"}
            if kind == "aks" and number % 2 == 1:
                tags["team"] = "payments"
            clusters.append({
                "kind": kind, "name": f"{prefix}-{number:02d}",
                "resource_group": SECOND_GROUP if west else ids.RESOURCE_GROUP,
                "location": SECOND_LOCATION if west else ids.LOCATION,
                "tags": tags, "oidc_issuer": True, "workload_identity": True,
                "keda": kind == "aks" and number % 4 == 0,
            })
    return clusters


def add_clusters(service: ArmService, clusters: list[dict[str, Any]], api_servers: bool = False) -> list[str]:
    """Put each cluster (and its resource group, if new) into ARM; the ids, in order. With ``api_servers``
    each one (and the seeded Arc cluster) gets its own API server first, so its issuer is that server's."""
    specs = [_checked(spec) for spec in clusters]
    rooms = []
    if api_servers:
        arc_id = connectedclusters.cluster_id(ids.RESOURCE_GROUP, connectedclusters.ARC_NAME)
        if service.store.get(arc_id) is not None:
            rooms.append(fleetk8s.open_room(service.lab, "arc", arc_id, connectedclusters.ARC_NAME, _guid(arc_id)))
        for spec in specs:
            rid = _cluster_id(spec)
            rooms.append(fleetk8s.open_room(service.lab, spec["kind"], rid, spec["name"], _guid(rid)))
    added = []
    with service.store.lock:
        for spec in specs:
            if service.store.get(resource_group_id(spec["resource_group"])) is None:
                seed.resource_group(service, spec["resource_group"], spec["location"])
            record = _aks(service, spec) if spec["kind"] == "aks" else _arc(spec)
            service.store.put(record)
            added.append(record.id)
    for room in rooms:
        room.install_features()
    return added


def _cluster_id(spec: dict[str, Any]) -> str:
    module = containerservice if spec["kind"] == "aks" else connectedclusters
    return str(module.cluster_id(spec["resource_group"], spec["name"]))


def _guid(rid: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "aks-issuer/" + rid.lower()))


def _checked(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("each cluster is an object")
    unknown = sorted(set(spec) - FIELDS)
    if unknown:
        raise ValueError(f"unknown cluster fields: {', '.join(unknown)}")
    if spec.get("kind") not in KINDS or not spec.get("name") or not spec.get("resource_group"):
        raise ValueError("a cluster needs kind (aks|arc), name and resource_group")
    checked = dict(spec)
    checked["location"] = normalize_location(spec.get("location") or ids.LOCATION)
    try:
        check_location(checked["location"], "fleet cluster")
        checked["tags"] = check_tags(spec.get("tags"))
    except ArmError as exc:
        raise ValueError(exc.message) from exc
    if checked.get("entra_only") and checked["kind"] != "aks":
        raise ValueError(f"{spec['name']}: entra_only is an AKS setting (aadProfile, disableLocalAccounts)")
    if checked.get("workload_identity") and not checked.get("oidc_issuer"):
        raise ValueError(f"{spec['name']}: workload identity needs the OIDC issuer (as AKS and Arc refuse it)")
    return checked


def _aks(service: ArmService, spec: dict[str, Any]) -> Record:
    name, group, location = spec["name"], spec["resource_group"], spec["location"]
    rid = containerservice.cluster_id(group, name)
    version = spec.get("kubernetes_version") or containerservice.DEFAULT_KUBERNETES_VERSION
    properties: dict[str, Any] = {
        "kubernetesVersion": version, "currentKubernetesVersion": version, "dnsPrefix": f"{name}-dns",
        "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "vmSize": "Standard_D4ds_v5", "type": "VirtualMachineScaleSets",
                               "mode": "System", "osType": "Linux", "osSKU": "Ubuntu", "orchestratorVersion": version}],
        "servicePrincipalProfile": {"clientId": "msi"}, "enableRBAC": True, "supportPlan": "KubernetesOfficial",
        "disableLocalAccounts": False, "securityProfile": {}, "oidcIssuerProfile": {"enabled": False},
        "workloadAutoScalerProfile": {},
    }
    guid = _guid(rid)
    if spec.get("entra_only"):
        # ManagedClusterAADProfile (managedClusters.json): AKS-managed Entra integration, Azure RBAC for
        # Kubernetes authorization; local accounts off (learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad).
        properties["aadProfile"] = {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": [], "tenantID": ids.TENANT_ID}
        properties["disableLocalAccounts"] = True
    switches = {"oidc": bool(spec.get("oidc_issuer")), "workload_identity": bool(spec.get("workload_identity")),
                "keda": bool(spec.get("keda"))}
    containerservice._apply_switches(properties, switches, containerservice._issuer(service, rid, guid))  # pylint: disable=protected-access
    containerservice._computed(name, location, group, properties, spec.get("provisioning_state") or "Succeeded")  # pylint: disable=protected-access
    body = {
        "id": rid, "location": location, "name": name, "type": containerservice.CLUSTER_TYPE, "tags": spec["tags"],
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned", "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, "principal/" + rid.lower())),
                     "tenantId": ids.TENANT_ID},
        "properties": properties,
    }
    return Record(rid, containerservice.CLUSTER_KIND, body, meta={"operation": None, "issuer_guid": guid})


def _arc(spec: dict[str, Any]) -> Record:
    name, group, location = spec["name"], spec["resource_group"], spec["location"]
    rid = connectedclusters.cluster_id(group, name)
    body = connectedclusters.cluster_body(
        rid, name, location, spec["tags"], str(uuid.uuid5(uuid.NAMESPACE_URL, "principal/" + rid.lower())),
        "MIICCgKCAgEAlabAgentPublicKeyCertificateForTheKedaopsLabFleet000000000000000000000000000000000000AQAB",
        oidc=bool(spec.get("oidc_issuer")), workload_identity=bool(spec.get("workload_identity")))
    connectedclusters._computed(body, spec.get("provisioning_state") or "Succeeded")  # pylint: disable=protected-access
    if spec.get("kubernetes_version"):
        body["properties"]["kubernetesVersion"] = spec["kubernetes_version"]
    return Record(rid, connectedclusters.CLUSTER_KIND, copy.deepcopy(body), meta={"operation": None})


def control(service: ArmService, request: Request, rest: list[str]) -> Response:
    if rest != ["fleet"]:
        return Response.json(404, {"error": f"no control route {request.method} {request.path}"})
    if request.method == "GET":
        kinds = (containerservice.CLUSTER_KIND, connectedclusters.CLUSTER_KIND)
        return Response.json(200, [r.id for kind in kinds for r in service.store.find(kind)])
    if request.method != "POST":
        return Response.json(405, {"error": f"{request.method} not allowed"})
    spec = request.json() or {}
    try:
        if not isinstance(spec, dict):
            raise ValueError("body must be {\"aks\": N, \"arc\": M} or {\"clusters\": [...]}")
        clusters = spec["clusters"] if "clusters" in spec else standard_fleet(int(spec.get("aks", 1)), int(spec.get("arc", 1)))
        if not isinstance(clusters, list):
            raise ValueError("clusters must be a list")
        return Response.json(201, add_clusters(service, clusters, bool(spec.get("api_servers"))))
    except (TypeError, ValueError) as exc:
        return Response.json(400, {"error": str(exc)})
