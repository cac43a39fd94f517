"""Microsoft.Kubernetes/connectedClusters (Azure Arc-enabled Kubernetes): GET, PUT as a long-running
operation, PATCH of tags, DELETE; and the Arc-hosted OIDC issuer that Entra reads.

Written from Azure/azure-rest-api-specs ``specification/hybridkubernetes/resource-manager/
Microsoft.Kubernetes/HybridKubernetes/stable/2026-05-01/connectedClusters.json`` (and the older
stable/preview folders for the accepted api-versions):

* ``ConnectedCluster_CreateOrReplace`` (PUT) is long-running (``final-state-via: azure-async-operation``,
  200 on replace / 201 on create with ``Azure-AsyncOperation``); its body requires ``identity``
  (``type`` SystemAssigned | None) and ``properties.agentPublicKeyCertificate``, so a client must
  echo them from a GET. That is what ``az connectedk8s update --enable-oidc-issuer
  --enable-workload-identity`` does (Azure/azure-cli-extensions PR #7785: GET, modify, PUT).
* ``ConnectedCluster_Update`` (PATCH) carries only ``tags`` and a few properties (distribution,
  distributionVersion, azureHybridBenefit, gateway): no ``oidcIssuerProfile``/``securityProfile``.
* ``properties.oidcIssuerProfile {enabled, issuerUrl (read-only), selfHostedIssuerUrl}`` and
  ``properties.securityProfile.workloadIdentity.enabled``. The Arc-hosted issuer has the shape
  ``https://<geography>.oic.prod-arc.azure.com/<tenant>/<guid>/`` (MicrosoftDocs
  azure-management-docs articles/azure-arc/kubernetes/workload-identity.md); the guid is "an
  immutable, randomly generated guid for each cluster" (conceptual-workload-identity.md).
* The issuer cannot be disabled: the CLI refuses with ``Disabling OIDC issuer is not supported.``
  (azure-cli-extensions src/connectedk8s/azext_connectedk8s/_validators.py); the service's own
  answer is not published, so the lab answers 400 with the same words [inferred].

The connected cluster is backed by the lab's Kubernetes API when the lab setting ``k8s_cluster`` is
``arc``: the workload identity webhook then follows ``securityProfile.workloadIdentity.enabled``
(the Arc feature installs and removes the webhook), and the Arc-hosted issuer publishes the API
server's signing keys (the Arc agents upload them). The API server itself keeps signing with the
issuer it was started with until told otherwise (lab setting ``service_account_issuers``, the lab's
``kube-apiserver-arg: service-account-issuer=...`` + restart), as on a real Arc cluster.
"""

from __future__ import annotations

import copy
import re
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from .. import fleetk8s, ids
from .. import services as lab_services
from ..core import Response
from . import errors, versions
from .authorization import iso
from .context import ArmContext, check_tags, flag, list_or_target, normalize_location, required_location
from .errors import ArmError
from .store import Record

if TYPE_CHECKING:
    from .arm import ArmService

CLUSTER_KIND = "microsoft.kubernetes/connectedclusters"
CLUSTER_TYPE = "Microsoft.Kubernetes/connectedClusters"
OPERATION_KIND = "microsoft.kubernetes/locations/operationstatuses"

# The lab's seeded connected cluster (a K3s cluster after `az connectedk8s connect`, features off).
ARC_NAME = "arc-cluster-name"

# specification/hybridkubernetes/.../HybridKubernetes/{stable,preview}/*: every published version.
API_VERSIONS = [
    "2020-01-01-preview", "2021-03-01", "2021-04-01-preview", "2021-10-01", "2022-05-01-preview",
    "2022-10-01-preview", "2023-11-01-preview", "2024-01-01", "2024-02-01-preview", "2024-06-01-preview",
    "2024-07-01-preview", "2024-07-15-preview", "2024-12-01-preview", "2025-08-01-preview", "2025-12-01-preview",
    "2026-02-01-preview", "2026-05-01",
]
# oidcIssuerProfile / securityProfile first appear in 2024-07-15-preview (the "public preview wif"
# version of azure-cli-extensions PR #7785) [inferred]; older versions neither show nor accept them.
OIDC_FIRST = "2024-07-15-preview"

OIDC_CANNOT_BE_DISABLED = "Disabling OIDC issuer is not supported."
ISSUER_HOST = re.compile(r"^[a-z0-9]+\.oic\.prod-arc\.azure\.com$")
# Observed issuer geographies are Azure geographies, not regions (northamerica, europe) [inferred].
GEOGRAPHIES = {"eastus": "northamerica", "eastus2": "northamerica", "westus": "northamerica",
               "westus2": "northamerica", "westus3": "northamerica", "centralus": "northamerica",
               "canadacentral": "northamerica", "westeurope": "europe", "northeurope": "europe",
               "uksouth": "europe", "francecentral": "europe", "swedencentral": "europe",
               "australiaeast": "australia", "southeastasia": "asia", "japaneast": "asia"}

READ_ONLY_PROPERTIES = ("provisioningState", "agentVersion", "kubernetesVersion", "totalNodeCount", "totalCoreCount",
                        "lastConnectivityTime", "managedIdentityCertificateExpirationTime", "connectivityStatus",
                        "offering", "miscellaneousProperties")


def cluster_id(resource_group: str, name: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{resource_group}/providers/{CLUSTER_TYPE}/{name}"


def issuer_for(record_id: str, location: str) -> str:
    geography = GEOGRAPHIES.get(normalize_location(location), "northamerica")
    guid = uuid.uuid5(uuid.NAMESPACE_URL, "arc-issuer/" + record_id.lower())
    return f"https://{geography}.oic.prod-arc.azure.com/{ids.TENANT_ID}/{guid}/"


def _operations(service: ArmService) -> dict[str, dict[str, Any]]:
    table = getattr(service, "arc_operations", None)
    if table is None:
        table = service.arc_operations = {}  # type: ignore[attr-defined]
    return table


def cluster_body(rid: str, name: str, location: str, tags: dict[str, str], principal_id: str, certificate: str, *,
                 oidc: bool, workload_identity: bool) -> dict[str, Any]:
    """A connected cluster as ``az connectedk8s connect`` creates it (before the agents' computed fields)."""
    return {
        "id": rid, "name": name, "type": CLUSTER_TYPE, "location": location, "tags": tags,
        "identity": {"type": "SystemAssigned", "principalId": principal_id, "tenantId": ids.TENANT_ID},
        "kind": "",
        "properties": {
            # A base64 DER public key, as the CLI's connect sends it (any opaque string to the lab).
            "agentPublicKeyCertificate": certificate,
            "distribution": "k3s", "distributionVersion": "v1.32.6+k3s1", "infrastructure": "generic",
            "privateLinkState": "Disabled", "azureHybridBenefit": "NotApplicable",
            "arcAgentProfile": {"agentAutoUpgrade": "Enabled", "desiredAgentVersion": "1.24.4"},
            "oidcIssuerProfile": {"enabled": oidc},
            "securityProfile": {"workloadIdentity": {"enabled": workload_identity}},
        },
    }


def seed(service: ArmService) -> Record:
    """The connected cluster as ``az connectedk8s connect`` leaves it: OIDC issuer and workload identity off."""
    _operations(service).clear()
    rid = cluster_id(ids.RESOURCE_GROUP, ARC_NAME)
    body = cluster_body(rid, ARC_NAME, ids.LOCATION, {}, str(uuid.uuid5(uuid.NAMESPACE_URL, "arc-principal")),
                        "MIICCgKCAgEAlabAgentPublicKeyCertificateForTheKedaopsLab0000000000000000000000000000000000000000000AQAB",
                        oidc=False, workload_identity=False)
    _computed(body, "Succeeded")
    record = Record(rid, CLUSTER_KIND, body, meta={"operation": None})
    record.created = record.updated = 0.0
    return service.store.put(record)


def _computed(body: dict[str, Any], state: str) -> None:
    """The read-only fields the Arc agents report."""
    properties = body["properties"]
    properties.update({
        "provisioningState": state, "connectivityStatus": "Connected", "agentVersion": "1.24.4",
        "kubernetesVersion": "1.32.6", "totalNodeCount": 1, "totalCoreCount": 2, "offering": "K3s",
        "lastConnectivityTime": iso(time.time()),
    })
    oidc = properties.get("oidcIssuerProfile")
    if isinstance(oidc, dict):
        oidc.pop("issuerUrl", None)
        if oidc.get("enabled"):
            oidc["issuerUrl"] = issuer_for(body["id"], body["location"])


def _view(record: Record, version: str) -> dict[str, Any]:
    body = record.view()
    if not versions.at_least(version, OIDC_FIRST):
        body["properties"].pop("oidcIssuerProfile", None)
        body["properties"].pop("securityProfile", None)
    return body


def handle_cluster(ctx: ArmContext) -> Response:
    version = versions.for_type(ctx, API_VERSIONS, "connectedClusters")
    target = list_or_target(ctx, CLUSTER_TYPE, CLUSTER_KIND, lambda r: _view(r, version))
    if isinstance(target, Response):
        return target
    path = ctx.path
    rg_name = target.body["name"]
    name = path.names[0]
    rid = cluster_id(rg_name, name)
    if ctx.method == "PUT":
        return _put(ctx, rg_name, name, version)
    record = ctx.store.get(rid)
    if record is None:
        if ctx.method == "DELETE":
            return Response(204)
        raise errors.resource_not_found(f"{CLUSTER_TYPE}/{name}", rg_name)
    if ctx.method == "GET":
        from . import arc_busy  # another operation started by a test (arc_busy.py)
        with ctx.store.lock:
            answer = _view(record, version)
            arc_busy.after_read(ctx.service, record)
        return Response.json(200, answer)
    if ctx.method == "PATCH":
        return _patch(ctx, record, version)
    if ctx.method == "DELETE":
        return _delete(ctx, record, version)
    raise errors.method_not_allowed(ctx.method, CLUSTER_TYPE)


def _delete(ctx: ArmContext, record: Record, version: str) -> Response:
    """DELETE answers 202 with body ``null`` and the same tenant-level URL as Azure-AsyncOperation and Location;
    that status reads 202 ``Deleting`` while it runs, then 200 ``Succeeded`` (recordings README fact 17:
    azure-cli-extensions test_connectedk8s.yaml #34-#36). The lab removes the resource at once."""
    with ctx.store.lock:
        ctx.store.delete(record.id)
        operation = {"id": str(uuid.uuid4()), "cluster": record.id, "location": record.body["location"],
                     "status": "Deleting", "polls": int(ctx.setting("arc_lro_polls") or 0), "started": time.time(),
                     "ended": None, "deletes": True}
        _operations(ctx.service)[operation["id"]] = operation
        if operation["polls"] <= 0:
            _finish(ctx.service, operation)
    url = operation_url(ctx.service, operation, version)
    return Response(202, b"null", {"Content-Type": "application/json", "Azure-AsyncOperation": url, "Location": url,
                                   "x-ms-retry-after-ms": "100"})


def _patch(ctx: ArmContext, record: Record, version: str) -> Response:
    body = ctx.body()
    with ctx.store.lock:
        if "tags" in body:
            record.body["tags"] = check_tags(body["tags"])
        # ConnectedClusterPatchProperties: only these four; anything else in the body is not applied.
        for key in ("distribution", "distributionVersion", "azureHybridBenefit", "gateway"):
            if key in (body.get("properties") or {}):
                record.body["properties"][key] = copy.deepcopy(body["properties"][key])
        record.updated = time.time()
        return Response.json(200, _view(record, version))


def _put(ctx: ArmContext, rg_name: str, name: str, version: str) -> Response:
    body = ctx.body()
    location = normalize_location(required_location(body))
    identity = body.get("identity")
    if not isinstance(identity, dict):
        raise errors.invalid_request_content("Required property 'identity' not found in JSON. Path ''")
    if identity.get("type") not in ("SystemAssigned", "None"):
        raise errors.invalid_request_content(f"Error converting value \"{identity.get('type')}\" to type 'ResourceIdentityType'. "
                                             "Path 'identity.type'")
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise errors.invalid_request_content("Required property 'properties' not found in JSON. Path ''")
    if not isinstance(properties.get("agentPublicKeyCertificate"), str):
        raise errors.invalid_request_content("Required property 'agentPublicKeyCertificate' not found in JSON. Path 'properties'")
    oidc_sent = flag(properties.get("oidcIssuerProfile"), "properties.oidcIssuerProfile")
    security = properties.get("securityProfile")
    if security is not None and not isinstance(security, dict):
        raise errors.invalid_request_content("Error converting value to type 'Object'. Path 'properties.securityProfile'")
    flag((security or {}).get("workloadIdentity"), "properties.securityProfile.workloadIdentity")
    self_hosted = (properties.get("oidcIssuerProfile") or {}).get("selfHostedIssuerUrl")
    if self_hosted not in (None, "") and not (isinstance(self_hosted, str) and self_hosted.startswith("https://")):
        raise ArmError(400, "InvalidParameter", "The selfHostedIssuerUrl must be an https URL.",
                       target="properties.oidcIssuerProfile.selfHostedIssuerUrl")
    tags = check_tags(body.get("tags"))
    service = ctx.service
    rid = cluster_id(rg_name, name)
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is not None:
            running = record.meta.get("operation")
            if running is not None and running["status"] in ("Accepted", "Deleting"):
                # ARM refuses a second write while a long-running one runs; the RP's exact code is not
                # published for connectedClusters [inferred, as managedClusters' OperationNotAllowed].
                raise ArmError(409, "Conflict", f"An operation is in progress on the connected cluster '{name}'; "
                                                "retry when it has finished.")
            if normalize_location(record.body["location"]) != location:
                raise errors.invalid_resource_location(record.body["name"], record.body["location"], rg_name, location)
            was_enabled = bool((record.body["properties"].get("oidcIssuerProfile") or {}).get("enabled"))
            if was_enabled and oidc_sent is False:
                raise ArmError(400, "BadRequest", OIDC_CANNOT_BE_DISABLED, target="properties.oidcIssuerProfile.enabled")
        new_properties = copy.deepcopy(properties)
        for key in READ_ONLY_PROPERTIES:
            new_properties.pop(key, None)
        if record is not None and not versions.at_least(version, OIDC_FIRST):
            # An old api-version cannot state the profiles; a replace through it keeps them.
            for key in ("oidcIssuerProfile", "securityProfile"):
                if key in record.body["properties"]:
                    new_properties[key] = copy.deepcopy(record.body["properties"][key])
        if record is not None and (record.body["properties"].get("oidcIssuerProfile") or {}).get("enabled") \
                and "oidcIssuerProfile" not in new_properties:
            new_properties["oidcIssuerProfile"] = {"enabled": True}
        principal = (record.body.get("identity") or {}).get("principalId") if record is not None else None
        new_identity = {"type": identity["type"]}
        if identity["type"] == "SystemAssigned":
            new_identity.update(principalId=principal or str(uuid.uuid4()), tenantId=ids.TENANT_ID)
        new_body = {"id": rid, "name": record.body["name"] if record is not None else name, "type": CLUSTER_TYPE,
                    "location": location, "tags": tags, "identity": new_identity, "kind": body.get("kind", ""),
                    "properties": new_properties}
        _computed(new_body, "Updating" if record is not None else "Accepted")
        # Arc's operation reads "Accepted" while it runs (recordings README fact 17: azure-cli-extensions
        # test_connectedk8s.yaml #26), not ARM's usual InProgress.
        operation: dict[str, Any] = {"id": str(uuid.uuid4()), "cluster": rid, "location": location, "status": "Accepted",
                                     "polls": int(ctx.setting("arc_lro_polls") or 0), "started": time.time(), "ended": None}
        status = 201 if record is None else 200
        if record is None:
            record = ctx.store.put(Record(rid, CLUSTER_KIND, new_body, meta={"operation": operation}))
        else:
            record.body = new_body
            record.updated = time.time()
            record.meta["operation"] = operation
        _operations(service)[operation["id"]] = operation
        if operation["polls"] <= 0:
            _finish(service, operation)
        answer = _view(record, version)
    return Response.json(status, answer, {"Azure-AsyncOperation": operation_url(service, operation, version),
                                          "x-ms-retry-after-ms": "100"})


def operation_url(service: ArmService, operation: dict[str, Any], version: str) -> str:
    """Arc's operation status is tenant-level, with the location upper-cased (recordings README fact 17:
    azure-cli-extensions test_connectedk8s.yaml #25: https://management.azure.com/providers/Microsoft.Kubernetes/
    locations/EASTUS/operationStatuses/<id>)."""
    return (f"{service.url}/providers/Microsoft.Kubernetes/locations/{operation['location'].upper()}"
            f"/operationStatuses/{operation['id']}?api-version={version}")


def _finish(service: ArmService, operation: dict[str, Any]) -> None:
    operation.update(status="Succeeded", ended=time.time())
    record = service.store.get(operation["cluster"])
    if record is not None and record.meta.get("operation") is operation:
        record.body["properties"]["provisioningState"] = "Succeeded"
        record.meta["operation"] = None


def handle_operation(ctx: ArmContext) -> Response:
    """GET .../providers/Microsoft.Kubernetes/locations/{location}/operationStatuses/{id}."""
    versions.for_type(ctx, API_VERSIONS, "locations/operationStatuses")
    path = ctx.path
    if ctx.method != "GET" or len(path.names) != 2 or path.resource_group or path.subscription:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    with ctx.store.lock:
        operation = _operations(ctx.service).get(path.names[1])
        if operation is None or operation["location"] != normalize_location(path.names[0]):
            raise ArmError(404, "NotFound", f"Operation '{path.names[1]}' was not found.")
        if operation["status"] in ("Accepted", "Deleting"):
            operation["polls"] -= 1
            if operation["polls"] < 0:
                _finish(ctx.service, operation)
        # {id, name, resourceId, status, startTime[, endTime, properties: null]} (fact 17: test_connectedk8s.yaml #26, #27)
        status: dict[str, Any] = {
            "id": f"/providers/Microsoft.Kubernetes/locations/{operation['location'].upper()}/operationStatuses/{operation['id']}",
            "name": operation["id"], "resourceId": operation["cluster"], "status": operation["status"],
            "startTime": iso(operation["started"])}
        if operation["ended"]:
            status.update(endTime=iso(operation["ended"]), properties=None)
    running = status["status"] != "Succeeded"
    headers = {"x-ms-retry-after-ms": "100"} if running else {}
    # A delete's status answers 202 while it runs (#35), a create's 200 (#26).
    return Response.json(202 if running and operation.get("deletes") else 200, status, headers)


# -- what the Kubernetes lab and Entra ask --------------------------------------------------------


def backing_cluster(service: ArmService) -> dict[str, Any] | None:
    """The connected cluster the lab's Kubernetes API stands for (setting ``k8s_cluster: arc``), else None."""
    if service is None or service.lab.setting("k8s_cluster") != "arc":
        return None
    record = service.store.get(cluster_id(ids.RESOURCE_GROUP, ARC_NAME))
    return copy.deepcopy(record.body) if record is not None else None


def workload_identity_webhook(service: ArmService | None) -> bool:
    """Whether the workload identity webhook runs: on AKS-backed labs always (the lab's historic
    behaviour), on an Arc-backed lab only while the connected cluster has workload identity enabled."""
    if service is None or service.lab.setting("k8s_cluster") != "arc":
        return True
    cluster = backing_cluster(service)
    return bool(cluster and ((cluster["properties"].get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled"))


def oidc_document(service: ArmService | None, url: str) -> Any:
    """The Arc-hosted issuer's discovery document or JWKS for ``url``; None for a URL outside Arc's
    issuer host (fetched normally). The lab has no DNS for ``*.oic.prod-arc.azure.com``: Entra asks here."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not ISSUER_HOST.match(parts.hostname or ""):
        return None
    k8s = lab_services.k8s(service.lab) if service is not None else None
    for record in service.store.find(CLUSTER_KIND) if service is not None else []:
        issuer = ((record.body["properties"].get("oidcIssuerProfile") or {}).get("issuerUrl")) or ""
        if not issuer or not url.startswith(issuer):
            continue
        rest = url[len(issuer):]
        if rest == ".well-known/openid-configuration":
            return {"issuer": issuer, "jwks_uri": issuer + "openid/v1/jwks", "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}
        room = fleetk8s.room_for(service.lab, record.id) if service is not None else None
        backing = room.k8s if room is not None else k8s
        if rest == "openid/v1/jwks" and backing is not None:
            return backing.issuer.jwks()
    raise OSError(f"404 Not Found: {url}")
