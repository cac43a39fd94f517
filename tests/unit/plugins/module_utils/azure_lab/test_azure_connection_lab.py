# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared Azure layer against the lab: cloud discovery from an ARM URL, credentials, the one
retry policy (429 with Retry-After, 5xx), and errors that keep Azure's code."""

from __future__ import annotations

import time

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

RG = "rg-keda-integration"


def arm_requests(lab, method=None, path=""):
    return [r for r in lab.requests("arm") if (method is None or r["method"] == method) and path in r["path"]]


def test_an_arm_url_is_asked_for_its_endpoints(conn, azure_env):
    cloud = conn.cloud
    assert cloud.resource_manager == azure_env.env["AZURE_CLOUD_ENVIRONMENT"].rstrip("/") + "/"
    assert cloud.scope.endswith("/.default")
    assert cloud.authority_host == azure_env.env["AZURE_AUTHORITY_HOST"].rstrip("/")
    assert [r["path"] for r in arm_requests(azure_env, "GET", "/metadata/endpoints")] == \
        ["/metadata/endpoints?api-version=2022-09-01"]


def test_a_token_is_fetched_once_per_connection(conn, azure_env):
    msi.get_identity(conn, RG, "nothing-here")
    msi.get_identity(conn, RG, "nothing-here-either")
    token_calls = [r for r in azure_env.requests("entra") if r["method"] == "POST"]
    assert len(token_calls) == 1


def test_a_no_op_read_costs_metadata_token_and_one_get(conn, azure_env):
    azure_env.clear_requests()
    assert msi.get_identity(conn, RG, "nothing-here") is None
    arm = azure_env.requests("arm")
    assert [r["method"] for r in arm] == ["GET", "GET"]  # metadata, identity


@pytest.mark.parametrize("status, retry_after", [(429, 1), (500, None), (503, None), (502, None)])
def test_transient_failures_are_retried(conn, azure_env, status, retry_after):
    conn.cloud  # pylint: disable=pointless-statement
    azure_env.fault(service="arm", method="GET", path="userAssignedIdentities/retry-me", status=status,
                    times=2, retry_after=retry_after)
    started = time.monotonic()
    assert msi.get_identity(conn, RG, "retry-me") is None
    elapsed = time.monotonic() - started
    attempts = arm_requests(azure_env, "GET", "userAssignedIdentities/retry-me")
    assert [r["status"] for r in attempts] == [status, status, 404]
    if retry_after:
        assert elapsed >= 2 * retry_after, "Retry-After is honoured"


def test_retries_are_bounded_and_the_error_keeps_its_code(conn, azure_env):
    # A short Retry-After keeps the test fast; without one the backoff waits 1+2+4+8 s.
    azure_env.fault(service="arm", method="GET", path="userAssignedIdentities/down", status=503,
                    code="ServiceUnavailable", message="try later", times=50, retry_after="0.05")
    with pytest.raises(AzureError) as err:
        msi.get_identity(conn, RG, "down")
    assert (err.value.code, err.value.status, err.value.message) == ("ServiceUnavailable", 503, "try later")
    assert len(arm_requests(azure_env, "GET", "userAssignedIdentities/down")) == 6


def test_azure_errors_keep_code_message_and_status(conn):
    with pytest.raises(AzureError) as err:
        msi.list_credentials(conn, "no-such-group", "no-such-identity")
    assert err.value.code == "ResourceGroupNotFound" and err.value.status == 404
    assert "no-such-group" in err.value.message


def test_wrong_secret_fails_with_the_entra_error(new_conn):
    conn = new_conn(secret="wrong")
    with pytest.raises(AzureError) as err:
        msi.get_identity(conn, RG, "no-such-identity")
    assert "AADSTS" in err.value.msg or err.value.code == "AuthenticationFailed"


def test_a_known_cloud_with_a_custom_authority_is_not_refused(new_conn):
    assert new_conn(cloud_environment="AzureUSGovernment").cloud.resource_manager == "https://management.usgovcloudapi.net/"


def test_missing_subscription_is_named(new_conn, monkeypatch):
    conn = new_conn(subscription_id=None)
    conn.auth.subscription_id = None
    with pytest.raises(OptionError) as err:
        msi.get_identity(conn, RG, "x")
    assert "subscription_id" in str(err.value)


def _kube(lab, method, path, body=None):
    import json
    import ssl
    import urllib.request
    request = urllib.request.Request(lab.env["LAB_KUBE_URL"] + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer lab-admin-token",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=lab.env["LAB_CA_FILE"])) as answer:
        return json.loads(answer.read())


def test_workload_identity_exchanges_a_service_account_token(conn, azure_env, tmp_path):
    """auth_source auto with only AZURE_FEDERATED_TOKEN_FILE + client id (AWX on AKS): the service
    account token is exchanged at Entra for the identity, and ARM sees that identity as the caller."""
    azure_env.settings(fic_propagation_seconds=0)  # the exchange is the subject, not propagation
    _changed, identity = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, "mi-awx", "eastus"), False)
    msi.ensure_credential_present(conn, msi.CredentialPlan(RG, "mi-awx", "awx", azure_env.env["LAB_OIDC_ISSUER"],
                                                           "system:serviceaccount:default:awx", timeout=30),
                                  False, lambda _: None)
    _kube(azure_env, "POST", "/api/v1/namespaces/default/serviceaccounts",
          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "awx"}})
    answer = _kube(azure_env, "POST", "/api/v1/namespaces/default/serviceaccounts/awx/token",
                   {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                    "spec": {"audiences": ["api://AzureADTokenExchange"], "expirationSeconds": 3600}})
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(answer["status"]["token"])
    env = {k: v for k, v in azure_env.env.items() if k != "AZURE_CLIENT_SECRET"}
    env.update(AZURE_CLIENT_ID=identity["client_id"], AZURE_FEDERATED_TOKEN_FILE=str(token_file))
    auth = AzureAuth.from_env(env)
    assert auth.effective_source() == "workload_identity"
    with pytest.raises(AzureError) as err:
        msi.get_identity(AzureConnection(auth), RG, "mi-awx")
    # Authenticated as the identity; the lab's ARM authorises only the automation principal.
    assert err.value.code == "AuthorizationFailed" and identity["principal_id"] in err.value.message
    exchanges = [r for r in azure_env.requests("entra") if r["method"] == "POST"]
    assert exchanges and exchanges[-1]["status"] == 200


def test_discovery_entra_and_arm_share_one_session_and_one_tls_context(conn, azure_env):
    """One kept-alive session for the run, and the CA bundle parsed once: every HTTPS pool (the ARM
    host, Entra's host) gets the same context and no bundle path to load again per connection."""
    assert msi.get_identity(conn, RG, "nothing-here") is None  # metadata (ARM), token (Entra), the GET (ARM)
    session = conn.transport.session
    adapter = session.get_adapter("https://")
    pools = list(adapter.poolmanager.pools._container.values())  # pylint: disable=protected-access
    hosts = {pool.host + ":" + str(pool.port) for pool in pools}
    assert {u.split("://", 1)[1].rstrip("/") for u in (azure_env.env["LAB_ARM_URL"], azure_env.env["LAB_ENTRA_URL"])} <= hosts
    contexts = {id(pool.conn_kw.get("ssl_context")) for pool in pools}
    assert len(contexts) == 1 and None not in {pool.conn_kw.get("ssl_context") for pool in pools}
    assert {pool.ca_certs for pool in pools} == {None}
    assert conn.credential._client._pipeline._transport.session is session  # pylint: disable=protected-access


def test_the_shared_context_still_verifies_the_server(azure_env, monkeypatch, tmp_path):
    """A bundle without the lab's CA is refused, as requests refuses it: the context is the bundle's."""
    import certifi  # pylint: disable=import-outside-toplevel

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    conn = AzureConnection(AzureAuth.from_env(azure_env.env))
    with pytest.raises(AzureError) as failure:
        conn.cloud  # pylint: disable=pointless-statement
    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value) or "certificate verify failed" in str(failure.value)


def _response(conn, path: str, method: str = "GET", body=None):
    """A real PipelineResponse from the lab, as a poller holds it."""
    arm = conn.arm()
    version = "2022-09-01" if "metadata" in path else "2024-10-01"
    return arm.pipeline_client._pipeline.run(arm._request(method, path, version, body))  # pylint: disable=protected-access


def test_polling_without_retry_after_backs_off_from_one_second_to_the_ceiling(conn):
    from azure.mgmt.core.polling.arm_polling import ARMPolling  # pylint: disable=import-outside-toplevel

    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import adaptive_polling  # pylint: disable=import-outside-toplevel

    polling = adaptive_polling(ARMPolling, 10.0)
    polling._pipeline_response = _response(conn, "/metadata/endpoints")  # no Retry-After  # pylint: disable=protected-access
    assert [polling._extract_delay() for poll in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]  # pylint: disable=protected-access


def test_polling_waits_what_the_service_asks(conn, azure_env):
    """The lab's AKS PUT answers with x-ms-retry-after-ms: 100, which is what the poller waits."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling  # pylint: disable=import-outside-toplevel

    from ansible_collections.kedaops.aks.plugins.module_utils._azure_aks import cluster_path  # pylint: disable=import-outside-toplevel
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import adaptive_polling  # pylint: disable=import-outside-toplevel

    path = cluster_path(conn.subscription_id, RG, azure_env.env["LAB_AKS_NAME"])
    cluster = conn.arm().get(path, "2024-10-01", "reading")
    body = {"location": cluster["location"], "properties": {"oidcIssuerProfile": {"enabled": True}}}
    polling = adaptive_polling(ARMPolling, 10.0)
    polling._pipeline_response = _response(conn, path, "PUT", body)  # pylint: disable=protected-access
    assert polling._extract_delay() == 0.1  # pylint: disable=protected-access


def test_missing_ok_declares_a_404_as_absent_and_only_a_404(conn, azure_env):
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_aks import cluster_path  # pylint: disable=import-outside-toplevel

    arm = conn.arm()
    missing = cluster_path(conn.subscription_id, RG, "no-such-cluster")
    assert arm.get(missing, "2024-10-01", "reading", missing_ok=True) is None
    with pytest.raises(AzureError) as err:
        arm.get(missing, "2024-10-01", "reading")
    assert (err.value.code, err.value.status) == ("ResourceNotFound", 404)
    present = cluster_path(conn.subscription_id, RG, azure_env.env["LAB_AKS_NAME"])
    assert arm.get(present, "2024-10-01", "reading", missing_ok=True)["name"] == azure_env.env["LAB_AKS_NAME"]
    azure_env.fault(service="arm", method="GET", path="managedClusters/", status=403, code="AuthorizationFailed",
                    message="no read", times=1)
    with pytest.raises(AzureError) as err:
        arm.get(present, "2024-10-01", "reading", missing_ok=True)
    assert (err.value.code, err.value.status) == ("AuthorizationFailed", 403)
