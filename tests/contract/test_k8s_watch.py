"""Contract: watch streams (events, selectors, initial events + bookmark, expiry, timeouts)."""

from __future__ import annotations

import json
import threading
import time

from kubernetes import watch


def _events(response, limit: int) -> list[dict]:
    found = []
    for line in response.iter_lines():
        if line:
            found.append(json.loads(line))
            if len(found) >= limit:
                break
    response.close()
    return found


def test_watch_streams_added_modified_deleted_from_a_resource_version(raw, ns):
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = raw.request("GET", base).json()["metadata"]["resourceVersion"]
    raw.request("POST", base, {"metadata": {"name": "w"}, "data": {"a": "1"}})
    raw.request("PATCH", f"{base}/w", {"data": {"a": "2"}}, "application/merge-patch+json")
    raw.request("DELETE", f"{base}/w")
    response = raw.request("GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=5", stream=True)
    assert response.status_code == 200 and response.headers["Transfer-Encoding"] == "chunked"
    events = _events(response, 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["data"] == {"a": "2"} and events[1]["object"]["kind"] == "ConfigMap"
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


def test_send_initial_events_ends_with_the_initial_events_bookmark(raw, ns):
    base = f"/api/v1/namespaces/{ns}/configmaps"
    raw.request("POST", base, {"metadata": {"name": "pre"}})
    query = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=5"
    events = _events(raw.request("GET", f"{base}?{query}", stream=True), 3)
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "kube-root-ca.crt"), ("ADDED", "pre")]
    bookmark = events[2]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["kind"] == "ConfigMap" and bookmark["object"]["apiVersion"] == "v1"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= int(events[1]["object"]["metadata"]["resourceVersion"])


def test_send_initial_events_requires_not_older_than(raw, ns):
    response = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true")
    assert response.status_code == 422 and response.json()["reason"] == "Invalid"


def test_label_selector_watch_turns_relabels_into_added_and_deleted(raw, ns):
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = raw.request("GET", base).json()["metadata"]["resourceVersion"]
    raw.request("POST", base, {"metadata": {"name": "l", "labels": {"team": "a"}}})
    raw.request("PATCH", f"{base}/l", {"metadata": {"labels": {"team": "b"}}}, "application/merge-patch+json")
    raw.request("PATCH", f"{base}/l", {"metadata": {"labels": {"team": "a"}}}, "application/merge-patch+json")
    response = raw.request("GET", f"{base}?watch=1&labelSelector=team%3Da&resourceVersion={rv}&timeoutSeconds=5", stream=True)
    assert [e["type"] for e in _events(response, 3)] == ["ADDED", "DELETED", "ADDED"]


def test_too_old_resource_version_is_an_expired_error_event(raw, ns):
    events = _events(raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion=-5", stream=True), 1)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_watch_ends_at_timeout_seconds(raw, ns):
    started = time.monotonic()
    response = raw.request("GET", f"/api/v1/namespaces/{ns}/secrets?watch=1&resourceVersion=0&timeoutSeconds=1", stream=True)
    assert list(response.iter_lines()) == []
    assert 0.9 <= time.monotonic() - started < 5


def test_python_client_watch_sees_changes_made_while_it_runs(core, ns):
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def run() -> None:
        stream = watch.Watch()
        for event in stream.stream(core.list_namespaced_config_map, ns, timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            ready.set()
            if event["object"].metadata.name == "late" and event["type"] == "DELETED":
                stream.stop()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(5)  # the initial ADDED for kube-root-ca.crt
    core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    core.delete_namespaced_config_map("late", ns)
    thread.join(10)
    assert ("ADDED", "late") in seen and ("DELETED", "late") in seen
