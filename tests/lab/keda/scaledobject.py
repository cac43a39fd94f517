"""The lab KEDA's ScaledObject reconcile and scale loop, and the HPA controller's part.

Sources (kedacore/keda, both tags unless one is named): controllers/keda/scaledobject_controller.go
(conditions, ``ensureScaledObjectLabel``, pause → pause.py), controllers/keda/hpa.go (the
``keda-hpa-<name>`` HPA), pkg/scaling/executor/scale_scaledobjects.go ``RequestScale``:
activation 0 → max(minReplicaCount, 1) by KEDA (``scaleFromZeroOrIdle``, event
``KEDAScaleTargetActivated``), then the HPA scales; scale in to zero only by KEDA and only once
``lastActiveTime + cooldownPeriod`` (default 300 s) — or, never active, ``creationTimestamp +
initialCooldownPeriod`` (default 0) — lies in the past (``scaleToZeroOrIdle``), meanwhile Active False
``ScalerCooldown``; fallback → fallback.py; the 2.20.2 ``HPAActive`` condition (``getHPAHealth``).

The HPA controller (kubernetes pkg/controller/podautoscaler/horizontal.go): at 0 target replicas it
reports ScalingActive False ``ScalingDisabled`` "scaling is disabled since the replica count of the
target is zero" and does nothing; else desired = ceil(metric / averageValue) clamped to
[minReplicas, maxReplicas] (no stabilization window in the lab).
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from ..k8s import errors as k8s_errors
from ..k8s.options import Options
from . import azure, clock, fallback, pause
from .status import GROUP_VERSION, get_condition, set_condition, version_of

OPERATOR_MANAGER = "keda-operator"
HPA_MANAGER = "kube-controller-manager"
SO_LABEL = "scaledobject.keda.sh/name"
SO_READY = "ScaledObject is defined correctly and is ready for scaling"
ACTIVE = "Scaling is performed because triggers are active"
NOT_ACTIVE = "Scaling is not performed because triggers are not active"
COOLDOWN = "Scaler cooling down because triggers are not active"
SCALING_DISABLED = "scaling is disabled since the replica count of the target is zero"
DEFAULT_COOLDOWN = 300  # executor/scale_executor.go defaultCooldownPeriod
DEFAULT_INITIAL_COOLDOWN = 0  # defaultInitialCooldownPeriod


def cooldown_over(spec: dict[str, Any], created: float, last_active: float | None, now: float) -> bool:
    """scaleToZeroOrIdle's test: never active → creationTimestamp + initialCooldownPeriod (default 0) passed;
    else lastActiveTime + cooldownPeriod (default 300) passed."""
    initial = spec.get("initialCooldownPeriod")
    cooldown = spec.get("cooldownPeriod")
    if last_active is None:
        return created + (DEFAULT_INITIAL_COOLDOWN if initial is None else int(initial)) < now
    return last_active + (DEFAULT_COOLDOWN if cooldown is None else int(cooldown)) < now


class ScaledObjectLoop:
    """Mixed into controller.Keda."""

    def scaled_object(self, operator: dict[str, Any], so: dict[str, Any]) -> None:
        keda: Any = self
        meta, spec, namespace, name, version, fields, rt, state, status = keda.begin(operator, so, {SO_LABEL: so["metadata"]["name"]})
        controller_fields = {"controller": "scaledobject", "controllerGroup": "keda.sh", "controllerKind": "ScaledObject",
                             "ScaledObject": {"name": name, "namespace": namespace}, "namespace": namespace, "name": name}
        ref = spec.get("scaleTargetRef") or {}
        target_kind = ref.get("kind") or "Deployment"
        target_api = ref.get("apiVersion") or "apps/v1"
        target_rt = keda._rt(target_api, target_kind)
        target = keda._find(target_api, target_kind, namespace, ref.get("name", "")) if target_rt else None
        group = target_api.split("/")[0] if "/" in target_api else ""
        api_version = target_api.split("/")[-1]
        triggers = spec.get("triggers") or []
        if not state.get("reconciled"):
            keda.log(operator, "INFO", "", "Reconciling ScaledObject", controller_fields)
        hpa_name = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("name") or f"keda-hpa-{name}"
        if target is None:
            plural = target_rt.plural if target_rt else target_kind.lower() + "s"
            message = (f"ScaledObject doesn't have correct scaleTargetRef specification: "
                       f"{plural}{'.' + group if group else ''} \"{ref.get('name', '')}\" not found")
            set_condition(status, "Ready", "False", "ScaledObjectCheckFailed", message)
            set_condition(status, "Active", "Unknown", "UnknownState", "ScaledObject check failed")
            keda._write(rt, namespace, name, status)
            if not state.get("target_missing"):
                keda.event(operator, so, "Warning", "ScaledObjectCheckFailed", "Target resource doesn't exist",
                           action="Target resource doesn't exist")
                keda.log(operator, "ERROR", "", "Target resource doesn't exist", dict(controller_fields, resource=f"{target_api}.{target_kind}"))
                state["target_missing"] = True
            return
        state["target_missing"] = False
        status["scaleTargetKind"] = f"{target_api}.{target_kind}" if group else f"{api_version}.{target_kind}"
        status["scaleTargetGVKR"] = {"group": group, "version": api_version, "kind": target_kind, "resource": target_rt.plural}
        status.setdefault("originalReplicaCount", int((target.get("spec") or {}).get("replicas", 1)))
        current = int((target.get("spec") or {}).get("replicas", 0) or 0)
        if pause.handle(keda, operator, so, status, state, target_rt, ref["name"], current, hpa_name):
            keda._write(rt, namespace, name, status)
            return
        if not state.get("reconciled"):
            keda.log(operator, "INFO", "", "Detected resource targeted for scaling",
                     dict(controller_fields, resource=status["scaleTargetKind"], name=ref.get("name")))
        build_key = (meta.get("generation"), repr(triggers))
        try:
            scalers = keda._build(operator, so, fields)
        except azure.ScalerError as exc:
            keda.log(operator, "ERROR", "scale_handler", "error resolving auth params", dict(fields, triggerIndex=0, error=str(exc)))
            keda.log(operator, "ERROR", "", "failed to ensure HPA is correctly created for ScaledObject", dict(controller_fields, error=str(exc)))
            keda.event(operator, so, "Warning", "KEDAScalerFailed", str(exc), action=str(exc))
            set_condition(status, "Ready", "False", "ScaledObjectCheckFailed", f"failed to ensure HPA is correctly created for ScaledObject: {exc}")
            set_condition(status, "Active", "Unknown", "UnknownState", "ScaledObject check failed")
            keda._write(rt, namespace, name, status)
            state["built"] = None
            return
        status["externalMetricNames"] = [s["metric"] for s in scalers]
        if state.get("built") != build_key:
            for scaler in scalers:
                keda.event(operator, so, "Normal", "KEDAScalersStarted", f"Scaler {scaler['type']} is built",
                           action=f"Scaler {scaler['type']} is built")
            if not state.get("watching"):
                keda.event(operator, so, "Normal", "KEDAScalersStarted", "Started scalers watch", action="ScalersWatchStarted")
                keda.log(operator, "INFO", "", "Initializing Scaling logic according to ScaledObject Specification", controller_fields)
                state["watching"] = True
            state["built"] = build_key
        self._ensure_hpa(operator, so, hpa_name, target_api, target_kind, scalers, controller_fields)
        status["hpaName"] = hpa_name
        was_ready = get_condition(status, "Ready") == "True"
        set_condition(status, "Ready", "True", "ScaledObjectReady", SO_READY)
        if not was_ready:
            keda.event(operator, so, "Normal", "ScaledObjectReady", "ScaledObject is ready for scaling",
                       action="ScaledObject is ready for scaling")
        state["reconciled"] = True

        # The scale loop (RequestScale) and the HPA's sync.
        results = keda._poll(operator, so, scalers, fields)
        activity: dict[str, dict[str, bool]] = {}
        errors = [r for r in results if r[2] is not None]
        for scaler, value, error in results:
            if error is not None:
                go = scaler["go"]
                keda.log(operator, "ERROR", "scale_handler", "error getting metric for trigger",
                         {"scaledObject.Namespace": namespace, "scaledObject.Name": name, "trigger": go, "error": error})
                keda.log(operator, "ERROR", "scale_handler", "error getting scale decision",
                         {"scaledObject.Namespace": namespace, "scaledObject.Name": name, "scaler": go, "error": error})
                keda.event(operator, so, "Warning", "KEDAScalerFailed", error)
                activity[scaler["metric"]] = {"isActive": False}
            else:
                activity[scaler["metric"]] = {"isActive": value > scaler["meta"]["activation"]}
        if clock.has_triggers_activity(version):
            status["triggersActivity"] = activity
        fallback_answers = fallback.update(so, status, results, current)
        self._fallback_condition(operator, so, status, bool(fallback_answers), version)
        active = any(a["isActive"] for a in activity.values())
        current = self._request_scale(operator, so, status, target_rt, ref["name"], current, active, bool(errors), results)
        if clock.has_hpa_active(version):
            # checkHPAHealth reads the HPA as its controller last left it.
            self._hpa_active(so, hpa_name, status)
        keda._write(rt, namespace, name, status)
        # The HPA controller's own sync, after KEDA's scale loop wrote its status.
        self._hpa_sync(operator, so, hpa_name, target_rt, ref["name"], results, current, fallback_answers)

    def _fallback_condition(self, operator: dict[str, Any], so: dict[str, Any], status: dict[str, Any], exists: bool,
                            version: tuple[int, ...]) -> None:
        keda: Any = self
        before = get_condition(status, "Fallback")
        if exists:
            set_condition(status, "Fallback", "True", "FallbackExists", fallback.EXISTS)
        else:
            set_condition(status, "Fallback", "False", "NoFallbackFound", fallback.NONE)
        if version >= (2, 20) and (before == "True") != exists and (exists or before == "True"):
            reason, note = (("ScaledObjectFallbackActivated", "ScaledObject fallback is active") if exists
                            else ("ScaledObjectFallbackDeactivated", "ScaledObject fallback is no longer active"))
            keda.event(operator, so, "Normal", reason, note)

    def _request_scale(self, operator: dict[str, Any], so: dict[str, Any], status: dict[str, Any], target_rt: Any, target: str,
                       current: int, active: bool, is_error: bool, results: list[tuple[dict[str, Any], float | None, str | None]]) -> int:
        """RequestScale (executor/scale_scaledobjects.go); returns the target's replicas afterwards."""
        keda: Any = self
        spec = so.get("spec") or {}
        namespace, name = so["metadata"]["namespace"], so["metadata"]["name"]
        minimum = int(spec.get("minReplicaCount") or 0)
        idle = spec.get("idleReplicaCount")
        kind = status.get("scaleTargetKind")
        if active:
            set_condition(status, "Active", "True", "ScalerActive", ACTIVE)
            if (idle is not None and current < minimum) or current == 0:
                replicas = minimum if minimum > 0 else 1
                keda.scale_target(target_rt, namespace, target, replicas)
                keda.log(operator, "INFO", "scaleexecutor", "Successfully updated ScaleTarget",
                         {"scaledobject.Name": name, "scaledObject.Namespace": namespace, "scaleTarget.Name": target,
                          "Original Replicas Count": current, "New Replicas Count": replicas})
                triggered = ";".join(s["metric"] for s, v, e in results if e is None and v is not None and v > s["meta"]["activation"])
                keda.event(operator, so, "Normal", "KEDAScaleTargetActivated",
                           f"Scaled {kind} {namespace}/{target} from {current} to {replicas}, triggered by {triggered}")
                status["lastActiveTime"] = keda.clock.rfc3339()
                return replicas
            if is_error:
                set_condition(status, "Ready", "Unknown", "PartialTriggerError", "Some triggers defined in ScaledObject are not working correctly")
            else:
                status["lastActiveTime"] = keda.clock.rfc3339()
            return current
        set_condition(status, "Active", "False", "ScalerNotActive", NOT_ACTIVE)
        has_fallback = spec.get("fallback") is not None
        if is_error and has_fallback and int(spec["fallback"].get("replicas") or 0) != 0:
            return current
        if is_error and not has_fallback:
            set_condition(status, "Ready", "False", "TriggerError", "Triggers defined in ScaledObject are not working correctly")
            return current
        if (idle is not None and current > int(idle)) or (current > 0 and minimum == 0):
            return self._scale_to_zero_or_idle(operator, so, status, target_rt, target, current)
        if idle is None and current < minimum:
            keda.scale_target(target_rt, namespace, target, minimum)
            keda.log(operator, "INFO", "scaleexecutor", "Successfully set ScaleTarget replicas count to ScaledObject minReplicaCount",
                     {"scaledobject.Name": name, "scaledObject.Namespace": namespace, "scaleTarget.Name": target,
                      "Original Replicas Count": current, "New Replicas Count": minimum})
            return minimum
        return current

    def _scale_to_zero_or_idle(self, operator: dict[str, Any], so: dict[str, Any], status: dict[str, Any], target_rt: Any,
                               target: str, current: int) -> int:
        keda: Any = self
        spec, meta = so.get("spec") or {}, so["metadata"]
        now = keda.clock.now()
        if cooldown_over(spec, clock.parse_rfc3339(meta.get("creationTimestamp")) or now,
                         clock.parse_rfc3339(status.get("lastActiveTime")), now):
            idle = spec.get("idleReplicaCount")
            replicas = int(idle) if idle is not None else int(spec.get("minReplicaCount") or 0)
            keda.scale_target(target_rt, meta["namespace"], target, replicas)
            keda.log(operator, "INFO", "scaleexecutor",
                     "Successfully set ScaleTarget replicas count to ScaledObject " + ("idleReplicaCount" if idle is not None else "minReplicaCount"),
                     {"scaledobject.Name": meta["name"], "scaledObject.Namespace": meta["namespace"], "scaleTarget.Name": target,
                      "Original Replicas Count": current, "New Replicas Count": replicas})
            keda.event(operator, so, "Normal", "KEDAScaleTargetDeactivated",
                       f"Deactivated {status.get('scaleTargetKind')} {meta['namespace']}/{target} from {current} to {replicas}")
            return replicas
        set_condition(status, "Active", "False", "ScalerCooldown", COOLDOWN)
        return current

    def _hpa_active(self, so: dict[str, Any], hpa_name: str, status: dict[str, Any]) -> None:
        """getHPAHealth (scale_scaledobjects.go@v2.20.2): mirror the HPA's ScalingActive; untouched when unseen."""
        keda: Any = self
        hpa = keda._find("autoscaling/v2", "HorizontalPodAutoscaler", so["metadata"]["namespace"], hpa_name)
        cond = next((c for c in ((hpa or {}).get("status") or {}).get("conditions") or [] if c.get("type") == "ScalingActive"), None)
        if cond is None:
            return
        if cond.get("status") == "True":
            set_condition(status, "HPAActive", "True", "HPAActive", "HPA is actively scaling")
        elif cond.get("reason") == "ScalingDisabled":
            set_condition(status, "HPAActive", "True", "ScalingDisabled", cond.get("message", ""))
        else:
            set_condition(status, "HPAActive", "False", cond.get("reason") or "HPAMetricsUnavailable",
                          f"HPA is not actively scaling: {cond.get('message', '')}")

    def _ensure_hpa(self, operator: dict[str, Any], so: dict[str, Any], hpa_name: str, target_api: str, target_kind: str,
                    scalers: list[dict[str, Any]], controller_fields: dict[str, Any]) -> None:
        keda: Any = self
        meta, spec = so["metadata"], so.get("spec") or {}
        minimum = int(spec.get("minReplicaCount") or 0)
        labels = {"app.kubernetes.io/name": hpa_name[:63], "app.kubernetes.io/version": ".".join(str(p) for p in version_of(operator)),
                  "app.kubernetes.io/part-of": meta["name"], "app.kubernetes.io/managed-by": "keda-operator"}
        labels.update(meta.get("labels") or {})
        labels[SO_LABEL] = meta["name"]
        metrics = []
        for scaler in sorted(scalers, key=lambda s: s["type"]):
            metrics.append({"type": "External", "external": {
                "metric": {"name": scaler["metric"], "selector": {"matchLabels": {SO_LABEL: meta["name"]}}},
                "target": {"type": "AverageValue", "averageValue": azure.milli(scaler["meta"]["target"])}}})
        hpa_spec = {"scaleTargetRef": {"apiVersion": target_api, "kind": target_kind, "name": spec["scaleTargetRef"]["name"]},
                    "minReplicas": minimum if minimum > 0 else 1, "maxReplicas": int(spec.get("maxReplicaCount") or 100),
                    "metrics": metrics}
        behavior = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior")
        if behavior:
            hpa_spec["behavior"] = behavior
        rt = keda._rt("autoscaling/v2", "HorizontalPodAutoscaler")
        existing = keda._find("autoscaling/v2", "HorizontalPodAutoscaler", meta["namespace"], hpa_name)
        owner = {"apiVersion": GROUP_VERSION, "kind": "ScaledObject", "name": meta["name"], "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}
        body: dict[str, Any] = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                "metadata": {"name": hpa_name, "namespace": meta["namespace"], "labels": labels,
                                             "ownerReferences": [owner]}, "spec": hpa_spec}
        if meta.get("annotations"):
            body["metadata"]["annotations"] = dict(meta["annotations"])
        with keda.k8s.api.transaction():
            if existing is None:
                keda.log(operator, "INFO", "", "Creating a new HPA", dict(controller_fields, **{"HPA.Namespace": meta["namespace"], "HPA.Name": hpa_name}))
                keda.k8s.api.create(rt, meta["namespace"], body, Options(manager=OPERATOR_MANAGER))
            elif existing.get("spec") != hpa_spec:
                updated = copy.deepcopy(existing)
                updated["spec"] = hpa_spec
                keda.k8s.api.update(rt, meta["namespace"], hpa_name, updated, Options(manager=OPERATOR_MANAGER))

    def _hpa_sync(self, operator: dict[str, Any], so: dict[str, Any], hpa_name: str, target_rt: Any, target: str,
                  results: list[tuple[dict[str, Any], float | None, str | None]], current: int, fallback_answers: dict[str, float]) -> None:
        keda: Any = self
        namespace, name = so["metadata"]["namespace"], so["metadata"]["name"]
        hpa = keda._find("autoscaling/v2", "HorizontalPodAutoscaler", namespace, hpa_name)
        if hpa is None:
            return
        minimum, maximum = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
        selector = f"&LabelSelector{{MatchLabels:map[string]string{{{SO_LABEL}: {name},}},MatchExpressions:[]LabelSelectorRequirement{{}},}}"
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conditions = [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                       "message": "recommended size matches current size", "lastTransitionTime": now}]
        desired = current
        current_metrics = []
        answers = [(s, fallback_answers.get(s["metric"], v) if e is not None else v, None if s["metric"] in fallback_answers else e)
                   for s, v, e in results]
        failed = next((s for s, _v, e in answers if e is not None), None)
        if current == 0:
            conditions.append({"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled",
                               "message": SCALING_DISABLED, "lastTransitionTime": now})
        elif failed is not None:
            conditions.append({"type": "ScalingActive", "status": "False", "reason": "FailedGetExternalMetric",
                               "message": f"the HPA was unable to compute the replica count: unable to get external metric "
                                          f"{namespace}/{failed['metric']}/{selector}: unable to fetch metrics from external metrics API: "
                                          f"rpc error: code = Unknown desc = error when getting metric values metric:{failed['metric']} "
                                          "encountered error", "lastTransitionTime": now})
        else:
            wanted = []
            for scaler, value, _error in answers:
                target_value = scaler["meta"]["target"] or 1
                wanted.append(math.ceil(value / target_value) if value else 0)
                current_metrics.append({"type": "External", "external": {
                    "metric": {"name": scaler["metric"], "selector": {"matchLabels": {SO_LABEL: name}}},
                    "current": {"averageValue": azure.milli((value or 0) / max(current, 1))}}})
            desired = max([minimum] + wanted)
            limited = desired > maximum
            desired = min(desired, maximum)
            conditions.append({"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                               "message": "the HPA was able to successfully calculate a replica count from external metric "
                                          f"{answers[0][0]['metric']}({selector})" if answers else "",
                               "lastTransitionTime": now})
            conditions.append({"type": "ScalingLimited", "status": "True" if limited else "False",
                               "reason": "TooManyReplicas" if limited else "DesiredWithinRange",
                               "message": "the desired replica count is more than the maximum replica count" if limited
                               else "the desired count is within the acceptable range", "lastTransitionTime": now})
        if desired != current:
            keda.scale_target(target_rt, namespace, target, desired, HPA_MANAGER)
            metric = answers[0][0]["metric"] if answers else ""
            direction = "above" if desired > current else "below"
            self._hpa_event(hpa, f"New size: {desired}; reason: external metric {metric}({selector}) {direction} target")

        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = {"currentReplicas": current, "desiredReplicas": desired, "conditions": conditions}
            if current_metrics:
                obj["status"]["currentMetrics"] = current_metrics
            if desired != current:
                obj["status"]["lastScaleTime"] = now
        keda.k8s.api.system_write(keda._rt("autoscaling/v2", "HorizontalPodAutoscaler"), namespace, hpa_name, mutate, HPA_MANAGER)

    def _hpa_event(self, hpa: dict[str, Any], message: str) -> None:
        # kube-controller-manager's core/v1 event for a rescale (pkg/controller/podautoscaler/horizontal.go).
        keda: Any = self
        meta = hpa["metadata"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
                 "involvedObject": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": meta["name"],
                                    "namespace": meta["namespace"], "uid": meta["uid"]},
                 "reason": "SuccessfulRescale", "message": message, "type": "Normal", "count": 1,
                 "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "horizontal-pod-autoscaler"}}
        with keda.k8s.api.transaction():
            keda.k8s.api.create(keda._rt("v1", "Event"), meta["namespace"], event, Options(manager=HPA_MANAGER))

    def scale_target(self, target_rt: Any, namespace: str, name: str, replicas: int, manager: str = OPERATOR_MANAGER) -> None:
        keda: Any = self
        with keda.k8s.api.transaction():
            keda.k8s.api.update_scale(target_rt, namespace, name, replicas, Options(manager=manager))

    def delete_hpa(self, namespace: str, name: str) -> None:
        keda: Any = self
        if keda._find("autoscaling/v2", "HorizontalPodAutoscaler", namespace, name) is None:
            return
        try:
            with keda.k8s.api.transaction():
                keda.k8s.api.delete(keda._rt("autoscaling/v2", "HorizontalPodAutoscaler"), namespace, name,
                                    Options(manager=OPERATOR_MANAGER))
        except k8s_errors.ApiError:
            return
