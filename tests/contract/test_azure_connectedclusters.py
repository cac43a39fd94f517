"""Contract: Microsoft.Kubernetes/connectedClusters in the lab (azure-rest-api-specs
specification/hybridkubernetes, stable/2026-05-01), driven through azure-mgmt-core's ARM pipeline and
its long-running-operation poller (azure-mgmt-hybridkubernetes is not a dependency), and the Arc
trust chain end to end: the kubernetes client's TokenRequest, azure-identity's exchange at Entra."""

from __future__ import annotations

import copy
import re

import kubernetes
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity

from lab import ids
from lab.azure import clients

RG = ids.RESOURCE_GROUP
API = "2026-05-01"
ARC_ISSUER = re.compile(rf"^https://northamerica\.oic\.prod-arc\.azure\.com/{ids.TENANT_ID}/[0-9a-f-]{{36}}/$")


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


@pytest.fixture
def path(env):
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.Kubernetes/connectedClusters/{env['LAB_ARC_NAME']}"


@pytest.fixture
def arm(env):
    from azure.core.pipeline import policies
    return ARMPipelineClient(base_url=env["AZURE_CLOUD_ENVIRONMENT"], connection_verify=env["LAB_CA_FILE"], policies=[
        policies.RequestIdPolicy(), policies.ContentDecodePolicy(), policies.RetryPolicy(retry_total=0),
        ARMChallengeAuthenticationPolicy(clients.credential(env), clients.ARM_SCOPE)])


def get(arm, path, api_version=API):
    response = arm.send_request(HttpRequest("GET", arm.format_url(path), params={"api-version": api_version}))
    return response.status_code, response.json()


def put(arm, path, body, api_version=API):
    return arm.send_request(HttpRequest("PUT", arm.format_url(path), params={"api-version": api_version}, json=body))


def put_and_wait(arm, path, body):
    pipeline_response = arm._pipeline.run(HttpRequest("PUT", arm.format_url(path), params={"api-version": API}, json=body))
    assert pipeline_response.http_response.status_code in (200, 201), pipeline_response.http_response.text()
    first = pipeline_response.http_response
    poller = LROPoller(arm, pipeline_response, lambda pr: pr.http_response.json(), ARMPolling(0.01))
    return poller.result(timeout=30), poller.status(), first


def enable(cluster, **profiles):
    body = copy.deepcopy(cluster)
    for key in ("id", "name", "type", "systemData"):
        body.pop(key, None)
    body["properties"].update(profiles)
    return body


def test_seeded_cluster_is_connected_with_the_issuer_and_webhook_off(arm, path):
    status, cluster = get(arm, path)
    assert status == 200
    assert cluster["type"] == "Microsoft.Kubernetes/connectedClusters" and cluster["identity"]["type"] == "SystemAssigned"
    assert cluster["properties"]["connectivityStatus"] == "Connected" and cluster["properties"]["agentPublicKeyCertificate"]
    assert cluster["properties"]["oidcIssuerProfile"] == {"enabled": False}
    assert cluster["properties"]["securityProfile"] == {"workloadIdentity": {"enabled": False}}


def test_put_is_long_running_and_assigns_the_arc_issuer(arm, path, clean_lab):
    clean_lab.settings(arc_lro_polls=2)
    _status, cluster = get(arm, path)
    body = enable(cluster, oidcIssuerProfile={"enabled": True}, securityProfile={"workloadIdentity": {"enabled": True}})
    result, status, first = put_and_wait(arm, path, body)
    assert first.status_code == 200 and first.json()["properties"]["provisioningState"] == "Updating"
    # Tenant-level, location upper-cased (recordings README fact 17).
    assert "/providers/Microsoft.Kubernetes/locations/EASTUS/operationStatuses/" in first.headers["Azure-AsyncOperation"]
    assert "/subscriptions/" not in first.headers["Azure-AsyncOperation"]
    polls = [r for r in clean_lab.requests("arm") if "/operationStatuses/" in r["path"]]
    assert len(polls) >= 3, "the operation stayed Accepted for two polls"
    assert status == "Succeeded" and result["properties"]["provisioningState"] == "Succeeded"
    issuer = result["properties"]["oidcIssuerProfile"]["issuerUrl"]
    assert ARC_ISSUER.match(issuer), issuer
    _status, again = get(arm, path)
    assert again["properties"]["oidcIssuerProfile"]["issuerUrl"] == issuer, "the guid is stable per cluster"


def test_a_second_put_while_one_runs_is_a_conflict(arm, path, clean_lab):
    clean_lab.settings(arc_lro_polls=5)
    _status, cluster = get(arm, path)
    body = enable(cluster, oidcIssuerProfile={"enabled": True})
    assert put(arm, path, body).status_code == 200
    assert put(arm, path, body).status_code == 409


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.pop("identity"), "Required property 'identity'"),
    (lambda b: b["properties"].pop("agentPublicKeyCertificate"), "Required property 'agentPublicKeyCertificate'"),
    (lambda b: b.pop("location"), "location"),
    (lambda b: b["identity"].update(type="UserAssigned"), "identity.type"),
])
def test_put_requires_what_the_spec_requires(arm, path, mutate, message):
    _status, cluster = get(arm, path)
    body = enable(cluster, oidcIssuerProfile={"enabled": True})
    mutate(body)
    response = put(arm, path, body)
    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert get(arm, path)[1]["properties"]["oidcIssuerProfile"] == {"enabled": False}


def test_the_issuer_cannot_be_disabled(arm, path):
    _status, cluster = get(arm, path)
    result = put_and_wait(arm, path, enable(cluster, oidcIssuerProfile={"enabled": True}))[0]
    response = put(arm, path, enable(result, oidcIssuerProfile={"enabled": False}))
    assert response.status_code == 400 and response.json()["error"]["message"] == "Disabling OIDC issuer is not supported."


def test_old_api_versions_neither_show_nor_drop_the_profiles(arm, path):
    _status, cluster = get(arm, path)
    put_and_wait(arm, path, enable(cluster, oidcIssuerProfile={"enabled": True}))
    status, old = get(arm, path, "2024-01-01")
    assert status == 200 and "oidcIssuerProfile" not in old["properties"]
    assert put(arm, path, enable(old), "2024-01-01").status_code == 200
    assert get(arm, path)[1]["properties"]["oidcIssuerProfile"]["enabled"] is True
    assert get(arm, path, "2024-11-31")[0] == 400


def test_patch_carries_tags_not_the_profiles(arm, path):
    response = arm.send_request(HttpRequest("PATCH", arm.format_url(path), params={"api-version": API},
                                            json={"tags": {"site": "edge"}, "properties": {"oidcIssuerProfile": {"enabled": True}}}))
    assert response.status_code == 200 and response.json()["tags"] == {"site": "edge"}
    assert response.json()["properties"]["oidcIssuerProfile"] == {"enabled": False}


# --- the Arc trust chain across the lab ----------------------------------------------------------


@pytest.fixture
def core(env):
    api = kubernetes.config.new_client_from_config(config_file=env["KUBECONFIG"])
    yield kubernetes.client.CoreV1Api(api)
    api.close()


def operator_token(core) -> str:
    core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name="keda")))
    core.create_namespaced_service_account("keda", kubernetes.client.V1ServiceAccount(
        metadata=kubernetes.client.V1ObjectMeta(name="keda-operator")))
    request = kubernetes.client.AuthenticationV1TokenRequest(spec=kubernetes.client.V1TokenRequestSpec(
        audiences=[ids.TOKEN_EXCHANGE_AUDIENCE], expiration_seconds=3600))
    return core.create_namespaced_service_account_token("keda-operator", "keda", request).status.token


def test_arc_issuer_tokens_exchange_only_once_the_api_server_signs_with_it(arm, path, env, core, clean_lab):
    clean_lab.settings(fic_propagation_seconds=0)  # the subject here is the issuer, not propagation
    _status, cluster = get(arm, path)
    result = put_and_wait(arm, path, enable(cluster, oidcIssuerProfile={"enabled": True}))[0]
    issuer = result["properties"]["oidcIssuerProfile"]["issuerUrl"]
    msi = clients.msi_client(env)
    identity = msi.user_assigned_identities.create_or_update(RG, "keda-arc", Identity(location=ids.LOCATION))
    msi.federated_identity_credentials.create_or_update(RG, "keda-arc", "kedaFedIdentity", FederatedIdentityCredential(
        issuer=issuer, subject="system:serviceaccount:keda:keda-operator", audiences=[ids.TOKEN_EXCHANGE_AUDIENCE]))
    stale = operator_token(core)
    with pytest.raises(ClientAuthenticationError) as err:
        clients.assertion_credential(env, identity.client_id, lambda: stale).get_token(clients.ARM_SCOPE)
    assert "AADSTS70021" in str(err.value) and f"Assertion Issuer: '{env['LAB_OIDC_ISSUER']}'" in str(err.value)

    # The K3s step: the Arc issuer signs, the old one stays accepted.
    clean_lab.settings(service_account_issuers=[issuer, env["LAB_OIDC_ISSUER"]])
    request = kubernetes.client.AuthenticationV1TokenRequest(spec=kubernetes.client.V1TokenRequestSpec(
        audiences=[ids.TOKEN_EXCHANGE_AUDIENCE], expiration_seconds=3600))
    fresh = core.create_namespaced_service_account_token("keda-operator", "keda", request).status.token
    token = clients.assertion_credential(env, identity.client_id, lambda: fresh).get_token(clients.ARM_SCOPE)
    assert token.token


def test_webhook_follows_the_connected_clusters_flag(arm, path, core, clean_lab):
    clean_lab.settings(k8s_cluster="arc")
    core.create_namespaced_service_account("default", kubernetes.client.V1ServiceAccount(metadata=kubernetes.client.V1ObjectMeta(
        name="app", annotations={"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001"})))

    def pod_env(name: str) -> list[str]:
        pod = core.create_namespaced_pod("default", kubernetes.client.V1Pod(
            metadata=kubernetes.client.V1ObjectMeta(name=name, labels={"azure.workload.identity/use": "true"}),
            spec=kubernetes.client.V1PodSpec(service_account_name="app", containers=[
                kubernetes.client.V1Container(name="app", image="busybox")])))
        return [e.name for e in pod.spec.containers[0].env or []]

    assert pod_env("before") == []
    _status, cluster = get(arm, path)
    put_and_wait(arm, path, enable(cluster, oidcIssuerProfile={"enabled": True},
                                   securityProfile={"workloadIdentity": {"enabled": True}}))
    assert "AZURE_FEDERATED_TOKEN_FILE" in pod_env("after")
