"""Contract: the lab's latency model (issue 19) adds each service's setting to that service's requests only.

``latency_ms_arm``, ``latency_ms_entra`` (Entra and Microsoft Graph), ``latency_ms_k8s`` and
``latency_ms_dataplane`` (every other service: the chart repository, the event sources) are
milliseconds slept before a request of that service is answered; the control endpoint never waits.
"""

from __future__ import annotations

import time

import pytest

from lab import ids
from lab.azure import clients

DELAY_MS = 400


def _urls(env: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    """One cheap request per service: (URL, headers)."""
    return {
        "latency_ms_arm": (env["LAB_ARM_URL"] + "/metadata/endpoints?api-version=2022-09-01", {}),
        "latency_ms_entra": (f"{env['LAB_ENTRA_URL']}/{ids.TENANT_ID}/v2.0/.well-known/openid-configuration", {}),
        "latency_ms_k8s": (env["LAB_KUBE_URL"] + "/version", {"Authorization": f"Bearer {ids.KUBE_ADMIN_TOKEN}"}),
        "latency_ms_dataplane": (env["LAB_CHART_REPO_URL"] + "index.yaml", {}),
    }


def _elapsed(env: dict[str, str], url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = clients.http(env, "GET", url, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status == 200, (url, response.status)
    return elapsed


def test_defaults_are_zero(clean_lab):
    settings = clean_lab.control("GET", "/settings")
    assert {k: settings[k] for k in _urls(clean_lab.env)} == dict.fromkeys(_urls(clean_lab.env), 0)


@pytest.mark.parametrize("setting", ["latency_ms_arm", "latency_ms_entra", "latency_ms_k8s", "latency_ms_dataplane"])
def test_a_setting_delays_its_service_and_no_other(clean_lab, setting):
    env = clean_lab.env
    urls = _urls(env)
    clean_lab.settings(**{setting: DELAY_MS})
    try:
        timings = {name: _elapsed(env, *target) for name, target in urls.items()}
        started = time.perf_counter()
        clean_lab.control("GET", "/settings")
        control = time.perf_counter() - started
    finally:
        clean_lab.reset()
    assert timings[setting] >= DELAY_MS / 1000.0
    # The others answer at loopback speed (a TLS handshake each; generous for a loaded machine).
    others = {name: t for name, t in timings.items() if name != setting}
    assert max(others.values()) < DELAY_MS / 1000.0 * 0.75, others
    assert control < DELAY_MS / 1000.0 * 0.75


def test_graph_pays_the_entra_latency(clean_lab):
    env = clean_lab.env
    clean_lab.settings(latency_ms_entra=DELAY_MS)
    try:
        # Unauthenticated: Graph answers 401, after the delay like any other request.
        started = time.perf_counter()
        response = clients.http(env, "GET", env["LAB_GRAPH_URL"] + "v1.0/servicePrincipals")
        elapsed = time.perf_counter() - started
    finally:
        clean_lab.reset()
    assert response.status == 401
    assert elapsed >= DELAY_MS / 1000.0
