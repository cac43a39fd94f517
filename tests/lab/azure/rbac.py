"""Azure RBAC for ARM's callers: which action a request performs, whether the caller's role
assignments grant it at the request's scope, and the permissions API that reports the same data.

Rules, from https://learn.microsoft.com/azure/role-based-access-control/role-definitions and
.../overview#how-azure-rbac-determines-if-a-user-has-access-to-a-resource:
- a role assignment applies at its scope and every scope below it;
- an action matches a role's ``actions`` entry case-insensitively, ``*`` standing for any characters;
- a role's ``notActions`` subtract from that role's ``actions`` only (another role may still grant it);
- a denied request answers 403 ``AuthorizationFailed`` naming client, object id, action and the
  requested resource (the text below; e.g. the 403 shown in
  https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---authorization-failed).

The permissions API (``GET {scope}/providers/Microsoft.Authorization/permissions``,
Permissions_ListForResourceGroup / Permissions_ListForResource in
specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
authorization-ProviderOperationsCalls.json) lists the caller's own permissions at a scope: one entry
per role assignment that applies there. It needs no right of its own: a caller without any gets an
empty list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .. import ids
from ..core import Response
from . import errors, versions
from .errors import ArmError
from .store import Record, key_of

if TYPE_CHECKING:
    from .arm import ArmService
    from .context import ArmContext

ASSIGNMENT_KIND = "microsoft.authorization/roleassignments"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
# The automation principal's seeded assignment (a fixed GUID, so tests and docs can name it).
AUTOMATION_ASSIGNMENT = "3b7c1e52-6a0d-4f8e-9c21-5d4e3f2a1b0c"
# The folders of the spec that publish the permissions operations (2015-07-01: authorization.json;
# the others: authorization-ProviderOperationsCalls.json / authorization-RoleBasedCalls).
PERMISSIONS_VERSIONS = ["2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview"]
_VERBS = {"GET": "read", "HEAD": "read", "DELETE": "delete", "PUT": "write", "PATCH": "write"}


def seed(service: ArmService) -> None:
    """The automation principal holds Owner on the subscription: everything the demo does, and a real
    assignment that ``az role assignment list --assignee`` shows and a test can remove."""
    from .authorization import ASSIGNMENT_TYPE, definition_id

    scope = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
    rid = f"{scope}/providers/{ASSIGNMENT_TYPE}/{AUTOMATION_ASSIGNMENT}"
    stamp = "2026-01-05T09:00:00.0000000Z"
    body = {
        "id": rid, "name": AUTOMATION_ASSIGNMENT, "type": ASSIGNMENT_TYPE,
        "properties": {
            "roleDefinitionId": definition_id(OWNER, scope), "principalId": ids.AUTOMATION_PRINCIPAL_ID,
            "principalType": "ServicePrincipal", "scope": scope, "condition": None, "conditionVersion": None,
            "createdOn": stamp, "updatedOn": stamp, "createdBy": None, "updatedBy": None,
            "delegatedManagedIdentityResourceId": None, "description": None,
        },
    }
    record = Record(rid, ASSIGNMENT_KIND, body, meta={"scope": scope, "role": OWNER})
    record.created = record.updated = 0.0
    service.store.put(record)


def _applies(assigned_at: str, target: str) -> bool:
    upper, lower = key_of(assigned_at), key_of(target)
    return upper == "/" or upper == lower or lower.startswith(upper + "/")


def permissions(service: ArmService, principal_id: str, target: str) -> list[dict[str, Any]]:
    """One permission entry per role assignment of the principal that applies at ``target``."""
    from .authorization import builtin_role

    wanted = principal_id.lower()
    found = []
    for record in service.store.find(ASSIGNMENT_KIND):
        properties = record.body["properties"]
        if properties["principalId"].lower() != wanted or not _applies(record.meta["scope"], target):
            continue
        role = builtin_role(record.meta["role"])
        if role is None:
            continue
        entry = {k: list(role[k]) for k in ("actions", "notActions", "dataActions", "notDataActions")}
        entry["condition"] = properties.get("condition")
        entry["conditionVersion"] = properties.get("conditionVersion")
        found.append(entry)
    return found


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, action, flags=re.IGNORECASE) is not None


def grants(entries: list[dict[str, Any]], action: str, data: bool = False) -> bool:
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(any(_matches(p, action) for p in e[allow]) and not any(_matches(p, action) for p in e[deny])
               for e in entries)


def action_of(ctx: ArmContext) -> str:
    """The operation ARM authorizes: ``{Namespace}/{type}[/{child}]/{read|write|delete}``, or
    ``.../{name}/action`` for a POST to an action path (listKeys, listClusterUserCredential)."""
    path = ctx.path
    if path.namespace is None:
        lowered = [s.lower() for s in path.segments]
        if len(lowered) >= 3 and lowered[2] == "resourcegroups":
            base = "Microsoft.Resources/subscriptions/resourceGroups"
        else:
            base = "Microsoft.Resources/subscriptions"
        return f"{base}/{_VERBS.get(ctx.method, 'action')}"
    base = "/".join([path.namespace] + path.types)
    if ctx.method == "POST":
        return f"{base}/action"
    return f"{base}/{_VERBS.get(ctx.method, 'write')}"


def authorize(ctx: ArmContext) -> None:
    """403 AuthorizationFailed unless one of the caller's role assignments grants the action here."""
    if ctx.path.kind == "microsoft.authorization/permissions":
        return
    if ctx.path.subscription and ctx.path.subscription.lower() != ids.SUBSCRIPTION_ID:
        return  # ARM answers 404 SubscriptionNotFound for a subscription it does not know, before RBAC.
    if ctx.method == "GET" and ctx.path.subscription is None:
        # Tenant-level reads (the subscriptions list: those the caller can see; built-in role definitions;
        # tenant-level operation statuses) need no role assignment.
        return
    oid = str(ctx.caller.get("oid", ""))
    target = "/" + "/".join(ctx.path.segments)
    action = action_of(ctx)
    if grants(permissions(ctx.service, oid, target), action):
        return
    raise ArmError(403, "AuthorizationFailed",
                   f"The client '{ctx.caller.get('appid', oid)}' with object id '{oid}' does not have authorization to "
                   f"perform action '{action}' over scope '{target}' or the scope is invalid. "
                   "If access was recently granted, please refresh your credentials.")


def handle_permissions(ctx: ArmContext) -> Response:
    versions.check(ctx.api_version, PERMISSIONS_VERSIONS)
    if ctx.method != "GET":
        raise errors.method_not_allowed(ctx.method, "Microsoft.Authorization/permissions")
    path = ctx.path
    if not path.is_collection or not path.resource_group:
        # The spec publishes the list for a resource group and for a resource only.
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    scope = ctx.service.resolve_scope(path.scope)
    return Response.json(200, {"value": permissions(ctx.service, str(ctx.caller.get("oid", "")), scope), "nextLink": None})
