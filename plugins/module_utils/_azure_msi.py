# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""User-assigned managed identities and their federated identity credentials (Microsoft.ManagedIdentity,
api-version 2024-11-30): the cores of ``kedaops.aks.managed_identity`` (``MANAGED_IDENTITY_RESOURCE``) and
``kedaops.aks.managed_identity_info`` (``IDENTITY_INFO_RESOURCE``), and the one import for the other
callers of the identity and credential code, which lives by concern in ``_azure_identity`` (the identity),
``_azure_fic_rules`` (Entra's credential rules, pure), ``_azure_fic_lock`` (the per-identity write lock)
and ``_azure_fic`` (credential reads and writes, the ``federated_credential`` core).

A credential list of an identity's task is the ``federated_credential`` core item by item (``_bulk``):
each item is validated with that module's spec and built with its ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_fic as fic
from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic import (
    CredentialPlan,
    credential_id,
    credential_state,
    delete_credential,
    ensure_credential_absent,
    ensure_credential_present,
    list_credentials,
    write_credential,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic_lock import (
    identity_write_lock,
    lock_dir,
    lock_path,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic_rules import (
    CONCURRENT_WRITE_CODE,
    CONCURRENT_WRITE_MAX_DELAY,
    DEFAULT_AUDIENCE,
    FIC_FIELD_MAX,
    FIC_LIMIT,
    FIC_NAME_RE,
    FIC_NAME_RULE,
    SA_SUBJECT_PREFIX,
    UNKNOWN_ISSUER,
    check_pairs,
    find_credential,
    issuer_warnings,
    near_misses,
    plan_all,
    plan_credential,
    service_account_subject,
    validate_credential,
    validate_subject,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_identity import (
    IDENTITY_TYPE,
    IdentityPlan,
    desired_tags,
    ensure_identity_absent,
    ensure_identity_present,
    find_identity_by_client_id,
    get_identity,
    identity_id,
    identity_state,
    normalize_location,
    resource_group_location,
    validate_identity,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_owned import foreign, kept_for, or_none
from ansible_collections.kedaops.aks.plugins.module_utils._bulk import Item, apply_items, build_items
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource, side_by_side
from ansible_collections.kedaops.aks.plugins.module_utils._diff import KNOWN_AFTER_APPLY
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import state_only

# The identity and credential code by one import (the other callers: bindings, the trust chain, rbac).
__all__ = [
    "ARGUMENT_SPEC",
    "CONCURRENT_WRITE_CODE",
    "CONCURRENT_WRITE_MAX_DELAY",
    "DEFAULT_AUDIENCE",
    "FIC_FIELD_MAX",
    "FIC_LIMIT",
    "FIC_NAME_RE",
    "FIC_NAME_RULE",
    "IDENTITY_INFO_RESOURCE",
    "IDENTITY_TYPE",
    "INFO_ARGUMENT_SPEC",
    "MANAGED_IDENTITY_RESOURCE",
    "SA_SUBJECT_PREFIX",
    "UNKNOWN_ISSUER",
    "CredentialPlan",
    "IdentityPlan",
    "IdentityTask",
    "InfoTask",
    "apply",
    "build",
    "check_pairs",
    "credential_id",
    "credential_state",
    "delete_credential",
    "desired_tags",
    "ensure_credential_absent",
    "ensure_credential_present",
    "ensure_identity_absent",
    "ensure_identity_present",
    "find_credential",
    "find_identity_by_client_id",
    "get_identity",
    "identity_id",
    "identity_state",
    "identity_write_lock",
    "info_apply",
    "info_build",
    "issuer_warnings",
    "list_credentials",
    "lock_dir",
    "lock_path",
    "near_misses",
    "normalize_location",
    "plan_all",
    "plan_credential",
    "resource_group_location",
    "service_account_subject",
    "validate_credential",
    "validate_identity",
    "validate_subject",
    "write_credential",
]

ITEMS = "federated_credentials"
ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "location": {"type": "str"},
    "tags": {"type": "dict"},
    "purge_tags": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "owned_credentials": {"type": "list", "elements": "str", "default": []},
    ITEMS: {
        "type": "list", "elements": "dict", "default": [],
        "options": {option: fic.ARGUMENT_SPEC[option] for option in fic.ITEM_OPTIONS},
        **fic.RULES,
    },
    "credential_timeout": {"type": "int", "default": 300},
}


@dataclass(frozen=True)
class IdentityTask:
    """A managed_identity task: the identity, its state, and its credentials (each built by ``_azure_fic``)."""

    identity: IdentityPlan
    state: str
    owned_credentials: list[str] = field(default_factory=list)
    credentials: list[Item[fic.CredentialPlan]] = field(default_factory=list)


def build(params: dict[str, Any]) -> IdentityTask:
    """Children never act on their parent: with state absent the identity's deletion would ignore them."""
    if params["state"] == "absent":
        state_only("absent", {ITEMS: params[ITEMS], "location": params["location"], "tags": params["tags"],
                              "purge_tags": params["purge_tags"] or None},
                   {ITEMS: "remove a credential with its item's state: absent (and state: present), or with "
                           "kedaops.aks.federated_credential"})
    else:
        state_only("present", {"owned_credentials": params["owned_credentials"]})
    validate_identity(params["name"], params["tags"] if params["state"] == "present" else None)
    items = build_items(params[ITEMS], ITEMS, fic.ARGUMENT_SPEC, fic.build, rules=fic.RULES,
                        inherit={"resource_group": params["resource_group"], "identity_name": params["name"],
                                 "timeout": params["credential_timeout"]})
    seen: set[str] = set()
    for item in items:
        if item.plan.name.lower() in seen:
            raise OptionError(f"{item.path}.name: {item.plan.name!r} is listed twice (names are unique on an identity, "
                              "case-insensitively)")
        seen.add(item.plan.name.lower())
    check_pairs([_as_dict(item.plan) for item in items])
    identity = IdentityPlan(params["resource_group"], params["name"], params["location"], params["tags"],
                            params["purge_tags"])
    return IdentityTask(identity, params["state"], list(params["owned_credentials"]), items)


def _as_dict(plan: fic.CredentialPlan) -> dict[str, Any]:
    return {"name": plan.name, "state": plan.state, "issuer": plan.issuer, "subject": plan.subject,
            "audiences": list(plan.audiences)}


def apply(connection: Connection, task: IdentityTask, check_mode: bool) -> Outcome:
    for item in task.credentials:
        fic.require_issuer(item.plan, check_mode, f"{item.path}.issuer")
    conn, group, name = connection.azure, task.identity.resource_group, task.identity.name
    if task.state == "absent":
        return _absent(connection, task, check_mode)
    listed: list[dict[str, Any]] | None = None
    if task.credentials:
        # The identity and its credentials side by side (a missing identity has none).
        identity_id(conn.subscription_id, group, name)
        conn.msi()
        before, listed = side_by_side(lambda: get_identity(conn, group, name),
                                      lambda: or_none(lambda: list_credentials(conn, group, name)))
    else:
        before = get_identity(conn, group, name)
    # Every item against what exists plus what the items add, before the first write (the identity's too).
    plan_all(listed or [], name, [_as_dict(item.plan) for item in task.credentials])
    changed, after = ensure_identity_present(conn, before, task.identity, check_mode)
    computed = ("client_id", "principal_id", "tenant_id") if check_mode else ()  # known after apply
    if not task.credentials:
        return Outcome(changed, before, after, computed=computed, values={"identity": after or {}, "credentials": []})
    # One list for every item (a missing identity, in check mode, is predicted by each item).
    if listed is None and after and not check_mode:
        listed = []
    folded = apply_items(task.credentials, lambda item: fic.apply_credential(conn, item.plan, check_mode, listed),
                         "credentials")
    credentials = [values["credential"] for values in folded.values["credentials"] if values["credential"]]
    shown = [dict(c, issuer=c.get("issuer") or KNOWN_AFTER_APPLY) for c in credentials]
    return Outcome(changed or folded.changed,
                   dict(before or {}, federated_credentials=[b for b in folded.before.values() if b]),
                   dict(after or {}, federated_credentials=shown), warnings=folded.warnings, computed=computed,
                   values={"identity": after or {}, "credentials": credentials})


def _absent(connection: Connection, task: IdentityTask, check_mode: bool) -> Outcome:
    """An identity carrying credentials not in ``owned_credentials`` is not ours alone to delete
    (docs/ownership.md): it is kept, with a warning."""
    conn, group, name = connection.azure, task.identity.resource_group, task.identity.name
    before = get_identity(conn, group, name)
    held = [c["name"] or "" for c in list_credentials(conn, group, name)] if before else []
    kept = sorted(foreign(held, task.owned_credentials))
    if kept:
        return Outcome(False, before, before, warnings=[kept_for(f"managed identity {name}", "federated credentials",
                                                                 kept)],
                       kept=True, values={"kept": True, "identity": before})
    changed, after = ensure_identity_absent(conn, before, task.identity, check_mode)
    return Outcome(changed, before, after, values={"identity": after or {}})


MANAGED_IDENTITY_RESOURCE = Resource("managed_identity", ARGUMENT_SPEC, build, apply, azure=True)

# -- managed_identity_info ---------------------------------------------------------------------------------

INFO_ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "credentials": {"type": "bool", "default": False},
}


@dataclass(frozen=True)
class InfoTask:
    resource_group: str
    name: str
    credentials: bool


def info_build(params: dict[str, Any]) -> InfoTask:
    return InfoTask(params["resource_group"], params["name"], params["credentials"])


def info_apply(connection: Connection, task: InfoTask, check_mode: bool) -> Outcome:
    conn = connection.azure
    values: dict[str, Any]
    if task.credentials:
        # The identity and its credentials side by side (a missing identity has none).
        identity_id(conn.subscription_id, task.resource_group, task.name)
        conn.msi()
        identity, credentials = side_by_side(
            lambda: get_identity(conn, task.resource_group, task.name),
            lambda: or_none(lambda: list_credentials(conn, task.resource_group, task.name)))
        values = {"credentials": (credentials or []) if identity else []}
    else:
        identity, values = get_identity(conn, task.resource_group, task.name), {}
    return Outcome(False, diffable=False,
                   values={"exists": identity is not None, "identity": identity or {}, **values})


IDENTITY_INFO_RESOURCE = Resource("managed_identity_info", INFO_ARGUMENT_SPEC, info_build, info_apply, azure=True)
