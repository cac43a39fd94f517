"""Service account tokens: TokenRequest (serviceaccounts/token) and what a bearer token stands for.

TokenRequest's defaults and limits (1h, at least 10 minutes, at most 2^32 seconds), binding to a
Pod or Secret by name and UID (pkg/registry/core/serviceaccount/storage/token.go); authentication
accepts tokens of every configured issuer for the API audience or an issuer as audience, and only
while the service account with that UID still exists (TokenReview semantics).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    from .api import Api
    from .options import Options

# The default audience of a TokenRequest and of the apiserver's own authentication.
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def token_request(api: Api, namespace: str, name: str, body: Any, opts: Options) -> dict[str, Any]:
    with api.transaction():
        account = api.store.get(("", "serviceaccounts"), namespace, name)
        if account is None:
            raise errors.not_found("serviceaccounts", "", name)
        request = body if isinstance(body, dict) else {}
        spec = dict(request.get("spec") or {})
        audiences = spec.get("audiences") or [API_AUDIENCE]
        expiration = spec.get("expirationSeconds")
        expiration = 3600 if expiration is None else expiration
        problems = []
        if not isinstance(expiration, int) or expiration < 600:
            problems.append(errors.invalid("spec.expirationSeconds", expiration,
                                           "may not specify a duration less than 10 minutes"))
        elif expiration > 2 ** 32:
            problems.append(errors.invalid("spec.expirationSeconds", expiration,
                                           "may not specify a duration larger than 2^32 seconds"))
        if problems:
            raise errors.invalid_object("TokenRequest", "authentication.k8s.io", "", problems)
        bound = None
        ref = spec.get("boundObjectRef")
        if ref:
            kind = ref.get("kind")
            plural = {"Pod": "pods", "Secret": "secrets"}.get(kind)
            if plural is None:
                raise errors.bad_request(f"cannot bind token for serviceaccount \"{name}\" to object of type {kind}")
            target = api.store.get(("", plural), namespace, ref.get("name", ""))
            if target is None:
                raise errors.not_found(plural, "", ref.get("name", ""))
            if ref.get("uid") and ref["uid"] != target["metadata"]["uid"]:
                raise errors.conflict(plural, "", ref.get("name", ""), "the UID in the bound object reference "
                                      f"({ref['uid']}) does not match the UID in record. The object might have been deleted "
                                      "and then recreated")
            bound = {"kind": kind, "name": ref.get("name", ""), "uid": target["metadata"]["uid"]}
        response = {
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": ref or None},
            "status": {"token": "", "expirationTimestamp": ""},
        }
        if opts.dry_run:
            return response
        token, exp = api.issuer.issue(api.issuer_url, namespace, name, account["metadata"]["uid"], audiences,
                                      expiration, bound)
        response["status"] = {"token": token, "expirationTimestamp": _rfc3339(exp)}
        return response


def authenticate(api: Api, token: str) -> dict[str, Any] | None:
    """The user a bearer token stands for (TokenReview semantics), or None."""
    accepted = api.accepted_issuers()
    claims = next((c for c in (api.issuer.verify(token, issuer) for issuer in accepted) if c is not None), None)
    if claims is None:
        return None
    audiences = claims.get("aud") or []
    if isinstance(audiences, str):
        audiences = [audiences]
    if not set(audiences) & {API_AUDIENCE, *accepted}:
        return None
    private = claims.get("kubernetes.io") or {}
    account = private.get("serviceaccount") or {}
    namespace = private.get("namespace", "")
    stored = api.store.get(("", "serviceaccounts"), namespace, account.get("name", ""))
    if stored is None or stored["metadata"]["uid"] != account.get("uid"):
        return None
    return {"username": claims.get("sub"), "uid": account.get("uid"),
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
            "audiences": audiences}


def _rfc3339(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
