# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Federated identity credentials: Entra's rules and the pure planners (no I/O).

What Entra refuses or could never match is refused here, naming the option, before anything is sent:
the credential's name, issuer, subject (or the namespace and service account it is built from) and
audience; the 20-credential limit and the one-issuer+subject-per-identity rule are planned against
what exists (``plan_credential``, ``plan_all``).
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

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


def service_account_subject(namespace: str | None, service_account: str | None) -> str | None:
    """``system:serviceaccount:<namespace>:<service_account>``, the ``sub`` claim of a Kubernetes service
    account token, both names checked as the API server checks them (a DNS-1123 label and subdomain,
    https://kubernetes.io/docs/concepts/overview/working-with-objects/names/); None when neither is given."""
    if namespace is None and service_account is None:
        return None
    from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
    if not namespace:
        raise OptionError("namespace: required with service_account (the service account's namespace)")
    if not service_account:
        raise OptionError("service_account: required with namespace (the service account's name)")
    rules.dns_label("namespace", namespace)
    rules.dns_subdomain("service_account", service_account)
    return f"{SA_SUBJECT_PREFIX}{namespace}:{service_account}"


def check_pairs(items: list[dict[str, Any]]) -> None:
    """Entra allows each issuer+subject pair once per identity: two items with one pair are refused."""
    seen: dict[tuple[Any, Any], str] = {}
    for index, item in enumerate(items):
        if item["state"] != "present" or not item["issuer"]:
            continue
        pair = (item["issuer"], item["subject"])
        if pair in seen:
            raise OptionError(f"federated_credentials[{index}]: issuer {item['issuer']!r} and subject "
                              f"{item['subject']!r} are those of {seen[pair]!r} too; Entra allows each issuer+subject "
                              "pair once per identity")
        seen[pair] = item["name"]
