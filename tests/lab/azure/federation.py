"""Workload identity federation as Entra evaluates it: a client assertion from an external issuer
against the federated identity credentials of the identity named by ``client_id``.

Order of checks: the assertion's lifetime (AADSTS700024), then the credential match on issuer
(exact, trailing slash included), subject (case-sensitive; AADSTS7002138 when only a case-insensitive
match exists) and audience (AADSTS70021 otherwise) over the credentials older than the propagation
delay, then the RS256 signature through the issuer's OIDC discovery document and JWKS (only issuers
a credential names are ever contacted). Texts are the ones Entra returns (facts 7).
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import jwt

FetchJson = Callable[[str], Any]

ERROR_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
ASSERTION_DOCS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"


class EntraError(Exception):
    """An OAuth error answer: HTTP status, OAuth ``error``, AADSTS number, message."""

    def __init__(self, status: int, error: str, code: int, message: str):
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message


def entra_time(timestamp: float) -> str:
    """Entra prints instants with seven fractional digits: 2024-10-02T22:05:03.6755165Z."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def https_fetcher(ca_file: str | None, timeout: float = 5.0) -> FetchJson:
    """GET a JSON document over HTTPS trusting the lab CA (Entra fetches issuer metadata this way)."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()

    def fetch(url: str) -> Any:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # nosec - lab-internal URL
            return json.loads(response.read().decode("utf-8"))

    return fetch


class IssuerKeys:
    """Signing keys of external issuers, fetched through their discovery document and cached per issuer."""

    def __init__(self, fetch_json: FetchJson):
        self._fetch_json = fetch_json
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def key(self, issuer: str, kid: str | None) -> Any:
        with self._lock:
            cached = self._keys.get(issuer)
        if cached is None or (kid is not None and kid not in cached):
            cached = self._load(issuer)
            with self._lock:
                self._keys[issuer] = cached
        if kid is None and len(cached) == 1:
            return next(iter(cached.values()))
        if kid not in cached:
            raise EntraError(401, "invalid_client", 50013,
                             "Assertion failed signature validation. [Reason - The key was not found.]")
        return cached[kid]

    def _load(self, issuer: str) -> dict[str, Any]:
        discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            discovery = self._fetch_json(discovery_url)
            jwks = self._fetch_json(discovery["jwks_uri"])
            keys = {}
            for jwk in jwks.get("keys", []):
                if jwk.get("kty") == "RSA":
                    keys[jwk.get("kid") or ""] = jwt.PyJWK(jwk, algorithm="RS256").key
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError, jwt.PyJWKError) as exc:
            raise EntraError(400, "invalid_request", 90061,
                             f"Request to External OIDC endpoint failed. [{exc.__class__.__name__}]") from exc
        return keys


class AssertionVerifier:
    """Decides a jwt-bearer client assertion for one identity (``identity`` as ArmService.find_identity_by_client_id gives it)."""

    def __init__(self, keys: IssuerKeys, propagation_seconds: Callable[[], float], clock: Callable[[], float] = time.time):
        self.keys = keys
        self.propagation_seconds = propagation_seconds
        self.clock = clock

    def verify(self, assertion: str, identity: dict[str, Any]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
        now = self.clock()
        self._check_lifetime(claims, now)
        issuer, subject = str(claims.get("iss", "")), str(claims.get("sub", ""))
        audiences = claims.get("aud", [])
        audiences = [audiences] if isinstance(audiences, str) else [str(a) for a in audiences or []]
        self._match(identity, issuer, subject, audiences, now)
        if header.get("alg") != "RS256":
            # Only RS256-signed issuer tokens are supported (Entra considerations, "Supported signing algorithms").
            raise EntraError(401, "invalid_client", 50013, "Assertion failed signature validation. [Reason - Unsupported algorithm.]")
        key = self.keys.key(issuer, header.get("kid"))
        try:
            jwt.decode(assertion, key=key, algorithms=["RS256"],
                       options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidSignatureError as exc:
            raise EntraError(401, "invalid_client", 50013,
                             "Assertion failed signature validation. "
                             "[Reason - The provided signature value did not match the expected signature value.]") from exc
        except jwt.PyJWTError as exc:
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
        return claims

    @staticmethod
    def _check_lifetime(claims: dict[str, Any], now: float) -> None:
        try:
            expiry = float(claims.get("exp", 0))
            valid_from = float(claims.get("nbf", claims.get("iat", 0)))
        except (TypeError, ValueError) as exc:
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
        if expiry <= now or valid_from > now:
            raise EntraError(401, "invalid_client", 700024,
                             f"Client assertion is not within its valid time range. Current time: {entra_time(now)}, "
                             f"assertion valid from {entra_time(valid_from)}, expiry time of assertion {entra_time(expiry)}. "
                             f"Review the documentation at {ASSERTION_DOCS} .")

    def _match(self, identity: dict[str, Any], issuer: str, subject: str, audiences: list[str], now: float) -> None:
        delay = float(self.propagation_seconds() or 0)
        # A credential is honoured only once it has propagated (facts 1.6); until then it does not exist.
        visible = [c for c in identity.get("credentials", []) if now - c["updated"] >= delay]
        candidates = [c for c in visible if c["issuer"] == issuer and any(a in c["audiences"] for a in audiences)]
        if any(c["subject"] == subject for c in candidates):
            return
        if any(c["subject"].lower() == subject.lower() for c in candidates):
            raise EntraError(401, "invalid_client", 7002138,
                             f"No matching federated identity record found for presented assertion subject '{subject}'. "
                             "The subject matches with case-insensitive comparison, but not with case-sensitive comparison.")
        # invalid_client, as KEDA's operator log shows Entra answering (reference/keda-behaviour.md, token request).
        raise EntraError(400, "invalid_client", 70021,
                         "No matching federated identity record found for presented assertion. "
                         f"Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
                         f"Assertion Audience: '{','.join(audiences)}'. {ERROR_DOCS}")
