# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes side's one retry policy against the lab's API server: 429 (with Retry-After),
500/502/503/504 and connection failures are retried on every call class -- reads, writes,
TokenRequest -- and a permanent error is raised at once with its code."""

from __future__ import annotations

import time

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    SERVICE_ACCOUNT,
    Api,
    K8sError,
    RetryPolicy,
    retry_after,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import request_token

FAST = RetryPolicy(first_delay=0.01, max_delay=0.05)


def fast_api(k8s, retried):
    return Api(connect({}, environ=dict(k8s.handle.env)), retry=FAST,
               on_retry=lambda call, error, wait: retried.append((call.split()[0], error.code, round(wait, 1))))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_every_call_class_is_retried_on_a_transient_status(k8s, status):
    retried = []
    api = fast_api(k8s, retried)
    for method in ("GET", "POST", "PATCH", "DELETE"):
        k8s.handle.fault(service="k8s", method=method, path="/serviceaccounts", status=status)
    api.get(SERVICE_ACCOUNT, "app", "default")
    api.create(SERVICE_ACCOUNT, {"metadata": {"name": "app"}}, "default")
    api.patch(SERVICE_ACCOUNT, "app", {"metadata": {"labels": {"a": "b"}}}, "default")
    request_token(api, "default", "app")  # a POST as well; the fault above is used up by the create
    k8s.handle.fault(service="k8s", method="POST", path="/token", status=status)
    request_token(api, "default", "app")
    api.delete(SERVICE_ACCOUNT, "app", "default")
    assert [(m, c) for m, c, _wait in retried] == [(m, status) for m in ("GET", "POST", "PATCH", "POST", "DELETE")]
    assert api.get(SERVICE_ACCOUNT, "app", "default") is None
    creates = [r for r in k8s.handle.requests("k8s") if r["method"] == "POST" and r["path"].endswith(
        "/serviceaccounts")]
    assert len(creates) == 2, "the faulted create and its one retry"


def test_retry_after_is_honoured(k8s):
    retried = []
    api = fast_api(k8s, retried)
    k8s.handle.fault(service="k8s", method="GET", path="/namespaces/default$", status=429, retry_after=1)
    started = time.monotonic()
    assert api.get(NAMESPACE, "default") is not None
    assert time.monotonic() - started >= 1.0
    assert retried == [("GET", 429, 1.0)]


def test_a_permanent_error_is_raised_at_once_with_its_code(k8s):
    retried = []
    api = fast_api(k8s, retried)
    k8s.handle.fault(service="k8s", method="PATCH", path="/serviceaccounts/default", status=403)
    with pytest.raises(K8sError) as caught:
        api.patch(SERVICE_ACCOUNT, "default", {"metadata": {"labels": {"a": "b"}}}, "default")
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    assert retried == []


def test_a_lasting_transient_error_keeps_its_code_after_the_last_attempt(k8s):
    retried = []
    api = fast_api(k8s, retried)
    k8s.handle.fault(service="k8s", method="GET", path="/namespaces/default$", status=503, times=10)
    with pytest.raises(K8sError) as caught:
        api.get(NAMESPACE, "default")
    assert caught.value.code == 503
    assert len(retried) == FAST.attempts - 1


def test_waits_grow_with_jitter_under_a_cap():
    policy = RetryPolicy()
    waits = [policy.delay(attempt, None) for attempt in range(10)]
    assert all(0.125 <= w <= policy.max_delay for w in waits)
    assert max(waits) > 4 * min(waits)
    assert policy.delay(0, 600) == policy.max_retry_after


def test_retry_after_reads_the_header_or_the_status_details():
    error = K8sError(429, "TooManyRequests", "slow down", {"retryAfterSeconds": 3})
    assert retry_after({"Retry-After": "2"}, error) == 2.0
    assert retry_after({}, error) == 3.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, error) == 0.0
