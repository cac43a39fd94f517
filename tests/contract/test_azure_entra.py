"""Contract: the lab's Entra token endpoint (client secret and federated client assertions).

The federated exchanges use real service-account tokens from the Kubernetes lab's TokenRequest API
(see test_azure_workload_identity.py); this file covers the client-secret flow, Entra's error shape,
and unit-tests the assertion verifier with assertions it mints itself.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity
from cryptography.hazmat.primitives.asymmetric import rsa

from lab import ids
from lab.azure import clients
from lab.azure.federation import AssertionVerifier, EntraError, IssuerKeys

ISSUER = "https://oidc.example/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/"
SUBJECT = "system:serviceaccount:kube-system:keda-operator"
AUDIENCE = ids.TOKEN_EXCHANGE_AUDIENCE


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


def token_url(env: dict[str, str], tenant: str = ids.TENANT_ID) -> str:
    return f"{env['AZURE_AUTHORITY_HOST']}/{tenant}/oauth2/v2.0/token"


def post_form(env: dict[str, str], fields: dict[str, str], tenant: str = ids.TENANT_ID, headers: dict[str, str] | None = None):
    merged = {"Content-Type": "application/x-www-form-urlencoded"}
    merged.update(headers or {})
    return clients.http(env, "POST", token_url(env, tenant), urllib.parse.urlencode(fields).encode(), merged)


def secret_form(**overrides: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": ids.AUTOMATION_CLIENT_ID,
            "client_secret": ids.AUTOMATION_CLIENT_SECRET, "scope": "https://management.azure.com/.default"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def assert_entra_error(response, status: int, error: str, code: int) -> dict:
    payload = response.json()
    assert response.status == status, payload
    assert payload["error"] == error
    assert payload["error_codes"] == [code]
    assert payload["error_description"].startswith(f"AADSTS{code}: ")
    for field in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert payload[field]
    assert f"Trace ID: {payload['trace_id']}" in payload["error_description"]
    return payload


# -- discovery ----------------------------------------------------------------------------------------


def test_openid_configuration_names_the_lab_token_endpoint_and_keys(env):
    authority = f"{env['AZURE_AUTHORITY_HOST']}/{ids.TENANT_ID}"
    config = clients.http(env, "GET", f"{authority}/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == f"{authority}/oauth2/v2.0/token"
    assert config["issuer"] == f"https://login.microsoftonline.com/{ids.TENANT_ID}/v2.0"  # Entra's, whatever the host
    assert config["authorization_endpoint"] == f"{authority}/oauth2/v2.0/authorize"
    keys = clients.http(env, "GET", config["jwks_uri"]).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"]


def test_instance_discovery_answers_for_clients_that_ask(env):
    answer = clients.http(env, "GET", f"{env['AZURE_AUTHORITY_HOST']}/common/discovery/instance?api-version=1.1").json()
    assert answer["tenant_discovery_endpoint"].endswith(f"/{ids.TENANT_ID}/v2.0/.well-known/openid-configuration")


# -- client credentials with a secret -------------------------------------------------------------------


def test_client_secret_credential_gets_an_arm_token_signed_by_the_lab(env):
    token = clients.credential(env).get_token(clients.ARM_SCOPE)
    assert token.expires_on > time.time() + 3000
    jwks_uri = f"{env['AZURE_AUTHORITY_HOST']}/{ids.TENANT_ID}/discovery/v2.0/keys"
    key = jwt.PyJWK(clients.http(env, "GET", jwks_uri).json()["keys"][0], algorithm="RS256").key
    claims = jwt.decode(token.token, key=key, algorithms=["RS256"], audience="https://management.azure.com")
    assert (claims["oid"], claims["appid"], claims["tid"], claims["idtyp"]) == (
        ids.AUTOMATION_PRINCIPAL_ID, ids.AUTOMATION_CLIENT_ID, ids.TENANT_ID, "app")


@pytest.mark.parametrize("scope", [
    "https://management.azure.com/.default", "https://management.core.windows.net//.default",
    "https://servicebus.azure.net//.default", "https://prometheus.monitor.azure.com/.default",
    "https://graph.microsoft.com/.default",
])
def test_tokens_for_microsoft_apis_are_v1_with_the_sts_windows_net_issuer(env, scope):
    """The resource picks the version (access-tokens#token-formats), not the v2.0 endpoint asked: v1.0 here."""
    claims = jwt.decode(post_form(env, secret_form(scope=scope)).json()["access_token"], options={"verify_signature": False})
    assert (claims["iss"], claims["idp"], claims["ver"]) == (f"https://sts.windows.net/{ids.TENANT_ID}/",) * 2 + ("1.0",)
    assert claims["appid"] == ids.AUTOMATION_CLIENT_ID and "azp" not in claims


def test_the_labs_consumers_accept_v1_tokens(env):
    """ARM and Graph (and the data planes, through the same check) take the sts.windows.net tokens."""
    token = post_form(env, secret_form(scope="https://management.core.windows.net//.default")).json()["access_token"]
    assert clients.arm(env, "GET", f"/subscriptions/{ids.SUBSCRIPTION_ID}", api_version="2022-12-01", token=token).status == 200
    graph = post_form(env, secret_form(scope="https://graph.microsoft.com/.default")).json()["access_token"]
    listed = clients.http(env, "GET", env["LAB_GRAPH_URL"] + "v1.0/servicePrincipals", headers={"Authorization": "Bearer " + graph})
    assert listed.status == 200


def test_token_response_has_the_oauth_fields(env):
    response = post_form(env, secret_form())
    payload = response.json()
    assert response.status == 200
    assert (payload["token_type"], payload["expires_in"]) == ("Bearer", 3599)


def test_wrong_secret_is_401_invalid_client_aadsts7000215(env):
    payload = assert_entra_error(post_form(env, secret_form(client_secret="wrong")), 401, "invalid_client", 7000215)
    assert "Invalid client secret provided." in payload["error_description"]
    with pytest.raises(ClientAuthenticationError) as caught:
        clients.credential(env, secret="wrong").get_token(clients.ARM_SCOPE)
    assert "AADSTS7000215" in str(caught.value)


def test_unknown_client_is_400_unauthorized_client_aadsts700016(env):
    stranger = "11111111-2222-3333-4444-555555555555"
    payload = assert_entra_error(post_form(env, secret_form(client_id=stranger)), 400, "unauthorized_client", 700016)
    assert f"Application with identifier '{stranger}' was not found in the directory '{ids.TENANT_ID}'." in payload["error_description"]


def test_unknown_client_presenting_an_assertion_is_aadsts700016(env):
    credential = clients.assertion_credential(env, "11111111-2222-3333-4444-555555555555", lambda: "e30.e30.e30")
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(clients.ARM_SCOPE)
    assert "AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found" in str(caught.value)


def test_request_without_any_client_credential_is_aadsts7000218(env):
    assert_entra_error(post_form(env, secret_form(client_secret=None)), 401, "invalid_client", 7000218)


def test_unknown_tenant_is_aadsts90002(env):
    assert_entra_error(post_form(env, secret_form(), tenant="00000000-0000-0000-0000-000000000000"), 400, "invalid_request", 90002)


def test_client_credentials_scope_must_end_in_default(env):
    assert_entra_error(post_form(env, secret_form(scope="https://management.azure.com/user_impersonation")),
                       400, "invalid_scope", 1002012)


def test_missing_grant_type_is_aadsts900144(env):
    payload = assert_entra_error(post_form(env, secret_form(grant_type=None)), 400, "invalid_request", 900144)
    assert "'grant_type'" in payload["error_description"]


def test_error_echoes_the_client_request_id_as_correlation_id(env):
    payload = post_form(env, secret_form(client_secret="wrong"), headers={"client-request-id": "abc-123"}).json()
    assert payload["correlation_id"] == "abc-123"


def test_injected_entra_fault_is_an_oauth_error_and_retried(env, clean_lab):
    clean_lab.fault(service="entra", method="POST", path="oauth2", status=503, times=1)
    assert clients.credential(env).get_token(clients.ARM_SCOPE).token
    statuses = [r["status"] for r in clean_lab.requests("entra") if r["method"] == "POST"]
    assert statuses == [503, 200]


# -- the assertion verifier, with assertions minted here -----------------------------------------------


class _Issuer:
    """A stand-in external issuer: its key, its discovery documents (served to IssuerKeys by a fetch function)."""

    def __init__(self, issuer: str = ISSUER):
        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetched: list[str] = []

    def fetch(self, url: str):
        self.fetched.append(url)
        if url == self.issuer.rstrip("/") + "/.well-known/openid-configuration":
            return {"issuer": self.issuer, "jwks_uri": self.issuer + "openid/v1/jwks"}
        if url == self.issuer + "openid/v1/jwks":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
            return {"keys": [jwk]}
        raise OSError(f"no route to {url}")

    def token(self, subject: str = SUBJECT, lifetime: int = 3600, issued: float | None = None, key=None, **extra) -> str:
        now = int(issued if issued is not None else time.time())
        claims = {"iss": self.issuer, "sub": subject, "aud": [AUDIENCE], "iat": now, "nbf": now, "exp": now + lifetime}
        claims.update(extra)
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})


def _identity(*credentials: dict) -> dict:
    return {"credentials": [dict({"name": "fic", "issuer": ISSUER, "subject": SUBJECT, "audiences": [AUDIENCE],
                                  "created": 0.0, "updated": 0.0}, **c) for c in credentials]}


def _verifier(issuer: _Issuer, delay: float = 0.0, clock=time.time) -> AssertionVerifier:
    return AssertionVerifier(IssuerKeys(issuer.fetch), lambda: delay, clock)


def _refusal(verifier: AssertionVerifier, assertion: str, identity: dict) -> EntraError:
    with pytest.raises(EntraError) as caught:
        verifier.verify(assertion, identity)
    return caught.value


def test_verifier_accepts_an_exact_match_and_fetches_keys_once_per_issuer():
    issuer = _Issuer()
    verifier = _verifier(issuer)
    assert verifier.verify(issuer.token(), _identity({}))["sub"] == SUBJECT
    verifier.verify(issuer.token(), _identity({}))
    assert len(issuer.fetched) == 2


def test_verifier_refuses_an_expired_assertion_with_aadsts700024():
    issuer = _Issuer()
    error = _refusal(_verifier(issuer), issuer.token(issued=time.time() - 7200), _identity({}))
    assert (error.status, error.error, error.code) == (401, "invalid_client", 700024)
    assert error.message.startswith("Client assertion is not within its valid time range. Current time: ")
    assert ", assertion valid from " in error.message and ", expiry time of assertion " in error.message


def test_verifier_refuses_an_assertion_not_yet_valid_with_aadsts700024():
    issuer = _Issuer()
    assert _refusal(_verifier(issuer), issuer.token(nbf=int(time.time()) + 600), _identity({})).code == 700024


def test_verifier_matches_the_issuer_exactly_including_the_trailing_slash():
    issuer = _Issuer()
    error = _refusal(_verifier(issuer), issuer.token(), _identity({"issuer": ISSUER.rstrip("/")}))
    assert (error.status, error.error, error.code) == (400, "invalid_client", 70021)
    assert error.message == (
        "No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{ISSUER}'. Assertion Subject: '{SUBJECT}'. Assertion Audience: '{AUDIENCE}'. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation")
    assert issuer.fetched == []


def test_verifier_reports_a_case_only_subject_match_as_aadsts7002138():
    issuer = _Issuer()
    error = _refusal(_verifier(issuer), issuer.token(subject=SUBJECT.upper()), _identity({}))
    assert (error.status, error.error, error.code) == (401, "invalid_client", 7002138)
    assert error.message == (
        f"No matching federated identity record found for presented assertion subject '{SUBJECT.upper()}'. "
        "The subject matches with case-insensitive comparison, but not with case-sensitive comparison.")


def test_verifier_requires_the_audience_to_match():
    issuer = _Issuer()
    assert _refusal(_verifier(issuer), issuer.token(aud=["api://other"]), _identity({})).code == 70021


def test_verifier_ignores_a_credential_until_it_has_propagated():
    issuer = _Issuer()
    now = time.time()
    identity = _identity({"created": now, "updated": now})
    assert _refusal(_verifier(issuer, delay=30), issuer.token(), identity).code == 70021
    assert _verifier(issuer, delay=30, clock=lambda: now + 31).verify(issuer.token(issued=now), identity)["sub"] == SUBJECT


def test_verifier_refuses_an_assertion_signed_by_another_key():
    issuer = _Issuer()
    forged = issuer.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    error = _refusal(_verifier(issuer), forged, _identity({}))
    assert (error.status, error.code) == (401, 50013)


def test_verifier_refuses_an_unreachable_issuer_with_aadsts90061():
    issuer = _Issuer()
    other = _Issuer("https://unreachable.example/")
    assertion = other.token()
    error = _refusal(_verifier(issuer), assertion, _identity({"issuer": "https://unreachable.example/"}))
    assert error.code == 90061 and error.message.startswith("Request to External OIDC endpoint failed.")


def test_verifier_refuses_a_malformed_assertion():
    assert _refusal(_verifier(_Issuer()), "not-a-jwt", _identity({})).code == 50027


def test_expired_assertion_through_client_assertion_credential_is_aadsts700024(env):
    """The lifetime is checked before the credential match and the signature, so any issuer will do."""
    msi = clients.msi_client(env)
    identity = msi.user_assigned_identities.create_or_update(ids.RESOURCE_GROUP, "id-expired", Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(ids.RESOURCE_GROUP, "id-expired", "keda", FederatedIdentityCredential(
        issuer=ISSUER, subject=SUBJECT, audiences=[AUDIENCE]))
    stale = _Issuer().token(issued=time.time() - 7200)
    with pytest.raises(ClientAuthenticationError) as caught:
        clients.assertion_credential(env, identity.client_id, lambda: stale).get_token(clients.ARM_SCOPE)
    assert "AADSTS700024: Client assertion is not within its valid time range." in str(caught.value)
