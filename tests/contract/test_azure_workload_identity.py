"""Contract: the whole trust chain across the lab (DESIGN.md "The trust chain").

Service-account tokens come from the Kubernetes lab's TokenRequest API (the kubernetes client, as a
pod's projected token would), are exchanged at the lab's Entra with azure-identity's
ClientAssertionCredential, and are matched against federated credentials created through azure-mgmt-msi.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import kubernetes
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.containerservice import models
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity

from lab import ids
from lab.azure import clients

RG = ids.RESOURCE_GROUP
AUDIENCE = ids.TOKEN_EXCHANGE_AUDIENCE
KEDA_OPERATOR = "system:serviceaccount:kube-system:keda-operator"
WORKLOAD = "system:serviceaccount:default:workload"


@pytest.fixture
def env(clean_lab):
    # Credentials count at once unless a test is about propagation (the lab's default is a few seconds).
    clean_lab.settings(fic_propagation_seconds=0)
    return clean_lab.env


@pytest.fixture
def core(env):
    api = kubernetes.config.new_client_from_config(config_file=env["KUBECONFIG"])
    yield kubernetes.client.CoreV1Api(api)
    api.close()


@pytest.fixture
def workload_account(core):
    core.create_namespaced_service_account("default", kubernetes.client.V1ServiceAccount(
        metadata=kubernetes.client.V1ObjectMeta(name="workload")))
    return "default", "workload"


def service_account_token(core, namespace: str, name: str, audiences: list[str] | None = None) -> str:
    request = kubernetes.client.AuthenticationV1TokenRequest(
        spec=kubernetes.client.V1TokenRequestSpec(audiences=audiences or [AUDIENCE], expiration_seconds=3600))
    return core.create_namespaced_service_account_token(name, namespace, request).status.token


def identity_with_credential(env: dict[str, str], name: str, issuer: str, subject: str):
    msi = clients.msi_client(env)
    identity = msi.user_assigned_identities.create_or_update(RG, name, Identity(location=ids.LOCATION))
    msi.federated_identity_credentials.create_or_update(RG, name, "kedaoperator", FederatedIdentityCredential(
        issuer=issuer, subject=subject, audiences=[AUDIENCE]))
    return identity


def exchange(env: dict[str, str], client_id: str, token: str):
    return clients.assertion_credential(env, client_id, lambda: token).get_token(clients.ARM_SCOPE)


def refusal(env: dict[str, str], client_id: str, token: str) -> str:
    with pytest.raises(ClientAuthenticationError) as caught:
        exchange(env, client_id, token)
    return str(caught.value)


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_keda_operator_token_exchanges_for_the_identity_once_its_credential_has_propagated(env, core, clean_lab):
    """The issue's Done-when, end to end: AKS add-on path through the SDKs and the Kubernetes API."""
    clean_lab.settings(fic_propagation_seconds=1.0)
    aks = clients.containerservice_client(env)
    cluster = aks.managed_clusters.get(RG, ids.AKS_NAME)
    cluster.oidc_issuer_profile = models.ManagedClusterOIDCIssuerProfile(enabled=True)
    cluster.security_profile.workload_identity = models.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)
    cluster.workload_auto_scaler_profile = models.ManagedClusterWorkloadAutoScalerProfile(
        keda=models.ManagedClusterWorkloadAutoScalerProfileKeda(enabled=True))
    cluster = aks.managed_clusters.begin_create_or_update(RG, ids.AKS_NAME, cluster).result()
    issuer = cluster.oidc_issuer_profile.issuer_url
    assert issuer == env["LAB_OIDC_ISSUER"]
    assert core.read_namespaced_service_account("keda-operator", "kube-system").metadata.name == "keda-operator"

    identity = identity_with_credential(env, "id-keda", issuer, KEDA_OPERATOR)
    token = service_account_token(core, "kube-system", "keda-operator")
    assert claims_of(token)["iss"] == issuer
    assert "AADSTS70021: No matching federated identity record found for presented assertion." in refusal(env, identity.client_id, token)
    time.sleep(1.05)
    access = exchange(env, identity.client_id, token)
    claims = claims_of(access.token)
    assert (claims["oid"], claims["appid"], claims["aud"], claims["tid"]) == (
        identity.principal_id, identity.client_id, "https://management.azure.com", ids.TENANT_ID)


def test_wrong_subject_is_aadsts70021_naming_the_assertion(env, core, workload_account):
    identity = identity_with_credential(env, "id-wrong-sub", env["LAB_OIDC_ISSUER"], "system:serviceaccount:keda:keda-operator")
    message = refusal(env, identity.client_id, service_account_token(core, *workload_account))
    assert (f"AADSTS70021: No matching federated identity record found for presented assertion. "
            f"Assertion Issuer: '{env['LAB_OIDC_ISSUER']}'. Assertion Subject: '{WORKLOAD}'. "
            f"Assertion Audience: '{AUDIENCE}'.") in message


def test_credential_issuer_without_the_trailing_slash_never_matches(env, core, workload_account):
    identity = identity_with_credential(env, "id-no-slash", env["LAB_OIDC_ISSUER"].rstrip("/"), WORKLOAD)
    assert "AADSTS70021" in refusal(env, identity.client_id, service_account_token(core, *workload_account))


def test_credential_inside_the_propagation_delay_is_not_yet_honoured(env, core, workload_account, clean_lab):
    clean_lab.settings(fic_propagation_seconds=30)
    identity = identity_with_credential(env, "id-young", env["LAB_OIDC_ISSUER"], WORKLOAD)
    assert "AADSTS70021" in refusal(env, identity.client_id, service_account_token(core, *workload_account))
    clean_lab.settings(fic_propagation_seconds=0)
    assert exchange(env, identity.client_id, service_account_token(core, *workload_account)).token


def test_subject_differing_only_in_case_is_aadsts7002138(env, core, workload_account):
    identity = identity_with_credential(env, "id-case", env["LAB_OIDC_ISSUER"], "system:serviceaccount:default:Workload")
    message = refusal(env, identity.client_id, service_account_token(core, *workload_account))
    assert (f"AADSTS7002138: No matching federated identity record found for presented assertion subject '{WORKLOAD}'. "
            "The subject matches with case-insensitive comparison, but not with case-sensitive comparison.") in message


def test_token_for_another_audience_does_not_match(env, core, workload_account):
    identity = identity_with_credential(env, "id-aud", env["LAB_OIDC_ISSUER"], WORKLOAD)
    token = service_account_token(core, *workload_account, audiences=["https://kubernetes.default.svc.cluster.local"])
    assert "AADSTS70021" in refusal(env, identity.client_id, token)


def test_unknown_client_id_with_a_real_token_is_aadsts700016(env, core, workload_account):
    message = refusal(env, "22222222-3333-4444-5555-666666666666", service_account_token(core, *workload_account))
    assert "AADSTS700016: Application with identifier '22222222-3333-4444-5555-666666666666' was not found" in message


def test_exchange_refusal_uses_entras_error_json(env, core, workload_account):
    identity = identity_with_credential(env, "id-raw", env["LAB_OIDC_ISSUER"], "system:serviceaccount:other:sa")
    form = {"grant_type": "client_credentials", "client_id": identity.client_id, "scope": clients.ARM_SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": service_account_token(core, *workload_account)}
    response = clients.http(env, "POST", f"{env['AZURE_AUTHORITY_HOST']}/{ids.TENANT_ID}/oauth2/v2.0/token",
                            urllib.parse.urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    payload = response.json()
    assert (response.status, payload["error"], payload["error_codes"]) == (400, "invalid_client", [70021])
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(payload)


def test_identity_token_is_refused_by_arm_without_a_role(env, core, workload_account):
    identity = identity_with_credential(env, "id-caller", env["LAB_OIDC_ISSUER"], WORKLOAD)
    access = exchange(env, identity.client_id, service_account_token(core, *workload_account))
    response = clients.arm(env, "GET", clients.identity_path("id-caller"), token=access.token)
    assert (response.status, response.error_code) == (403, "AuthorizationFailed")
