"""Contract: Microsoft.ServiceBus in the lab — ARM namespaces (long-running create, disableLocalAuth,
serviceBusEndpoint) and queues with the real status codes, and the namespace's data plane (send,
receive-and-delete, queue runtime properties) behind Entra tokens and RBAC data actions.

Raw HTTPS with the automation principal's token from azure-identity; the data plane is reached at
LAB_SERVICEBUS_URL with the namespace's host name in ``Host`` (the lab serves every namespace there).
"""

from __future__ import annotations

import re

import pytest

from lab import ids, kedascene as scene
from lab.azure import clients

API = "2021-11-01"
GROUP = f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{ids.RESOURCE_GROUP}/providers/Microsoft.ServiceBus/namespaces"
SEEDED = f"{GROUP}/{ids.SERVICEBUS_NAMESPACE_NAME}"
HOST = f"{ids.SERVICEBUS_NAMESPACE_NAME}.servicebus.windows.net"
SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


def data(env, method: str, path: str, token: str | None = None, body: bytes | None = None, auth: str | None = None):
    headers = {"Host": HOST}
    if auth is not None or token is not None:
        headers["Authorization"] = auth if auth is not None else f"Bearer {token}"
    return clients.http(env, method, env["LAB_SERVICEBUS_URL"] + path, body, headers)


def sb_token(env) -> str:
    return clients.credential(env).get_token("https://servicebus.azure.net//.default").token


def test_namespace_create_is_long_running_and_reports_its_endpoint(env, clean_lab):
    clean_lab.settings(servicebus_lro_polls=1)
    body = {"location": "eastus", "sku": {"name": "Standard"}, "properties": {"disableLocalAuth": True}}
    created = clients.arm(env, "PUT", f"{GROUP}/sb-lab-new", body, api_version=API)
    assert created.status == 200 and "Azure-AsyncOperation" not in created.headers  # before 2024-01-01 (fact 19)
    assert created.json()["properties"]["provisioningState"] == "Created"
    first = clients.arm(env, "GET", f"{GROUP}/sb-lab-new", api_version=API).json()["properties"]
    second = clients.arm(env, "GET", f"{GROUP}/sb-lab-new", api_version=API).json()["properties"]
    assert (first["provisioningState"], second["provisioningState"], second["status"]) == ("Activating", "Succeeded", "Active")
    assert second["serviceBusEndpoint"] == "https://sb-lab-new.servicebus.windows.net:443/"
    assert second["disableLocalAuth"] is True
    again = clients.arm(env, "PUT", f"{GROUP}/sb-lab-new", {"location": "eastus", "properties": {"disableLocalAuth": False}},
                        api_version=API)
    assert again.status == 200 and again.json()["properties"]["disableLocalAuth"] is False
    deleted = clients.arm(env, "DELETE", f"{GROUP}/sb-lab-new", api_version=API)
    assert deleted.status == 202 and "/operationStatus/sb-lab-new" in deleted.headers["Location"]
    token = clients.arm_token(env)
    assert clients.http(env, "GET", deleted.headers["Location"], headers={"Authorization": "Bearer " + token}).status == 204
    assert clients.arm(env, "DELETE", f"{GROUP}/sb-lab-new", api_version=API).status == 204
    assert clients.arm(env, "GET", f"{GROUP}/sb-lab-new", api_version=API).error_code == "ResourceNotFound"


def test_queue_create_update_get_delete_status_codes(env):
    path = f"{SEEDED}/queues/jobs"
    assert clients.arm(env, "PUT", path, {"properties": {"maxDeliveryCount": 5}}, api_version=API).status == 200
    updated = clients.arm(env, "PUT", path, {"properties": {"maxDeliveryCount": 7}}, api_version=API)
    assert updated.status == 200 and updated.json()["properties"]["maxDeliveryCount"] == 7
    assert clients.arm(env, "GET", path, api_version=API).json()["properties"]["countDetails"]["activeMessageCount"] == 0
    names = [q["name"] for q in clients.arm(env, "GET", f"{SEEDED}/queues", api_version=API).json()["value"]]
    assert names == ["orders", "jobs"]
    assert clients.arm(env, "DELETE", path, api_version=API).status == 200
    assert clients.arm(env, "DELETE", path, api_version=API).status == 204
    missing = clients.arm(env, "GET", path, api_version=API)
    assert (missing.status, missing.error_code) == (404, "NotFound")
    orphan = clients.arm(env, "PUT", f"{GROUP}/sb-absent/queues/q", {"properties": {}}, api_version=API)
    assert orphan.status == 404


def test_data_plane_needs_a_token_and_refuses_sas_when_local_auth_is_disabled(env):
    missing = data(env, "POST", "/orders/messages", body=b"x")
    assert missing.status == 401 and b"MissingToken" in missing.body
    sas = data(env, "POST", "/orders/messages", body=b"x", auth="SharedAccessSignature sr=x&sig=y&se=1&skn=RootManageSharedAccessKey")
    assert sas.status == 401
    assert re.search(rb"<Error><Code>401</Code><Detail>LocalAuthDisabled: Authorization failed because SAS authentication "
                     rb"has been disabled for the namespace\. TrackingId:[^,]+, SystemTracker:sb-keda-demo\.servicebus\.windows\.net:orders, "
                     rb"Timestamp:[0-9T:-]+</Detail></Error>", sas.body)
    arm_token = clients.arm_token(env)
    assert data(env, "POST", "/orders/messages", arm_token, b"x").status == 401  # a token for ARM, not for Service Bus


def test_data_actions_decide_send_receive_and_runtime_properties(env):
    token = sb_token(env)
    principal = ids.AUTOMATION_PRINCIPAL_ID
    refused = data(env, "POST", "/orders/messages", token, b"hello")
    assert refused.status == 401 and b"'Send' claim(s) are required" in refused.body
    scene.assign(env, SEEDED, SENDER, principal)
    assert data(env, "POST", "/orders/messages", token, b"hello").status == 201
    assert data(env, "DELETE", "/orders/messages/head", token).status == 401  # Sender cannot receive
    runtime = data(env, "GET", "/orders?api-version=2021-05", token)
    assert runtime.status == 401 and b"Manage,EntityRead claims required for this operation." in runtime.body
    # Data Owner at the resource group (an ancestor scope) grants Manage.
    scene.assign(env, f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{ids.RESOURCE_GROUP}", scene.DATA_OWNER, principal)
    runtime = data(env, "GET", "/orders?api-version=2021-05", token)
    assert runtime.status == 200
    assert b"<d2p1:ActiveMessageCount>1</d2p1:ActiveMessageCount>" in runtime.body
    assert scene.queue_count(env) == 1
    absent = data(env, "GET", "/nothere?api-version=2021-05", token)
    assert absent.status == 200 and b"Publicly Listed Services" in absent.body
    received = data(env, "DELETE", "/orders/messages/head", token)
    assert (received.status, received.body) == (200, b"hello")
    assert data(env, "DELETE", "/orders/messages/head", token).status == 204


def test_receiver_role_receives_but_cannot_send(env):
    token = sb_token(env)
    scene.assign(env, f"{SEEDED}/queues/orders", RECEIVER, ids.AUTOMATION_PRINCIPAL_ID)
    assert data(env, "DELETE", "/orders/messages/head", token).status == 204
    assert data(env, "POST", "/orders/messages", token, b"x").status == 401
