"""Contract: the Azure Monitor workspace's Prometheus API as a plain Prometheus HTTP client uses it.

``requests`` against the workspace's real query host name (``<name>-<suffix>.eastus.prometheus.monitor.azure.com``,
covered by the lab's certificate; the name resolved to the lab in-process, docs/lab.md's recipe), with an
Entra token for ``https://prometheus.monitor.azure.com`` and Monitoring Data Reader: ``query`` (vector,
scalar, string, matrix), ``query_range``, ``labels``, ``label/<name>/values``, ``series``, and Prometheus'
400 ``bad_data`` for a query that does not parse.
"""

from __future__ import annotations

import socket
import urllib.parse

import pytest
import requests

from lab import ids, kedascene as scene
from lab.azure import clients, seed

SELECTOR = 'http_requests_total{deployment="my-deployment",job="api"}'


@pytest.fixture
def env(clean_lab):
    return clean_lab.env


@pytest.fixture
def prom(env, clean_lab, monkeypatch):
    """A Prometheus API base URL on the workspace's real host name, authorized as Monitoring Data Reader."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.lower().endswith(".prometheus.monitor.azure.com"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    scene.assign(env, seed.monitor_workspace_id(), scene.MONITORING_DATA_READER, ids.AUTOMATION_PRINCIPAL_ID)
    token = clients.credential(env).get_token("https://prometheus.monitor.azure.com/.default").token
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.verify = env["LAB_CA_FILE"]
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would win over session.verify
    port = urllib.parse.urlparse(env["LAB_PROMETHEUS_URL"]).port
    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": SELECTOR, "value": 42})
    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": 'up{job="api"}', "value": 1})
    return session, f"{env['LAB_MONITOR_QUERY_ENDPOINT']}:{port}/api/v1"


def test_instant_vector_carries_the_selectors_series(prom):
    session, base = prom
    answer = session.get(f"{base}/query", params={"query": SELECTOR, "time": "1767225600"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "http_requests_total", "deployment": "my-deployment", "job": "api"},
         "value": [1767225600.0, "42"]}]}}
    unset = session.post(f"{base}/query", data={"query": "sum(rate(other_total[2m]))"})
    assert unset.json()["data"] == {"resultType": "vector", "result": []}


@pytest.mark.parametrize("query,expected", [
    ("1 + 2 * 3", ["scalar", "7"]),
    ("2 ^ 3 ^ 2", ["scalar", "512"]),
    ("-4 / 0", ["scalar", "-Inf"]),
    ('"text"', ["string", "text"]),
])
def test_scalars_and_strings_as_prometheus_returns_them(prom, query, expected):
    session, base = prom
    data = session.get(f"{base}/query", params={"query": query, "time": "1767225600.5"}).json()["data"]
    assert [data["resultType"], data["result"][1]] == expected and data["result"][0] == 1767225600.5


@pytest.mark.parametrize("query,fragment", [
    ("sum(rate(http_requests_total[2m])", "1:34: parse error: unclosed left parenthesis"),
    ('up{job="api"', "parse error: unexpected end of input inside braces"),
    ("rate(http_requests_total)", 'expected type range vector in call to function "rate", got instant vector'),
    ("sum(up[5m])", "expected type instant vector in aggregation expression, got range vector"),
    ("nosuchfn(up)", 'unknown function with name "nosuchfn"'),
    ("", "1:1: parse error: no expression found in input"),
    ("up ^^ 2", "1:5: parse error: unexpected <op:^>"),
    ("up{job=5}", 'unexpected number "5" in label matching, expected string'),
])
def test_a_query_that_does_not_parse_is_400_bad_data(prom, query, fragment):
    session, base = prom
    answer = session.get(f"{base}/query", params={"query": query})
    assert answer.status_code == 400
    body = answer.json()
    assert (body["status"], body["errorType"]) == ("error", "bad_data")
    assert body["error"].startswith('invalid parameter "query": ') and fragment in body["error"]


def test_query_range_answers_a_matrix_per_step_and_checks_its_parameters(prom):
    session, base = prom
    answer = session.get(f"{base}/query_range", params={"query": SELECTOR, "start": "1000", "end": "1060", "step": "30s"})
    data = answer.json()["data"]
    assert data["resultType"] == "matrix"
    assert data["result"][0]["values"] == [[1000.0, "42"], [1030.0, "42"], [1060.0, "42"]]
    scalar = session.get(f"{base}/query_range", params={"query": "3", "start": "0", "end": "10", "step": "10"}).json()
    assert scalar["data"] == {"resultType": "matrix", "result": [{"metric": {}, "values": [[0.0, "3"], [10.0, "3"]]}]}
    for params, fragment in (({"start": "10", "end": "0", "step": "1"}, "end timestamp must not be before start time"),
                             ({"start": "0", "end": "10", "step": "0"}, "zero or negative query resolution step widths"),
                             ({"start": "0", "end": "100000", "step": "1"}, "exceeded maximum resolution of 11,000 points"),
                             ({"end": "10", "step": "1"}, 'invalid parameter "start": cannot parse "" to a valid timestamp')):
        refused = session.get(f"{base}/query_range", params={"query": SELECTOR, **params})
        assert refused.status_code == 400 and fragment in refused.json()["error"]
    matrix = session.get(f"{base}/query_range", params={"query": "up[5m]", "start": "0", "end": "1", "step": "1"})
    assert matrix.status_code == 400 and 'invalid expression type "range vector" for range query' in matrix.json()["error"]


def test_labels_label_values_and_series(prom):
    session, base = prom
    assert session.get(f"{base}/labels").json() == {"status": "success", "data": ["__name__", "deployment", "job"]}
    assert session.get(f"{base}/label/__name__/values").json()["data"] == ["http_requests_total", "up"]
    found = session.get(f"{base}/series", params={"match[]": '{job="api",__name__=~"http_.*"}'}).json()["data"]
    assert found == [{"deployment": "my-deployment", "job": "api", "__name__": "http_requests_total"}]
    missing = session.get(f"{base}/series")
    assert missing.status_code == 400 and missing.json()["error"] == "no match[] parameter provided"


def test_the_api_still_needs_the_data_action(env, prom, clean_lab):
    session, base = prom
    clean_lab.reset()  # the role assignment goes with the reset
    session.headers["Authorization"] = "Bearer " + clients.credential(env).get_token(
        "https://prometheus.monitor.azure.com/.default").token
    assert session.get(f"{base}/labels").status_code == 403
