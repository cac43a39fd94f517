"""What the Azure data planes of the lab share: Entra bearer tokens and RBAC data actions.

A data plane (Service Bus, the Azure Monitor workspace's Prometheus endpoint) accepts an Entra
access token for its own resource URI and then asks Azure RBAC whether the token's ``oid`` holds a
role whose ``dataActions`` (minus ``notDataActions``) cover the requested data action at the
resource's scope or any ancestor scope (https://learn.microsoft.com/azure/role-based-access-control/role-definitions#dataactions,
"Role assignments are inherited by child scopes", .../scope-overview).

Role assignments younger than the lab setting ``rbac_propagation_seconds`` are not honoured yet
(Azure documents "up to 10 minutes" for role assignment changes to take effect,
https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .. import services as lab_services
from .store import key_of


def bearer_claims(lab: Any, header: str | None, audiences: list[str]) -> tuple[dict[str, Any] | None, str]:
    """(claims, "") for a valid token for one of ``audiences``; else (None, "missing"|"invalid"|"expired"|"audience").

    The Service Bus admin SDK sends the raw JWT without the ``Bearer`` prefix
    (azservicebus internal/atom/per_retry_auth_policy.go), so both forms are accepted.
    """
    if not header or not header.strip():
        return None, "missing"
    value = header.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    entra = lab_services.entra(lab)
    if entra is None:
        return None, "invalid"
    claims, problem = entra.inspect_access_token(value, audiences)
    return claims, problem or ""


def _pattern(action: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in action.split("*")) + "$", re.IGNORECASE)


def role_grants(role: dict[str, Any], data_action: str) -> bool:
    allowed = any(_pattern(a).match(data_action) for a in role.get("dataActions") or [])
    denied = any(_pattern(a).match(data_action) for a in role.get("notDataActions") or [])
    return allowed and not denied


def _ancestor_or_self(upper: str, lower: str) -> bool:
    a, b = key_of(upper), key_of(lower)
    return a == "/" or a == b or b.startswith(a + "/")


def granted_roles(lab: Any, principal_id: str, scope: str) -> list[dict[str, Any]]:
    """The built-in role definitions assigned to ``principal_id`` at ``scope`` or above, propagated."""
    from . import authorization

    arm = lab_services.arm(lab)
    if arm is None:
        return []
    delay = float(lab.settings.get("rbac_propagation_seconds") or 0)
    now = time.time()
    roles = []
    for record in arm.store.find(authorization.ASSIGNMENT_KIND):
        properties = record.body.get("properties") or {}
        if str(properties.get("principalId", "")).lower() != principal_id.lower():
            continue
        if not _ancestor_or_self(record.meta.get("scope") or properties.get("scope") or "", scope):
            continue
        if now - record.created < delay:
            continue
        role = authorization.builtin_role(record.meta.get("role") or str(properties.get("roleDefinitionId", "")).rsplit("/", 1)[-1])
        if role is not None:
            roles.append(role)
    return roles


def allowed(lab: Any, principal_id: str, scope: str, data_action: str) -> bool:
    return any(role_grants(role, data_action) for role in granted_roles(lab, principal_id, scope))
