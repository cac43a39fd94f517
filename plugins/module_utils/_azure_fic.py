# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Federated identity credentials of a user-assigned identity (api-version 2024-11-30) and the core of
``kedaops.aks.federated_credential``, which ``managed_identity``'s ``federated_credentials`` items share
(``_bulk``): the same spec, the same ``build`` and the same apply per credential.

In check mode a chain of tasks runs against things earlier tasks only predicted: an identity not created
yet (no credentials to list) or a cluster issuer not assigned yet (``issuer`` null). Both are predicted as
a creation with a warning instead of failing the check run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_fic_rules as rules
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import azure_errors, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic_lock import identity_write_lock
from ansible_collections.kedaops.aks.plugins.module_utils._azure_identity import identity_id
from ansible_collections.kedaops.aks.plugins.module_utils._azure_owned import or_none
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import state_only

CONCURRENT_WRITE_CODE = rules.CONCURRENT_WRITE_CODE
CONCURRENT_WRITE_MAX_DELAY = rules.CONCURRENT_WRITE_MAX_DELAY
Credentials = list[dict[str, Any]]


def credential_state(credential: Any) -> dict[str, Any]:
    return {
        "id": credential.id,
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audiences": list(credential.audiences or []),
    }


def list_credentials(conn: AzureConnection, resource_group: str, identity_name: str) -> Credentials:
    """Every credential on the identity (all pages). A missing identity or group raises Azure's 404."""
    identity_id(conn.subscription_id, resource_group, identity_name, "identity_name")
    with azure_errors(f"listing the federated credentials of managed identity {identity_name}"):
        return [credential_state(c) for c in conn.msi().federated_identity_credentials.list(resource_group, identity_name)]


def write_credential(conn: AzureConnection, resource_group: str, identity_name: str, desired: dict[str, Any],
                     timeout: float) -> dict[str, Any]:
    """Create or update one credential (the caller holds the identity's write lock), retrying Azure's
    concurrent-write 409 while ``timeout`` lasts; the credential as Azure returns it."""
    from azure.mgmt.msi.v2024_11_30.models import FederatedIdentityCredential

    body = FederatedIdentityCredential(issuer=desired["issuer"], subject=desired["subject"],
                                       audiences=list(desired["audiences"]))

    def write() -> Any:
        with azure_errors(f"writing federated credential {desired['name']} on managed identity {identity_name}"):
            return conn.msi().federated_identity_credentials.create_or_update(
                resource_group, identity_name, desired["name"], body)

    return credential_state(retry_on_codes(write, {CONCURRENT_WRITE_CODE}, timeout,
                                           max_delay=CONCURRENT_WRITE_MAX_DELAY))


def delete_credential(conn: AzureConnection, resource_group: str, identity_name: str, name: str,
                      timeout: float) -> None:
    """Delete one credential (the caller holds the identity's write lock), retrying the concurrent-write 409."""
    def delete() -> None:
        with azure_errors(f"deleting federated credential {name} on managed identity {identity_name}"):
            conn.msi().federated_identity_credentials.delete(resource_group, identity_name, name)

    retry_on_codes(delete, {CONCURRENT_WRITE_CODE}, timeout, max_delay=CONCURRENT_WRITE_MAX_DELAY)


def credential_id(conn: AzureConnection, resource_group: str, identity_name: str, name: str) -> str:
    return f"{identity_id(conn.subscription_id, resource_group, identity_name)}/federatedIdentityCredentials/{name}"


@dataclass(frozen=True)
class CredentialPlan:
    """One credential as a task asks for it: where, and (present) what it trusts. ``issuer`` None: not
    known yet (check mode only; ``apply`` refuses it otherwise)."""

    resource_group: str
    identity_name: str
    name: str
    issuer: str | None = None
    subject: str | None = None
    audiences: tuple[str, ...] = (rules.DEFAULT_AUDIENCE,)
    state: str = "present"
    timeout: float = 300


def ensure_credential_present(conn: AzureConnection, plan: CredentialPlan, check_mode: bool,
                              warn: Callable[[str], None], listed: Credentials | None = None,
                              ) -> tuple[bool, dict[str, Any] | None, dict[str, Any] | None]:
    """Returns (changed, before, after). ``listed``: the identity's credentials as a caller that ensures
    several already read them (one list for all); a write always decides again on a fresh list."""
    group, identity, name, subject = plan.resource_group, plan.identity_name, plan.name, str(plan.subject)
    audiences = list(plan.audiences)
    issuer = plan.issuer
    if not issuer:
        warn(f"issuer is not known yet (check mode); credential {name!r} would be written once it is")
        return True, None, {"id": credential_id(conn, group, identity, name), "name": name,
                            "issuer": issuer, "subject": subject, "audiences": audiences}
    for message in rules.issuer_warnings(issuer):
        warn(message)

    def decide(read: Credentials | None = None) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Credentials]:
        # In check mode a missing identity (or group) has no credentials yet: an earlier task may create it.
        if read is not None:
            credentials: Credentials | None = read
        elif check_mode:
            credentials = or_none(lambda: list_credentials(conn, group, identity))
        else:
            credentials = list_credentials(conn, group, identity)
        if credentials is None:
            warn(f"managed identity {identity} does not exist (yet); predicting the creation of credential {name!r}")
            credentials = []
        current, desired = rules.plan_credential(credentials, identity, name, issuer, subject, audiences)
        return current, desired, credentials

    current, desired, credentials = decide(listed)
    if desired is None or check_mode:
        for message in rules.near_misses(credentials, issuer, subject):
            warn(message)
    if desired is None:
        return False, current, current
    if check_mode:
        return True, current, {**desired, "id": desired["id"] or credential_id(conn, group, identity, name)}

    with identity_write_lock(identity_id(conn.subscription_id, group, identity), plan.timeout):
        # Another fork may have written while we waited for the lock: decide again on fresh state.
        current, desired, credentials = decide()
        if desired is None:
            return False, current, current
        for message in rules.near_misses(credentials, issuer, subject):
            warn(message)
        written = write_credential(conn, group, identity, desired, plan.timeout)
    return True, current, written


def ensure_credential_absent(conn: AzureConnection, plan: CredentialPlan,
                             check_mode: bool) -> tuple[bool, dict[str, Any] | None]:
    """Returns (changed, before). Other credentials on the identity are never touched."""
    group, identity = plan.resource_group, plan.identity_name

    def current() -> dict[str, Any] | None:
        # No identity (or group): none of its credentials exist.
        credentials = or_none(lambda: list_credentials(conn, group, identity))
        return rules.find_credential(credentials or [], plan.name)

    before = current()
    if before is None:
        return False, None
    if check_mode:
        return True, before
    with identity_write_lock(identity_id(conn.subscription_id, group, identity), plan.timeout):
        before = current()
        if before is None:
            return False, None
        delete_credential(conn, group, identity, before["name"], plan.timeout)
    return True, before


# -- the federated_credential module (and each federated_credentials item of managed_identity) -----------

ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "identity_name": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "issuer": {"type": "str"},
    "subject": {"type": "str"},
    "namespace": {"type": "str"},
    "service_account": {"type": "str"},
    "audiences": {"type": "list", "elements": "str", "default": [rules.DEFAULT_AUDIENCE]},
    "timeout": {"type": "int", "default": 300},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
RULES: dict[str, Any] = {
    "mutually_exclusive": [["subject", "namespace"], ["subject", "service_account"]],
    "required_together": [["namespace", "service_account"]],
}
# What an item of managed_identity's federated_credentials states (the rest it takes from the identity).
ITEM_OPTIONS = ("name", "issuer", "subject", "namespace", "service_account", "audiences", "state")


FOUND_BY_NAME = "an item with state: absent is found by its name"


def build(params: dict[str, Any]) -> CredentialPlan:
    """Every refusal before anything is sent; a null issuer is checked as an issuer not known yet."""
    common = {"resource_group": params["resource_group"], "identity_name": params["identity_name"],
              "name": params["name"], "timeout": params["timeout"]}
    if params["state"] == "absent":
        state_only("absent", {option: params[option] for option in ("issuer", "subject", "namespace", "service_account")},
                   dict.fromkeys(("issuer", "subject", "namespace", "service_account"), FOUND_BY_NAME))
        rules.validate_credential(params["name"], None, None, None, state="absent")
        return CredentialPlan(**common, state="absent")
    subject = params["subject"]
    if params["namespace"] is not None or params["service_account"] is not None:
        subject = rules.service_account_subject(params["namespace"], params["service_account"])
    issuer = params["issuer"] or None
    rules.validate_credential(params["name"], issuer or rules.UNKNOWN_ISSUER, subject, params["audiences"])
    return CredentialPlan(**common, issuer=issuer, subject=subject, audiences=tuple(params["audiences"]))


def require_issuer(plan: CredentialPlan, check_mode: bool, option: str = "issuer") -> None:
    """Only check mode may run without an issuer (one an earlier task would assign)."""
    if plan.state == "present" and not plan.issuer and not check_mode:
        raise OptionError(f"{option}: required with state=present (the cluster's OIDC issuer URL)")


def apply_credential(conn: AzureConnection, plan: CredentialPlan, check_mode: bool,
                     listed: Credentials | None = None) -> Outcome:
    """One credential: its outcome, ``credential`` (the credential after, None when absent) as its value."""
    warnings: list[str] = []
    if plan.state == "absent":
        changed, before = ensure_credential_absent(conn, plan, check_mode)
        after = None
    else:
        changed, before, after = ensure_credential_present(conn, plan, check_mode, warnings.append, listed)
    computed = ("issuer",) if check_mode else ()  # known after apply
    return Outcome(changed, before, after, warnings=warnings, computed=computed, values={"credential": after})


def apply(connection: Connection, plan: CredentialPlan, check_mode: bool) -> Outcome:
    require_issuer(plan, check_mode)
    outcome = apply_credential(connection.azure, plan, check_mode)
    outcome.values["credential"] = outcome.after or {}
    return outcome


RESOURCE = Resource("federated_credential", ARGUMENT_SPEC, build, apply, azure=True, rules=RULES)
