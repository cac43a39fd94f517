"""The ARM emulator's state: every resource it knows, keyed by its id compared case-insensitively.

ARM resource ids are case-insensitive (``resourceGroups`` vs ``resourcegroups``, names as typed);
the stored ``id`` keeps the form the resource provider returns, the key is the lower-cased id.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator


def key_of(resource_id: str) -> str:
    return "/" + "/".join(part for part in resource_id.lower().split("/") if part)


@dataclass
class Record:
    """One resource. ``body`` is the JSON the provider answers GET with."""

    id: str
    kind: str  # lower-cased full type, e.g. microsoft.managedidentity/userassignedidentities
    body: dict[str, Any]
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return key_of(self.id)

    def view(self) -> dict[str, Any]:
        return copy.deepcopy(self.body)


class ArmStore:
    """Thread-safe map of resources; handlers hold ``lock`` across read-modify-write sequences."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, Record] = {}

    def get(self, resource_id: str) -> Record | None:
        with self.lock:
            return self._records.get(key_of(resource_id))

    def exists(self, resource_id: str) -> bool:
        return self.get(resource_id) is not None

    def put(self, record: Record) -> Record:
        with self.lock:
            self._records[record.key] = record
            return record

    def delete(self, resource_id: str) -> Record | None:
        with self.lock:
            return self._records.pop(key_of(resource_id), None)

    def delete_tree(self, resource_id: str) -> list[Record]:
        """Delete a resource and every resource nested under its id (child resources)."""
        prefix = key_of(resource_id)
        with self.lock:
            doomed = [k for k in self._records if k == prefix or k.startswith(prefix + "/")]
            return [self._records.pop(k) for k in doomed]

    def find(self, kind: str | None = None, under: str | None = None) -> list[Record]:
        """Records of ``kind`` (lower-cased type) whose id lies under ``under`` (an id prefix), oldest first."""
        prefix = key_of(under) + "/" if under else None
        with self.lock:
            found = [r for r in self._records.values()
                     if (kind is None or r.kind == kind) and (prefix is None or r.key.startswith(prefix))]
        return sorted(found, key=lambda r: r.created)

    def __iter__(self) -> Iterator[Record]:
        with self.lock:
            return iter(list(self._records.values()))

    def clear(self) -> None:
        with self.lock:
            self._records.clear()
