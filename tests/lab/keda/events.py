"""Events as the keda-operator's client-go writes them, per KEDA version.

≤ 2.19 (the add-on's 2.17.2): core/v1 through ``tools/record`` (``GetEventRecorderFor``), whose
``EventCorrelator`` (vendor/k8s.io/client-go/tools/record/events_cache.go@v0.31.7, vendored by
kedacore/keda@v2.17.2) does three things before a write:
- aggregation (``EventAggregatorByReasonFunc``): events of one source and object with the same type and
  reason but different messages — once 10 distinct messages were seen within 600 s, the next ones
  become one event "(combined from similar events): <message>" that is counted up;
- dedup (``eventLogger``): an identical event (same message too) bumps ``count`` and ``lastTimestamp``
  of the stored one instead of writing a new one;
- spam filter (``EventSourceObjectSpamFilter``, ``getSpamKey`` = source + object): a token bucket of
  25 events that refills one token per 300 s; events without a token are dropped.
So one failing trigger polled every second gives a few events with a growing count, not dozens.

2.20.x: events.k8s.io/v1 through ``tools/events`` (cmd/operator/main.go@v2.20.2 :248): ``reportingController``
= recorder name, ``reportingInstance`` = ``<name>-<pod>``, ``action``; repeats of the same
(regarding, type, reason, action, reporting controller/instance) within 6 minutes become a ``series`` on
the first event (``event_broadcaster.go`` ``getKey``/``recordToSink``; the note is not updated); a note
over 1024 characters or an action over 128 is rejected by the API server and dropped (§3.1 of
keda-behaviour.md). ``tools/events`` has no spam filter.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..k8s import errors as k8s_errors
from ..k8s.options import Options

AGGREGATE_MAX_EVENTS = 10  # defaultAggregateMaxEvents
AGGREGATE_INTERVAL = 600  # defaultAggregateIntervalInSeconds
SPAM_BURST = 25  # defaultSpamBurst
SPAM_QPS = 1.0 / 300.0  # defaultSpamQPS
SERIES_SECONDS = 6 * 60  # tools/events: isomorphic events within this window join the series
COMBINED = "(combined from similar events): "


def _micro(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1e6):06d}Z"


def _second(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


class Recorder:
    def __init__(self, keda: Any):
        self.keda = keda
        self.reset()

    def reset(self) -> None:
        self.series: dict[tuple[Any, ...], tuple[str, str, float]] = {}
        self.aggregates: dict[tuple[Any, ...], tuple[set[str], float]] = {}
        self.observed: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.buckets: dict[tuple[Any, ...], tuple[float, float]] = {}

    def emit(self, operator: dict[str, Any], obj: dict[str, Any], etype: str, reason: str, message: str,
             component: str, action: str, v20: bool) -> None:
        if v20:
            self._series(operator, obj, etype, reason, message, component, action)
        else:
            self._correlated(obj, etype, reason, message, component)

    # -- events.k8s.io/v1 (2.20) -------------------------------------------------------------------------

    def _series(self, operator: dict[str, Any], obj: dict[str, Any], etype: str, reason: str, note: str,
                component: str, action: str) -> None:
        keda = self.keda
        meta = obj["metadata"]
        instance = f"{component}-{operator['metadata']['name']}"
        key = (meta["uid"], etype, reason, component, instance, action)
        now = keda.clock.now()
        known = self.series.get(key)
        if known is not None and now - known[2] < SERIES_SECONDS:
            namespace, name, _first = known

            def bump(ev: dict[str, Any]) -> None:
                series = ev.get("series") or {"count": 1}
                ev["series"] = {"count": int(series.get("count") or 1) + 1, "lastObservedTime": _micro(now)}
            if keda.k8s.api.system_write(keda._rt("v1", "Event"), namespace, name, bump, component) is not None:
                self.series[key] = (namespace, name, now)
                return
        event = {
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
            "regarding": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                          "namespace": meta["namespace"], "uid": meta["uid"], "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "note": note, "type": etype, "eventTime": _micro(now), "action": action,
            "reportingController": component, "reportingInstance": instance,
        }
        try:
            with keda.k8s.api.transaction():
                created = keda.k8s.api.create(keda._rt("events.k8s.io/v1", "Event"), meta["namespace"], event,
                                              Options(manager=component))
        except k8s_errors.ApiError as exc:
            # client-go tools/events recordToSink: a rejected event is logged by klog and dropped (§3.1).
            keda.k8s.append_log(operator["metadata"]["namespace"], operator["metadata"]["name"],
                                f"E{time.strftime('%m%d %H:%M:%S', time.gmtime())}.000000       1 event_broadcaster.go:270] "
                                f"\"Server rejected event (will not retry!)\" err={json.dumps(exc.message)}")
            return
        self.series[key] = (meta["namespace"], created["metadata"]["name"], now)

    # -- core/v1 with the EventCorrelator (≤ 2.19) ------------------------------------------------------

    def _take_token(self, spam_key: tuple[Any, ...], now: float) -> bool:
        tokens, last = self.buckets.get(spam_key, (float(SPAM_BURST), now))
        tokens = min(float(SPAM_BURST), tokens + (now - last) * SPAM_QPS)
        if tokens < 1.0:
            self.buckets[spam_key] = (tokens, now)
            return False
        self.buckets[spam_key] = (tokens - 1.0, now)
        return True

    def _correlated(self, obj: dict[str, Any], etype: str, reason: str, message: str, component: str) -> None:
        keda = self.keda
        meta = obj["metadata"]
        involved = (obj["kind"], meta["namespace"], meta["name"], meta["uid"], obj["apiVersion"])
        now = keda.clock.now()
        aggregate_key = (component, *involved, etype, reason)
        local_keys, last = self.aggregates.get(aggregate_key, (set(), now))
        if now - last > AGGREGATE_INTERVAL:
            local_keys = set()
        local_keys.add(message)
        self.aggregates[aggregate_key] = (local_keys, now)
        if len(local_keys) >= AGGREGATE_MAX_EVENTS:
            local_keys.discard(next(iter(local_keys)))
            key: tuple[Any, ...] = ("aggregate", *aggregate_key)
            message = COMBINED + message
        else:
            key = ("event", *aggregate_key, message)
        if not self._take_token((component, *involved), now):
            return
        rt = keda._rt("v1", "Event")
        known = self.observed.get(key)
        if known is not None:
            def bump(ev: dict[str, Any]) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = _second(now)
                ev["message"] = message
            if keda.k8s.api.system_write(rt, known[0], known[1], bump, component) is not None:
                return
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"], "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "firstTimestamp": _second(now), "lastTimestamp": _second(now),
            "source": {"component": component}, "reportingComponent": "", "reportingInstance": "",
        }
        created = self._create(rt, meta["namespace"], event, component)
        if created is not None:
            self.observed[key] = (meta["namespace"], created["metadata"]["name"])

    def _create(self, rt: Any, namespace: str, event: dict[str, Any], component: str) -> dict[str, Any] | None:
        try:
            with self.keda.k8s.api.transaction():
                created: dict[str, Any] = self.keda.k8s.api.create(rt, namespace, event, Options(manager=component))
                return created
        except k8s_errors.ApiError:
            return None
