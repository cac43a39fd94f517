# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""User-assigned managed identities (Microsoft.ManagedIdentity/userAssignedIdentities, api-version 2024-11-30):
reads (read-or-none through ``_azure_owned.or_none``), and the create / tag update / delete of one identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import azure_errors
from ansible_collections.kedaops.aks.plugins.module_utils._azure_owned import check_tags, or_none
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import identity_name as identity_name_rule
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import resource_group as resource_group_rule
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource, build

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


def validate_identity(name: str, tags: dict[str, Any] | None) -> None:
    """Fail before any call on a name or tags Azure would refuse (the message names the option and the rule)."""
    identity_name_rule("name", name)
    check_tags("tags", tags)


def identity_id(subscription_id: str, resource_group: str, name: str, option: str = "name") -> str:
    """The identity's resource id, its parts checked first (the subscription, the resource group and Azure's
    rule for an identity's name, ``_option_rules.IDENTITY_NAME_RE``): every read and write starts here."""
    return arm_resource(subscription_id, resource_group, IDENTITY_TYPE, Segment(option, identity_name_rule(option, name)))


def identity_state(identity: Any) -> dict[str, Any]:
    """The module's view of an SDK ``Identity``."""
    return {
        "id": identity.id,
        "name": identity.name,
        "client_id": identity.client_id,
        "principal_id": identity.principal_id,
        "tenant_id": identity.tenant_id,
        "location": identity.location,
        "tags": dict(identity.tags or {}),
    }


def normalize_location(location: str | None) -> str:
    """ARM answers "eastus" for "East US"."""
    return (location or "").replace(" ", "").lower()


def get_identity(conn: AzureConnection, resource_group: str, name: str) -> dict[str, Any] | None:
    """The identity, or None when it (or its resource group) does not exist."""
    identity_id(conn.subscription_id, resource_group, name)

    def get() -> dict[str, Any]:
        with azure_errors(f"reading managed identity {name}"):
            return identity_state(conn.msi().user_assigned_identities.get(resource_group, name))
    return or_none(get)


def find_identity_by_client_id(conn: AzureConnection, client_id: str
                               ) -> tuple[str, str, dict[str, Any] | None]:
    """(resource group, name, identity) of the identity with ``client_id`` in the subscription; the
    identity is None (and the name the client id) when none has it."""
    with azure_errors(f"listing the managed identities of subscription {conn.subscription_id}"):
        for identity in conn.msi().user_assigned_identities.list_by_subscription():
            if (identity.client_id or "").lower() == client_id.lower():
                return identity.id.split("/")[4], identity.name, identity_state(identity)
    return "?", client_id, None


def resource_group_location(conn: AzureConnection, resource_group: str) -> str:
    path = build("subscriptions", Segment("subscription_id", conn.subscription_id), "resourcegroups",
                 Segment("resource_group", resource_group_rule("resource_group", resource_group)))
    group = conn.arm().get(path, "2021-04-01", f"reading resource group {resource_group}")
    return group["location"]


def desired_tags(current: dict[str, str], tags: dict[str, Any] | None, purge_tags: bool) -> dict[str, str]:
    """Tags after our change: given tags laid over the current ones; others kept unless purge_tags.
    Without ``tags`` nothing is touched, even with ``purge_tags`` (as amazon.aws does)."""
    if tags is None:
        return dict(current)
    wanted = {str(k): "" if v is None else str(v) for k, v in tags.items()}
    return wanted if purge_tags else {**current, **wanted}


@dataclass(frozen=True)
class IdentityPlan:
    """The identity a task asks for: where, and (present) its location and tags."""

    resource_group: str
    name: str
    location: str | None = None
    tags: dict[str, Any] | None = None
    purge_tags: bool = False


def ensure_identity_present(conn: AzureConnection, before: dict[str, Any] | None, plan: IdentityPlan,
                            check_mode: bool) -> tuple[bool, dict[str, Any]]:
    """(changed, the identity after): created when missing, its tags patched when they differ."""
    resource_group, name, location, tags, purge_tags = (plan.resource_group, plan.name, plan.location, plan.tags,
                                                        plan.purge_tags)
    if before is None:
        location = location or resource_group_location(conn, resource_group)
        after = {"id": identity_id(conn.subscription_id, resource_group, name), "name": name, "client_id": None,
                 "principal_id": None, "tenant_id": None, "location": normalize_location(location),
                 "tags": desired_tags({}, tags, purge_tags)}
        if check_mode:
            return True, after
        from azure.mgmt.msi.v2024_11_30.models import Identity
        with azure_errors(f"creating managed identity {name}"):
            created = conn.msi().user_assigned_identities.create_or_update(
                resource_group, name, Identity(location=location, tags=after["tags"]))
        return True, identity_state(created)

    if location and normalize_location(location) != normalize_location(before["location"]):
        raise OptionError(
            f"location: managed identity {name} is in {before['location']}; the location of an existing "
            f"identity cannot be changed (delete it first)")
    tags_after = desired_tags(before["tags"], tags, purge_tags)
    if tags_after == before["tags"]:
        return False, before
    if check_mode:
        return True, {**before, "tags": tags_after}
    from azure.mgmt.msi.v2024_11_30.models import IdentityUpdate

    from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import RETRY_METHODS
    with azure_errors(f"updating the tags of managed identity {name}"):
        # PATCH, not PUT: a PUT replaces the whole identity (and would reset what we do not own).
        updated = conn.msi().user_assigned_identities.update(
            resource_group, name, IdentityUpdate(tags=tags_after), retry_on_methods=RETRY_METHODS)
    return True, identity_state(updated)


def ensure_identity_absent(conn: AzureConnection, before: dict[str, Any] | None, plan: IdentityPlan,
                           check_mode: bool) -> tuple[bool, dict[str, Any] | None]:
    if before is None:
        return False, None
    if not check_mode:
        with azure_errors(f"deleting managed identity {plan.name}"):
            conn.msi().user_assigned_identities.delete(plan.resource_group, plan.name)
    return True, None
