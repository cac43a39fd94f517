"""``events.k8s.io/v1`` Events: the same stored objects as core/v1 Events, in the other shape.

kube-apiserver serves both groups from one storage (the ``events`` resource; pkg/registry/core/event and
pkg/apis/events/v1/conversion.go): a read through events.k8s.io/v1 shows ``regarding`` (core
``involvedObject``), ``note`` (``message``), ``reportingController`` (``reportingComponent``),
``deprecatedSource`` / ``deprecatedFirstTimestamp`` / ``deprecatedLastTimestamp`` / ``deprecatedCount``
(``source``, ``firstTimestamp``, ``lastTimestamp``, ``count``); ``reportingInstance``, ``action``,
``reason``, ``type``, ``eventTime``, ``series``, ``related`` keep their names. A write through
events.k8s.io/v1 is converted to the stored shape, after the group's create validation
(pkg/apis/core/validation/events.go ``ValidateEventCreate`` for events.k8s.io/v1: eventTime, reportingController,
reportingInstance and action required; action and reason at most 128 characters, note at most 1024 bytes).
So ``kubectl get events`` and ``kubectl get events.events.k8s.io`` list the same events.
"""

from __future__ import annotations

import copy
from typing import Any

from . import errors

GROUP = "events.k8s.io"
NOTE_LIMIT = 1024  # NoteLengthLimit
ACTION_LIMIT = 128
REASON_LIMIT = 128

# core/v1 field → events.k8s.io/v1 field (pkg/apis/events/v1/conversion.go).
_RENAMED = {"involvedObject": "regarding", "message": "note", "reportingComponent": "reportingController",
            "source": "deprecatedSource", "firstTimestamp": "deprecatedFirstTimestamp",
            "lastTimestamp": "deprecatedLastTimestamp", "count": "deprecatedCount"}
_BACK = {v: k for k, v in _RENAMED.items()}
_KEPT = ("reportingInstance", "action", "reason", "type", "eventTime", "series", "related")


def applies(rt: Any) -> bool:
    return bool(rt.group == GROUP and rt.plural == "events")


def to_events(core: dict[str, Any]) -> dict[str, Any]:
    # eventTime has no omitempty in k8s.io/api/events/v1 types.go: a core-written event reads "eventTime": null.
    out: dict[str, Any] = {"apiVersion": f"{GROUP}/v1", "kind": "Event", "metadata": copy.deepcopy(core.get("metadata") or {}),
                           "eventTime": core.get("eventTime")}
    for field, value in core.items():
        if field in _RENAMED and value not in (None, "", {}, 0):
            out[_RENAMED[field]] = copy.deepcopy(value)
        elif field in _KEPT and value not in (None, ""):
            out[field] = copy.deepcopy(value)
    return out


def to_core(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event", "metadata": copy.deepcopy(event.get("metadata") or {})}
    for field, value in event.items():
        if field in _BACK:
            out[_BACK[field]] = copy.deepcopy(value)
        elif field in _KEPT:
            out[field] = copy.deepcopy(value)
    return out


def create_errors(event: dict[str, Any]) -> list[errors.FieldError]:
    """ValidateEventCreate for events.k8s.io/v1."""
    found = [errors.required(field) for field in ("eventTime", "reportingController", "reportingInstance", "action")
             if not event.get(field)]
    for field, limit in (("action", ACTION_LIMIT), ("reason", REASON_LIMIT)):
        if len(str(event.get(field) or "")) > limit:
            found.append(errors.too_long(field, event.get(field), limit))
    if len(str(event.get("note") or "").encode("utf-8")) > NOTE_LIMIT:
        found.append(errors.too_long("note", event.get("note"), NOTE_LIMIT))
    return found
