"""The Microsoft Entra token endpoint at AZURE_AUTHORITY_HOST: OIDC discovery, JWKS and
``/{tenant}/oauth2/v2.0/token`` for the client-credentials grant, with a client secret (the
automation service principal) or a federated client assertion (workload identity).

Error answers use Entra's OAuth error JSON (``error``, ``error_description`` starting with the
AADSTS code, ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri``) with
the HTTP status Entra uses: 400 for invalid_request / unauthorized_client / invalid_scope, 401 for
invalid_client (as quoted in the public threads cited in the report), except AADSTS70021, which
KEDA's operator log shows as 400 invalid_client (reference/keda-behaviour.md).

Access tokens carry ``aud`` = the scope without its ``/.default`` suffix, as Entra issues them.

Token version and issuer (https://learn.microsoft.com/entra/identity-platform/access-tokens#token-formats,
"The version of the access token is chosen by the resource ... based on accessTokenAcceptedVersion
(requestedAccessTokenVersion) in its app manifest", null meaning 1; "the endpoint used to request the token
doesn't determine the version"): every resource the lab serves (ARM, Graph, Service Bus, Azure Monitor, and the
lab's stand-ins for them) is Microsoft's own API that accepts v1.0, so every access token is v1.0
(``ver`` 1.0, ``appid``/``appidacr``, ``iss`` ``https://sts.windows.net/<tenant>/``) even from the v2.0 token
endpoint. A v2.0 token would say ``https://login.microsoftonline.com/<tenant>/v2.0``, the issuer the
v2.0 discovery document names (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import ids
from .. import services as lab_services
from ..core import Fault, Lab, Request, Response, Service, StreamWriter
from .federation import AssertionVerifier, EntraError, IssuerKeys, https_fetcher

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
V1_ISSUER = f"https://sts.windows.net/{ids.TENANT_ID}/"
V2_ISSUER = f"https://login.microsoftonline.com/{ids.TENANT_ID}/v2.0"
TOKEN_LIFETIME = 3599

# Defaults for injected faults without a code: (OAuth error, AADSTS number).
_FAULT_DEFAULTS = {
    400: ("invalid_request", 900144),
    401: ("invalid_client", 7000215),
    429: ("temporarily_unavailable", 90055),
    500: ("server_error", 50000),
    502: ("server_error", 50000),
    503: ("temporarily_unavailable", 90033),
    504: ("server_error", 50000),
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class EntraService(Service):
    """Entra ID for the lab tenant."""

    name = "entra"

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_der = self._key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64url(hashlib.sha1(public_der).digest())  # nosec - a key id, like Entra's x5t thumbprints
        self._issuer_keys = IssuerKeys(self._fetch_issuer_document)
        self.verifier = AssertionVerifier(self._issuer_keys, lambda: self.lab.setting("fic_propagation_seconds"))

    def _fetch_issuer_document(self, url: str) -> Any:
        from .connectedclusters import oidc_document
        # Arc's issuer host (*.oic.prod-arc.azure.com) has no DNS here: its documents come from ARM's half.
        hosted = oidc_document(lab_services.arm(self.lab), url)
        if hosted is not None:
            return hosted
        # The lab CA exists only once the lab has started, so the fetcher is built per use.
        return https_fetcher(self.lab.pki.get("ca"))(url)

    # -- lab.core.Service -----------------------------------------------------------------------

    def reset(self) -> None:
        self._issuer_keys.clear()

    def env(self) -> dict[str, str]:
        return {
            "AZURE_TENANT_ID": ids.TENANT_ID,
            "AZURE_CLIENT_ID": ids.AUTOMATION_CLIENT_ID,
            "AZURE_CLIENT_SECRET": ids.AUTOMATION_CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": self.url,
            "LAB_ENTRA_URL": self.url,
            "LAB_AUTOMATION_PRINCIPAL_ID": ids.AUTOMATION_PRINCIPAL_ID,
        }

    def fault_response(self, fault: Fault) -> Response:
        error, code = _FAULT_DEFAULTS.get(fault.status, ("server_error", 50000))
        if fault.code:
            text = str(fault.code)
            if text.upper().startswith("AADSTS") and text[6:].isdigit():
                code = int(text[6:])
            else:
                error = text
        return self._error(None, EntraError(fault.status, error, code, fault.message))

    # -- what ARM asks ------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The ``iss`` of access tokens: all are v1.0 (module docstring), so Entra's v1.0 issuer."""
        return V1_ISSUER

    def inspect_access_token(self, token: str, audiences: list[str]) -> tuple[dict[str, Any] | None, str | None]:
        """(claims, None) for a valid token for one of ``audiences``, else (None, "invalid"|"expired"|"audience")."""
        try:
            claims = jwt.decode(token, key=self._key.public_key(), algorithms=["RS256"],
                                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError:
            return None, "invalid"
        if claims.get("iss") != self.issuer or claims.get("tid") != ids.TENANT_ID:
            return None, "invalid"
        if float(claims.get("exp", 0)) <= time.time():
            return None, "expired"
        if claims.get("aud") not in audiences:
            return None, "audience"
        return claims, None

    def validate_access_token(self, token: str, audiences: list[str]) -> dict[str, Any] | None:
        claims, _problem = self.inspect_access_token(token, audiences)
        return claims

    # -- request handling ---------------------------------------------------------------------------

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        segments = [s for s in request.path.split("/") if s]
        lowered = [s.lower() for s in segments]
        try:
            if request.method == "GET" and lowered[-2:] == ["discovery", "instance"]:
                return self._instance_discovery()
            if len(segments) < 2:
                return Response.json(404, {"error": "not_found", "error_description": f"No route {request.path}"})
            tenant, rest = segments[0], lowered[1:]
            if request.method == "GET" and rest in (["v2.0", ".well-known", "openid-configuration"], [".well-known", "openid-configuration"]):
                self._check_tenant(tenant)
                return Response.json(200, self._openid_configuration(v2=rest[0] == "v2.0"))
            if request.method == "GET" and rest in (["discovery", "v2.0", "keys"], ["discovery", "keys"]):
                return Response.json(200, self.jwks())
            if rest == ["oauth2", "v2.0", "token"]:
                if request.method != "POST":
                    raise EntraError(400, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request.")
                self._check_tenant(tenant)
                return self._token(request)
        except EntraError as exc:
            return self._error(request, exc)
        return Response.json(404, {"error": "not_found", "error_description": f"No route {request.method} {request.path}"})

    @staticmethod
    def _check_tenant(tenant: str) -> None:
        if tenant.lower() != ids.TENANT_ID:
            raise EntraError(400, "invalid_request", 90002,
                             f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                             "into the correct cloud. Check with your subscription administrator, this may happen if there "
                             "are no active subscriptions for the tenant.")

    def _instance_discovery(self) -> Response:
        host = urllib.parse.urlsplit(self.url).netloc
        return Response.json(200, {
            "tenant_discovery_endpoint": f"{self.url}/{ids.TENANT_ID}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    def _openid_configuration(self, v2: bool = True) -> dict[str, Any]:
        base = f"{self.url}/{ids.TENANT_ID}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": V2_ISSUER if v2 else V1_ISSUER,  # Entra's fixed issuers, whatever host served the document
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                          "n": _int_b64(numbers.n), "e": _int_b64(numbers.e), "issuer": V2_ISSUER}]}

    # -- the token endpoint ---------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        basic_id, basic_secret = self._basic_auth(request)
        client_id = form.get("client_id") or basic_id
        secret = form.get("client_secret") or basic_secret
        grant = form.get("grant_type")
        if not grant:
            raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        if grant != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if not client_id:
            raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        scope = form.get("scope")
        if not scope:
            raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise EntraError(400, "invalid_scope", 1002012,
                             f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                             "value with /.default suffixed to the resource identifier (application ID URI).")
        # Entra takes everything before "/.default" as the resource, which becomes the token's aud:
        # "https://management.core.windows.net//.default" (what the Azure CLI asks) -> "https://management.core.windows.net/"
        # (https://learn.microsoft.com/entra/identity-platform/scopes-oidc#trailing-slash-and-default).
        resource = scopes[0][: -len("/.default")]
        if client_id.lower() == ids.AUTOMATION_CLIENT_ID:
            principal, identity = ids.AUTOMATION_PRINCIPAL_ID, None
        else:
            arm = lab_services.arm(self.lab)
            identity = arm.find_identity_by_client_id(client_id) if arm is not None else None
            if identity is None:
                raise EntraError(400, "unauthorized_client", 700016,
                                 f"Application with identifier '{client_id}' was not found in the directory '{ids.TENANT_ID}'. "
                                 "This can happen if the application has not been installed by the administrator of the tenant "
                                 "or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
            principal = identity["principalId"]
        assertion = form.get("client_assertion")
        if assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise EntraError(400, "invalid_request", 50027, "Invalid client_assertion_type; expected "
                                 f"'{JWT_BEARER}'.")
            # The automation SP has no federated credentials: every assertion fails to match.
            self.verifier.verify(assertion, identity or {"credentials": []})
            method = "2"
        elif secret:
            if identity is not None or not hmac.compare_digest(secret.encode("utf-8"), ids.AUTOMATION_CLIENT_SECRET.encode("utf-8")):
                raise EntraError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                                 f"secret value, not the client secret ID, for a secret added to app '{client_id}'.")
            method = "1"
        else:
            raise EntraError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        token = self._access_token(resource, client_id, principal, method, identity)
        return Response.json(200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                                   "access_token": token})

    @staticmethod
    def _basic_auth(request: Request) -> tuple[str | None, str | None]:
        header = request.headers.get("Authorization") or ""
        if not header.lower().startswith("basic "):
            return None, None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
        user, _colon, password = decoded.partition(":")
        return urllib.parse.unquote(user), urllib.parse.unquote(password)

    def _access_token(self, resource: str, client_id: str, principal: str, method: str,
                      identity: dict[str, Any] | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": resource,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "aio": _b64url(uuid.uuid4().bytes),
            "appid": client_id,
            "appidacr": method,
            "idp": self.issuer,
            "idtyp": "app",
            "oid": principal,
            "sub": principal,
            "tid": ids.TENANT_ID,
            "uti": _b64url(uuid.uuid4().bytes),
            "ver": "1.0",
        }
        if identity is not None:
            claims["xms_mirid"] = identity["id"]
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})

    def _error(self, request: Request | None, exc: EntraError) -> Response:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(now))
        trace_id = str(uuid.uuid4())
        # Entra echoes the caller's client-request-id (MSAL sends one) as the correlation id.
        correlation_id = (request.headers.get("client-request-id") if request is not None else None) or str(uuid.uuid4())
        description = f"AADSTS{exc.code}: {exc.message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        return Response.json(exc.status, {
            "error": exc.error,
            "error_description": description,
            "error_codes": [exc.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.url}/error?code={exc.code}",
        })
