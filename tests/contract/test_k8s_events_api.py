"""Contract: ``events.k8s.io/v1`` served beside core/v1 Events over one storage (what KEDA 2.20's client-go
``tools/events`` writes through): the kubernetes client's EventsV1Api, raw HTTPS and kubectl, each view
showing the other's writes in its own shape (pkg/apis/events/v1/conversion.go), the group's create
validation (note ≤ 1024 bytes, action and reason ≤ 128, eventTime/reportingController/reportingInstance/action
required), watch, and series updates by PATCH.
"""

from __future__ import annotations

import json

from kubernetes import client

from lab.k8s.testing import api_client


def _event(ns: str, name: str, note: str = "Created 10 jobs", action: str = "KEDAJobsCreated") -> dict:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "eventTime": "2026-08-20T10:15:45.123456Z", "reportingController": "scale-handler",
            "reportingInstance": "scale-handler-keda-operator-7d9c", "action": action, "reason": "KEDAJobsCreated",
            "type": "Normal", "note": note,
            "regarding": {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "name": "consumer", "namespace": ns,
                          "uid": "0b5a5c9e-0000-4000-8000-000000000001"}}


def test_an_events_k8s_io_write_is_a_core_event_and_back(lab, raw, ns):
    events_v1 = client.EventsV1Api(api_client(lab.env["KUBECONFIG"]))
    core = client.CoreV1Api(api_client(lab.env["KUBECONFIG"]))
    created = events_v1.create_namespaced_event(ns, _event(ns, "consumer.17f"))
    assert (created.note, created.reporting_controller, created.regarding.kind) == ("Created 10 jobs", "scale-handler", "ScaledJob")
    # The core/v1 view of the same object.
    seen = core.read_namespaced_event("consumer.17f", ns)
    assert (seen.message, seen.reporting_component, seen.involved_object.name, seen.action) == (
        "Created 10 jobs", "scale-handler", "consumer", "KEDAJobsCreated")
    assert seen.source is None or not seen.source.component
    # A core/v1 write read through events.k8s.io/v1.
    raw.request("POST", f"/api/v1/namespaces/{ns}/events", {
        "metadata": {"name": "web.18a"}, "involvedObject": {"kind": "ScaledObject", "name": "web", "namespace": ns},
        "reason": "KEDAScalersStarted", "message": "Started scalers watch", "type": "Normal", "count": 3,
        "source": {"component": "keda-operator"}, "firstTimestamp": "2026-08-20T10:15:45Z", "lastTimestamp": "2026-08-20T10:16:45Z"})
    listed = raw.request("GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events").json()
    assert listed["kind"] == "EventList" and listed["apiVersion"] == "events.k8s.io/v1"
    web = next(e for e in listed["items"] if e["metadata"]["name"] == "web.18a")
    assert (web["note"], web["regarding"]["name"], web["deprecatedCount"], web["deprecatedSource"]) == (
        "Started scalers watch", "web", 3, {"component": "keda-operator"})
    assert "message" not in web and "involvedObject" not in web and web["eventTime"] is None
    assert {e["metadata"]["name"] for e in listed["items"]} == {"consumer.17f", "web.18a"}
    assert {e.metadata.name for e in core.list_namespaced_event(ns).items} == {"consumer.17f", "web.18a"}


def test_the_group_validates_what_core_does_not(raw, ns):
    base = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
    too_long = raw.request("POST", base, _event(ns, "long.1", note="x" * 1025))
    assert too_long.status_code == 422
    assert too_long.json()["message"] == 'Event.events.k8s.io "long.1" is invalid: note: Too long: may not be more than 1024 bytes'
    body = _event(ns, "bare.1")
    del body["reportingController"], body["action"]
    missing = raw.request("POST", base, body)
    assert missing.status_code == 422
    assert {c["field"] for c in missing.json()["details"]["causes"]} == {"reportingController", "action"}
    long_action = raw.request("POST", base, _event(ns, "act.1", action="a" * 129))
    assert long_action.status_code == 422 and long_action.json()["details"]["causes"][0]["field"] == "action"
    # Nothing of it was stored, in either view.
    assert raw.request("GET", f"/api/v1/namespaces/{ns}/events").json()["items"] == []
    # The same long text is fine as a core/v1 message (its own limits are larger).
    core = raw.request("POST", f"/api/v1/namespaces/{ns}/events", {
        "metadata": {"name": "core.1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
        "reason": "X", "message": "x" * 1025, "type": "Normal", "source": {"component": "c"}})
    assert core.status_code == 201


def test_series_by_patch_and_watch_through_the_group(raw, ns):
    base = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
    rv = raw.request("GET", base).json()["metadata"]["resourceVersion"]
    assert raw.request("POST", base, _event(ns, "consumer.1a")).status_code == 201
    patched = raw.request("PATCH", f"{base}/consumer.1a", {"series": {"count": 2, "lastObservedTime": "2026-08-20T10:16:45.000000Z"}},
                          "application/merge-patch+json")
    assert patched.status_code == 200 and patched.json()["series"]["count"] == 2
    assert raw.request("GET", f"/api/v1/namespaces/{ns}/events/consumer.1a").json()["series"]["count"] == 2
    response = raw.request("GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=5", stream=True)
    seen = []
    for line in response.iter_lines():
        if line:
            seen.append(json.loads(line))
            if len(seen) == 2:
                break
    response.close()
    assert [e["type"] for e in seen] == ["ADDED", "MODIFIED"]
    assert seen[1]["object"]["apiVersion"] == "events.k8s.io/v1" and seen[1]["object"]["series"]["count"] == 2


def test_kubectl_gets_events_through_either_group(raw, tools, ns):
    raw.request("POST", f"/apis/events.k8s.io/v1/namespaces/{ns}/events", _event(ns, "consumer.2b"))
    table = tools.kubectl("get", "events.events.k8s.io", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert table[1].split()[1:4] == ["Normal", "KEDAJobsCreated", "scaledjob/consumer"] and table[1].endswith("Created 10 jobs")
    core = tools.kubectl("get", "events", "-n", ns).stdout.splitlines()
    assert core[1].split()[1:4] == ["Normal", "KEDAJobsCreated", "scaledjob/consumer"]
    names = tools.kubectl("get", "events.v1.events.k8s.io", "-n", ns, "-o", "jsonpath={.items[*].note}").stdout
    assert names == "Created 10 jobs"
