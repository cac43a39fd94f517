"""Microsoft.ContainerService/managedClusters: GET, and PUT as a long-running operation.

Written from the containerservice TypeSpec/swagger (ManagedClusters_CreateOrUpdate: 200/201 with
``Azure-AsyncOperation``; operation status ``{name, status, startTime, endTime}``) and AKS's
documented behaviour for the three profiles the collection drives: ``oidcIssuerProfile`` (cannot be
turned off once on), ``securityProfile.workloadIdentity`` (needs the OIDC issuer) and
``workloadAutoScalerProfile.keda`` (the KEDA add-on, see ``keda_addon``).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import fleetk8s, ids
from ..core import Response
from . import aks_versions, errors, keda_addon, versions, wi_webhook
from .authorization import iso
from .context import ArmContext, check_tags, flag, list_or_target, normalize_location, required_location
from .errors import ArmError
from .store import Record

if TYPE_CHECKING:
    from .arm import ArmService

CLUSTER_KIND = "microsoft.containerservice/managedclusters"
CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters"  # the type string AKS answers with
DEFAULT_KUBERNETES_VERSION = aks_versions.DEFAULT_KUBERNETES_VERSION

# Read-only in the ManagedClusterProperties model: ignored when a PUT body restates them.
READ_ONLY_PROPERTIES = ("provisioningState", "powerState", "maxAgentPools", "currentKubernetesVersion", "fqdn",
                        "azurePortalFQDN", "privateFQDN", "resourceUID")
READ_ONLY_POOL_PROPERTIES = ("provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
# Set at creation, refused afterwards with PropertyChangeNotAllowed.
IMMUTABLE_PROPERTIES = ("dnsPrefix", "nodeResourceGroup")

OIDC_CANNOT_BE_DISABLED = "OIDC issuer feature cannot be disabled."
# AKS's own wording is not published; this is azure-cli's for the same rule (acs/managed_cluster_decorator.py).
WORKLOAD_IDENTITY_NEEDS_OIDC = "Enabling workload identity requires enabling OIDC issuer (--enable-oidc-issuer)."


def cluster_id(resource_group: str, name: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{resource_group}/providers/Microsoft.ContainerService/managedClusters/{name}"


@dataclass
class Operation:
    """One managedClusters PUT in flight: answers InProgress for ``polls`` status reads, then its outcome."""

    id: str
    cluster: str
    location: str
    polls: int
    started: float = field(default_factory=time.time)
    ended: float | None = None
    status: str = "InProgress"
    error: dict[str, str] | None = None

    def as_status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.id, "status": self.status, "startTime": iso(self.started)}
        if self.ended is not None:
            body["endTime"] = iso(self.ended)
        if self.error:
            body["error"] = dict(self.error)
        return body


class OperationTable:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._operations: dict[str, Operation] = {}

    def add(self, operation: Operation) -> None:
        with self.lock:
            self._operations[operation.id.lower()] = operation

    def get(self, operation_id: str) -> Operation | None:
        with self.lock:
            return self._operations.get(operation_id.lower())

    def clear(self) -> None:
        with self.lock:
            self._operations.clear()


def _profiles(properties: dict[str, Any]) -> dict[str, bool | None]:
    """The three modelled switches as sent (None = not sent, keep the cluster's)."""
    oidc = flag(properties.get("oidcIssuerProfile"), "properties.oidcIssuerProfile")
    security = properties.get("securityProfile")
    if security is not None and not isinstance(security, dict):
        raise errors.invalid_request_content("Error converting value to type 'Object'. Path 'properties.securityProfile'")
    workload_identity = flag((security or {}).get("workloadIdentity"), "properties.securityProfile.workloadIdentity")
    autoscaler = properties.get("workloadAutoScalerProfile")
    if autoscaler is not None and not isinstance(autoscaler, dict):
        raise errors.invalid_request_content("Error converting value to type 'Object'. Path 'properties.workloadAutoScalerProfile'")
    keda_profile = (autoscaler or {}).get("keda")
    keda = flag(keda_profile, "properties.workloadAutoScalerProfile.keda")
    if keda_profile is not None and keda is None:
        # ManagedClusterWorkloadAutoScalerProfileKeda.enabled is required.
        raise errors.invalid_request_content("Required property 'enabled' not found in JSON. Path 'properties.workloadAutoScalerProfile.keda'")
    flag((autoscaler or {}).get("verticalPodAutoscaler"), "properties.workloadAutoScalerProfile.verticalPodAutoscaler")
    return {"oidc": oidc, "workload_identity": workload_identity, "keda": keda}


def _enabled(properties: dict[str, Any]) -> dict[str, bool]:
    return {
        "oidc": bool((properties.get("oidcIssuerProfile") or {}).get("enabled")),
        "workload_identity": bool(((properties.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")),
        "keda": bool(((properties.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled")),
    }


def _apply_switches(properties: dict[str, Any], switches: dict[str, bool], issuer: str) -> None:
    oidc = dict(properties.get("oidcIssuerProfile") or {})
    oidc.pop("issuerURL", None)
    oidc["enabled"] = switches["oidc"]
    if switches["oidc"]:
        oidc["issuerURL"] = issuer
    properties["oidcIssuerProfile"] = oidc
    security = dict(properties.get("securityProfile") or {})
    if switches["workload_identity"] or "workloadIdentity" in security:
        security["workloadIdentity"] = dict(security.get("workloadIdentity") or {}, enabled=switches["workload_identity"])
    properties["securityProfile"] = security
    autoscaler = dict(properties.get("workloadAutoScalerProfile") or {})
    if switches["keda"] or "keda" in autoscaler:
        autoscaler["keda"] = dict(autoscaler.get("keda") or {}, enabled=switches["keda"])
    properties["workloadAutoScalerProfile"] = autoscaler


def _issuer(service: ArmService, rid: str, guid: str) -> str:
    """Each cluster's own issuer: ``<host>/<tenant>/<cluster GUID>/`` (facts 1.4: AKS issuers are
    ``https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/``, a new GUID per cluster).

    The seeded cluster is the one the Kubernetes lab runs, so its issuer is the API server's. Other
    clusters get a GUID of their own, kept for their life, under the same (reachable) host.
    """
    if rid.lower() == cluster_id(ids.RESOURCE_GROUP, ids.AKS_NAME).lower():
        return service.issuer_url()
    room = fleetk8s.room_for(service.lab, rid)
    if room is not None:
        return str(room.k8s.issuer_url)
    base = service.issuer_url().rstrip("/").rsplit("/", 2)[0]
    return f"{base}/{ids.TENANT_ID}/{guid}/"


def _computed(name: str, location: str, resource_group: str, properties: dict[str, Any], state: str) -> None:
    """Fill the read-only fields AKS reports."""
    dns_prefix = properties.setdefault("dnsPrefix", f"{name}-dns")
    suffix = uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_group}/{name}").hex[:8]
    version = properties.setdefault("kubernetesVersion", DEFAULT_KUBERNETES_VERSION)
    properties.setdefault("currentKubernetesVersion", version)
    properties.update({
        "provisioningState": state,
        "powerState": {"code": "Running"},
        "maxAgentPools": 100,
        "fqdn": f"{dns_prefix}-{suffix}.hcp.{location}.azmk8s.io",
        "azurePortalFQDN": f"{dns_prefix}-{suffix}.portal.hcp.{location}.azmk8s.io",
        "resourceUID": properties.get("resourceUID") or uuid.uuid5(uuid.NAMESPACE_URL, f"uid/{resource_group}/{name}").hex[:24],
    })
    properties.setdefault("nodeResourceGroup", f"MC_{resource_group}_{name}_{location}")
    for pool in properties.get("agentPoolProfiles") or []:
        if isinstance(pool, dict):
            pool.update({"provisioningState": state, "powerState": {"code": "Running"},
                         "currentOrchestratorVersion": pool.get("orchestratorVersion") or version,
                         "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202507.21.0"})
            pool.setdefault("orchestratorVersion", version)


def seed_cluster(service: ArmService, kubelet: Record, cluster_principal: str) -> Record:
    """The seeded cluster: OIDC issuer, workload identity and KEDA all off, as after ``az aks create``."""
    properties: dict[str, Any] = {
        "kubernetesVersion": DEFAULT_KUBERNETES_VERSION,
        "currentKubernetesVersion": DEFAULT_KUBERNETES_VERSION,
        "dnsPrefix": f"{ids.AKS_NAME}-dns",
        "agentPoolProfiles": [{
            "name": "nodepool1", "count": 2, "vmSize": "Standard_D4ds_v5", "osDiskSizeGB": 128, "osDiskType": "Ephemeral",
            "kubeletDiskType": "OS", "maxPods": 250, "type": "VirtualMachineScaleSets", "enableAutoScaling": False,
            "orchestratorVersion": DEFAULT_KUBERNETES_VERSION, "enableNodePublicIP": False, "mode": "System",
            "osType": "Linux", "osSKU": "Ubuntu", "enableFIPS": False, "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
        }],
        "servicePrincipalProfile": {"clientId": "msi"},
        "nodeResourceGroup": f"MC_{ids.RESOURCE_GROUP}_{ids.AKS_NAME}_{ids.LOCATION}",
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "none", "networkDataplane": "azure",
            "loadBalancerSku": "standard", "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10",
            "outboundType": "loadBalancer", "podCidrs": ["10.244.0.0/16"], "serviceCidrs": ["10.0.0.0/16"], "ipFamilies": ["IPv4"],
        },
        "identityProfile": {"kubeletidentity": {
            "resourceId": kubelet.id, "clientId": kubelet.body["properties"]["clientId"],
            "objectId": kubelet.body["properties"]["principalId"],
        }},
        "autoUpgradeProfile": {"upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage"},
        "disableLocalAccounts": False,
        "securityProfile": {},
        "storageProfile": {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True},
                           "snapshotController": {"enabled": True}},
        "oidcIssuerProfile": {"enabled": False},
        "workloadAutoScalerProfile": {},
    }
    _computed(ids.AKS_NAME, ids.LOCATION, ids.RESOURCE_GROUP, properties, "Succeeded")
    body: dict[str, Any] = {
        "id": cluster_id(ids.RESOURCE_GROUP, ids.AKS_NAME),
        "location": ids.LOCATION,
        "name": ids.AKS_NAME,
        "type": CLUSTER_TYPE,
        "tags": {},
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned", "principalId": cluster_principal, "tenantId": ids.TENANT_ID},
        "properties": properties,
    }
    record = Record(body["id"], CLUSTER_KIND, body, meta={"operation": None})
    record.created = record.updated = 0.0
    return service.store.put(record)


# -- managedClusters --------------------------------------------------------------------------------


def handle_cluster(ctx: ArmContext) -> Response:
    version = versions.check_managed_clusters(ctx)
    target = list_or_target(ctx, CLUSTER_TYPE, CLUSTER_KIND, lambda r: r.view())
    if isinstance(target, Response):
        return target
    path = ctx.path
    rg_name = target.body["name"]
    name = path.names[0]
    if ctx.method == "GET":
        record = ctx.store.get(cluster_id(rg_name, name))
        if record is None:
            raise errors.resource_not_found(f"Microsoft.ContainerService/managedClusters/{name}", rg_name)
        return Response.json(200, record.view())
    if ctx.method == "PUT":
        return _put_cluster(ctx, rg_name, name, version)
    if ctx.method == "DELETE":
        from .aks_delete import delete_cluster  # pylint: disable=import-outside-toplevel
        return delete_cluster(ctx, rg_name, name, version)
    raise errors.method_not_allowed(ctx.method, CLUSTER_TYPE)


def _put_cluster(ctx: ArmContext, rg_name: str, name: str, version: str) -> Response:
    body = ctx.body()
    location = normalize_location(required_location(body))
    properties = body.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise errors.invalid_request_content("Error converting value to type 'ManagedClusterProperties'. Path 'properties'")
    if "kubernetesVersion" in properties and not isinstance(properties["kubernetesVersion"], str):
        raise errors.invalid_request_content("Error converting value to type 'String'. Path 'properties.kubernetesVersion'")
    sent = _profiles(properties)
    tags = check_tags(body.get("tags"))
    service = ctx.service
    rid = cluster_id(rg_name, name)
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is not None:
            running = record.meta.get("operation")
            if running is not None and running.status == "InProgress":
                raise ArmError(409, "OperationNotAllowed",
                               f"Operation is not allowed because there's an in progress update managed cluster operation "
                               f"on the managed cluster: {record.body['name']}. Please wait for the operation to finish "
                               "before starting a new operation.")
            if record.body["location"] != location:
                raise errors.invalid_resource_location(record.body["name"], record.body["location"], rg_name, location)
        before = _enabled(record.body["properties"]) if record is not None else {"oidc": False, "workload_identity": False, "keda": False}
        before_minor = aks_versions.minor_of(record.body["properties"].get("currentKubernetesVersion")) if record is not None else None
        after = {k: before[k] if (wanted := sent[k]) is None else wanted for k in before}
        if before["oidc"] and not after["oidc"]:
            raise ArmError(400, "OIDCIssuerFeatureCannotBeDisabled", OIDC_CANNOT_BE_DISABLED)
        if after["workload_identity"] and not after["oidc"]:
            raise ArmError(400, "BadRequest", WORKLOAD_IDENTITY_NEEDS_OIDC)
        new_properties = copy.deepcopy(properties)
        for key in READ_ONLY_PROPERTIES:
            new_properties.pop(key, None)
        for pool in new_properties.get("agentPoolProfiles") or []:
            if isinstance(pool, dict):
                for key in READ_ONLY_POOL_PROPERTIES:
                    pool.pop(key, None)
        if record is not None:
            current = record.body["properties"]
            for key in IMMUTABLE_PROPERTIES:
                if key in new_properties and new_properties[key] != current.get(key):
                    raise ArmError(400, "PropertyChangeNotAllowed", f"Changing property '{key}' is not allowed.", target=key)
                new_properties.setdefault(key, current.get(key))
            for key in ("agentPoolProfiles", "networkProfile", "identityProfile", "servicePrincipalProfile"):
                if key not in new_properties and key in current:
                    new_properties[key] = copy.deepcopy(current[key])
            new_properties["resourceUID"] = current.get("resourceUID")
            new_properties["currentKubernetesVersion"] = current.get("currentKubernetesVersion")
            # An update that names no version keeps the cluster's (an upgrade names the new one).
            new_properties.setdefault("kubernetesVersion", current.get("kubernetesVersion"))
        issuer_guid = (record.meta.get("issuer_guid") if record is not None else None) or str(uuid.uuid4())
        _apply_switches(new_properties, after, _issuer(service, rid, issuer_guid))
        _computed(name, location, rg_name, new_properties, "Updating" if record is not None else "Creating")
        if record is not None:
            identity = dict(record.body.get("identity") or {})
            display_name, sku = record.body["name"], body.get("sku") or record.body.get("sku")
        else:
            identity = {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": ids.TENANT_ID}
            display_name, sku = name, body.get("sku") or {"name": "Base", "tier": "Free"}
        new_body = {
            "id": rid, "location": location, "name": display_name, "type": CLUSTER_TYPE, "tags": tags,
            "sku": sku, "identity": identity, "properties": new_properties,
        }
        operation = Operation(str(uuid.uuid4()), rid, location, int(ctx.setting("aks_lro_polls") or 0))
        status = 201 if record is None else 200
        if record is None:
            record = ctx.store.put(Record(rid, CLUSTER_KIND, new_body, meta={"operation": operation, "issuer_guid": issuer_guid}))
            service.directory[identity["principalId"]] = ("ServicePrincipal", time.time())
        else:
            record.body = new_body
            record.updated = time.time()
            record.meta["operation"] = operation
            record.meta["issuer_guid"] = issuer_guid
        service.operations.add(operation)
        answer = record.view()
    # The add-on manager acts while the operation runs; the Kubernetes lab is called outside the store lock.
    # An add-on is (re)installed when it is enabled or the cluster moves to another minor (its version
    # follows the minor, aks_versions); the workload identity webhook likewise.
    k8s = fleetk8s.backing_k8s(service.lab, rid)
    target = new_properties.get("kubernetesVersion")
    new_minor = before_minor != aks_versions.minor_of(target)
    if after["keda"] and (not before["keda"] or new_minor):
        keda_addon.install(k8s, target)
    elif before["keda"] and not after["keda"]:
        keda_addon.uninstall(k8s)
    if after["workload_identity"] and (not before["workload_identity"] or new_minor):
        wi_webhook.install(k8s, target)
    elif before["workload_identity"] and not after["workload_identity"]:
        wi_webhook.uninstall(k8s)
    if operation.polls <= 0:
        _finish(service, operation)
        answer = record.view()
    base = f"{service.url}/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.ContainerService/locations/{location}"
    # PUT (create or update) answers Azure-AsyncOperation only, no Location (recordings README facts 5, 8:
    # azure-cli test_aks_create_with_workload_identity_enabled.yaml #1, test_aks_update_with_keda.yaml #17).
    headers = {
        "Azure-AsyncOperation": f"{base}/operations/{operation.id}?api-version={version}",
        # Seconds-granular Retry-After would make every poll wait a second; azure-core and the Go SDK
        # both honour this millisecond variant.
        "x-ms-retry-after-ms": "100",
    }
    return Response.json(status, answer, headers)


def _finish(service: ArmService, operation: Operation) -> None:
    with service.store.lock:
        operation.status = "Succeeded"
        operation.ended = time.time()
        record = service.store.get(operation.cluster)
        if record is not None and record.meta.get("operation") is operation:
            properties = record.body["properties"]
            properties["provisioningState"] = "Succeeded"
            properties["currentKubernetesVersion"] = properties.get("kubernetesVersion")
            for pool in properties.get("agentPoolProfiles") or []:
                if isinstance(pool, dict):
                    pool["provisioningState"] = "Succeeded"
                    pool["currentOrchestratorVersion"] = pool.get("orchestratorVersion")
            record.meta["operation"] = None


def _operation(ctx: ArmContext) -> Operation:
    versions.check_operations(ctx)
    path = ctx.path
    if ctx.method != "GET" or len(path.names) != 2 or path.scope_is_group_or_subscription is False or path.resource_group:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    operation = ctx.service.operations.get(path.names[1])
    if operation is None or operation.location != normalize_location(path.names[0]):
        raise ArmError(404, "NotFound", f"Operation '{path.names[1]}' was not found.")
    with ctx.service.operations.lock:
        if operation.status == "InProgress":
            operation.polls -= 1
            done = operation.polls < 0
        else:
            done = False
    if done:
        _finish(ctx.service, operation)
    return operation


def handle_operation(ctx: ArmContext) -> Response:
    """GET .../locations/{location}/operations/{operationId}: the Azure-AsyncOperation status resource."""
    operation = _operation(ctx)
    headers = {"x-ms-retry-after-ms": "100"} if operation.status == "InProgress" else {}
    return Response.json(200, operation.as_status(), headers)


def handle_operation_result(ctx: ArmContext) -> Response:
    """GET .../locations/{location}/operationresults/{operationId}: 202 while running, then the cluster."""
    operation = _operation(ctx)
    if operation.status == "InProgress":
        return Response(202, b"", {"Location": ctx.service.url + ctx.request.target, "x-ms-retry-after-ms": "100"})
    record = ctx.store.get(operation.cluster)
    return Response.json(200, record.view()) if record is not None else Response(204)


# -- listClusterUserCredential / listClusterAdminCredential (az aks get-credentials) ------------------

_CREDENTIAL_ACTIONS = {"listclusterusercredential": ("clusterUser", "clusterUser"),
                       "listclusteradmincredential": ("clusterAdmin", "clusterAdmin")}


def handle_credentials(ctx: ArmContext) -> Response:
    """POST .../managedClusters/{name}/listCluster{User,Admin}Credential: the cluster's kubeconfig.

    The shape AKS answers (CredentialResults: ``kubeconfigs[{name, value}]``, value base64 of a
    kubeconfig whose cluster and context are the cluster's name, user ``clusterUser_<rg>_<name>`` or
    ``clusterAdmin_<rg>_<name>``; azure-rest-api-specs containerservice managedClusters.json). The CLI
    itself renames an admin context to ``<name>-admin`` when it merges.
    Here it reaches the Kubernetes lab with its admin token: the lab cluster has local accounts.
    """
    import base64  # pylint: disable=import-outside-toplevel

    import yaml  # pylint: disable=import-outside-toplevel

    versions.check_managed_clusters(ctx)
    path = ctx.path
    if ctx.method != "POST":
        raise errors.method_not_allowed(ctx.method, CLUSTER_TYPE + "/" + path.types[-1])
    rg_name = ctx.resource_group_record().body["name"]
    name = path.names[0]
    record = ctx.store.get(cluster_id(rg_name, name))
    if record is None:
        raise errors.resource_not_found(f"Microsoft.ContainerService/managedClusters/{name}", rg_name)
    result_name, user_prefix = _CREDENTIAL_ACTIONS[path.types[-1].lower()]
    entra_only = fleetk8s.entra_only(record.body.get("properties") or {})
    if entra_only and user_prefix == "clusterAdmin":
        # learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad: "az aks get-credentials --admin"
        # on such a cluster fails with this text (400 BadRequest).
        raise ArmError(400, "BadRequest", "Getting static credential is not allowed because this cluster is set to disable local accounts.")
    k8s = fleetk8s.backing_k8s(ctx.service.lab, record.id)
    if k8s is None:
        raise ArmError(500, "InternalServerError", "The cluster's API server is not running in this lab.")
    with open(k8s.kubeconfig_path, encoding="utf-8") as f:
        lab_config = yaml.safe_load(f)
    user = f"{user_prefix}_{rg_name}_{name}"
    context = name
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": lab_config["clusters"][0]["cluster"]}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user}}],
        "current-context": context,
        "users": [{"name": user, "user": fleetk8s.kubelogin_user(ids.TENANT_ID) if entra_only else lab_config["users"][0]["user"]}],
    }
    value = base64.b64encode(yaml.safe_dump(config, sort_keys=False).encode()).decode("ascii")
    return Response.json(200, {"kubeconfigs": [{"name": result_name, "value": value}]})
