"""ScaledObject fallback (pkg/fallback/fallback.go @v2.17.2 and @v2.20.2).

Enabled when ``spec.fallback`` is set, the trigger's metric is of type AverageValue and
``HasValidFallback`` holds (failureThreshold >= 0, replicas >= 0). Then each metric read updates
``status.health[<metric>]``: a success ``{numberOfFailures: 0, status: Happy}``, a failure increments
``numberOfFailures`` with ``status: Failing``. Once ``numberOfFailures > failureThreshold`` the metrics
server answers the HPA ``replicas × target`` (``doFallback``: ``normalisationValue*1000*replicas`` milli),
so the HPA settles on the fallback replicas. ``behavior`` (static, currentReplicas,
currentReplicasIfHigher, currentReplicasIfLower) picks the replicas. Without a valid fallback ``health``
is never written. The Fallback condition: True ``FallbackExists`` "At least one trigger is falling back
on this scaled object" while any metric is past the threshold, else False ``NoFallbackFound`` "No
fallbacks are active on this scaled object". 2.20.x also emits ``ScaledObjectFallbackActivated`` /
``ScaledObjectFallbackDeactivated`` on the transition (pkg/scaling/scale_handler.go@v2.20.2 :379,381;
absent @v2.17.2).
"""

from __future__ import annotations

from typing import Any

EXISTS = "At least one trigger is falling back on this scaled object"
NONE = "No fallbacks are active on this scaled object"


def enabled(so: dict[str, Any], trigger: dict[str, Any]) -> bool:
    fallback = (so.get("spec") or {}).get("fallback")
    if not fallback:
        return False
    if (trigger.get("metricType") or "AverageValue") != "AverageValue":
        return False
    return int(fallback.get("failureThreshold", 0)) >= 0 and int(fallback.get("replicas", 0)) >= 0


def replicas(so: dict[str, Any], current: int) -> int:
    fallback = so["spec"]["fallback"]
    wanted = int(fallback.get("replicas", 0))
    behavior = fallback.get("behavior") or "static"
    if behavior == "currentReplicas":
        return current
    if behavior == "currentReplicasIfHigher":
        return max(current, wanted)
    if behavior == "currentReplicasIfLower":
        return min(current, wanted)
    return wanted


def update(so: dict[str, Any], status: dict[str, Any], results: list[tuple[dict[str, Any], float | None, str | None]],
           current: int) -> dict[str, float]:
    """Health bookkeeping for one round of metric reads; returns {metric: value the HPA is given} for
    metrics that fall back (value = replicas × target)."""
    spec = so.get("spec") or {}
    triggers = spec.get("triggers") or []
    answers: dict[str, float] = {}
    any_enabled = False
    health = dict(status.get("health") or {})
    for scaler, _value, error in results:
        trigger = triggers[scaler["index"]] if scaler["index"] < len(triggers) else {}
        if not enabled(so, trigger):
            continue
        any_enabled = True
        metric = scaler["metric"]
        entry = dict(health.get(metric) or {"numberOfFailures": 0})
        if error is None:
            entry = {"numberOfFailures": 0, "status": "Happy"}
        else:
            entry = {"numberOfFailures": int(entry.get("numberOfFailures") or 0) + 1, "status": "Failing"}
            if entry["numberOfFailures"] > int(spec["fallback"].get("failureThreshold", 0)):
                answers[metric] = replicas(so, current) * float(scaler["meta"]["target"] or 0)
        health[metric] = entry
    if any_enabled:
        # Pruned to the current metric names (hpa.go updateHealthStatus).
        names = {s["metric"] for s, _v, _e in results}
        status["health"] = {k: v for k, v in health.items() if k in names}
    return answers
