"""Object storage with one global resourceVersion counter and a watch history, like etcd.

Every write gets the next revision (as etcd's global revision backs every resourceVersion),
and is appended to a bounded history that watches replay from. Objects are stored per
GroupResource, so all served versions of a CRD share one storage, as in the real apiserver.
"""

from __future__ import annotations

import copy
import datetime
import random
import threading
import uuid
from collections import deque
from typing import Any, Iterable

GroupResource = tuple[str, str]
Key = tuple[str, str]  # (namespace or "", name)

# How many changes a watch can resume from before it gets "410 Gone" (the watch cache size).
HISTORY_SIZE = 20000


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix() -> str:
    """k8s.io/apiserver/pkg/storage/names: 5 characters from an alphabet without vowels."""
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _index in range(5))


def object_key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


class WatchEvent:
    __slots__ = ("group_resource", "obj", "old", "rv", "type")

    def __init__(self, rv: int, group_resource: GroupResource, type_: str, obj: dict[str, Any],
                 old: dict[str, Any] | None):
        self.rv = rv
        self.group_resource = group_resource
        self.type = type_
        self.obj = obj  # never mutated after it is stored
        self.old = old


class Store:
    """All objects, guarded by one lock that every API operation holds while it runs."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._rv = 0
        self._objects: dict[GroupResource, dict[Key, dict[str, Any]]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=HISTORY_SIZE)
        self._compacted_rv = 0

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    @property
    def compacted_rv(self) -> int:
        """Watches from a resourceVersion at or below this one can no longer be served."""
        with self.lock:
            if len(self._history) == self._history.maxlen:
                return self._history[0].rv - 1
            return self._compacted_rv

    def get(self, gr: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects.get(gr, {}).get((namespace or "", name))
            return copy.deepcopy(obj) if obj is not None else None

    def exists(self, gr: GroupResource, namespace: str, name: str) -> bool:
        with self.lock:
            return (namespace or "", name) in self._objects.get(gr, {})

    def items(self, gr: GroupResource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects in etcd key order (namespace, then name), deep-copied."""
        with self.lock:
            bucket = self._objects.get(gr, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [copy.deepcopy(bucket[k]) for k in keys]

    def raw_items(self, gr: GroupResource) -> Iterable[dict[str, Any]]:
        """The stored objects themselves, for read-only scans under the lock."""
        return list(self._objects.get(gr, {}).values())

    def group_resources(self) -> list[GroupResource]:
        with self.lock:
            return [gr for gr, bucket in self._objects.items() if bucket]

    def put(self, gr: GroupResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Store obj (create or replace) at the next resourceVersion; returns a copy as stored."""
        with self.lock:
            self._rv += 1
            stored = copy.deepcopy(obj)
            stored.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
            bucket = self._objects.setdefault(gr, {})
            key = object_key(stored)
            old = bucket.get(key)
            bucket[key] = stored
            self._history.append(WatchEvent(self._rv, gr, "ADDED" if old is None else "MODIFIED", stored, old))
            self.changed.notify_all()
            return copy.deepcopy(stored)

    def remove(self, gr: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        """Delete; the DELETED event carries the last state at the deletion's resourceVersion."""
        with self.lock:
            bucket = self._objects.get(gr, {})
            old = bucket.pop((namespace or "", name), None)
            if old is None:
                return None
            self._rv += 1
            final = copy.deepcopy(old)
            final["metadata"]["resourceVersion"] = str(self._rv)
            self._history.append(WatchEvent(self._rv, gr, "DELETED", final, old))
            self.changed.notify_all()
            return copy.deepcopy(final)

    def events_after(self, rv: int, gr: GroupResource) -> list[WatchEvent]:
        with self.lock:
            return [e for e in self._history if e.rv > rv and e.group_resource == gr]
