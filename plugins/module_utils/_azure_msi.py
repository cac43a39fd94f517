# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""User-assigned managed identities and their federated identity credentials
(Microsoft.ManagedIdentity, api-version 2024-11-30).

Each resource has a pure ``ensure_present`` / ``ensure_absent`` pair: given the live state (or
None) and the desired one, return ``(changed, state)``; in check mode they return the predicted
state without calling Azure.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
import time
from typing import Any, Callable, Iterator

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, azure_errors, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._azure_owned import foreign
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import identity_name as identity_name_rule
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import resource_group as resource_group_rule
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource, build

IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"

# --- managed identity ------------------------------------------------------------------------


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
    try:
        with azure_errors(f"reading managed identity {name}"):
            return identity_state(conn.msi().user_assigned_identities.get(resource_group, name))
    except AzureError as err:
        if err.status == 404:
            return None
        raise


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


def ensure_identity_present(conn: AzureConnection, before: dict[str, Any] | None, resource_group: str, name: str,
                            location: str | None, tags: dict[str, Any] | None, purge_tags: bool,
                            check_mode: bool) -> tuple[bool, dict[str, Any]]:
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


def foreign_credentials(conn: AzureConnection, before: dict[str, Any] | None, resource_group: str, name: str,
                        owned: list[str]) -> list[str]:
    """Names of the credentials on the identity that are not ``owned``: an identity carrying one is
    not ours alone to delete (docs/ownership.md)."""
    if before is None:
        return []
    return sorted(foreign([c["name"] or "" for c in list_credentials(conn, resource_group, name)], owned))


def ensure_identity_absent(conn: AzureConnection, before: dict[str, Any] | None, resource_group: str, name: str,
                           check_mode: bool) -> tuple[bool, dict[str, Any] | None]:
    if before is None:
        return False, None
    if not check_mode:
        with azure_errors(f"deleting managed identity {name}"):
            conn.msi().user_assigned_identities.delete(resource_group, name)
    return True, None


# --- federated identity credentials ----------------------------------------------------------

# Entra's documented limits and rules (entra-docs workload-identity-federation-considerations.md,
# ManagedIdentity.json 2024-11-30).
FIC_NAME_RULE = "^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$"
FIC_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$")
FIC_LIMIT = 20
FIC_FIELD_MAX = 600
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
# Validates a credential whose issuer is not known yet (check mode, a cluster issuer an earlier task would enable).
UNKNOWN_ISSUER = "https://issuer.unknown/"
CONCURRENT_WRITE_CODE = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
# The conflict lasts as long as the other write (about a second): keep the waits short, so that a
# writer from another controller is not starved behind ours.
CONCURRENT_WRITE_MAX_DELAY = 8.0


SA_SUBJECT_PREFIX = "system:serviceaccount:"


def validate_subject(subject: str) -> None:
    """A subject the token's ``sub`` claim can equal: no white space anywhere (Entra compares it exactly,
    and a service account token's subject never holds any), and for a Kubernetes service account a
    DNS-1123 namespace and a valid name (the API server refuses anything else, so no token carries it).
    https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"""
    if any(c.isspace() for c in subject):
        raise OptionError(
            f"subject: {subject!r} contains white space (a trailing space or newline?); Entra compares the "
            f"subject exactly with the token's, which never contains any")
    if subject.startswith(SA_SUBJECT_PREFIX):
        parts = subject[len(SA_SUBJECT_PREFIX):].split(":")
        if len(parts) != 2:
            raise OptionError(f"subject: {subject!r} must be system:serviceaccount:<namespace>:<name>")
        from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
        for part, check, what in ((parts[0], rules.dns_label, "namespace"), (parts[1], rules.dns_subdomain, "name")):
            try:
                check("subject", part)
            except OptionError:
                raise OptionError(
                    f"subject: {subject!r} has {what} {part!r}, not a valid Kubernetes {what} (lower-case "
                    f"DNS-1123); no service account token can carry it") from None


def issuer_warnings(issuer: str | None) -> list[str]:
    """AKS and Arc issuers end with '/', and Entra compares the issuer exactly (AADSTS700211)."""
    if issuer and issuer.startswith("https://") and not issuer.endswith("/"):
        return [f"issuer {issuer!r} has no trailing '/': AKS and Azure Arc issuer URLs end with one and Entra "
                f"compares the issuer exactly, so tokens from such a cluster would not match (AADSTS700211)"]
    return []


def validate_credential(name: str, issuer: str | None, subject: str | None, audiences: list[str] | None,
                        state: str = "present") -> None:
    """Fail before any call on input Entra would refuse or could never match (message names the option)."""
    if not FIC_NAME_RE.fullmatch(name or ""):
        raise OptionError(
            f"name: {name!r} is not a valid federated credential name: 3-120 characters, letters, digits, "
            f"'-' and '_', starting with a letter or digit ({FIC_NAME_RULE})")
    if state != "present":
        return
    if issuer is None or issuer == "":
        raise OptionError("issuer: required with state=present (the cluster's OIDC issuer URL)")
    if issuer != issuer.strip():
        raise OptionError(
            f"issuer: {issuer!r} has leading or trailing whitespace; Entra compares the issuer exactly, so "
            f"the token exchange would never match")
    if not issuer.startswith("https://") or len(issuer) <= len("https://") or " " in issuer:
        raise OptionError(f"issuer: {issuer!r} must be an https:// URL (the OIDC issuer of the token)")
    if len(issuer) > FIC_FIELD_MAX:
        raise OptionError(f"issuer: longer than {FIC_FIELD_MAX} characters")
    if subject is None or not subject.strip():
        raise OptionError(
            "subject: required and must not be empty (for Kubernetes: system:serviceaccount:<namespace>:<name>)")
    if len(subject) > FIC_FIELD_MAX:
        raise OptionError(f"subject: longer than {FIC_FIELD_MAX} characters")
    validate_subject(subject)
    if audiences is None or len(audiences) != 1:
        raise OptionError(
            f"audiences: federated identity credentials must have exactly one audience, got "
            f"{0 if audiences is None else len(audiences)}")
    if not audiences[0] or not audiences[0].strip() or len(audiences[0]) > FIC_FIELD_MAX:
        raise OptionError(f"audiences: the audience must be non-empty and at most {FIC_FIELD_MAX} characters")


def credential_state(credential: Any) -> dict[str, Any]:
    return {
        "id": credential.id,
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audiences": list(credential.audiences or []),
    }


def list_credentials(conn: AzureConnection, resource_group: str, identity_name: str) -> list[dict[str, Any]]:
    """Every credential on the identity (all pages). A missing identity or group raises Azure's 404."""
    identity_id(conn.subscription_id, resource_group, identity_name, "identity_name")
    with azure_errors(f"listing the federated credentials of managed identity {identity_name}"):
        return [credential_state(c) for c in conn.msi().federated_identity_credentials.list(resource_group, identity_name)]


def find_credential(credentials: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    # ARM resource names are case-insensitive.
    return next((c for c in credentials if (c["name"] or "").lower() == name.lower()), None)


def near_misses(credentials: list[dict[str, Any]], issuer: str, subject: str) -> list[str]:
    """Warnings for credentials that differ from (issuer, subject) only by a trailing slash or
    letter case: Entra matches exactly, so such a pair never matches the token it was meant for."""
    warnings = []
    for cred in credentials:
        if cred["issuer"] == issuer and cred["subject"] == subject:
            continue
        same_issuer = (cred["issuer"] or "").rstrip("/").lower() == issuer.rstrip("/").lower()
        same_subject = (cred["subject"] or "").lower() == subject.lower()
        if same_issuer and same_subject:
            differences = []
            if cred["issuer"] != issuer:
                differences.append(f"issuer {cred['issuer']!r} vs {issuer!r}")
            if cred["subject"] != subject:
                differences.append(f"subject {cred['subject']!r} vs {subject!r}")
            warnings.append(
                f"federated credential {cred['name']!r} differs from the requested one only by trailing slash or "
                f"case ({'; '.join(differences)}); Entra compares issuer and subject exactly (case-sensitive, "
                f"trailing '/' included), so only one of them can match the token")
    return warnings


def plan_credential(credentials: list[dict[str, Any]], identity_name: str, name: str, issuer: str, subject: str,
                    audiences: list[str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(current, desired) for the named credential; desired is None when nothing must change.

    Refuses, without writing, what Entra would refuse: the same issuer+subject under another name,
    and a 21st credential on the identity.
    """
    current = find_credential(credentials, name)
    desired = {"name": current["name"] if current else name, "issuer": issuer, "subject": subject,
               "audiences": list(audiences)}
    if current and all(current[k] == desired[k] for k in ("issuer", "subject", "audiences")):
        return current, None
    for cred in credentials:
        if cred is not current and cred["issuer"] == issuer and cred["subject"] == subject:
            raise AzureError(
                f"Federated credential {cred['name']!r} on managed identity {identity_name} already has issuer "
                f"{issuer!r} and subject {subject!r}; Entra allows each issuer+subject pair once per identity. "
                f"Use name: {cred['name']} or remove that credential.",
                code="IssuerSubjectAlreadyExists", status=None)
    if current is None and len(credentials) >= FIC_LIMIT:
        raise AzureError(
            f"Managed identity {identity_name} already has {len(credentials)} federated credentials, the Entra "
            f"limit is {FIC_LIMIT} per identity; credential {name!r} was not created",
            code="FederatedIdentityCredentialLimitReached", status=None)
    desired["id"] = current["id"] if current else None
    return current, desired


def plan_all(credentials: list[dict[str, Any]], identity_name: str, items: list[dict[str, Any]]) -> None:
    """Every item of a credential list decided against what exists plus what the items before it add
    or remove, before the first write: Entra's 20-credential limit and the one-issuer+subject-per-identity
    rule are found here, not after some of the items are written. Raises like ``plan_credential``."""
    after = list(credentials)
    for item in items:
        current = find_credential(after, item["name"])
        if item.get("state", "present") == "absent":
            after = [c for c in after if c is not current]
            continue
        if not item.get("issuer"):  # check mode: an issuer only predicted
            if current is None:
                after.append({"name": item["name"], "issuer": None, "subject": item["subject"]})
            continue
        _current, desired = plan_credential(after, identity_name, item["name"], item["issuer"], item["subject"],
                                            item["audiences"])
        if desired is not None:
            after = [c for c in after if c is not current] + [desired]


def lock_dir() -> str:
    """This user's private lock directory (``$TMPDIR/kedaops-aks-<uid>``, mode 0700): another local
    user can neither hold our locks (and stall our writes) nor plant a file or link in it."""
    path = os.path.join(tempfile.gettempdir(), f"kedaops-aks-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise AzureError(f"the lock directory {path} is not a private directory of this user (mode 0700); "
                         "remove it and run again", code="LockDirectoryNotPrivate")
    return path


def lock_path(identity_resource_id: str) -> str:
    digest = hashlib.sha256(identity_resource_id.lower().encode("utf-8")).hexdigest()[:32]
    return os.path.join(lock_dir(), f"fic-{digest}.lock")


@contextlib.contextmanager
def identity_write_lock(identity_resource_id: str, timeout: float) -> Iterator[None]:
    """Serialise federated credential writes to one identity across every process of this user on
    this controller (forks, async tasks, parallel playbooks): Azure answers overlapping writes under
    one identity with a 409. An advisory fcntl lock on a file keyed by the identity's id, in the
    user's private directory; the kernel drops it if the holder dies. The holder removes the file
    before it unlocks, and a waiter that wins the lock on a removed file tries again, so files do not
    pile up and two holders never coexist."""
    import fcntl

    path = lock_path(identity_resource_id)
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() >= deadline:
                        raise AzureError(
                            f"Timed out after {timeout:.0f} s waiting for the federated credential write lock of "
                            f"{identity_resource_id} ({path})", code="LockTimeout") from None
                    time.sleep(0.05)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the previous holder removed this file: lock the one now at the path
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def ensure_credential_present(conn: AzureConnection, resource_group: str, identity_name: str, name: str,
                              issuer: str, subject: str, audiences: list[str], check_mode: bool, timeout: float,
                              warn: Callable[[str], None], listed: list[dict[str, Any]] | None = None,
                              ) -> tuple[bool, dict[str, Any] | None, dict[str, Any] | None]:
    """Returns (changed, before, after). ``listed``: the identity's credentials as a caller that ensures
    several already read them (one list for all); a write always decides again on a fresh list.

    In check mode a chain of tasks runs against things earlier tasks only predicted: an identity
    not created yet (no credentials to list) or a cluster issuer not assigned yet (``issuer`` is
    null). Both are predicted as a creation with a warning instead of failing the check run.
    """
    if check_mode and not issuer:
        validate_credential(name, UNKNOWN_ISSUER, subject, audiences)
        warn(f"issuer is not known yet (check mode); credential {name!r} would be written once it is")
        return True, None, {"id": credential_id(conn, resource_group, identity_name, name), "name": name,
                            "issuer": issuer, "subject": subject, "audiences": list(audiences)}
    validate_credential(name, issuer, subject, audiences)
    for message in issuer_warnings(issuer):
        warn(message)

    def plan(read: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any] | None, dict[str, Any] | None,
                                                                list[dict[str, Any]]]:
        try:
            credentials = read if read is not None else list_credentials(conn, resource_group, identity_name)
        except AzureError as err:
            if not (check_mode and err.status == 404):
                raise
            warn(f"managed identity {identity_name} does not exist (yet); predicting the creation of credential {name!r}")
            credentials = []
        current, desired = plan_credential(credentials, identity_name, name, issuer, subject, audiences)
        return current, desired, credentials

    current, desired, credentials = plan(listed)
    if desired is None or check_mode:
        for message in near_misses(credentials, issuer, subject):
            warn(message)
    if desired is None:
        return False, current, current
    if check_mode:
        return True, current, {**desired, "id": desired["id"] or credential_id(conn, resource_group, identity_name, name)}

    with identity_write_lock(identity_id(conn.subscription_id, resource_group, identity_name), timeout):
        # Another fork may have written while we waited for the lock: decide again on fresh state.
        current, desired, credentials = plan()
        if desired is None:
            return False, current, current
        for message in near_misses(credentials, issuer, subject):
            warn(message)
        written = write_credential(conn, resource_group, identity_name, desired, timeout)
    return True, current, written


def ensure_credential_absent(conn: AzureConnection, resource_group: str, identity_name: str, name: str,
                             check_mode: bool, timeout: float) -> tuple[bool, dict[str, Any] | None]:
    """Returns (changed, before). Other credentials on the identity are never touched."""
    validate_credential(name, None, None, None, state="absent")

    def current() -> dict[str, Any] | None:
        try:
            credentials = list_credentials(conn, resource_group, identity_name)
        except AzureError as err:
            if err.status == 404:  # no identity (or group): none of its credentials exist
                return None
            raise
        return find_credential(credentials, name)

    before = current()
    if before is None:
        return False, None
    if check_mode:
        return True, before
    with identity_write_lock(identity_id(conn.subscription_id, resource_group, identity_name), timeout):
        before = current()
        if before is None:
            return False, None

        delete_credential(conn, resource_group, identity_name, before["name"], timeout)
    return True, before


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
