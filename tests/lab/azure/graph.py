"""Microsoft Graph v1.0, the directory look-ups the Azure CLI makes (``LAB_GRAPH_URL``).

``az role assignment create --assignee <clientId>`` (as the Azure Monitor article writes it) finds
the principal with ``GET /v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '<id>')``,
falls back to ``POST /v1.0/directoryObjects/getByIds`` for an object id, and reads ``@odata.type``
for the principal type; ``az role assignment list -o table`` resolves principal names with
getByIds. The directory here is the lab's: the automation service principal, and one service
principal per user-assigned identity (``servicePrincipalType: ManagedIdentity``, appId = clientId,
id = principalId, as Entra creates them). Shapes: https://learn.microsoft.com/graph/api/resources/serviceprincipal
and https://learn.microsoft.com/graph/api/directoryobject-getbyids. The ARM metadata endpoint
names this URL as ``microsoftGraphResourceId``, so a CLI registered with only the ARM URL uses it.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from .. import ids
from .. import services as lab_services
from ..core import Request, Response, Service, StreamWriter

PUBLIC_GRAPH = "https://graph.microsoft.com"
SP_TYPE = "#microsoft.graph.servicePrincipal"
_ANY_SPN = re.compile(r"^servicePrincipalNames/any\(c:c eq '([^']*)'\)$", re.I)
_EQ = re.compile(r"^(\w+) eq '([^']*)'$", re.I)


def _error(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": {
        "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}}})


class GraphService(Service):
    name = "graph"

    def env(self) -> dict[str, str]:
        if not self.url:
            return {}
        return {
            "LAB_GRAPH_URL": self.url + "/",
            # The Azure CLI's settings (az config, read from AZURE_<SECTION>_<NAME>) that keep it on
            # 127.0.0.1: MSAL's instance discovery asks login.microsoftonline.com, telemetry uploads
            # to a Microsoft host. `az cloud register -n Lab --endpoint-resource-manager $LAB_ARM_URL`
            # reads every other endpoint (Entra, this Graph) from the lab's ARM metadata.
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
        }

    # -- the directory ------------------------------------------------------------------------------

    def service_principals(self) -> list[dict[str, Any]]:
        principals = [self._sp(ids.AUTOMATION_PRINCIPAL_ID, ids.AUTOMATION_CLIENT_ID, "kedaops-automation", "Application")]
        arm = lab_services.arm(self.lab)
        if arm is not None:
            from .msi import IDENTITY_KIND  # pylint: disable=import-outside-toplevel
            for record in arm.store.find(IDENTITY_KIND):
                props = record.body["properties"]
                principals.append(self._sp(props["principalId"], props["clientId"], record.body["name"],
                                           "ManagedIdentity", record.id))
        return principals

    @staticmethod
    def _sp(object_id: str, app_id: str, name: str, sp_type: str, resource_id: str | None = None) -> dict[str, Any]:
        names = [app_id] + ([f"https://identity.azure.net/{resource_id.rsplit('/', 1)[-1]}"] if resource_id else [])
        return {
            "@odata.type": SP_TYPE, "id": object_id, "appId": app_id, "displayName": name,
            "accountEnabled": True, "appOwnerOrganizationId": ids.TENANT_ID, "servicePrincipalType": sp_type,
            "servicePrincipalNames": names,
            "alternativeNames": ["isExplicit=True", resource_id] if resource_id else [],
            "tags": [], "keyCredentials": [], "passwordCredentials": [],
        }

    # -- requests ------------------------------------------------------------------------------------

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        if not self._authenticated(request):
            return _error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
        path = request.path.rstrip("/")
        if request.method == "GET" and path == "/v1.0/servicePrincipals":
            return self._list(request, self.service_principals(), "servicePrincipals")
        if request.method == "GET" and path in ("/v1.0/users", "/v1.0/groups"):
            return self._list(request, [], path.rsplit("/", 1)[-1])
        match = re.fullmatch(r"/v1\.0/(servicePrincipals|directoryObjects)/([0-9a-fA-F-]{36})", path)
        if request.method == "GET" and match:
            found = [sp for sp in self.service_principals() if sp["id"].lower() == match.group(2).lower()]
            if not found:
                return _error(404, "Request_ResourceNotFound",
                              f"Resource '{match.group(2)}' does not exist or one of its queried reference-property "
                              "objects are not present.")
            return Response.json(200, dict(found[0], **{"@odata.context": f"{self.url}/v1.0/$metadata#directoryObjects/$entity"}))
        if request.method == "POST" and path == "/v1.0/directoryObjects/getByIds":
            body = request.json() or {}
            wanted = {str(i).lower() for i in body.get("ids") or []}
            types = {str(t).lower() for t in body.get("types") or []}
            found = [sp for sp in self.service_principals() if sp["id"].lower() in wanted
                     and (not types or "serviceprincipal" in types)]
            return Response.json(200, {"@odata.context": f"{self.url}/v1.0/$metadata#directoryObjects", "value": found})
        return _error(400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.")

    def _authenticated(self, request: Request) -> bool:
        scheme, _space, token = (request.headers.get("Authorization") or "").partition(" ")
        entra = lab_services.entra(self.lab)
        if scheme.lower() != "bearer" or entra is None:
            return False
        audiences = [self.url, self.url + "/", PUBLIC_GRAPH, PUBLIC_GRAPH + "/", "00000003-0000-0000-c000-000000000000"]
        claims, _problem = entra.inspect_access_token(token.strip(), audiences)
        return claims is not None

    def _list(self, request: Request, items: list[dict[str, Any]], collection: str) -> Response:
        query = (request.arg("$filter") or "").strip()
        if query:
            spn, equals = _ANY_SPN.match(query), _EQ.match(query)
            if spn:
                items = [i for i in items if spn.group(1).lower() in (n.lower() for n in i.get("servicePrincipalNames", []))]
            elif equals:
                field, value = equals.groups()
                items = [i for i in items if str(i.get(field, "")).lower() == value.lower()]
            else:
                return _error(400, "Request_UnsupportedQuery", f"Unsupported query: {json.dumps(query)}")
        return Response.json(200, {"@odata.context": f"{self.url}/v1.0/$metadata#{collection}", "value": items})
