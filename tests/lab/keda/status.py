"""KEDA's status conditions and the version an operator pod runs.

``Condition{type,status,reason,message}`` has no lastTransitionTime (apis/keda/v1alpha1/condition_types.go);
the initial set is Ready/Active/Fallback Unknown, Paused False (``GetInitializedConditions``).
"""

from __future__ import annotations

from typing import Any

GROUP_VERSION = "keda.sh/v1alpha1"


def version_of(pod: dict[str, Any]) -> tuple[int, ...]:
    labels = pod["metadata"].get("labels") or {}
    text = labels.get("app.kubernetes.io/version") or ""
    if not text:
        image = next((c.get("image", "") for c in pod["spec"].get("containers") or []), "")
        text = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    digits = [int(p) for p in text.lstrip("v").split(".") if p.isdigit()]
    return tuple(digits) or (2, 20, 2)


def init_conditions(status: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = status.setdefault("conditions", [])
    if not found:
        # GetInitializedConditions: no lastTransitionTime in KEDA's Condition type.
        found.extend([{"type": "Ready", "status": "Unknown"}, {"type": "Active", "status": "Unknown"},
                      {"type": "Fallback", "status": "Unknown"}, {"type": "Paused", "status": "False"}])
    return found


def set_condition(status: dict[str, Any], ctype: str, value: str, reason: str, message: str) -> None:
    for cond in init_conditions(status):
        if cond["type"] == ctype:
            cond.update({"status": value, "reason": reason, "message": message})
            return
    status["conditions"].append({"type": ctype, "status": value, "reason": reason, "message": message})


def get_condition(status: dict[str, Any], ctype: str) -> str:
    return next((c.get("status", "") for c in status.get("conditions") or [] if c["type"] == ctype), "")
