"""The ARM front door: bearer authentication, api-version, subscription / resource group routing,
the resource-group and generic-resource providers, and the cloud metadata document.

Resource providers with real behaviour live beside this file (``msi``, ``authorization``,
``containerservice``); everything else under a subscription is served by the generic store so that
seeded resources (Azure Monitor workspace, Service Bus) answer GET and serve as role scopes.
"""

from __future__ import annotations

import base64
import datetime
import time
import uuid
from typing import Any, Callable

import jwt

from .. import fleetk8s, ids
from .. import services as lab_services
from ..core import Fault, Lab, Request, Response, Service, StreamWriter
from . import (
    authorization,
    connectedclusters,
    containerservice,
    errors,
    fleet,
    monitor,
    monitor_delete,
    msi,
    rbac,
    seed,
    servicebus,
    servicebus_lro,
    servicebus_rules,
    versions,
)
from .context import ArmContext, ArmPath, check_tags, normalize_location, paginate, required_location, resource_group_id
from .errors import ArmError
from .store import ArmStore, Record

# ARM accepts tokens for either of its two resource URIs, with or without the trailing slash
# (the InvalidAuthenticationTokenAudience message lists exactly these four).
ARM_AUDIENCES = [
    "https://management.core.windows.net/", "https://management.core.windows.net",
    "https://management.azure.com/", "https://management.azure.com",
]


class ArmService(Service):
    """Azure Resource Manager for the lab's one subscription."""

    name = "arm"

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self.store = ArmStore()
        # Identities with a federated-credential write in flight (facts 1.5): lower-cased identity id.
        self.fic_writes_in_flight: set[str] = set()
        self.operations = containerservice.OperationTable()
        # Principals that exist in the directory without an ARM resource of their own
        # (the automation SP, the cluster's system identity): object id -> (type, created).
        self.directory: dict[str, tuple[str, float]] = {}
        # Resource group deletions answered 202 (their operation results answer 200: the lab deletes at once).
        self.group_deletions: set[str] = set()
        self._routes: dict[str, Callable[[ArmContext], Response]] = {
            "microsoft.managedidentity/userassignedidentities": msi.handle_identity,
            "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials": msi.handle_credential,
            "microsoft.authorization/roleassignments": authorization.handle_role_assignment,
            "microsoft.authorization/roledefinitions": authorization.handle_role_definition,
            "microsoft.authorization/permissions": rbac.handle_permissions,
            "microsoft.containerservice/managedclusters": containerservice.handle_cluster,
            "microsoft.containerservice/managedclusters/listclusterusercredential": containerservice.handle_credentials,
            "microsoft.containerservice/managedclusters/listclusteradmincredential": containerservice.handle_credentials,
            "microsoft.containerservice/locations/operations": containerservice.handle_operation,
            "microsoft.containerservice/locations/operationresults": containerservice.handle_operation_result,
            connectedclusters.CLUSTER_KIND: connectedclusters.handle_cluster,
            connectedclusters.OPERATION_KIND: connectedclusters.handle_operation,
            "microsoft.servicebus/namespaces": servicebus.handle_namespace,
            "microsoft.servicebus/namespaces/queues": servicebus.handle_queue,
            servicebus_lro.RESULT_KIND: servicebus_lro.handle_result,
            servicebus_lro.STATUS_KIND: servicebus_lro.handle_status,
            servicebus_rules.RULE_KIND: servicebus_rules.handle_rule,
            servicebus_rules.RULE_KIND + "/listkeys": servicebus_rules.handle_rule_action,
            servicebus_rules.RULE_KIND + "/regeneratekeys": servicebus_rules.handle_rule_action,
            "microsoft.servicebus/checknameavailability": servicebus_rules.handle_check_name,
            "microsoft.monitor/accounts": monitor.handle_account,
            monitor_delete.OPERATION_KIND: monitor_delete.handle_operation,
            monitor_delete.LOCATION_KIND: monitor_delete.handle_operation,
        }
        self.reset()

    # -- lab.core.Service -----------------------------------------------------------------------

    def reset(self) -> None:
        # The fleet's clusters leave ARM below; their API servers go with them (fleetk8s).
        fleetk8s.close_rooms(self.lab)
        with self.store.lock:
            self.store.clear()
            self.fic_writes_in_flight.clear()
            self.operations.clear()
            self.group_deletions.clear()
            self.directory = {ids.AUTOMATION_PRINCIPAL_ID: ("ServicePrincipal", 0.0)}
            seed.seed(self)
            connectedclusters.seed(self)
            rbac.seed(self)

    def stop(self) -> None:
        fleetk8s.close_rooms(self.lab)

    def env(self) -> dict[str, str]:
        return {
            "AZURE_CLOUD_ENVIRONMENT": self.url,
            "LAB_ARM_URL": self.url,
            "AZURE_SUBSCRIPTION_ID": ids.SUBSCRIPTION_ID,
            "LAB_RESOURCE_GROUP": ids.RESOURCE_GROUP,
            "LAB_LOCATION": ids.LOCATION,
            "LAB_AKS_NAME": ids.AKS_NAME,
            "LAB_AKS_ID": seed.aks_id(),
            "LAB_ARC_NAME": connectedclusters.ARC_NAME,
            "LAB_MONITOR_WORKSPACE_ID": seed.monitor_workspace_id(),
            "LAB_MONITOR_QUERY_ENDPOINT": seed.PROMETHEUS_QUERY_ENDPOINT,
            "LAB_SERVICEBUS_NAMESPACE_ID": seed.servicebus_namespace_id(),
        }

    def control(self, request: Request, rest: list[str]) -> Response:
        """``/services/arm/fleet``: more clusters in ARM (azure/fleet.py); ``/services/arm/connected-clusters/
        operation``: another operation running on a connected cluster (azure/arc_busy.py)."""
        if rest[:1] == ["connected-clusters"]:
            from . import arc_busy
            return arc_busy.control(self, request, rest[1:])
        return fleet.control(self, request, rest)

    def fault_response(self, fault: Fault) -> Response:
        return errors.arm_error_response(fault.status, fault.code, fault.message)

    # -- what the Entra half and the tests ask ------------------------------------------------------

    def find_identity_by_client_id(self, client_id: str) -> dict[str, Any] | None:
        """The user-assigned identity with this clientId and its federated credentials (with timestamps)."""
        return msi.find_by_client_id(self, client_id)

    def principal(self, object_id: str) -> tuple[str, float] | None:
        """(principalType, created) of a directory object, or None if the directory has no such object."""
        wanted = object_id.lower()
        with self.store.lock:
            for known, value in self.directory.items():
                if known.lower() == wanted:
                    return value
        return msi.principal(self, wanted)

    def issuer_url(self) -> str:
        """The cluster's OIDC issuer: the Kubernetes lab's when it runs, else a placeholder under this lab."""
        k8s = lab_services.k8s(self.lab)
        url: str | None = getattr(k8s, "issuer_url", None) if k8s is not None else None
        if url:
            return url
        return f"{self.url}/oidc/{ids.TENANT_ID}/{ids.AKS_ISSUER_GUID}/"

    # -- request handling ---------------------------------------------------------------------------

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        try:
            response = self._handle(request)
        except ArmError as exc:
            response = exc.response()
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        return response

    def _handle(self, request: Request) -> Response:
        path = ArmPath.parse(request.path)
        if [s.lower() for s in path.segments[:2]] == ["metadata", "endpoints"]:
            return self._metadata(request)
        caller = self._authenticate(request)
        ctx = ArmContext(self, request, path, caller)
        self._authorize(ctx)
        if not path.segments:
            raise ArmError(404, "NotFound", "The requested path does not exist.")
        if path.namespace is None:
            return self._subscriptions_and_groups(ctx)
        if path.subscription and path.subscription.lower() != ids.SUBSCRIPTION_ID:
            raise errors.subscription_not_found(path.subscription)
        route = self._routes.get(path.kind)
        if not path.subscription and not path.kind.startswith("microsoft.authorization/") \
                and path.kind != connectedclusters.OPERATION_KIND:  # Arc's operation status is tenant-level
            raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
        if route is None and path.kind.startswith("microsoft.authorization/"):
            raise ArmError(400, "InvalidResourceType", f"The resource type '{path.kind}' could not be found in the namespace 'Microsoft.Authorization'.")
        if route is None:
            return self._generic(ctx)
        if path.resource_group and not path.kind.startswith("microsoft.authorization/"):
            ctx.resource_group_record()
        return route(ctx)

    def _authenticate(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("Authorization")
        if not header:
            raise self._unauthenticated("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                                        "The authentication failed because of missing 'Authorization' header.")
        scheme, _space, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthenticated("AuthenticationFailed",
                                        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                                        "The authentication failed because of an invalid 'Authorization' header.")
        entra = lab_services.entra(self.lab)
        audiences = ARM_AUDIENCES + [self.url, self.url + "/"]
        claims, problem = entra.inspect_access_token(token.strip(), audiences) if entra is not None else (None, "invalid")
        if claims is not None:
            return claims
        # Signature already checked by Entra's half; these only word the refusal as ARM does.
        unverified = jwt.decode(token.strip(), options={"verify_signature": False}) if problem != "invalid" else {}
        if problem == "expired":
            expiry = _arm_time(float(unverified.get("exp", 0)))
            raise self._unauthenticated("ExpiredAuthenticationToken",
                                        f"The access token expiry UTC time '{expiry}' is earlier than current UTC time '{_arm_time(time.time())}'.",
                                        "The access token has expired.")
        if problem == "audience":
            allowed = ",".join(f"'{a}'" for a in ARM_AUDIENCES)
            raise self._unauthenticated("InvalidAuthenticationTokenAudience",
                                        f"The access token has been obtained for wrong audience or resource '{unverified.get('aud')}'. "
                                        f"It should exactly match with one of the allowed audiences {allowed}.",
                                        "The access token has been obtained for wrong audience or resource.")
        raise self._unauthenticated("InvalidAuthenticationToken", "The access token is invalid.",
                                    "The access token is invalid.")

    def _unauthenticated(self, code: str, message: str, description: str) -> ArmError:
        entra = lab_services.entra(self.lab)
        authority = f"{entra.url}/{ids.TENANT_ID}" if entra is not None else "https://login.microsoftonline.com/"
        # ARM's challenge: azure-core's BearerTokenCredentialPolicy reads error= and claims= from it.
        challenge = f'Bearer authorization_uri="{authority}", error="invalid_token", error_description="{description}"'
        return ArmError(401, code, message, {"WWW-Authenticate": challenge})

    def _authorize(self, ctx: ArmContext) -> None:
        """The caller's role assignments decide (lab.azure.rbac), the automation principal's included."""
        rbac.authorize(ctx)

    # -- subscriptions and resource groups --------------------------------------------------------

    def _subscriptions_and_groups(self, ctx: ArmContext) -> Response:
        segments = ctx.path.segments
        lowered = [s.lower() for s in segments]
        if lowered[0] != "subscriptions":
            raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
        versions.check(ctx.api_version, versions.SUBSCRIPTIONS if len(segments) <= 2 else None)
        if len(segments) == 1:
            return Response.json(200, {"value": [self._subscription()], "count": {"type": "Total", "value": 1}})
        if lowered[1] != ids.SUBSCRIPTION_ID:
            raise errors.subscription_not_found(segments[1])
        if len(segments) == 2:
            return Response.json(200, self._subscription())
        if lowered[2] == "operationresults" and len(segments) == 4 and ctx.method == "GET":
            return self._group_deletion_result(segments[3])
        if lowered[2] != "resourcegroups" or len(segments) > 4:
            raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
        versions.check(ctx.api_version, versions.RESOURCE_GROUPS)
        if len(segments) == 3:
            if ctx.method != "GET":
                raise errors.method_not_allowed(ctx.method, "Microsoft.Resources/resourceGroups")
            return paginate(ctx, [r.view() for r in self.store.find("microsoft.resources/resourcegroups")])
        return self._resource_group(ctx, segments[3])

    @staticmethod
    def _subscription() -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{ids.SUBSCRIPTION_ID}", "subscriptionId": ids.SUBSCRIPTION_ID,
            "tenantId": ids.TENANT_ID, "displayName": "kedaops lab", "state": "Enabled",
            "authorizationSource": "RoleBased", "managedByTenants": [],
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
        }

    def _resource_group(self, ctx: ArmContext, name: str) -> Response:
        record = self.store.get(resource_group_id(name))
        if ctx.method in ("GET", "HEAD"):
            if record is None:
                if ctx.method == "HEAD":
                    return Response(404)
                raise errors.resource_group_not_found(name)
            return Response(204) if ctx.method == "HEAD" else Response.json(200, record.view())
        if ctx.method == "PUT":
            body = ctx.body()
            location = required_location(body)
            tags = check_tags(body.get("tags"))
            with self.store.lock:
                record = self.store.get(resource_group_id(name))
                if record is not None and record.body["location"] != normalize_location(location):
                    raise ArmError(409, "InvalidResourceGroupLocation",
                                   f"Invalid resource group location '{normalize_location(location)}'. "
                                   f"The Resource group already exists in location '{record.body['location']}'.")
                if record is None:
                    record = seed.resource_group(self, name, location, tags)
                    return Response.json(201, record.view())
                record.body["tags"] = tags
                if "managedBy" in body:
                    record.body["managedBy"] = body["managedBy"]
                record.updated = time.time()
                return Response.json(200, record.view())
        if ctx.method == "DELETE":
            return self._delete_group(ctx, name, record)
        raise errors.method_not_allowed(ctx.method, "Microsoft.Resources/resourceGroups")

    def _delete_group(self, ctx: ArmContext, name: str, record: Record | None) -> Response:
        """DELETE of a resource group: long-running (202 + Location), taking every resource in it along.

        Resources - Resource Groups - Delete (https://learn.microsoft.com/rest/api/resources/resource-groups/delete):
        202 Accepted with a Location to poll (202 while deleting, 200 once gone), 404 for a missing group.
        Everything whose id lies under the group goes, child resources and role assignments included.
        """
        if record is None:
            raise errors.resource_group_not_found(name)
        token = base64.urlsafe_b64encode(f"RESOURCEGROUPDELETIONJOB-{name.upper()}".encode()).decode().rstrip("=")
        with self.store.lock:
            self.store.delete_tree(record.id)
            self.group_deletions.add(token)
        location = f"{self.url}/subscriptions/{ids.SUBSCRIPTION_ID}/operationresults/{token}?api-version={ctx.api_version}"
        # Millisecond Retry-After (azure-core honours it), so pollers do not sleep ARM's usual 15 s.
        return Response(202, b"", {"Location": location, "x-ms-retry-after-ms": "100"})

    def _group_deletion_result(self, token: str) -> Response:
        with self.store.lock:
            if token not in self.group_deletions:
                raise ArmError(404, "NotFound", f"The operation '{token}' was not found.")
        return Response(200)

    # -- scopes (role assignments live on any of them) ---------------------------------------------

    def resolve_scope(self, scope: str) -> str:
        """The canonical form of an existing scope, or the ARM error for the first missing part."""
        segments = [s for s in scope.split("/") if s]
        if not segments:
            return "/"
        if segments[0].lower() == "providers":
            return "/" + "/".join(segments)
        if segments[0].lower() != "subscriptions" or len(segments) < 2:
            raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
        if segments[1].lower() != ids.SUBSCRIPTION_ID:
            raise errors.subscription_not_found(segments[1])
        if len(segments) == 2:
            return f"/subscriptions/{ids.SUBSCRIPTION_ID}"
        if segments[2].lower() != "resourcegroups" or len(segments) < 4:
            raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
        group = self.store.get(resource_group_id(segments[3]))
        if group is None:
            raise errors.resource_group_not_found(segments[3])
        if len(segments) == 4:
            return str(group.body["id"])
        if len(segments) < 8 or segments[4].lower() != "providers" or len(segments) % 2:
            raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
        record = self.store.get("/" + "/".join(segments))
        if record is None:
            raise errors.resource_not_found("/".join(segments[5:]), segments[3])
        return record.id

    # -- generic resources --------------------------------------------------------------------------

    def _generic(self, ctx: ArmContext) -> Response:
        path = ctx.path
        versions.check(ctx.api_version, None)
        if not path.scope_is_group_or_subscription or not path.types:
            raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
        group = ctx.resource_group_record() if path.resource_group else None
        if path.is_collection:
            if ctx.method != "GET":
                raise errors.method_not_allowed(ctx.method, "/".join([path.namespace or ""] + path.types))
            if group is None and len(path.types) == 1:
                under = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
            else:
                under = "/" + "/".join(path.scope_segments + ["providers", path.namespace or ""] + _interleave(path.types[:-1], path.names))
            return paginate(ctx, [r.view() for r in self.store.find(path.kind, under)])
        if group is None:
            raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
        rid = "/".join(["", "subscriptions", ids.SUBSCRIPTION_ID, "resourceGroups", group.body["name"], "providers",
                        path.namespace or ""] + _interleave(path.types, path.names))
        display = "/".join([path.namespace or ""] + _interleave(path.types, path.names))
        if ctx.method in ("GET", "HEAD"):
            record = self.store.get(rid)
            if record is None:
                raise errors.resource_not_found(display, group.body["name"])
            return Response.json(200, record.view())
        if ctx.method == "PUT":
            return self._generic_put(ctx, rid, group)
        if ctx.method == "DELETE":
            removed = self.store.delete_tree(rid)
            return Response(200) if removed else Response(204)
        raise errors.method_not_allowed(ctx.method, "/".join([path.namespace or ""] + path.types))

    def _generic_put(self, ctx: ArmContext, rid: str, group: Record) -> Response:
        path = ctx.path
        body = ctx.body()
        if len(path.types) > 1:
            parent = rid.rsplit("/", 2)[0]
            if not self.store.exists(parent):
                raise ArmError(404, "ParentResourceNotFound",
                               f"Can not perform requested operation on nested resource. Parent resource '{path.names[-2]}' not found.")
        with self.store.lock:
            existing = self.store.get(rid)
            stored = dict(body)
            stored.update({"id": existing.id if existing else rid, "name": path.names[-1],
                           "type": "/".join([path.namespace or ""] + path.types)})
            if "tags" in body:
                stored["tags"] = check_tags(body["tags"])
            if existing is None:
                self.store.put(Record(rid, path.kind, stored))
                return Response.json(201, stored)
            existing.body = stored
            existing.updated = time.time()
            return Response.json(200, stored)

    # -- cloud metadata (how a client given only the ARM URL finds the authority) --------------------

    def _metadata(self, request: Request) -> Response:
        version = versions.check(request.arg("api-version"), versions.METADATA_ENDPOINTS)
        entra = lab_services.entra(self.lab)
        login = entra.url if entra is not None else ""
        audiences = ["https://management.core.windows.net/", "https://management.azure.com/"]
        graph = self.lab.services.get("graph")
        # The lab's Graph, so `az role assignment create --assignee <clientId>` looks principals up here.
        graph_url = graph.url + "/" if graph is not None and graph.url else "https://graph.microsoft.com/"
        if version == "2015-01-01":
            return Response.json(200, {
                "galleryEndpoint": "", "graphEndpoint": "https://graph.windows.net/", "portalEndpoint": "",
                "authentication": {"loginEndpoint": login + "/", "audiences": audiences},
            })
        cloud = {
            "name": "KedaopsLab",
            "portal": "",
            "resourceManager": self.url + "/",
            "authentication": {"loginEndpoint": login, "audiences": audiences, "tenant": "common", "identityProvider": "AAD"},
            "graph": "https://graph.windows.net/",
            "graphAudience": "https://graph.windows.net/",
            "microsoftGraphResourceId": graph_url,
            "media": "", "batch": "", "sqlManagement": "", "vmImageAliasDoc": "", "activeDirectoryDataLake": "",
            "appInsightsResourceId": "", "appInsightsTelemetryChannelResourceId": "", "attestationResourceId": "",
            "synapseAnalyticsResourceId": "", "logAnalyticsResourceId": "", "ossrDbmsResourceId": "",
            "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net", "acrLoginServer": "azurecr.io",
                         "sqlServerHostname": "database.windows.net"},
        }
        # 2022-09-01 answers one cloud object (go-azure-sdk's metaDataResponse20220901); older versions a list.
        return Response.json(200, cloud if version == "2022-09-01" else [cloud])


def _interleave(types: list[str], names: list[str]) -> list[str]:
    parts: list[str] = []
    for index, type_name in enumerate(types):
        parts.append(type_name)
        if index < len(names):
            parts.append(names[index])
    return parts


def _arm_time(timestamp: float) -> str:
    """ARM prints instants the .NET way: 11/22/2026 3:04:05 PM."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I').lstrip('0')}:{moment.strftime('%M:%S %p')}"
