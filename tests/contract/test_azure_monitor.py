"""Contract: Microsoft.Monitor/accounts in the lab (ARM) and the workspace's Prometheus query API:
an Entra token for https://prometheus.monitor.azure.com, and microsoft.monitor/accounts/data/metrics/read
through a role assignment at the workspace or above, else the 403 body the seeds show. Values come
from the lab's control API.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from lab import ids, kedascene as scene
from lab.azure import clients, seed

API = "2023-04-03"
GROUP = f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{ids.RESOURCE_GROUP}/providers/Microsoft.Monitor/accounts"
QUERY = 'sum(rate(http_requests_total{deployment="my-deployment"}[2m]))'


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


def query(env, token: str | None, promql: str = QUERY, host: str | None = None):
    host = host or urllib.parse.urlsplit(seed.PROMETHEUS_QUERY_ENDPOINT).hostname
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return clients.http(env, "GET", env["LAB_PROMETHEUS_URL"] + "/api/v1/query?query=" + urllib.parse.quote_plus(promql), None, headers)


def prom_token(env) -> str:
    return clients.credential(env).get_token("https://prometheus.monitor.azure.com/.default").token


def test_account_create_get_list_delete(env):
    created = clients.arm(env, "PUT", f"{GROUP}/amw-lab", {"location": "East US"}, api_version=API)
    assert created.status == 200  # recordings README fact 20
    endpoint = created.json()["properties"]["metrics"]["prometheusQueryEndpoint"]
    assert endpoint.startswith("https://amw-lab-") and endpoint.endswith(".eastus.prometheus.monitor.azure.com")
    assert clients.arm(env, "PUT", f"{GROUP}/amw-lab", {"location": "eastus", "tags": {"a": "b"}}, api_version=API).status == 200
    names = [a["name"] for a in clients.arm(env, "GET", GROUP, api_version=API).json()["value"]]
    assert names == [ids.MONITOR_WORKSPACE_NAME, "amw-lab"]
    deleted = clients.arm(env, "DELETE", f"{GROUP}/amw-lab", api_version=API)
    assert deleted.status == 202 and "/operationResults/" in deleted.headers["Azure-AsyncOperation"]
    token = clients.arm_token(env)
    assert clients.http(env, "GET", deleted.headers["Azure-AsyncOperation"],
                        headers={"Authorization": "Bearer " + token}).json() == {"status": "Succeeded"}
    assert clients.arm(env, "DELETE", f"{GROUP}/amw-lab", api_version=API).status == 204
    assert clients.arm(env, "GET", f"{GROUP}/amw-lab", api_version=API).error_code == "ResourceNotFound"


def test_query_needs_the_data_action_and_answers_the_seeds_403_body(env, clean_lab):
    assert query(env, None).status == 401
    assert query(env, clients.arm_token(env)).status == 401  # wrong audience
    token = prom_token(env)
    refused = query(env, token)
    assert refused.status == 403
    assert refused.json() == {"status": "error", "errorType": "Forbidden", "error": (
        f"User '{ids.AUTOMATION_PRINCIPAL_ID}' does not have access to perform any of the following actions "
        f"'microsoft.monitor/accounts/data/metrics/read' on resource '{seed.monitor_workspace_id().lower()}'.")}
    scene.assign(env, f"/subscriptions/{ids.SUBSCRIPTION_ID}", scene.MONITORING_DATA_READER, ids.AUTOMATION_PRINCIPAL_ID)
    empty = query(env, token)
    assert empty.status == 200 and empty.json()["data"] == {"resultType": "vector", "result": []}
    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": QUERY, "value": 150.5})
    result = query(env, token).json()["data"]["result"]
    assert len(result) == 1 and result[0]["value"][1] == "150.5"
    clean_lab.control("PUT", "/services/prometheus/metrics", {"value": 7})
    assert query(env, token, "up").json()["data"]["result"][0]["value"][1] == "7"
    assert query(env, token, host="unknown-0000.eastus.prometheus.monitor.azure.com").status == 404


def test_role_assignment_propagation_delay_is_honoured(env, clean_lab):
    clean_lab.settings(rbac_propagation_seconds=30)
    scene.assign(env, seed.monitor_workspace_id(), scene.MONITORING_DATA_READER, ids.AUTOMATION_PRINCIPAL_ID)
    assert query(env, prom_token(env)).status == 403
    clean_lab.settings(rbac_propagation_seconds=0)
    assert query(env, prom_token(env)).status == 200
    assert json.loads(json.dumps(clean_lab.control("GET", "/services/prometheus/metrics"))) == {}
