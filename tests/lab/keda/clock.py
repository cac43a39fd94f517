"""The lab KEDA's clock and the version facts its rules switch on.

KEDA compares ``status.lastActiveTime`` and ``metadata.creationTimestamp`` with ``time.Now()`` for
``cooldownPeriod`` / ``initialCooldownPeriod`` (``pkg/scaling/executor/scale_scaledobjects.go``
``scaleToZeroOrIdle`` @v2.17.2 and @v2.20.2). The lab's clock is the wall clock plus an offset that
``POST /clock {"advance": <seconds>}`` on the KEDA service moves forward, so a five-minute cooldown
costs a test no wall time. The offset is reset with the lab.
"""

from __future__ import annotations

import calendar
import threading
import time


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += max(0.0, float(seconds))
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0

    def rfc3339(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now()))


def parse_rfc3339(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


# Which KEDA version has what (kedacore/keda tags; the lab runs 2.17.2 for the add-on, 2.20.2 from the chart).
def has_triggers_activity(version: tuple[int, ...]) -> bool:
    """``status.triggersActivity`` and the ScaledJobActive/ScaledJobInactive events: not in
    apis/keda/v1alpha1/scaledobject_types.go@v2.17.2, present @v2.19.0 (:196) and @v2.20.2 (:208)."""
    return version >= (2, 19)


def has_hpa_active(version: tuple[int, ...]) -> bool:
    """The ``HPAActive`` condition: apis/keda/v1alpha1/condition_types.go@v2.20.2 :41 (#7914); not before."""
    return version >= (2, 20, 2)


def sj_error_is_trigger_error(version: tuple[int, ...]) -> bool:
    """A ScaledJob poll whose triggers all fail: Ready False ``TriggerError`` in
    pkg/scaling/executor/scale_jobs.go@v2.20.2 RequestJobScale; @v2.17.2 every error reads Ready
    Unknown ``PartialTriggerError``."""
    return version >= (2, 20)
