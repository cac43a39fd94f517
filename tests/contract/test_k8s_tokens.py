"""Contract: TokenRequest, OIDC discovery + JWKS at the issuer, token authentication."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests
from kubernetes import client

from lab import ids
from lab.k8s.testing import api_client

EXCHANGE = "api://AzureADTokenExchange"


@pytest.fixture
def account(raw):
    namespace = f"tok-{uuid.uuid4().hex[:8]}"
    raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    created = raw.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "robot"}}).json()
    yield namespace, created
    raw.request("DELETE", f"/api/v1/namespaces/{namespace}")


def _jwks_via_discovery(lab) -> tuple[dict, dict]:
    issuer = lab.env["LAB_OIDC_ISSUER"]
    discovery = requests.get(issuer + ".well-known/openid-configuration", verify=lab.ca_file, timeout=10)
    assert discovery.status_code == 200
    document = discovery.json()
    jwks = requests.get(document["jwks_uri"], verify=lab.ca_file, timeout=10).json()
    return document, jwks


def test_issuer_is_https_with_the_aks_path_and_a_trailing_slash(lab):
    issuer = lab.env["LAB_OIDC_ISSUER"]
    assert issuer.startswith("https://127.0.0.1:") and issuer.endswith(f"/{ids.TENANT_ID}/{ids.AKS_ISSUER_GUID}/")
    document, jwks = _jwks_via_discovery(lab)
    assert document == {"issuer": issuer, "jwks_uri": issuer + "openid/v1/jwks",
                        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"]}
    key = jwks["keys"][0]
    assert {key["kty"], key["use"], key["alg"]} == {"RSA", "sig", "RS256"} and key["kid"] and key["n"] and key["e"]


def test_apiserver_root_serves_the_same_discovery(lab):
    root = lab.env["LAB_KUBE_URL"]
    document = requests.get(root + "/.well-known/openid-configuration", verify=lab.ca_file, timeout=10).json()
    assert document["issuer"] == lab.env["LAB_OIDC_ISSUER"]
    assert requests.get(root + "/openid/v1/jwks", verify=lab.ca_file, timeout=10).json()["keys"]


def test_kubectl_create_token_verifies_against_the_discovered_jwks(lab, tools, account):
    namespace, created = account
    token = tools.kubectl("create", "token", "robot", "-n", namespace, "--audience", EXCHANGE).stdout.strip()
    header = jwt.get_unverified_header(token)
    jwks = _jwks_via_discovery(lab)[1]
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=EXCHANGE,
                        issuer=lab.env["LAB_OIDC_ISSUER"])
    assert header["alg"] == "RS256"
    assert claims["sub"] == f"system:serviceaccount:{namespace}:robot"
    assert claims["aud"] == [EXCHANGE]
    assert claims["kubernetes.io"] == {"namespace": namespace,
                                       "serviceaccount": {"name": "robot", "uid": created["metadata"]["uid"]}}
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]


def test_token_request_response_and_its_limits(raw, account):
    namespace = account[0]
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/robot/token"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [EXCHANGE], "expirationSeconds": 7200}}
    response = raw.request("POST", path, body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["kind"] == "TokenRequest" and answer["spec"]["expirationSeconds"] == 7200
    expiry = time.strptime(answer["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(time.mktime(expiry) - time.mktime(time.gmtime()) - 7200) < 10
    too_short = raw.request("POST", path, {"spec": {"expirationSeconds": 599}}).json()
    assert too_short["code"] == 422
    assert "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes" in too_short["message"]
    missing = raw.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/nobody/token", {"spec": {}}).json()
    assert missing["code"] == 404 and missing["message"] == 'serviceaccounts "nobody" not found'


def test_typed_client_token_request(lab, account):
    namespace = account[0]
    core = client.CoreV1Api(api_client(lab.env["KUBECONFIG"]))
    answer = core.create_namespaced_service_account_token(
        "robot", namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[EXCHANGE])))
    assert answer.status.token.count(".") == 2


def test_api_audience_tokens_authenticate_and_exchange_tokens_do_not(raw, account):
    namespace = account[0]
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/robot/token"
    api_token = raw.request("POST", path, {"spec": {}}).json()["status"]["token"]
    assert raw.request("GET", "/api/v1/namespaces", token=api_token).status_code == 200
    exchange_token = raw.request("POST", path, {"spec": {"audiences": [EXCHANGE]}}).json()["status"]["token"]
    assert raw.request("GET", "/api/v1/namespaces", token=exchange_token).status_code == 401
    review = raw.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                         {"spec": {"token": api_token}}).json()["status"]
    assert review["authenticated"] is True and review["user"]["username"] == f"system:serviceaccount:{namespace}:robot"
    raw.request("DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/robot")
    assert raw.request("GET", "/api/v1/namespaces", token=api_token).status_code == 401


def test_tokens_survive_a_lab_reset(clean_lab, raw):
    raw.request("POST", "/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "keeper"}})
    token = raw.request("POST", "/api/v1/namespaces/default/serviceaccounts/keeper/token",
                        {"spec": {"audiences": [EXCHANGE]}}).json()["status"]["token"]
    kid = jwt.get_unverified_header(token)["kid"]
    clean_lab.reset()
    jwks = _jwks_via_discovery(clean_lab)[1]
    assert kid in [k["kid"] for k in jwks["keys"]]
