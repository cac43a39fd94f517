# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure role assignments (Microsoft.Authorization, api-version 2022-04-01), idempotent on
(scope, role, principal).

An assignment is identified by what it grants, not by its name: one created by ``az role
assignment create`` (random GUID name) counts as ours. Our own assignments get a deterministic
uuid5 name from (scope, role, principal), so two runs racing each other write the same resource.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, azure_errors, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID, is_guid
from ansible_collections.kedaops.aks.plugins.module_utils._paths import resource_id, resource_id_segments

ROLE_DEFINITION_ID_RE = re.compile(
    r"^(?:/subscriptions/[^/]+|/providers/Microsoft\.Management/managementGroups/[^/]+)?"
    r"/providers/Microsoft\.Authorization/roleDefinitions/([0-9a-fA-F-]{36})$", re.IGNORECASE)
SUBSCRIPTION_RE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group", "ForeignGroup", "Device")
# A new managed identity takes a while to reach every Entra replica; until it does, ARM answers
# PrincipalNotFound even with principalType set (https://aka.ms/docs-principaltype).
PRINCIPAL_NOT_FOUND = "PrincipalNotFound"
PRINCIPAL_HINT = ("principal {principal_id} is not known to Entra (yet): a new identity takes seconds to replicate, "
                  "and this waits up to {timeout:.0f} s for it. If {principal_id} is a client id (appId), it is never "
                  "found: pass the identity's principal_id (object id), not its client_id")
ASSIGNMENT_EXISTS = "RoleAssignmentExists"
# Namespace of our deterministic assignment names.
ASSIGNMENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/kedaops/aks/role_assignment")


def normalize_scope(scope: str) -> str:
    return scope.rstrip("/") if scope != "/" else scope


def validate_assignment(scope: str, role: str | None, principal_id: str, principal_type: str) -> None:
    for option, value in (("scope", scope), ("role", role), ("principal_id", principal_id)):
        if value and value != value.strip():
            raise OptionError(f"{option}: {value!r} has leading or trailing white space; Azure would refuse it "
                              f"or, for a scope, assign the role somewhere else than meant")
    resource_id_segments("scope", scope)
    if not role:
        raise OptionError("role: required (a built-in or custom role name, a role GUID, or a role definition id)")
    if role.startswith("/"):
        resource_id_segments("role", role)
        if not ROLE_DEFINITION_ID_RE.match(role):
            raise OptionError(f"role: {role!r} is not a role definition id "
                              "(/subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions/<guid>)")
    elif not role.isprintable() or len(role) > 512:
        raise OptionError(f"role: {role[:80]!r} is not a role name (printable characters, at most 512)")
    if not principal_id or not is_guid(principal_id):
        raise principal_refused(principal_id)
    if principal_type not in PRINCIPAL_TYPES:
        raise OptionError(f"principal_type: must be one of {', '.join(PRINCIPAL_TYPES)}")


def principal_refused(principal_id: str | None) -> OptionError:
    return OptionError(f"principal_id: {principal_id!r} must be the object id GUID of the principal (for a managed "
                       f"identity its principal_id, not its client_id)")


@dataclass(frozen=True)
class AssignmentPlan:
    """One role assignment as checked: the scope normalised; a null ``principal_id`` is an identity an
    earlier task would create (check mode only)."""

    scope: str
    role: str
    principal_id: str | None
    principal_type: str = "ServicePrincipal"
    timeout: float = 300
    state: str = "present"


def role_guid(role: str) -> str | None:
    """The role definition GUID when ``role`` is a GUID or a definition id, else None (a name)."""
    if is_guid(role):
        return role.lower()
    match = ROLE_DEFINITION_ID_RE.match(role)
    return match.group(1).lower() if match else None


def definition_guid(role_definition_id: str | None) -> str:
    return (role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def subscription_of(scope: str) -> str | None:
    match = SUBSCRIPTION_RE.match(scope)
    return match.group(1) if match else None


def assignment_name(scope: str, role_definition_guid: str, principal_id: str) -> str:
    key = f"{normalize_scope(scope).lower()}|{role_definition_guid.lower()}|{principal_id.lower()}"
    return str(uuid.uuid5(ASSIGNMENT_NAMESPACE, key))


def assignment_state(assignment: Any) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "name": assignment.name,
        "scope": assignment.scope,
        "role_definition_id": assignment.role_definition_id,
        "principal_id": assignment.principal_id,
        "principal_type": assignment.principal_type,
    }


def resolve_role(conn: AzureConnection, scope: str, role: str) -> str:
    """The role definition id of ``role`` as seen from ``scope`` (custom roles are assignable only
    where they are defined, so names are looked up at the scope, not globally)."""
    client = conn.authorization(subscription_of(scope))
    guid = role_guid(role)
    with azure_errors(f"resolving role {role!r} at {scope}"):
        if guid and not is_guid(role):
            return client.role_definitions.get_by_id(resource_id("role", role)).id
        if guid:
            return client.role_definitions.get(resource_id("scope", scope), guid).id
        escaped = role.replace("'", "''")
        found = [d for d in client.role_definitions.list(resource_id("scope", scope), filter=f"roleName eq '{escaped}'")
                 if (d.role_name or "").lower() == role.lower()]
    if not found:
        raise AzureError(f"Role {role!r} is not defined at scope {scope} (role names are matched exactly, as in the "
                         f"portal, e.g. 'Monitoring Data Reader')", code="RoleDefinitionDoesNotExist", status=404)
    return found[0].id


def find_assignment(conn: AzureConnection, scope: str, guid: str, principal_id: str,
                    inherited: bool = False) -> dict[str, Any] | None:
    """The assignment of role ``guid`` to ``principal_id`` exactly at ``scope`` (case-insensitive), if any.

    ``principalId eq`` lists the principal's assignments at, above and below the scope. For the
    assignment we own only the exact scope counts; with ``inherited`` one at a parent scope (which
    grants the role at ``scope`` too) is found as well -- the question a permission check asks.
    """
    client = conn.authorization(subscription_of(scope))
    wanted_scope = normalize_scope(scope).lower()
    with azure_errors(f"listing role assignments of {principal_id} at {scope}"):
        for assignment in client.role_assignments.list_for_scope(resource_id("scope", scope),
                                                                 filter=f"principalId eq '{principal_id}'"):
            at = normalize_scope(assignment.scope or "").lower()
            applies = at == wanted_scope or (inherited and (at == "/" or wanted_scope.startswith(at.rstrip("/") + "/")))
            if (applies and definition_guid(assignment.role_definition_id) == guid
                    and (assignment.principal_id or "").lower() == principal_id.lower()):
                return assignment_state(assignment)
    return None


def client_id_owner(conn: AzureConnection, principal_id: str) -> dict[str, Any] | None:
    """The managed identity of the subscription whose client id is ``principal_id``, if any; None also when
    the identities cannot be listed (no subscription given, no permission) -- then only the hint is given."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import find_identity_by_client_id
    try:
        return find_identity_by_client_id(conn, principal_id)[2]
    except (AzureError, OptionError):
        return None


def ensure_assignment_present(conn: AzureConnection, scope: str, role: str, principal_id: str, principal_type: str,
                              check_mode: bool, timeout: float) -> tuple[bool, dict[str, Any] | None, dict[str, Any]]:
    """``present`` for callers that checked the assignment themselves (``_bindings_plan``)."""
    return present(conn, AssignmentPlan(normalize_scope(scope), role, principal_id, principal_type, timeout), check_mode)


def present(conn: AzureConnection, plan: AssignmentPlan, check_mode: bool,
            on_retry: Callable[[AzureError, float], None] | None = None,
            warn: Callable[[str], None] | None = None) -> tuple[bool, dict[str, Any] | None, dict[str, Any]]:
    """Returns (changed, before, after) for a plan ``build`` checked.

    In check mode a principal_id that is null (an identity an earlier task would create) predicts a
    new assignment with a warning instead of failing the check run.
    """
    scope, role, principal_id, principal_type, timeout = (plan.scope, plan.role, plan.principal_id or "",
                                                          plan.principal_type, plan.timeout)
    if not principal_id:
        if not check_mode:
            raise principal_refused(plan.principal_id)
        if warn:
            warn("principal_id is not known yet (check mode); the role would be assigned once it is")
        return True, None, {"id": None, "name": None, "scope": scope, "role_definition_id": None,
                            "principal_id": plan.principal_id, "principal_type": principal_type}
    guid = role_guid(role)
    role_definition_id = None
    if guid is None:
        role_definition_id = resolve_role(conn, scope, role)
        guid = definition_guid(role_definition_id)
    before = find_assignment(conn, scope, guid, principal_id)
    if before is not None:
        return False, before, before
    if role_definition_id is None:
        role_definition_id = resolve_role(conn, scope, role)
    name = assignment_name(scope, guid, principal_id)
    after = {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "name": name, "scope": scope,
             "role_definition_id": role_definition_id, "principal_id": principal_id, "principal_type": principal_type}
    if check_mode:
        return True, None, after

    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
    client = conn.authorization(subscription_of(scope))
    parameters = RoleAssignmentCreateParameters(role_definition_id=role_definition_id, principal_id=principal_id,
                                                principal_type=principal_type)

    def create() -> Any:
        with azure_errors(f"assigning role {role!r} to {principal_id} at {scope}"):
            return client.role_assignments.create(resource_id("scope", scope), name, parameters)

    hinted: list[bool] = []

    def retrying(err: AzureError, delay: float) -> None:
        if not hinted:
            # A client id passed as principal_id is never found: fail at the first miss when an identity has
            # that client id, else say so (a new principal may still be replicating).
            hinted.append(True)
            owner = client_id_owner(conn, principal_id)
            if owner is not None:
                raise OptionError(
                    f"principal_id: {principal_id} is the client id of managed identity {owner['name']}, not a "
                    f"principal id: pass its principal_id {owner['principal_id']} (the identity's object id)")
            if warn:
                warn(PRINCIPAL_HINT.format(principal_id=principal_id, timeout=timeout))
        if on_retry:
            on_retry(err, delay)

    try:
        created = retry_on_codes(create, {PRINCIPAL_NOT_FOUND}, timeout, first_delay=2.0, max_delay=20.0,
                                 on_retry=retrying)
    except AzureError as err:
        if err.code == PRINCIPAL_NOT_FOUND:
            raise AzureError(f"{err.msg}. {PRINCIPAL_HINT.format(principal_id=principal_id, timeout=timeout)}",
                             code=err.code, message=err.message, status=err.status) from err
        if err.code != ASSIGNMENT_EXISTS:
            raise
        # Created meanwhile (another run, another name) or not yet visible to the list: the grant
        # exists, which is all we promise.
        existing = find_assignment(conn, scope, guid, principal_id)
        return False, existing, existing or {**after, "id": None, "name": None}
    return True, None, assignment_state(created)


def ensure_assignment_absent(conn: AzureConnection, scope: str, role: str, principal_id: str, principal_type: str,
                             check_mode: bool) -> tuple[bool, dict[str, Any] | None]:
    """``absent`` for callers that checked the assignment themselves (``_bindings_plan``)."""
    return absent(conn, AssignmentPlan(normalize_scope(scope), role, principal_id, principal_type), check_mode)


def absent(conn: AzureConnection, plan: AssignmentPlan, check_mode: bool) -> tuple[bool, dict[str, Any] | None]:
    """Deletes only the assignment of this role to this principal exactly at this scope."""
    scope, principal_id = plan.scope, plan.principal_id or ""
    guid = role_guid(plan.role) or definition_guid(resolve_role(conn, scope, plan.role))
    before = find_assignment(conn, scope, guid, principal_id)
    if before is None:
        return False, None
    if not check_mode:
        client = conn.authorization(subscription_of(scope))
        with azure_errors(f"deleting role assignment {before['id']}"):
            client.role_assignments.delete_by_id(before["id"])
    return True, before


ARGUMENT_SPEC: dict[str, Any] = {
    "scope": {"type": "str", "required": True},
    "role": {"type": "str", "required": True},
    "principal_id": {"type": "str", "required": True},
    "principal_type": {"type": "str", "choices": list(PRINCIPAL_TYPES), "default": "ServicePrincipal"},
    "timeout": {"type": "int", "default": 300},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}


def build(params: dict[str, Any]) -> AssignmentPlan:
    """The assignment as checked, before anything is sent. A null principal_id passes only for state
    present, where check mode predicts with it (``present`` refuses it in a real run)."""
    principal_id = params["principal_id"] or None
    if principal_id is None and params["state"] == "absent":
        raise principal_refused(params["principal_id"])
    validate_assignment(params["scope"], params["role"], principal_id or NIL_GUID, params["principal_type"])
    return AssignmentPlan(normalize_scope(params["scope"]), params["role"], principal_id, params["principal_type"],
                          params["timeout"], params["state"])


def apply(connection: Connection, plan: AssignmentPlan, check_mode: bool) -> Outcome:
    warnings: list[str] = []
    after: dict[str, Any] | None = None
    if plan.state == "absent":
        changed, before = absent(connection.azure, plan, check_mode)
    else:
        changed, before, after = present(connection.azure, plan, check_mode, warn=warnings.append)
    computed = ("principal_id", "id", "name", "role_definition_id") if check_mode else ()  # known after apply
    return Outcome(changed, before, after, warnings=warnings, computed=computed, values={"assignment": after or {}})


RESOURCE = Resource("role_assignment", ARGUMENT_SPEC, build, apply, azure=True)
