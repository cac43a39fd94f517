"""Microsoft.Authorization: built-in role definitions and role assignments at any scope.

Written from specification/authorization/.../stable/2022-04-01 (authorization-RoleAssignmentsCalls.json,
authorization-RoleDefinitionsCalls.json and their examples). Error codes and texts are the ones the
service returns as quoted in public issue threads (see the module's tests for each).
"""

from __future__ import annotations

import datetime
import re
import time
from typing import TYPE_CHECKING, Any

from .. import ids
from ..core import Response
from . import errors, versions
from .context import ArmContext
from .errors import ArmError
from .store import Record, key_of

if TYPE_CHECKING:
    from .arm import ArmService

ASSIGNMENT_KIND = "microsoft.authorization/roleassignments"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_SERVICE_BUS_READS = ["Microsoft.ServiceBus/*/queues/read", "Microsoft.ServiceBus/*/topics/read",
                      "Microsoft.ServiceBus/*/topics/subscriptions/read"]

# The built-in roles the collection's scenarios use, with their real GUIDs, names and permissions
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES: list[dict[str, Any]] = [
    {"name": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "roleName": "Owner",
     "description": "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
     "actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []},
    {"name": "b24988ac-6180-42a0-ab88-20f7382dd24c", "roleName": "Contributor",
     "description": "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, "
                    "manage assignments in Azure Blueprints, or share image galleries.",
     "actions": ["*"],
     "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
                    "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
                    "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
                    "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
                    "Microsoft.Subscription/enable/action"],
     "dataActions": [], "notDataActions": []},
    {"name": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "roleName": "Reader",
     "description": "View all resources, but does not allow you to make any changes.",
     "actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []},
    {"name": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "roleName": "User Access Administrator",
     "description": "Lets you manage user access to Azure resources.",
     "actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": [], "dataActions": [],
     "notDataActions": []},
    {"name": "f58310d9-a9f6-439a-9e8d-f62e7b41a168", "roleName": "Role Based Access Control Administrator",
     "description": "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you "
                    "to manage access using other ways, such as Azure Policy.",
     "actions": ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
                 "*/read", "Microsoft.Support/*"], "notActions": [], "dataActions": [], "notDataActions": []},
    {"name": "b0d8363b-8ddd-447d-831f-62ca05bff136", "roleName": "Monitoring Data Reader",
     "description": "Provides access to read data in Azure Monitor Workspaces.",
     "actions": ["Microsoft.Monitor/accounts/data/metrics/read"], "notActions": [],
     "dataActions": ["Microsoft.Monitor/accounts/data/metrics/read"], "notDataActions": []},
    {"name": "090c5cfd-751d-490a-894a-3ce6f1109419", "roleName": "Azure Service Bus Data Owner",
     "description": "Allows for full access to Azure Service Bus resources.",
     "actions": ["Microsoft.ServiceBus/*"], "notActions": [], "dataActions": ["Microsoft.ServiceBus/*"], "notDataActions": []},
    {"name": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", "roleName": "Azure Service Bus Data Receiver",
     "description": "Allows for receive access to Azure Service Bus resources.",
     "actions": list(_SERVICE_BUS_READS), "notActions": [], "dataActions": ["Microsoft.ServiceBus/*/receive/action"],
     "notDataActions": []},
    {"name": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", "roleName": "Azure Service Bus Data Sender",
     "description": "Allows for send access to Azure Service Bus resources.",
     "actions": list(_SERVICE_BUS_READS), "notActions": [], "dataActions": ["Microsoft.ServiceBus/*/send/action"],
     "notDataActions": []},
]
_BY_GUID = {role["name"]: role for role in BUILTIN_ROLES}


def builtin_role(guid: str) -> dict[str, Any] | None:
    """The built-in role definition with this GUID (the data planes read its dataActions)."""
    return _BY_GUID.get(guid.lower())


def iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def definition_id(guid: str, scope: str) -> str:
    """Built-in definitions read at or below a subscription carry that subscription in their id."""
    if scope.lower().startswith("/subscriptions/"):
        return f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/{DEFINITION_TYPE}/{guid}"
    return f"/providers/{DEFINITION_TYPE}/{guid}"


def render_definition(role: dict[str, Any], scope: str) -> dict[str, Any]:
    return {
        "id": definition_id(role["name"], scope),
        "name": role["name"],
        "type": DEFINITION_TYPE,
        "properties": {
            "roleName": role["roleName"],
            "type": "BuiltInRole",
            "description": role["description"],
            "assignableScopes": ["/"],
            "permissions": [{k: list(role[k]) for k in ("actions", "notActions", "dataActions", "notDataActions")}],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2025-06-10T15:27:43.1473532Z",
            "createdBy": None,
            "updatedBy": None,
        },
    }


def _filter_clauses(expression: str | None) -> list[str]:
    if not expression or not expression.strip():
        return []
    return [c.strip() for c in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE) if c.strip()]


def _unsupported_filter(expression: str) -> ArmError:
    return ArmError(400, "BadRequest", f"The filter '{expression}' is not supported.")


# -- role definitions ------------------------------------------------------------------------------


def handle_role_definition(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, versions.ROLE_DEFINITIONS)
    scope = ctx.service.resolve_scope(ctx.path.scope)
    if ctx.method != "GET":
        # Custom roles are not modelled; the lab's directory has only built-in roles.
        raise errors.method_not_allowed(ctx.method, DEFINITION_TYPE)
    if ctx.path.is_collection:
        roles = list(BUILTIN_ROLES)
        expression = ctx.arg("$filter")
        for clause in _filter_clauses(expression):
            match = re.match(r"^(roleName|type)\s+eq\s+'(.*)'$", clause, flags=re.IGNORECASE)
            if not match:
                raise _unsupported_filter(expression or "")
            field, value = match.group(1).lower(), match.group(2)
            if field == "rolename":
                roles = [r for r in roles if r["roleName"].lower() == value.lower()]
            elif value.lower() != "builtinrole":
                roles = []
        return Response.json(200, {"value": [render_definition(r, scope) for r in roles]})
    guid = ctx.path.names[0]
    role = _BY_GUID.get(guid.lower())
    if role is None:
        raise ArmError(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist.")
    return Response.json(200, render_definition(role, scope))


def _role_guid(role_definition_id: Any) -> str:
    if not isinstance(role_definition_id, str):
        raise errors.invalid_request_content("Error converting value to type 'String'. Path 'properties.roleDefinitionId'")
    marker = f"/providers/{DEFINITION_TYPE}/".lower()
    lowered = role_definition_id.lower()
    if marker not in lowered or not GUID.match(lowered.rsplit("/", 1)[-1]):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{role_definition_id}' is not valid.")
    prefix = lowered[:lowered.index(marker)]
    if prefix and not prefix.startswith(f"/subscriptions/{ids.SUBSCRIPTION_ID}"):
        raise ArmError(400, "RoleDefinitionDoesNotExist",
                       f"The specified role definition with ID '{lowered.rsplit('/', 1)[-1]}' does not exist.")
    guid = lowered.rsplit("/", 1)[-1]
    if guid not in _BY_GUID:
        raise ArmError(400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist.")
    return guid


# -- role assignments ------------------------------------------------------------------------------


def _at_or_above(upper: str, lower: str) -> bool:
    a, b = key_of(upper), key_of(lower)
    return a == "/" or a == b or b.startswith(a + "/")


def handle_role_assignment(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, versions.ROLE_ASSIGNMENTS)
    path = ctx.path
    scope = ctx.service.resolve_scope(path.scope)
    if path.is_collection:
        if ctx.method != "GET":
            raise errors.method_not_allowed(ctx.method, ASSIGNMENT_TYPE)
        return Response.json(200, {"value": _list(ctx, scope)})
    name = path.names[0]
    if not GUID.match(name):
        raise ArmError(400, "InvalidRoleAssignmentId",
                       f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.")
    rid = f"{scope.rstrip('/')}/providers/{ASSIGNMENT_TYPE}/{name}"
    if ctx.method == "GET":
        record = ctx.store.get(rid)
        if record is None:
            raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return Response.json(200, record.view())
    if ctx.method == "DELETE":
        record = ctx.store.delete(rid)
        return Response.json(200, record.view()) if record else Response(204)
    if ctx.method == "PUT":
        return _put_assignment(ctx, scope, name, rid)
    raise errors.method_not_allowed(ctx.method, ASSIGNMENT_TYPE)


def _list(ctx: ArmContext, scope: str) -> list[dict[str, Any]]:
    """Without a filter: assignments at, above and below the scope. ``atScope()``: at or above only.
    ``principalId eq '{id}'`` / ``assignedTo('{id}')``: that principal's, at, above and below
    (the $filter parameter description in the 2022-04-01 swagger). Group membership is not modelled."""
    expression = ctx.arg("$filter")
    at_scope_only = False
    principal: str | None = None
    for clause in _filter_clauses(expression):
        if re.match(r"^atScope\(\)$", clause, flags=re.IGNORECASE):
            at_scope_only = True
            continue
        match = (re.match(r"^principalId\s+eq\s+'([^']*)'$", clause, flags=re.IGNORECASE)
                 or re.match(r"^assignedTo\('([^']*)'\)$", clause, flags=re.IGNORECASE))
        if not match:
            raise _unsupported_filter(expression or "")
        principal = match.group(1).lower()
    found = []
    for record in ctx.store.find(ASSIGNMENT_KIND):
        assigned_at = record.meta["scope"]
        related = _at_or_above(assigned_at, scope) or (not at_scope_only and _at_or_above(scope, assigned_at))
        if related and (principal is None or record.body["properties"]["principalId"].lower() == principal):
            found.append(record.view())
    return found


def _principal_not_found(principal_id: str) -> ArmError:
    return ArmError(400, "PrincipalNotFound",
                    f"Principal {principal_id.replace('-', '')} does not exist in the directory {ids.TENANT_ID}. "
                    "Check that you have the correct principal ID. If you are creating this principal and then immediately "
                    "assigning a role, this error might be related to a replication delay. In this case, set the role "
                    "assignment principalType property to a value, such as ServicePrincipal, User, or Group.  "
                    "See https://aka.ms/docs-principaltype")


def _put_assignment(ctx: ArmContext, scope: str, name: str, rid: str) -> Response:
    body = ctx.body()
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise errors.invalid_request_content("Required property 'properties' not found in JSON. Path ''")
    for required in ("roleDefinitionId", "principalId"):
        if properties.get(required) in (None, ""):
            raise errors.invalid_request_content(f"Required property '{required}' not found in JSON. Path 'properties'")
    principal_id = properties["principalId"]
    if not isinstance(principal_id, str) or not GUID.match(principal_id):
        raise ArmError(400, "InvalidPrincipalId", f"The Principal ID '{principal_id}' is not valid. Principal ID must be a GUID.")
    principal_type = properties.get("principalType")
    if principal_type is not None and not isinstance(principal_type, str):
        raise errors.invalid_request_content("Error converting value to type 'PrincipalType'. Path 'properties.principalType'")
    for optional in ("description", "condition", "conditionVersion", "delegatedManagedIdentityResourceId"):
        if properties.get(optional) is not None and not isinstance(properties[optional], str):
            raise errors.invalid_request_content(f"Error converting value to type 'String'. Path 'properties.{optional}'")
    guid = _role_guid(properties["roleDefinitionId"])
    with ctx.store.lock:
        same_name = next((r for r in ctx.store.find(ASSIGNMENT_KIND) if r.body["name"].lower() == name.lower()), None)
        if same_name is not None:
            current = same_name.body["properties"]
            if (key_of(same_name.meta["scope"]) != key_of(scope) or current["principalId"].lower() != principal_id.lower()
                    or same_name.meta["role"] != guid):
                raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                               "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
            for optional in ("description", "condition", "conditionVersion"):
                current[optional] = properties.get(optional)
            current["updatedOn"] = iso(time.time())
            current["updatedBy"] = ctx.caller.get("oid")
            same_name.updated = time.time()
            return Response.json(200, same_name.view())
        known = ctx.service.principal(principal_id)
        replication = float(ctx.setting("principal_replication_seconds") or 0)
        # A principal created moments ago is not yet visible to the RBAC service (facts 2.2, 7).
        if known is None or time.time() - known[1] < replication:
            raise _principal_not_found(principal_id)
        actual_type = known[0]
        if principal_type is not None and principal_type != actual_type:
            # Verbatim, including the service's misspelling of PrincipalType.
            raise ArmError(400, "UnmatchedPrincipalType",
                           f"The PrincipalId '{principal_id.replace('-', '')}' has type '{actual_type}' , "
                           f"which is different from specified PrinciaplType '{principal_type}'.")
        for record in ctx.store.find(ASSIGNMENT_KIND):
            if (key_of(record.meta["scope"]) == key_of(scope) and record.meta["role"] == guid
                    and record.body["properties"]["principalId"].lower() == principal_id.lower()):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        now = time.time()
        body_out = {
            "id": rid,
            "name": name,
            "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": definition_id(guid, "/subscriptions/"),
                "principalId": principal_id,
                "principalType": principal_type or actual_type,
                "scope": scope,
                "condition": properties.get("condition"),
                "conditionVersion": properties.get("conditionVersion"),
                "createdOn": iso(now),
                "updatedOn": iso(now),
                "createdBy": ctx.caller.get("oid"),
                "updatedBy": ctx.caller.get("oid"),
                "delegatedManagedIdentityResourceId": properties.get("delegatedManagedIdentityResourceId"),
                "description": properties.get("description"),
            },
        }
        ctx.store.put(Record(rid, ASSIGNMENT_KIND, body_out, meta={"scope": scope, "role": guid}))
        return Response.json(201, body_out)


def assignments_for(service: ArmService, principal_id: str) -> list[dict[str, Any]]:
    """Every role assignment naming this principal (for tests and diagnostics)."""
    wanted = principal_id.lower()
    return [r.view() for r in service.store.find(ASSIGNMENT_KIND) if r.body["properties"]["principalId"].lower() == wanted]
