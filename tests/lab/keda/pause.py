"""Pausing a ScaledObject by annotation, as each KEDA version does it.

- ``autoscaling.keda.sh/paused-replicas: "<n>"`` pauses whatever its value; ``autoscaling.keda.sh/paused``
  pauses when ``strconv.ParseBool`` reads true or cannot parse it (``getBoolAnnotation``,
  apis/keda/v1alpha1/scaledobject_types.go@v2.20.2 :245,269; same rule @v2.17.2).
- v2.20.2 (controllers/keda/scaledobject_controller.go ``handlePause`` :344): Paused True
  ``ScaledObjectPaused`` "ScaledObject is paused" written first, event ``ScaledObjectPaused``, the scale
  loop stopped (``KEDAScalersStopped`` "Stopped scalers watch", pkg/scaling/scale_handler.go :171), the HPA
  deleted, the target scaled to the paused count if one is given, ``status.pausedReplicaCount`` synced.
  Removing the annotations: Paused False ``ScaledObjectUnpaused`` "pause annotation removed for
  ScaledObject", event ``ScaledObjectUnpaused``, ``pausedReplicaCount`` cleared; the HPA comes back.
- v2.17.2 (scaledobject_controller.go :230-255, executor/scale_scaledobjects.go :57-75): no Paused/Unpaused
  events; with a paused count the scale loop first scales the target to it, and only once the target
  reads that count is the loop stopped, the HPA deleted and Paused set True.
"""

from __future__ import annotations

from typing import Any

from .status import get_condition, set_condition, version_of

PAUSED = "autoscaling.keda.sh/paused"
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
PAUSED_MESSAGE = "ScaledObject is paused"
UNPAUSED_MESSAGE = "pause annotation removed for ScaledObject"
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _bool_annotation(annotations: dict[str, str], name: str) -> bool:
    if name not in annotations:
        return False
    value = annotations[name]
    return value in _TRUE or value not in _FALSE


def wanted(obj: dict[str, Any]) -> bool:
    annotations = obj["metadata"].get("annotations") or {}
    return PAUSED_REPLICAS in annotations or _bool_annotation(annotations, PAUSED)


def count(obj: dict[str, Any]) -> int | None:
    value = (obj["metadata"].get("annotations") or {}).get(PAUSED_REPLICAS)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def handle(keda: Any, operator: dict[str, Any], so: dict[str, Any], status: dict[str, Any], state: dict[str, Any],
           target_rt: Any, target_name: str, current: int, hpa_name: str) -> bool:
    """True when the ScaledObject is (being) paused and the rest of the reconcile and scale loop is skipped."""
    namespace, name = so["metadata"]["namespace"], so["metadata"]["name"]
    v20 = version_of(operator) >= (2, 20)
    paused_now = get_condition(status, "Paused") == "True"
    if not wanted(so):
        if paused_now:
            set_condition(status, "Paused", "False", "ScaledObjectUnpaused", UNPAUSED_MESSAGE)
            status.pop("pausedReplicaCount", None)
            if v20:
                keda.event(operator, so, "Normal", "ScaledObjectUnpaused", UNPAUSED_MESSAGE, action=UNPAUSED_MESSAGE)
        return False
    replicas = count(so)
    if not v20 and replicas is not None and current != replicas:
        # v2.17.2: the scale loop scales to the paused count; the reconcile pauses once it is reached.
        keda.scale_target(target_rt, namespace, target_name, replicas)
        return True
    if not paused_now:
        if v20:
            keda.log(operator, "INFO", "", "Setting Paused condition before stopping scale loop",
                     {"controller": "scaledobject", "ScaledObject": {"name": name, "namespace": namespace}})
        set_condition(status, "Paused", "True", "ScaledObjectPaused", PAUSED_MESSAGE)
        if v20:
            keda.event(operator, so, "Normal", "ScaledObjectPaused", PAUSED_MESSAGE, action=PAUSED_MESSAGE)
    if state.get("watching"):
        keda.event(operator, so, "Normal", "KEDAScalersStopped", "Stopped scalers watch")
        state["watching"] = False
        state["built"] = None
    keda.delete_hpa(namespace, hpa_name)
    if v20 and replicas is not None and current != replicas:
        keda.log(operator, "INFO", "", "Scaling target to paused replica count",
                 {"controller": "scaledobject", "currentReplicas": current, "pausedReplicas": replicas})
        keda.scale_target(target_rt, namespace, target_name, replicas)
    if replicas is not None:
        status["pausedReplicaCount"] = replicas
    else:
        status.pop("pausedReplicaCount", None)
    return True
