"""What the emulated cluster's controllers share: their state and timers, object helpers, conditions.

The conditions follow k8s.io/apimachinery's meta.SetStatusCondition habit (timestamps move only
when the status changes); the template hash is controller.ComputeHash (fnv32a, SafeEncodeString).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from . import errors
from .options import Options
from .resources import ResourceType
from .scheduler import Scheduler
from .store import now_rfc3339

if TYPE_CHECKING:
    from .api import Api

NODE_NAME = "lab-node"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
MANAGER = "kube-controller-manager"
KUBELET = "kubelet"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict[str, Any]) -> str:
    """controller.ComputeHash: fnv32a of the template, rendered with rand.SafeEncodeString."""
    digest = _fnv32a(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in str(digest))


def without_hash(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return template


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def set_condition(status: dict[str, Any], ctype: str, value: str, reason: str, message: str,
                  update_time: bool = False) -> None:
    """Set a condition, keeping its timestamps when nothing about it changed."""
    conditions = status.setdefault("conditions", [])
    now = now_rfc3339()
    current = condition(status, ctype)
    if current is None:
        entry: dict[str, Any] = {"type": ctype, "status": value}
        if update_time:
            entry["lastUpdateTime"] = now
        entry.update({"lastTransitionTime": now, "reason": reason, "message": message})
        conditions.append(entry)
        return
    if current.get("status") != value:
        current["status"] = value
        current["lastTransitionTime"] = now
        if update_time:
            current["lastUpdateTime"] = now
    if (current.get("reason"), current.get("message")) != (reason, message):
        current["reason"], current["message"] = reason, message
        if update_time:
            current["lastUpdateTime"] = now


def drop_condition(status: dict[str, Any], ctype: str) -> None:
    if "conditions" in status:
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != ctype]
        if not status["conditions"]:
            del status["conditions"]


def pod_ready(pod: dict[str, Any]) -> bool:
    ready = condition(pod.get("status") or {}, "Ready")
    return ready is not None and ready.get("status") == "True"


def percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        amount = total * int(value[:-1]) / 100
        return int(-(-amount // 1)) if round_up else int(amount // 1)
    return int(value or 0)


class ControllerBase:
    """State, timers and the write helpers every controller of the lab shares."""

    def __init__(self, api: Api, types: Callable[[str, str], ResourceType], setting: Callable[[str], Any]):
        self.api = api
        self._type = types
        self._setting = setting
        self.scheduler = Scheduler(api, types)  # placement and pod lifecycle events (scheduler.py)
        self._queue: dict[tuple[str, str, str], None] = {}
        self._timers: list[tuple[float, int, tuple[str, str, str]]] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        # Pods whose containers do their own work (the lab's sample app) stay Running until it is done.
        self.hold_pod: Callable[[dict[str, Any]], bool] = lambda pod: False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_timers, name="lab-k8s-kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def clear(self) -> None:
        self._queue.clear()
        with self._wake:
            self._timers.clear()

    def _run_timers(self) -> None:
        while not self._stopped.is_set():
            with self._wake:
                if not self._timers:
                    self._wake.wait(1.0)
                    continue
                due, _sequence, key = self._timers[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(min(delay, 1.0))
                    continue
                heapq.heappop(self._timers)
            with self.api.transaction():
                self._queue[key] = None

    def _after(self, seconds: float, key: tuple[str, str, str]) -> None:
        with self._wake:
            heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._sequence), key))
            self._wake.notify_all()

    # -- helpers -----------------------------------------------------------------------------

    def _get(self, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        rt = self._type(group, kind)
        obj = self.api.store.get(rt.group_resource, namespace, name)
        return self.api.present(rt, obj) if obj is not None else None

    def _owned(self, group: str, kind: str, namespace: str, uid: str) -> list[dict[str, Any]]:
        rt = self._type(group, kind)
        return [self.api.present(rt, o) for o in self.api.store.items(rt.group_resource, namespace)
                if (controller_of(o) or {}).get("uid") == uid]

    def _write_status(self, group: str, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = status
        self.api.system_write(self._type(group, kind), namespace, name, mutate, MANAGER)

    def _create_pod(self, namespace: str, owner: dict[str, Any], template: dict[str, Any], name: str | None = None,
                    extra_labels: dict[str, str] | None = None, spec_extra: dict[str, Any] | None = None) -> None:
        meta = template.get("metadata") or {}
        pod_meta: dict[str, Any] = {"namespace": namespace, "ownerReferences": [owner_ref(owner)]}
        if name:
            pod_meta["name"] = name
        else:
            pod_meta["generateName"] = owner["metadata"]["name"] + "-"
        labels = dict(meta.get("labels") or {})
        labels.update(extra_labels or {})
        if labels:
            pod_meta["labels"] = labels
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        spec = copy.deepcopy(template.get("spec") or {})
        spec.update(spec_extra or {})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
        self.api.create(self._type("", "Pod"), namespace, pod, Options(manager=MANAGER))

    def _delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        try:
            self.api.delete(self._type(group, kind), namespace, name, Options(manager=MANAGER, propagation="Background"))
        except errors.ApiError:
            pass
