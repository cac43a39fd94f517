"""Contract: the lab's ARM front door (authentication, api-version, routing, errors, metadata, faults)."""

from __future__ import annotations

import base64
import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity

from lab import ids
from lab.azure import clients

RG = ids.RESOURCE_GROUP
SUBSCRIPTION = f"/subscriptions/{ids.SUBSCRIPTION_ID}"


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_request_without_a_token_gets_401_with_the_arm_bearer_challenge(env):
    response = clients.http(env, "GET", env["AZURE_CLOUD_ENVIRONMENT"] + clients.group_path() + "?api-version=2021-04-01")
    assert (response.status, response.error_code) == (401, "AuthenticationFailed")
    assert response.json()["error"]["message"] == "Authentication failed. The 'Authorization' header is missing."
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer authorization_uri="{env["AZURE_AUTHORITY_HOST"]}/{ids.TENANT_ID}", error="invalid_token"')


def test_garbage_token_is_invalid_authentication_token(env):
    response = clients.arm(env, "GET", clients.group_path(), api_version="2021-04-01", token="not.a.jwt")
    assert (response.status, response.error_code) == (401, "InvalidAuthenticationToken")


def test_token_for_another_resource_is_refused_with_invalid_audience(env):
    graph_token = clients.arm_token(env, "https://graph.microsoft.com/.default")
    response = clients.arm(env, "GET", clients.group_path(), api_version="2021-04-01", token=graph_token)
    assert (response.status, response.error_code) == (401, "InvalidAuthenticationTokenAudience")
    assert response.json()["error"]["message"].startswith(
        "The access token has been obtained for wrong audience or resource 'https://graph.microsoft.com'. "
        "It should exactly match with one of the allowed audiences 'https://management.core.windows.net/',")


def test_token_whose_audience_is_the_lab_url_is_accepted(env):
    token = clients.arm_token(env, env["AZURE_CLOUD_ENVIRONMENT"] + "/.default")
    assert _claims(token)["aud"] == env["AZURE_CLOUD_ENVIRONMENT"]
    assert clients.arm(env, "GET", clients.group_path(), api_version="2021-04-01", token=token).status == 200


@pytest.mark.parametrize("scope, audience", [
    # What the Azure CLI asks for ARM (its cloud's active_directory_resource_id + "/.default").
    ("https://management.core.windows.net//.default", "https://management.core.windows.net/"),
    ("https://management.core.windows.net/.default", "https://management.core.windows.net"),
    ("https://management.azure.com/.default", "https://management.azure.com"),
])
def test_token_audience_is_everything_before_default_and_arm_accepts_it(env, scope, audience):
    token = clients.arm_token(env, scope)
    assert _claims(token)["aud"] == audience
    assert clients.arm(env, "GET", clients.group_path(), api_version="2021-04-01", token=token).status == 200


def test_sdk_call_with_a_valid_token_succeeds_on_the_first_request(env, clean_lab):
    msi = clients.msi_client(env)
    msi.user_assigned_identities.create_or_update(RG, "id-front", Identity(location="eastus"))
    arm_calls = clean_lab.requests("arm")
    assert [(r["method"], r["status"]) for r in arm_calls] == [("PUT", 201)]
    token_calls = [r for r in clean_lab.requests("entra") if r["path"].endswith("/oauth2/v2.0/token")]
    assert len(token_calls) == 1


def test_automation_token_names_the_automation_principal_and_tenant(env):
    claims = _claims(clients.arm_token(env))
    assert (claims["oid"], claims["appid"], claims["tid"], claims["aud"]) == (
        ids.AUTOMATION_PRINCIPAL_ID, ids.AUTOMATION_CLIENT_ID, ids.TENANT_ID, "https://management.azure.com")


def test_missing_api_version_is_400(env):
    response = clients.arm(env, "GET", clients.identity_path("id-x"), api_version=None)
    assert (response.status, response.error_code) == (400, "MissingApiVersionParameter")
    assert response.json()["error"]["message"] == "The api-version query parameter (?api-version=) is required for all requests."


@pytest.mark.parametrize("path,version", [
    (f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions", "2030-01-01"),
    (clients.group_path(), "2021-13-01"),
    (clients.group_path(), "2099-01-01"),
    (f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}", "latest"),
])
def test_api_version_arm_itself_refuses_is_400_invalid_api_version(env, path, version):
    """Not a date, or a type ARM serves itself (resource groups, Microsoft.Authorization)."""
    response = clients.arm(env, "GET", path, api_version=version)
    assert (response.status, response.error_code) == (400, "InvalidApiVersionParameter")
    assert response.json()["error"]["message"].startswith(f"The api-version '{version}' is invalid. The supported versions are '")


@pytest.mark.parametrize("path,version,type_name", [
    (clients.identity_path("id-x"), "2024-11-31", "userAssignedIdentities"),
    (clients.identity_path("id-x"), "2099-01-01", "userAssignedIdentities"),
    (clients.identity_path("id-x") + "/federatedIdentityCredentials/fic-1", "2018-11-30",
     "userAssignedIdentities/federatedIdentityCredentials"),
    (f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}", "2099-01-01", "managedClusters"),
    (f"{clients.group_path()}/providers/Microsoft.ContainerService/managedClusters/{ids.AKS_NAME}", "2024-10-15", "managedClusters"),
    (f"{clients.group_path()}/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}", "2099-01-01", "namespaces"),
    (f"{clients.group_path()}/providers/Microsoft.Monitor/accounts/{ids.MONITOR_WORKSPACE_NAME}", "2024-04-03", "accounts"),
    (f"{clients.group_path()}/providers/Microsoft.Kubernetes/connectedClusters/arc-cluster-name", "2099-01-01", "connectedClusters"),
])
def test_api_version_the_provider_never_registered_is_400_no_registered_provider(env, path, version, type_name):
    """ARM's wording (versions.py): the location, the version, the type, then the versions it supports."""
    response = clients.arm(env, "GET", path, api_version=version)
    assert (response.status, response.error_code) == (400, "NoRegisteredProviderFound")
    message = response.json()["error"]["message"]
    assert message.startswith(f"No registered resource provider found for location 'eastus' and API version '{version}' "
                              f"for type '{type_name}'. The supported api-versions are '")
    assert "The supported locations are '" in message


@pytest.mark.parametrize("version", ["2023-01-31", "2024-11-30", "2022-01-31-preview"])
def test_identity_api_versions_the_sdks_use_are_accepted(env, version):
    assert clients.arm(env, "PUT", clients.identity_path("id-versions"), {"location": "eastus"}, api_version=version).status in (200, 201)
    body = clients.arm(env, "GET", clients.identity_path("id-versions"), api_version=version).json()
    assert ("isolationScope" in body["properties"]) == (version == "2024-11-30")


def test_unknown_subscription_is_404_subscription_not_found(env):
    response = clients.arm(env, "GET", "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg", api_version="2021-04-01")
    assert (response.status, response.error_code) == (404, "SubscriptionNotFound")


def test_resource_under_a_missing_group_is_404_resource_group_not_found(env):
    response = clients.arm(env, "GET", clients.identity_path("id-x", resource_group="rg-nope"))
    assert (response.status, response.error_code) == (404, "ResourceGroupNotFound")
    assert response.json()["error"]["message"] == "Resource group 'rg-nope' could not be found."


def test_missing_resource_is_404_resource_not_found_with_arm_wording(env):
    response = clients.arm(env, "GET", f"{clients.group_path()}/providers/Microsoft.ServiceBus/namespaces/sb-nope", api_version="2024-01-01")
    assert (response.status, response.error_code) == (404, "ResourceNotFound")
    assert response.json()["error"]["message"] == (
        f"The Resource 'Microsoft.ServiceBus/namespaces/sb-nope' under resource group '{RG}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_malformed_body_is_400_invalid_request_content(env, body):
    response = clients.arm(env, "PUT", clients.identity_path("id-bad"), body)
    assert (response.status, response.error_code) == (400, "InvalidRequestContent")


@pytest.mark.parametrize("body", [{"location": 5}, {"location": "eastus", "tags": ["a"]}, {"location": "eastus", "tags": {"a": 1}}])
def test_wrong_type_for_a_known_field_is_400(env, body):
    response = clients.arm(env, "PUT", clients.identity_path("id-bad"), body)
    assert (response.status, response.error_code) == (400, "InvalidRequestContent")


def test_resource_group_paths_are_case_insensitive_and_keep_their_case(env):
    response = clients.arm(env, "GET", f"/SUBSCRIPTIONS/{ids.SUBSCRIPTION_ID}/RESOURCEGROUPS/RG-KEDA-INTEGRATION", api_version="2021-04-01")
    assert response.status == 200
    assert response.json() == {
        "id": f"{SUBSCRIPTION}/resourceGroups/{RG}", "name": RG, "type": "Microsoft.Resources/resourceGroups",
        "location": "eastus", "properties": {"provisioningState": "Succeeded"}}


def test_resource_group_put_creates_201_then_updates_200_and_head_reports_existence(env):
    path = f"{SUBSCRIPTION}/resourcegroups/rg-Extra"
    assert clients.arm(env, "HEAD", path, api_version="2021-04-01").status == 404
    assert clients.arm(env, "PUT", path, {"location": "East US", "tags": {"a": "b"}}, api_version="2021-04-01").status == 201
    updated = clients.arm(env, "PUT", path, {"location": "eastus"}, api_version="2021-04-01")
    assert (updated.status, updated.json()["name"]) == (200, "rg-Extra")
    assert clients.arm(env, "HEAD", path, api_version="2021-04-01").status == 204
    moved = clients.arm(env, "PUT", path, {"location": "westus"}, api_version="2021-04-01")
    assert (moved.status, moved.error_code) == (409, "InvalidResourceGroupLocation")


def test_seeded_monitor_workspace_and_service_bus_are_readable(env):
    workspace = clients.arm(env, "GET", env["LAB_MONITOR_WORKSPACE_ID"], api_version="2023-04-03").json()
    assert workspace["properties"]["metrics"]["prometheusQueryEndpoint"].endswith(".eastus.prometheus.monitor.azure.com")
    namespace = clients.arm(env, "GET", env["LAB_SERVICEBUS_NAMESPACE_ID"], api_version="2024-01-01").json()
    assert namespace["properties"]["disableLocalAuth"] is True
    assert namespace["properties"]["serviceBusEndpoint"] == f"https://{ids.SERVICEBUS_NAMESPACE_NAME}.servicebus.windows.net:443/"
    queue = clients.arm(env, "GET", env["LAB_SERVICEBUS_NAMESPACE_ID"] + "/queues/orders", api_version="2024-01-01")
    assert (queue.status, queue.json()["name"]) == (200, "orders")


def test_metadata_endpoint_names_the_lab_authority_without_authentication(env):
    url = env["AZURE_CLOUD_ENVIRONMENT"] + "/metadata/endpoints?api-version=2022-09-01"
    metadata = clients.http(env, "GET", url).json()
    assert metadata["resourceManager"] == env["AZURE_CLOUD_ENVIRONMENT"] + "/"
    assert metadata["authentication"]["loginEndpoint"] == env["AZURE_AUTHORITY_HOST"]
    assert "https://management.azure.com/" in metadata["authentication"]["audiences"]
    older = clients.http(env, "GET", env["AZURE_CLOUD_ENVIRONMENT"] + "/metadata/endpoints?api-version=2019-05-01").json()
    assert isinstance(older, list) and older[0]["resourceManager"] == metadata["resourceManager"]


def test_throttled_request_is_retried_by_azure_core_and_succeeds(env, clean_lab):
    msi = clients.msi_client(env)
    msi.user_assigned_identities.create_or_update(RG, "id-throttle", Identity(location="eastus"))
    clean_lab.clear_requests()
    clean_lab.fault(service="arm", method="GET", path="userAssignedIdentities/id-throttle", status=429, retry_after="0.1", times=2)
    assert msi.user_assigned_identities.get(RG, "id-throttle").name == "id-throttle"
    assert [(r["method"], r["status"]) for r in clean_lab.requests("arm")] == [("GET", 429), ("GET", 429), ("GET", 200)]


def test_injected_fault_answers_in_arm_error_format(env, clean_lab):
    clean_lab.fault(service="arm", method="PUT", path="federatedIdentityCredentials", status=409,
                    code="ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity", message="forced")
    msi = clients.msi_client(env)
    msi.user_assigned_identities.create_or_update(RG, "id-forced", Identity(location="eastus"))
    with pytest.raises(HttpResponseError) as caught:
        msi.federated_identity_credentials.create_or_update(RG, "id-forced", "fic-1", FederatedIdentityCredential(
            issuer="https://issuer.example/", subject="s", audiences=[ids.TOKEN_EXCHANGE_AUDIENCE]))
    assert (caught.value.status_code, caught.value.error.code, caught.value.error.message) == (
        409, "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity", "forced")


def test_server_error_is_retried_and_the_request_log_shows_it(env, clean_lab):
    msi = clients.msi_client(env)
    msi.user_assigned_identities.create_or_update(RG, "id-flaky", Identity(location="eastus"))
    clean_lab.clear_requests()
    clean_lab.fault(service="arm", method="GET", path="id-flaky", status=503, times=1)
    assert msi.user_assigned_identities.get(RG, "id-flaky").name == "id-flaky"
    assert [r["status"] for r in clean_lab.requests("arm")] == [503, 200]
