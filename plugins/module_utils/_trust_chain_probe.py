# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The definitive link of the trust chain: ask the cluster for an operator service-account token
(TokenRequest) and exchange it at Entra for the identity, as KEDA will; retried while Entra says
the credential has not propagated yet, and explained by its AADSTS code when it fails."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._arc import k3s_fix
from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import DEFAULT_AUDIENCE as TOKEN_EXCHANGE_AUDIENCE
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import SERVICE_ACCOUNT, Api, K8sError
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import Check, Facts

# Codes the token endpoint answers while a correct credential has not reached every Entra replica.
PROPAGATING_CODES = ("70021", "700211", "700213")

AADSTS_MEANINGS = {
    "70021": ("No federated credential on the identity matches the token's issuer, subject and audience "
              "(or a new one has not propagated yet; that takes seconds to minutes)"),
    "700211": "No federated credential matches the token's issuer (a missing trailing '/' is the usual cause)",
    "700213": "No federated credential matches the token's subject (namespace or service account name)",
    "7002138": "A credential's subject matches only when letter case is ignored; Entra compares it case-sensitively",
    "700024": "The service account token has expired or is not yet valid (clock skew, or a stale token file)",
    "700016": ("No application with this client id exists in the tenant: the client id is wrong (a principal "
               "id instead of the client id?), the identity was deleted, or it lives in another tenant"),
    "90061": "Entra could not reach the cluster's OIDC issuer to fetch its signing keys",
    "50027": "The service account token is malformed or its signature does not verify against the issuer's keys",
}


def request_token(api: Api, namespace: str, service_account: str, seconds: int = 600) -> str:
    """A short-lived token for the service account, as the kubelet would project it (TokenRequest)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [TOKEN_EXCHANGE_AUDIENCE], "expirationSeconds": seconds}}
    result = api.call("POST", SERVICE_ACCOUNT.path(namespace, service_account, "token"),
                      body=body, content_type="application/json")
    return result["status"]["token"]


def token_issuer(token: str) -> str | None:
    """The ``iss`` claim of a JWT, read without verifying it (the API server's choice is the question)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def aadsts_code(message: str) -> str | None:
    match = re.search(r"AADSTS(\d+)", message or "")
    return match.group(1) if match else None


def exchange(token: str, tenant_id: str, client_id: str, authority: str, scope: str,
             public_authorities: frozenset[str]) -> None:
    """Trade the service account token at Entra for ``client_id``; raises ClientAuthenticationError."""
    from azure.identity import ClientAssertionCredential
    credential = ClientAssertionCredential(tenant_id, client_id, lambda: token, authority=authority,
                                           disable_instance_discovery=authority not in public_authorities)
    credential.get_token(scope)


def probe(get_token: Callable[[], str], try_exchange: Callable[[str], None], wait_timeout: float,
          may_wait: bool, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Exchange a token, again and again while the answer is 'not propagated yet' and time remains."""
    started = time.monotonic()
    attempts = 0
    delay = 1.0
    while True:
        attempts += 1
        try:
            try_exchange(get_token())
            return {"ok": True, "code": None, "message": "token exchanged", "attempts": attempts,
                    "elapsed": round(time.monotonic() - started, 2)}
        except K8sError as err:
            return {"ok": False, "code": err.reason, "message": f"TokenRequest failed: {err.message}",
                    "attempts": attempts, "elapsed": round(time.monotonic() - started, 2)}
        except Exception as err:  # pylint: disable=broad-except
            message = str(err)
            code = aadsts_code(message)
            remaining = wait_timeout - (time.monotonic() - started)
            if may_wait and code in PROPAGATING_CODES and remaining > 0:
                sleep(min(delay, remaining))
                delay = min(delay * 2, 10.0)
                continue
            return {"ok": False, "code": f"AADSTS{code}" if code else type(err).__name__, "message": message,
                    "attempts": attempts, "elapsed": round(time.monotonic() - started, 2)}


def probe_check(result: dict[str, Any], facts: Facts) -> Check:
    if result["ok"]:
        detail = (f"a {facts.operator_namespace}/{facts.operator_service_account} token was exchanged at Entra for "
                  f"{(facts.identity or {}).get('client_id')} ({result['attempts']} attempt(s), {result['elapsed']}s)")
        return Check("token_exchange", True, detail)
    code = (result["code"] or "").replace("AADSTS", "")
    meaning = AADSTS_MEANINGS.get(code, "")
    if facts.cluster_kind == "arc" and facts.token_issuer and facts.issuer and facts.token_issuer != facts.issuer:
        return Check("token_exchange", False,
                     f"{result['code']}: the operator's token carries iss {facts.token_issuer!r}, not the connected "
                     f"cluster's issuer (see api_server_issuer). {(result['message'] or '').strip().splitlines()[0]}",
                     k3s_fix(facts.issuer))
    fix = {
        "70021": "fix the failing credential_* check; if all pass, the credential is still propagating: retry with wait_timeout",
        "700211": "set the credential's issuer to the cluster's issuer exactly (see credential_issuer)",
        "700213": "set the credential's subject to the operator's service account (see credential_subject)",
        "7002138": "fix the subject's letter case (see credential_subject)",
        "700016": "use the identity's client id (not its principal id) in the annotation and TriggerAuthentications",
        "700024": "check the controller's clock; request a fresh token",
    }.get(code, "see the detail")
    first_line = (result["message"] or "").strip().splitlines()[0] if result["message"] else ""
    return Check("token_exchange", False, f"{result['code']}: {meaning + '. ' if meaning else ''}{first_line}", fix)
