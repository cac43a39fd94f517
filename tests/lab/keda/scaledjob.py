"""The lab KEDA's ScaledJob loop: how many Jobs each poll creates, per version.

Sources (kedacore/keda): ``pkg/scaling/scaledjob/metrics.go`` (queue length and max value per scaler,
``multipleScalersCalculation``), ``pkg/scaling/executor/scale_jobs.go`` (running and pending Jobs,
``pendingPodConditions``, the ``default``/``custom``/``accurate``/``eager`` strategies, ``createJobs``,
history limits), ``controllers/keda/scaledjob_controller.go`` (``autoscaling.keda.sh/paused``). The
strategies are the same at v2.17.2 and v2.20.2; what differs is cited where it is used.

Worked example (the issue's "23 messages, messageCount 5, max 10"): maxValue = min(23/5, 10) = 4.6,
maxScale = ceil(4.6) = 5, so the first poll creates 5 Jobs with every strategy. The strategies part on
the next poll while those 5 run (not pending) and the 23 messages are still there: ``default``
creates 5 - 5 = 0 ("No need to create jobs"), ``accurate`` 5 - 0 = 5 more (10 in all, because
5 + 5 - 0 is not above 10), ``eager`` min(10 - 5 - 0, 5) = 5 more.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..k8s import errors as k8s_errors
from ..k8s.options import Options
from . import clock
from .status import GROUP_VERSION, get_condition, set_condition, version_of

SJ_LABEL = "scaledjob.keda.sh/name"
PAUSED = "autoscaling.keda.sh/paused"
OPERATOR_MANAGER = "keda-operator"
ACTIVE = "Scaling is performed because triggers are active"
NOT_ACTIVE = "Scaling is not performed because triggers are not active"
SJ_READY_RECONCILE = "ScaledJob is defined correctly and is ready to scaling"  # (sic) scaledjob_controller.go:159
SJ_READY_POLL = "ScaledJob is defined correctly and is ready for scaling"


def replica_bounds(spec: dict[str, Any]) -> tuple[int, int]:
    """(minReplicaCount, MaxReplicaCount()): apis/keda/v1alpha1/scaledjob_types.go — max defaults to 100,
    MaxReplicaCount() is max - min unless min > max."""
    minimum = int(spec.get("minReplicaCount") or 0)
    maximum = int(spec["maxReplicaCount"]) if spec.get("maxReplicaCount") is not None else 100
    return minimum, (maximum - minimum if minimum <= maximum else maximum)


def combine(metrics: list[tuple[float, float, bool]], calculation: str, minimum: int,
            max_replicas: int) -> tuple[bool, int, int]:
    """IsScaledJobActive (metrics.go): (queueLength, maxValue, isActive) per scaler → (isActive, scaleTo, maxScale)."""
    queue, max_value, active = 0.0, 0.0, False
    live = [m for m in metrics if m[2]]
    if calculation == "min":
        for length, value, is_active in metrics:
            if (queue == 0 or length < queue) and is_active:
                queue, max_value, active = length, value, True
    elif calculation == "avg":
        if live:
            queue = sum(m[0] for m in live) / len(live)
            max_value = sum(m[1] for m in live) / len(live)
            active = True
    elif calculation == "sum":
        if live:
            queue, max_value, active = sum(m[0] for m in live), sum(m[1] for m in live), True
    else:  # max (default)
        for length, value, is_active in metrics:
            if length > queue and is_active:
                queue, max_value, active = length, value, True
    if minimum > 0:
        active = True
    max_value = min(max_value, float(max_replicas))
    return active, math.ceil(queue), math.ceil(max_value)


def effective_max_scale(strategy: dict[str, Any], max_scale: int, running: int, pending: int,
                        max_replicas: int, scale_to: int) -> tuple[int, int]:
    """ScalingStrategy.GetEffectiveMaxScale (scale_jobs.go@v2.20.2 :422-496, same @v2.17.2)."""
    name = strategy.get("strategy") or "default"
    if name == "custom":
        try:
            percentage = float(str(strategy.get("customScalingRunningJobPercentage", "")))
        except ValueError:
            # strconv.ParseFloat failed: "Selecting Scale has been changed" → default.
            return max_scale - running, scale_to
        deduction = int(strategy.get("customScalingQueueLengthDeduction") or 0)
        return min(max_scale - deduction - int(running * percentage), max_replicas), scale_to
    if name == "accurate":
        if max_scale + running - pending > max_replicas:
            return max_replicas - running, scale_to
        return max_scale - pending, scale_to
    if name == "eager":
        return min(max_replicas - running - pending, max_scale), max_replicas
    return max_scale - running, scale_to


def decision(spec: dict[str, Any], running: int, pending: int, scale_to: int, max_scale: int) -> tuple[int, int]:
    """getScalingDecision (scale_jobs.go): below minReplicaCount create the difference, else the strategy;
    a negative result reads 0."""
    minimum, max_replicas = replica_bounds(spec)
    if running < minimum:
        return minimum - running, minimum - running
    effective, scale_to = effective_max_scale(spec.get("scalingStrategy") or {}, max_scale, running - minimum, pending,
                                              max_replicas, scale_to)
    return max(effective, 0), scale_to


def _finished(job: dict[str, Any]) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _pods_of(job: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # client.MatchingLabels{"job-name": <job>} (scale_jobs.go isAnyPodRunningOrCompleted).
    return [p for p in pods if (p["metadata"].get("labels") or {}).get("job-name") == job["metadata"]["name"]]


def count_jobs(jobs: list[dict[str, Any]], pods: list[dict[str, Any]], conditions: list[str]) -> tuple[int, int]:
    """(running, pending): running = not Complete/Failed; pending = running with no pod Running/Succeeded,
    or, with ``pendingPodConditions``, with no pod whose listed conditions are all True."""
    running = [j for j in jobs if not _finished(j)]
    pending = 0
    for job in running:
        mine = _pods_of(job, pods)
        if conditions:
            wanted = set(conditions)
            done = any(wanted <= {c.get("type") for c in (p.get("status") or {}).get("conditions") or []
                                  if c.get("status") == "True"} for p in mine)
        else:
            done = any((p.get("status") or {}).get("phase") in ("Running", "Succeeded") for p in mine)
        pending += 0 if done else 1
    return len(running), pending


def pause_wanted(obj: dict[str, Any]) -> bool:
    """checkIfPaused (scaledjob_controller.go@v2.17.2 :232): strconv.ParseBool, an unparsable value pauses."""
    value = (obj["metadata"].get("annotations") or {}).get(PAUSED)
    if value is None:
        return False
    lowered = value.strip()
    if lowered in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if lowered in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return True


class ScaledJobLoop:
    """Mixed into controller.Keda (which supplies k8s access, logging, events, scalers)."""

    def scaled_job(self, operator: dict[str, Any], sj: dict[str, Any]) -> None:
        keda: Any = self
        meta, spec, namespace, name, version, fields, rt, state, status = keda.begin(operator, sj)
        triggers = spec.get("triggers") or []
        if pause_wanted(sj):
            if get_condition(status, "Paused") != "True":
                keda.log(operator, "INFO", "", "ScaledJob is paused, stopping scaling loop.",
                         {"controller": "scaledjob", "ScaledJob": {"name": name, "namespace": namespace}})
                set_condition(status, "Paused", "True", "ScaledJobPaused", "ScaledJob is paused")
                keda._write(rt, namespace, name, status)
                if state.get("watching"):
                    keda.event(operator, sj, "Normal", "KEDAScalersStopped", "Stopped scalers watch", "scale-handler")
                    state["watching"] = False
                    state["built"] = None
            return
        if get_condition(status, "Paused") == "True":
            keda.log(operator, "INFO", "", "Unpausing ScaledJob.", {"controller": "scaledjob", "ScaledJob": {"name": name, "namespace": namespace}})
            set_condition(status, "Paused", "False", "ScaledJobUnpaused", "ScaledJob is unpaused")
        try:
            scalers = keda._build(operator, sj, fields)
        except Exception as exc:  # azure.ScalerError
            if type(exc).__name__ != "ScalerError":
                raise
            keda.event(operator, sj, "Warning", "KEDAScalerFailed", str(exc), "scale-handler")
            keda.log(operator, "ERROR", "scale_handler", "error resolving auth params", dict(fields, triggerIndex=0, error=str(exc)))
            set_condition(status, "Ready", "False", "ScaledJobCheckFailed", "Failed to ensure ScaledJob is correctly created")
            set_condition(status, "Active", "Unknown", "UnknownState", "ScaledJob check failed")
            keda._write(rt, namespace, name, status)
            return
        build_key = (meta.get("generation"), repr(triggers))
        if state.get("built") != build_key:
            if not state.get("watching"):
                keda.event(operator, sj, "Normal", "KEDAScalersStarted", "Started scalers watch", "scale-handler",
                           action="ScalersWatchStarted")
                state["watching"] = True
            for scaler in scalers:
                keda.event(operator, sj, "Normal", "KEDAScalersStarted", f"Scaler {scaler['type']} is built", "scale-handler",
                           action=f"Scaler {scaler['type']} is built")
            state["built"] = build_key
        if get_condition(status, "Ready") != "True" and not state.get("reconciled_ready"):
            set_condition(status, "Ready", "True", "ScaledJobReady", SJ_READY_RECONCILE)
            keda._write(rt, namespace, name, status)
            keda.event(operator, sj, "Normal", "ScaledJobReady", "ScaledJob is ready for scaling",
                       action="ScaledJob is ready for scaling")
            state["reconciled_ready"] = True

        results = keda._poll(operator, sj, scalers, fields)
        minimum, max_replicas = replica_bounds(spec)
        strategy = spec.get("scalingStrategy") or {}
        activity: dict[str, dict[str, bool]] = {}
        metrics: list[tuple[float, float, bool]] = []
        errors = []
        for scaler, value, error in results:
            if error is not None:
                errors.append(error)
                keda.log(operator, "ERROR", "scale_handler", "Error getting scaler metrics and activity, but continue",
                         {"scaledJob.Name": name, "Scaler": f"*scalers.{scaler['go']}:", "error": error})
                keda.event(operator, sj, "Warning", "KEDAScalerFailed", error, "scale-handler")
                continue
            is_active = value > scaler["meta"]["activation"]
            activity[scaler["metric"]] = {"isActive": is_active}
            target = scaler["meta"]["target"] or 0
            # CalculateQueueLengthAndMaxValue: maxValue = min(queueLength / target, MaxReplicaCount()).
            metrics.append((value, min(value / target, max_replicas) if target else 0.0, is_active))
        is_active, scale_to, max_scale = combine(metrics, strategy.get("multipleScalersCalculation") or "max",
                                                 minimum, max_replicas)
        if clock.has_triggers_activity(version):
            status["triggersActivity"] = activity
        was_active = get_condition(status, "Active") == "True"
        if errors and clock.sj_error_is_trigger_error(version):
            if is_active:
                set_condition(status, "Ready", "Unknown", "PartialTriggerError", "Some triggers defined in ScaledJob are not working correctly")
            else:
                set_condition(status, "Ready", "False", "TriggerError", "Triggers defined in ScaledJob are not working correctly")
        elif errors:
            # scale_jobs.go@v2.17.2: any error → Unknown PartialTriggerError.
            set_condition(status, "Ready", "Unknown", "PartialTriggerError", "Some triggers defined in ScaledJob are not working correctly")
        else:
            set_condition(status, "Ready", "True", "ScaledJobReady", SJ_READY_POLL)
        set_condition(status, "Active", "True" if is_active else "False",
                      "ScalerActive" if is_active else "ScalerNotActive", ACTIVE if is_active else NOT_ACTIVE)
        if is_active:
            status["lastActiveTime"] = keda.clock.rfc3339()
        jobs = [j for j in keda._list("batch/v1", "Job", namespace) if (j["metadata"].get("labels") or {}).get(SJ_LABEL) == name]
        running, pending = count_jobs(jobs, keda._list("v1", "Pod", namespace), strategy.get("pendingPodConditions") or [])
        exec_fields = {"scaledJob.Name": name, "scaledJob.Namespace": namespace}
        keda.log(operator, "INFO", "scaleexecutor", "Scaling Jobs", dict(exec_fields, **{"Number of running Jobs": running}))
        keda.log(operator, "INFO", "scaleexecutor", "Scaling Jobs", dict(exec_fields, **{"Number of pending Jobs": pending}))
        effective, scale_to = decision(spec, running, pending, scale_to, max_scale)
        if is_active:
            self._create(operator, sj, exec_fields, scale_to, effective)
        keda._write(rt, namespace, name, status)
        if clock.has_triggers_activity(version) and is_active != was_active:
            # ScaledJobActive/ScaledJobInactive on a transition (scale_jobs.go@v2.20.2 :88,93; absent @v2.17.2).
            keda.event(operator, sj, "Normal", "ScaledJobActive" if is_active else "ScaledJobInactive",
                       ACTIVE if is_active else NOT_ACTIVE, "scale-handler")
        self._history(sj, jobs)

    def _create(self, operator: dict[str, Any], sj: dict[str, Any], exec_fields: dict[str, Any], scale_to: int,
                effective: int) -> None:
        """createJobs (scale_jobs.go@v2.20.2 :119, same @v2.17.2)."""
        keda: Any = self
        if effective <= 0:
            keda.log(operator, "INFO", "scaleexecutor", "No need to create jobs - all requested jobs already exist",
                     dict(exec_fields, jobs=effective))
            return
        keda.log(operator, "INFO", "scaleexecutor", "Creating jobs", dict(exec_fields, **{"Effective number of max jobs": effective}))
        count = min(scale_to, effective)
        keda.log(operator, "INFO", "scaleexecutor", "Creating jobs", dict(exec_fields, **{"Number of jobs": count}))
        self._create_jobs(operator, sj, count)
        keda.log(operator, "INFO", "scaleexecutor", "Created jobs", dict(exec_fields, **{"Number of jobs": count}))
        keda.event(operator, sj, "Normal", "KEDAJobsCreated", f"Created {count} jobs", "scale-handler")

    def _create_jobs(self, operator: dict[str, Any], sj: dict[str, Any], count: int) -> None:
        keda: Any = self
        meta, spec = sj["metadata"], sj.get("spec") or {}
        name = meta["name"]
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/version": ".".join(str(p) for p in version_of(operator)),
                  "app.kubernetes.io/part-of": name, "app.kubernetes.io/managed-by": "keda-operator", SJ_LABEL: name}
        excluded = set(((meta.get("annotations") or {}).get("scaledjob.keda.sh/job-excluded-labels") or "").split(","))
        labels.update({k: v for k, v in (meta.get("labels") or {}).items() if k not in excluded})
        annotations = {"scaledjob.keda.sh/generation": str(meta.get("generation", 1))}
        annotations.update({k: v for k, v in (meta.get("annotations") or {}).items()
                            if k != "kubectl.kubernetes.io/last-applied-configuration"})
        job_spec = copy.deepcopy(spec.get("jobTargetRef") or {})
        template = job_spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {})[SJ_LABEL] = name
        if not (template.setdefault("spec", {})).get("restartPolicy"):
            template["spec"]["restartPolicy"] = "OnFailure"
        owner = {"apiVersion": GROUP_VERSION, "kind": "ScaledJob", "name": name, "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}
        rt = keda._rt("batch/v1", "Job")
        for _index in range(count):
            body = {"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"generateName": f"{name}-", "namespace": meta["namespace"], "labels": labels,
                                 "annotations": annotations, "ownerReferences": [owner]},
                    "spec": copy.deepcopy(job_spec)}
            try:
                with keda.k8s.api.transaction():
                    keda.k8s.api.create(rt, meta["namespace"], body, Options(manager=OPERATOR_MANAGER))
            except k8s_errors.ApiError as exc:
                keda.event(operator, sj, "Warning", "KEDAJobCreateFailed", f"Failed to create job {name}-: {exc.message}", "scale-handler")

    def _history(self, sj: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        keda: Any = self
        spec = sj.get("spec") or {}
        limits = {"Complete": int(spec.get("successfulJobsHistoryLimit", 100)), "Failed": int(spec.get("failedJobsHistoryLimit", 100))}
        for ctype, limit in limits.items():
            finished = sorted((j for j in jobs if any(c.get("type") == ctype and c.get("status") == "True"
                                                      for c in (j.get("status") or {}).get("conditions") or [])),
                              key=lambda j: (j.get("status") or {}).get("completionTime") or j["metadata"].get("creationTimestamp", ""))
            for job in finished[: max(0, len(finished) - limit)]:
                try:
                    with keda.k8s.api.transaction():
                        keda.k8s.api.delete(keda._rt("batch/v1", "Job"), job["metadata"]["namespace"], job["metadata"]["name"],
                                            Options(manager=OPERATOR_MANAGER, propagation="Background"))
                except k8s_errors.ApiError:
                    continue
