"""Contract: the rest of Service Bus' surface in the lab, tried with unchanged clients.

ARM (raw HTTPS as the automation principal): a new namespace's ``RootManageSharedAccessKey``, ``listKeys``
with the recorded key set, ``regenerateKeys``, ``CheckNameAvailability``; what ``disableLocalAuth`` changes
(keys still listed, SAS refused by the data plane, accepted once local auth is on).

Data plane with azure-servicebus' own ``ServiceBusAdministrationClient`` (test-only dependency), reaching
``<namespace>.servicebus.windows.net`` by its real host name: the lab's certificate carries
``*.servicebus.windows.net`` and the test resolves that name to the lab (docs/lab.md's resolver recipe,
done in-process); the queue listing (``/$Resources/queues``), ``/$namespaceinfo``, and a batch send
(REST, ``application/vnd.microsoft.servicebus.json``) stored as its several messages.
"""

from __future__ import annotations

import socket
import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError
from azure.servicebus.management import ServiceBusAdministrationClient

from lab import ids, kedascene as scene
from lab.azure import clients

API = "2021-11-01"
GROUP = f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{ids.RESOURCE_GROUP}/providers/Microsoft.ServiceBus/namespaces"
SEEDED = f"{GROUP}/{ids.SERVICEBUS_NAMESPACE_NAME}"
HOST = f"{ids.SERVICEBUS_NAMESPACE_NAME}.servicebus.windows.net"
KEY_SET = ["primaryConnectionString", "secondaryConnectionString", "primaryKey", "secondaryKey", "keyName"]


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


@pytest.fixture
def lab_dns(monkeypatch):
    """The resolver recipe, in-process: every *.servicebus.windows.net name resolves to the lab's address."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.lower().endswith(".servicebus.windows.net"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def port(env) -> int:
    return int(urllib.parse.urlparse(env["LAB_SERVICEBUS_URL"]).port or 443)


def admin(env, credential=None, namespace: str = ids.SERVICEBUS_NAMESPACE_NAME):
    return ServiceBusAdministrationClient(
        f"{namespace}.servicebus.windows.net:{port(env)}", credential or clients.credential(env),
        connection_verify=env["LAB_CA_FILE"], retry_total=0)


def data(env, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         namespace: str = ids.SERVICEBUS_NAMESPACE_NAME):
    merged = {"Host": f"{namespace}.servicebus.windows.net"}
    merged.update(headers or {})
    return clients.http(env, method, env["LAB_SERVICEBUS_URL"] + path, body, merged)


def test_a_new_namespace_has_the_root_rule_and_its_keys(env):
    body = {"location": "eastus", "sku": {"name": "Standard"}, "properties": {"disableLocalAuth": True}}
    # 2021-11-01 creates answer 200 (the recordings: azure-cli test_sb_namespace; lab/azure/servicebus_lro.py).
    assert clients.arm(env, "PUT", f"{GROUP}/sb-surface", body, api_version=API).status == 200
    rules = clients.arm(env, "GET", f"{GROUP}/sb-surface/authorizationRules", api_version=API).json()["value"]
    assert [(r["name"], r["properties"]["rights"], r["type"]) for r in rules] == [
        ("RootManageSharedAccessKey", ["Listen", "Manage", "Send"], "Microsoft.ServiceBus/Namespaces/AuthorizationRules")]
    # disableLocalAuth hides no key: listKeys answers as ASO's recording shows.
    keys = clients.arm(env, "POST", f"{GROUP}/sb-surface/AuthorizationRules/RootManageSharedAccessKey/listKeys", api_version=API)
    assert keys.status == 200 and list(keys.json()) == KEY_SET
    listed = keys.json()
    assert listed["primaryConnectionString"] == ("Endpoint=sb://sb-surface.servicebus.windows.net/;SharedAccessKeyName="
                                                 f"RootManageSharedAccessKey;SharedAccessKey={listed['primaryKey']}")
    renewed = clients.arm(env, "POST", f"{GROUP}/sb-surface/AuthorizationRules/RootManageSharedAccessKey/regenerateKeys",
                          {"keyType": "SecondaryKey"}, api_version=API).json()
    assert renewed["primaryKey"] == listed["primaryKey"] and renewed["secondaryKey"] != listed["secondaryKey"]
    missing = clients.arm(env, "POST", f"{GROUP}/sb-surface/AuthorizationRules/nope/listKeys", api_version=API)
    assert missing.status == 404


@pytest.mark.parametrize("name,expected", [
    ("sb-brand-new-name", (True, "None", "")),
    (ids.SERVICEBUS_NAMESPACE_NAME, (False, "NameInUse", "The specified service namespace is not available.")),
    ("1-starts-with-a-digit", (False, "InvalidName", "The specified service namespace is invalid.")),
    ("short", (False, "InvalidName", "The specified service namespace is invalid.")),
    ("ends-with-sb", (False, "InvalidName", "The specified service namespace is invalid.")),
])
def test_check_name_availability(env, name, expected):
    answer = clients.arm(env, "POST", f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.ServiceBus/CheckNameAvailability",
                         {"name": name}, api_version=API)
    assert answer.status == 200
    assert (answer.json()["nameAvailable"], answer.json()["reason"], answer.json()["message"]) == expected


def test_sas_from_the_listed_key_is_refused_until_local_auth_is_enabled(env, lab_dns):
    keys = clients.arm(env, "POST", f"{SEEDED}/AuthorizationRules/RootManageSharedAccessKey/listKeys", api_version=API).json()

    def from_connection_string(connection_string: str) -> ServiceBusAdministrationClient:
        # The listed connection string, with the lab's port after the real host name.
        moved = connection_string.replace(f"sb://{HOST}/", f"sb://{HOST}:{port(env)}/")
        return ServiceBusAdministrationClient.from_connection_string(moved, connection_verify=env["LAB_CA_FILE"], retry_total=0)

    with pytest.raises(HttpResponseError) as refused:
        from_connection_string(keys["primaryConnectionString"]).get_namespace_properties()
    assert "LocalAuthDisabled" in str(refused.value)
    enabled = clients.arm(env, "PUT", SEEDED, {"location": "eastus", "properties": {"disableLocalAuth": False}}, api_version=API)
    assert enabled.status == 200
    assert from_connection_string(keys["secondaryConnectionString"]).get_namespace_properties().name == ids.SERVICEBUS_NAMESPACE_NAME
    forged = keys["primaryConnectionString"].replace(keys["primaryKey"], keys["secondaryKey"][::-1])
    with pytest.raises(HttpResponseError) as bad:
        from_connection_string(forged).get_namespace_properties()
    assert "InvalidSignature" in str(bad.value)


def test_admin_client_lists_queues_and_reads_namespace_info(env, lab_dns):
    scene.assign(env, SEEDED, scene.DATA_OWNER, ids.AUTOMATION_PRINCIPAL_ID)
    for name in ("jobs", "alpha"):
        assert clients.arm(env, "PUT", f"{SEEDED}/queues/{name}", {"properties": {}}, api_version=API).status == 200
    client = admin(env)
    assert [q.name for q in client.list_queues()] == ["alpha", "jobs", "orders"]
    runtime = {q.name: q.total_message_count for q in client.list_queues_runtime_properties()}
    assert runtime == {"alpha": 0, "jobs": 0, "orders": 0}
    info = client.get_namespace_properties()
    assert (info.name, info.messaging_sku, info.namespace_type) == (ids.SERVICEBUS_NAMESPACE_NAME, "Standard", "Messaging")
    assert info.created_at_utc.year == 2026 and info.modified_at_utc >= info.created_at_utc and info.messaging_units is None


def test_queue_listing_pages_and_needs_manage(env):
    token = clients.credential(env).get_token("https://servicebus.azure.net//.default").token
    auth = {"Authorization": f"Bearer {token}"}
    refused = data(env, "GET", "/$Resources/queues?api-version=2021-05", headers=auth)
    assert refused.status == 401 and b"Manage,EntityRead claims required" in refused.body
    scene.assign(env, SEEDED, scene.DATA_OWNER, ids.AUTOMATION_PRINCIPAL_ID)
    for name in ("q1", "q2"):
        clients.arm(env, "PUT", f"{SEEDED}/queues/{name}", {"properties": {}}, api_version=API)
    page = data(env, "GET", "/$Resources/queues?api-version=2021-05&$skip=1&$top=1", headers=auth)
    assert page.status == 200 and page.headers.get("Content-Type", "").startswith("application/atom+xml;type=feed")
    assert b'<title type="text">Queues</title>' in page.body
    assert page.body.count(b"<entry>") == 1 and b'<title type="text">q1</title>' in page.body


def test_a_batch_send_is_stored_as_its_messages(env):
    token = clients.credential(env).get_token("https://servicebus.azure.net//.default").token
    scene.assign(env, SEEDED, scene.DATA_OWNER, ids.AUTOMATION_PRINCIPAL_ID)
    batch = b'[{"Body":"one"},{"Body":"two","BrokerProperties":{"MessageId":"m-2"}},{"Body":"three"}]'
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.microsoft.servicebus.json"}
    assert data(env, "POST", "/orders/messages", batch, headers).status == 201
    assert scene.queue_count(env) == 3
    received = [data(env, "DELETE", "/orders/messages/head", headers={"Authorization": f"Bearer {token}"}) for _attempt in range(3)]
    assert [r.body for r in received] == [b"one", b"two", b"three"]
    assert '"MessageId": "m-2"' in received[1].headers.get("BrokerProperties", "")
    broken = data(env, "POST", "/orders/messages", b'{"Body":"not an array"}', headers)
    assert broken.status == 400
