"""Microsoft.ManagedIdentity: user-assigned identities and their federated identity credentials.

Written from specification/msi/.../ManagedIdentity (FederatedIdentityCredential.tsp, stable/2024-11-30
swagger and examples) and the Entra "federated identity credential considerations" page, whose error
table gives the status and message of every validation below (facts 1.4, 1.5).
"""

from __future__ import annotations

import re
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from .. import ids
from ..core import Response
from . import errors, versions
from .context import (
    ArmContext,
    check_location,
    check_tags,
    list_or_target,
    normalize_location,
    paginate,
    required_location,
)
from .errors import ArmError
from .store import Record, key_of

if TYPE_CHECKING:
    from .arm import ArmService

IDENTITY_KIND = "microsoft.managedidentity/userassignedidentities"
CREDENTIAL_KIND = IDENTITY_KIND + "/federatedidentitycredentials"
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
CREDENTIAL_TYPE = IDENTITY_TYPE + "/federatedIdentityCredentials"

# Path parameter pattern of federatedIdentityCredentialResourceName (stable swagger).
CREDENTIAL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$")
MAX_CREDENTIALS_PER_IDENTITY = 20  # Entra considerations: "A maximum of 20 federated identity credentials"
MAX_PROPERTY_LENGTH = 600  # issuer, subject and audience are each limited to 600 characters
ISOLATION_SCOPES = ("None", "Regional")
ISOLATION_SCOPE_SINCE = "2024-11-30"

EMPTY_PROPERTIES = "Federated Identity Credential from HTTP body has empty properties"
ONE_AUDIENCE = "Federated identity credentials must have exactly one audience."
PARENT_MISSING = "The parent user-assigned identity doesn't exist."
DUPLICATE_PAIR = "Issuer and subject combination already exists for this Managed Identity."
CONCURRENT_CODE = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"


IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


def identity_id(resource_group: str, name: str) -> str:
    # The ManagedIdentity provider answers with lower-case "resourcegroups" (facts 1.2).
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{resource_group}/providers/{IDENTITY_TYPE}/{name}"


def create_identity(service: ArmService, resource_group: str, name: str, location: str,
                    tags: dict[str, str] | None = None, created: float | None = None,
                    client_id: str | None = None, principal_id: str | None = None,
                    isolation_scope: str = "None") -> Record:
    body: dict[str, Any] = {
        "id": identity_id(resource_group, name),
        "name": name,
        "type": IDENTITY_TYPE,
        "location": normalize_location(location),
        "tags": dict(tags or {}),
        "properties": {
            "tenantId": ids.TENANT_ID,
            "principalId": principal_id or str(uuid.uuid4()),
            "clientId": client_id or str(uuid.uuid4()),
            "isolationScope": isolation_scope,
        },
    }
    record = Record(body["id"], IDENTITY_KIND, body)
    if created is not None:
        record.created = record.updated = created
    return service.store.put(record)


def render_identity(record: Record, api_version: str | None) -> dict[str, Any]:
    body = record.view()
    if not api_version or not versions.at_least(api_version, ISOLATION_SCOPE_SINCE):
        body["properties"].pop("isolationScope", None)
    return body


# -- userAssignedIdentities -------------------------------------------------------------------------


def handle_identity(ctx: ArmContext) -> Response:
    version = versions.for_type(ctx, versions.USER_ASSIGNED_IDENTITIES, "userAssignedIdentities")
    target = list_or_target(ctx, IDENTITY_TYPE, IDENTITY_KIND, lambda r: render_identity(r, version), default_top=100)
    if isinstance(target, Response):
        return target
    path = ctx.path
    group = target
    rg_name = group.body["name"]
    name = path.names[0]
    rid = identity_id(rg_name, name)
    if ctx.method == "GET":
        record = ctx.store.get(rid)
        if record is None:
            raise errors.resource_not_found(f"{IDENTITY_TYPE}/{name}", rg_name)
        return Response.json(200, render_identity(record, version))
    if ctx.method == "PUT":
        return _put_identity(ctx, rg_name, name, version)
    if ctx.method == "PATCH":
        return _patch_identity(ctx, rg_name, name, version)
    if ctx.method == "DELETE":
        # Deleting the identity removes its federated credentials with it (they are child resources);
        # role assignments naming its principal stay behind, as in Azure ("Identity not found").
        removed = ctx.store.delete_tree(rid)
        return Response(200) if removed else Response(204)
    raise errors.method_not_allowed(ctx.method, IDENTITY_TYPE)


def _isolation_scope(properties: Any) -> str | None:
    if properties is None:
        return None
    if not isinstance(properties, dict):
        raise errors.invalid_request_content("Error converting value to type 'UserAssignedIdentityProperties'. Path 'properties'")
    scope = properties.get("isolationScope")
    if scope is None:
        return None
    if scope not in ISOLATION_SCOPES:
        raise ArmError(400, "BadRequest", f"The value '{scope}' is not valid for isolationScope. Allowed values: None, Regional.")
    return str(scope)


def _put_identity(ctx: ArmContext, rg_name: str, name: str, version: str) -> Response:
    body = ctx.body()
    location = required_location(body)
    tags = check_tags(body.get("tags"))
    scope = _isolation_scope(body.get("properties"))
    # Microsoft.ManagedIdentity/userAssignedIdentities: 3-128 characters, alphanumerics, '-' and '_', starting
    # with an alphanumeric (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
    if not IDENTITY_NAME.match(name):
        raise ArmError(400, "InvalidResourceName",
                       f"Resource name {name} is invalid. The name can be between 3 and 128 characters long and must "
                       "start with a letter or number. It can contain letters, numbers, hyphens and underscores.")
    check_location(location, "Microsoft.ManagedIdentity/userAssignedIdentities")
    rid = identity_id(rg_name, name)
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is None:
            record = create_identity(ctx.service, rg_name, name, location, tags, isolation_scope=scope or "None")
            # A create answers 201 with Location = the new resource's id (a relative path), an update 200
            # without it (recordings: azure-cli test_federated_identity_credential.yaml #1; ASO
            # Test_ManagedIdentity_UserAssignedIdentity_20230131_CRUD.yaml #2 vs #3).
            return Response.json(201, render_identity(record, version), {"Location": record.body["id"]})
        if record.body["location"] != normalize_location(location):
            raise errors.invalid_resource_location(record.body["name"], record.body["location"], rg_name, normalize_location(location))
        # PUT replaces the writable state: tags as sent (none sent = none kept).
        record.body["tags"] = tags
        if scope is not None:
            record.body["properties"]["isolationScope"] = scope
        record.updated = time.time()
        return Response.json(200, render_identity(record, version))


def _patch_identity(ctx: ArmContext, rg_name: str, name: str, version: str) -> Response:
    """IdentityUpdate: only the fields sent change (tags as a whole when sent); location cannot move."""
    body = ctx.body()
    rid = identity_id(rg_name, name)
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is None:
            raise errors.resource_not_found(f"{IDENTITY_TYPE}/{name}", rg_name)
        location = body.get("location")
        if location is not None:
            if not isinstance(location, str):
                raise errors.invalid_request_content("Error converting value to type 'String'. Path 'location'")
            if normalize_location(location) != record.body["location"]:
                raise errors.invalid_resource_location(record.body["name"], record.body["location"], rg_name,
                                                       normalize_location(location))
        if "tags" in body:
            record.body["tags"] = check_tags(body["tags"])
        scope = _isolation_scope(body.get("properties"))
        if scope is not None:
            record.body["properties"]["isolationScope"] = scope
        record.updated = time.time()
        return Response.json(200, render_identity(record, version))


# -- federatedIdentityCredentials -------------------------------------------------------------------


def handle_credential(ctx: ArmContext) -> Response:
    versions.for_type(ctx, versions.FEDERATED_IDENTITY_CREDENTIALS, "userAssignedIdentities/federatedIdentityCredentials")
    path = ctx.path
    if not path.resource_group or len(path.scope_segments) != 4:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    rg_name = ctx.resource_group_record().body["name"]
    parent_id = identity_id(rg_name, path.names[0])
    if path.is_collection:
        if ctx.method != "GET":
            raise errors.method_not_allowed(ctx.method, CREDENTIAL_TYPE)
        _parent(ctx, parent_id)
        items = [r.view() for r in ctx.store.find(CREDENTIAL_KIND, parent_id)]
        return paginate(ctx, items)
    name = path.names[1]
    if ctx.method == "GET":
        parent = _parent(ctx, parent_id)
        record = ctx.store.get(f"{parent.id}/federatedIdentityCredentials/{name}")
        if record is None:
            # The MSI provider answers a missing credential itself: 404 NotFound naming the lower-cased path
            # (recordings README fact 2: azure-service-operator Test_ManagedIdentity_UserAssignedIdentity_20230131_CRUD.yaml #11).
            missing = f"{parent.id}/federatedIdentityCredentials/{name}"
            raise ArmError(404, "NotFound", f"Resource '{missing}' was not found.")
        return Response.json(200, record.view())
    if ctx.method == "PUT":
        return _put_credential(ctx, parent_id, name)
    if ctx.method == "DELETE":
        parent = _parent(ctx, parent_id)
        with WriteSlot(ctx, parent):
            removed = ctx.store.delete(f"{parent.id}/federatedIdentityCredentials/{name}")
        return Response(200) if removed else Response(204)
    raise errors.method_not_allowed(ctx.method, CREDENTIAL_TYPE)


def _parent(ctx: ArmContext, parent_id: str) -> Record:
    parent = ctx.store.get(parent_id)
    if parent is None:
        raise ArmError(404, "ParentResourceNotFound", PARENT_MISSING)
    return parent


def _credential_properties(body: dict[str, Any]) -> tuple[str, str, list[str]]:
    properties = body.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise ArmError(400, "BadRequest", EMPTY_PROPERTIES)
    issuer, subject, audiences = properties.get("issuer"), properties.get("subject"), properties.get("audiences")
    # All three are required by the stable swagger; the service words every omission the same way.
    if issuer in (None, "") or subject in (None, "") or audiences is None:
        raise ArmError(400, "BadRequest", EMPTY_PROPERTIES)
    for field, value in (("issuer", issuer), ("subject", subject)):
        if not isinstance(value, str):
            raise errors.invalid_request_content(f"Error converting value to type 'String'. Path 'properties.{field}'")
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise errors.invalid_request_content("Error converting value to type 'List`1[String]'. Path 'properties.audiences'")
    if len(audiences) != 1:
        raise ArmError(400, "BadRequest", ONE_AUDIENCE)
    parsed = urllib.parse.urlsplit(issuer.strip())
    if parsed.scheme != "https" or not parsed.netloc:
        raise ArmError(400, "BadRequest", f"Federated Identity Credential issuer '{issuer}' is invalid. The issuer must be an https URL.")
    for field, value in (("issuer", issuer), ("subject", subject), ("audience", audiences[0])):
        if len(value) > MAX_PROPERTY_LENGTH:
            raise ArmError(400, "BadRequest",
                           f"Federated Identity Credential {field} is too long. The maximum length is {MAX_PROPERTY_LENGTH} characters.")
    return issuer, subject, list(audiences)


class WriteSlot:
    """Holds the identity for ``fic_write_seconds``; an overlapping write on it gets the documented 409."""

    def __init__(self, ctx: ArmContext, parent: Record):
        self.ctx = ctx
        self.key = key_of(parent.id)
        self.parent = parent

    def __enter__(self) -> WriteSlot:
        service = self.ctx.service
        with self.ctx.store.lock:
            if self.key in service.fic_writes_in_flight:
                raise ArmError(409, CONCURRENT_CODE,
                               f"Too many Federated Identity Credentials are written concurrently for the managed identity "
                               f"'{self.parent.id.lower()}'. Concurrent Federated Identity Credentials writes under the same "
                               "managed identity are not supported.")
            service.fic_writes_in_flight.add(self.key)
        hold = float(self.ctx.setting("fic_write_seconds") or 0)
        if hold > 0:
            time.sleep(hold)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with self.ctx.store.lock:
            self.ctx.service.fic_writes_in_flight.discard(self.key)


def _put_credential(ctx: ArmContext, parent_id: str, name: str) -> Response:
    if not CREDENTIAL_NAME.match(name):
        raise ArmError(400, "BadRequest", f"Federated Identity Credential name '{name}' is invalid.")
    issuer, subject, audiences = _credential_properties(ctx.body())
    parent = _parent(ctx, parent_id)
    with WriteSlot(ctx, parent):
        with ctx.store.lock:
            siblings = ctx.store.find(CREDENTIAL_KIND, parent.id)
            existing = next((r for r in siblings if r.body["name"].lower() == name.lower()), None)
            for other in siblings:
                props = other.body["properties"]
                if other is not existing and props["issuer"] == issuer and props["subject"] == subject:
                    raise ArmError(400, "BadRequest", DUPLICATE_PAIR)
            if existing is None and len(siblings) >= MAX_CREDENTIALS_PER_IDENTITY:
                # The service's text for this limit is not documented; the limit itself is (facts 1.4).
                raise ArmError(400, "BadRequest",
                               f"Too many Federated Identity Credentials for the managed identity '{parent.id.lower()}'. "
                               f"A managed identity supports at most {MAX_CREDENTIALS_PER_IDENTITY} Federated Identity Credentials.")
            properties = {"issuer": issuer, "subject": subject, "audiences": audiences}
            if existing is not None:
                # Full replace (ArmResourceCreateOrReplaceSync); the name keeps the case it was created with.
                if existing.body["properties"] != properties:
                    existing.body["properties"] = properties
                    existing.updated = time.time()
                return Response.json(200, existing.view())
            body: dict[str, Any] = {
                "id": f"{parent.id}/federatedIdentityCredentials/{name}",
                "name": name,
                "type": CREDENTIAL_TYPE,
                "properties": properties,
            }
            record = ctx.store.put(Record(body["id"], CREDENTIAL_KIND, body))
            # 201 + Location (the credential's id) on create, 200 without it on update (recordings README
            # fact 1: azure-cli test_federated_identity_credential.yaml #2, #3 vs #6).
            return Response.json(201, record.view(), {"Location": record.body["id"]})


# -- what the Entra half reads ------------------------------------------------------------------------


def find_by_client_id(service: ArmService, client_id: str) -> dict[str, Any] | None:
    wanted = client_id.strip().lower()
    with service.store.lock:
        identity = next((r for r in service.store.find(IDENTITY_KIND)
                         if r.body["properties"]["clientId"].lower() == wanted), None)
        if identity is None:
            return None
        credentials = [{
            "name": r.body["name"],
            "issuer": r.body["properties"]["issuer"],
            "subject": r.body["properties"]["subject"],
            "audiences": list(r.body["properties"]["audiences"]),
            "created": r.created,
            "updated": r.updated,
        } for r in service.store.find(CREDENTIAL_KIND, identity.id)]
        return {
            "id": identity.id,
            "name": identity.body["name"],
            "clientId": identity.body["properties"]["clientId"],
            "principalId": identity.body["properties"]["principalId"],
            "tenantId": identity.body["properties"]["tenantId"],
            "created": identity.created,
            "identity": identity.view(),
            "credentials": credentials,
        }


def principal(service: ArmService, object_id: str) -> tuple[str, float] | None:
    with service.store.lock:
        for record in service.store.find(IDENTITY_KIND):
            if record.body["properties"]["principalId"].lower() == object_id:
                return ("ServicePrincipal", record.created)
    return None
