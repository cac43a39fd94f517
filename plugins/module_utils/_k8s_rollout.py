# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``kubectl rollout restart``, made idempotent for the workload identity case.

The webhook injects AZURE_* variables only into pods created after their service account was
annotated, so the fix for an operator started too early is a restart. With ``unless_env_present``
the restart happens only while some live pod of the workload still lacks one of the variables;
once every pod has them, a run is two reads (the workload, its pods) and no write.

The webhook also copies values only at pod creation: a service account annotated with a new client id
(the identity was deleted and made again, so Entra gave it a new one) leaves the running pods with the
old ``AZURE_CLIENT_ID``, and every token exchange fails with AADSTS700016. With
``unless_env_matches_service_account`` (variable -> annotation of the pod template's service account)
the restart also happens while a live pod's value differs from what the account's annotation says now;
once they agree, a run is three reads and no write.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource, side_by_side
from ansible_collections.kedaops.aks.plugins.module_utils._diff import KNOWN_AFTER_APPLY
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure, OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    POD,
    SERVICE_ACCOUNT,
    WORKLOADS,
    Api,
    K8sError,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Resource as Kind

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # the annotation kubectl's restart sets
LIVE_PHASES = ("Pending", "Running")


@dataclass
class RolloutPlan:
    resource: Kind
    name: str
    namespace: str
    required_env: list[str]
    wait: bool
    timeout: int
    env_from_annotations: dict[str, str] = field(default_factory=dict)  # variable -> service account annotation

    @property
    def ref(self) -> str:
        return self.resource.ref(self.name, self.namespace)


def _env_name(option: str, variable: Any) -> str:
    if not isinstance(variable, str) or not variable or "=" in variable or variable != variable.strip():
        raise OptionError(f"{option}: '{variable}' is not an environment variable name")
    return variable


def build(params: dict[str, Any]) -> RolloutPlan:
    namespace = validate.dns_label("namespace", params["namespace"])
    name = validate.dns_subdomain("name", params["name"])
    required = [_env_name(f"unless_env_present[{index}]", variable)
                for index, variable in enumerate(params.get("unless_env_present") or [])]
    from_annotations: dict[str, str] = {}
    for variable, annotation in (params.get("unless_env_matches_service_account") or {}).items():
        option = f"unless_env_matches_service_account.{variable}"
        _env_name("unless_env_matches_service_account", variable)
        if not isinstance(annotation, str):
            raise OptionError(f"{option}: the value must be an annotation key (a string), got {annotation!r}")
        from_annotations[variable] = validate.qualified_key(option, annotation)
    timeout = validate.int_range("timeout", params["timeout"], 1)
    return RolloutPlan(WORKLOADS[params["kind"]], name, namespace, required, bool(params["wait"]), timeout,
                       from_annotations)


def label_selector(workload: dict) -> str:
    """spec.selector (matchLabels + matchExpressions) in the API's labelSelector syntax."""
    selector = (workload.get("spec") or {}).get("selector") or {}
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def env_names(pod: dict) -> list[str]:
    names: set[str] = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        names.update(item["name"] for item in container.get("env") or [] if item.get("name"))
    return sorted(names)


def env_values(pod: dict, variable: str) -> set[str]:
    """The values ``variable`` has in the pod's containers (empty when no container declares it)."""
    return {item.get("value") or "" for container in (pod.get("spec") or {}).get("containers") or []
            for item in container.get("env") or [] if item.get("name") == variable}


def stale_env(pod: dict, expected: dict[str, str | None]) -> list[str]:
    """The variables whose value is not the one the service account names now: a pod whose containers
    carry another value (or several), one that carries a value the account no longer names, or one that
    lacks a value the account names."""
    stale = []
    for variable, wanted in expected.items():
        values = env_values(pod, variable)
        if values != ({wanted} if wanted else set()):
            stale.append(variable)
    return stale


def pod_summary(pod: dict, required: list[str], expected: dict[str, str | None] | None = None) -> dict[str, Any]:
    metadata, status = pod.get("metadata") or {}, pod.get("status") or {}
    present = env_names(pod)
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    summary = {"name": metadata.get("name"), "phase": status.get("phase"), "ready": ready, "env": present,
               "missing_env": [v for v in required if v not in present], "created": metadata.get("creationTimestamp")}
    if expected is not None:
        summary["stale_env"] = stale_env(pod, expected)
    return summary


def service_account_name(workload: dict) -> str:
    """The pod template's service account, as the ServiceAccount admission plugin defaults it."""
    spec = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {})
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def expected_env(api: Api, plan: RolloutPlan, workload: dict) -> dict[str, str | None] | None:
    """variable -> the value the pod template's service account names now (None: it names none)."""
    if not plan.env_from_annotations:
        return None
    account = api.get(SERVICE_ACCOUNT, service_account_name(workload), plan.namespace) or {}
    annotations = (account.get("metadata") or {}).get("annotations") or {}
    return {variable: annotations.get(key) or None for variable, key in plan.env_from_annotations.items()}


def workload_pods(api: Api, plan: RolloutPlan, workload: dict) -> list[dict]:
    selector = label_selector(workload)
    if not selector:
        return []  # a selector-less workload selects nothing; never list the whole namespace
    return api.list(POD, plan.namespace, selector)


def live_pods(pods: list[dict], plan: RolloutPlan, expected: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    """The summaries of the pods not being deleted and not finished, oldest first."""
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") in LIVE_PHASES]
    summaries = [pod_summary(p, plan.required_env, expected) for p in live]
    return sorted(summaries, key=lambda s: (s["created"] or "", s["name"] or ""))


def needs_restart(pods: list[dict[str, Any]]) -> bool:
    return any(p["missing_env"] or p.get("stale_env") for p in pods)


def rollout_done(kind: str, workload: dict) -> tuple[bool, str]:
    """kubectl rollout status's rules, per kind: (finished, what it is waiting for)."""
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    generation = (workload.get("metadata") or {}).get("generation") or 0
    if status.get("observedGeneration", 0) < generation:
        return False, "waiting for the controller to observe the new generation"
    if kind == "Deployment":
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
                raise RolloutFailed(f"deployment exceeded its progress deadline: {condition.get('message', '')}")
        replicas = spec.get("replicas", 1)
        updated = status.get("updatedReplicas", 0)
        if updated < replicas:
            return False, f"{updated} of {replicas} updated replicas"
        if status.get("replicas", 0) > updated:
            return False, f"{status.get('replicas', 0) - updated} old replicas pending termination"
        if status.get("availableReplicas", 0) < updated:
            return False, f"{status.get('availableReplicas', 0)} of {updated} updated replicas available"
        return True, "successfully rolled out"
    if kind == "StatefulSet":
        replicas = spec.get("replicas", 1)
        if status.get("readyReplicas", 0) < replicas:
            return False, f"{status.get('readyReplicas', 0)} of {replicas} pods ready"
        if status.get("updateRevision") != status.get("currentRevision"):
            return False, f"{status.get('updatedReplicas', 0)} of {replicas} pods updated"
        return True, "successfully rolled out"
    desired = status.get("desiredNumberScheduled", 0)
    if status.get("updatedNumberScheduled", 0) < desired:
        return False, f"{status.get('updatedNumberScheduled', 0)} of {desired} updated pods scheduled"
    if status.get("numberAvailable", 0) < desired:
        return False, f"{status.get('numberAvailable', 0)} of {desired} updated pods available"
    return True, "successfully rolled out"


class RolloutFailed(Exception):
    pass


def wait_for_rollout(api: Api, plan: RolloutPlan) -> dict:
    deadline = time.monotonic() + plan.timeout
    delay = 0.2
    while True:
        workload = api.get(plan.resource, plan.name, plan.namespace)
        if workload is None:
            raise RolloutFailed(f"{plan.ref} was deleted during the rollout")
        done, progress = rollout_done(plan.resource.kind, workload)
        if done:
            return workload
        if time.monotonic() + delay > deadline:
            raise RolloutFailed(f"timed out after {plan.timeout}s waiting for the rollout of {plan.ref}: {progress}")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


class RestartNotFinished(ModuleFailure):
    """The restart was sent (``changed``), but the rollout it started failed or did not finish in time."""

    def __init__(self, message: str, restarted_at: str):
        super().__init__(message)
        self.restarted_at = restarted_at

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), "restarted": True, "restarted_at": self.restarted_at}


def restart_annotation(restarted_at: str) -> dict[str, Any]:
    """The pod template patch ``kubectl rollout restart`` sends (and the diff shows)."""
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}


def restart_time(workload: dict) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).astimezone()
    restarted_at = now.isoformat(timespec="seconds")
    template_annotations = (((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations")
    if (template_annotations or {}).get(RESTARTED_AT) == restarted_at:
        # A second restart within the same second (kubectl's RFC 3339 has no fraction) would patch nothing and
        # replace no pod; RFC 3339 allows a fraction of a second.
        restarted_at = now.isoformat(timespec="milliseconds")
    return restarted_at


def after_restart_warnings(plan: RolloutPlan, workload: dict, pods: list[dict[str, Any]]) -> list[str]:
    """What a finished rollout still shows wrong: pods without the webhook's variables, or with stale ones."""
    warnings = []
    if plan.required_env and any(p["missing_env"] for p in pods):
        warnings.append("restarted, but pods still lack " + ", ".join(plan.required_env) + ": is the pod template "
                        "labelled azure.workload.identity/use=true and its service account annotated with the "
                        "client id?")
    if any(p.get("stale_env") for p in pods):
        stale = sorted({v for p in pods for v in p.get("stale_env") or []})
        warnings.append(f"restarted, but pods still run with {', '.join(stale)} other than service account "
                        f"{plan.namespace}/{service_account_name(workload)} names "
                        f"({', '.join(plan.env_from_annotations[v] for v in stale)}): does the pod template set "
                        "them itself, or is the pod not labelled azure.workload.identity/use=true?")
    return warnings


def restarted(restarted_at: str, pods: list[dict[str, Any]], warnings: list[str]) -> Outcome:
    return Outcome(True, None, restart_annotation(restarted_at), warnings,
                   values={"restarted": True, "restarted_at": restarted_at, "pods": pods})


def apply(connection: Connection, plan: RolloutPlan, check_mode: bool) -> Outcome:
    api = connection.k8s
    # Read first, always: a missing workload is named, not PATCHed into a 404.
    workload = api.get(plan.resource, plan.name, plan.namespace)
    if workload is None:
        if check_mode:
            # An earlier task the check did not run (the add-on, the chart) would create it.
            return restarted(KNOWN_AFTER_APPLY, [], [f"{plan.ref} does not exist yet; check mode predicts its restart "
                                                     "once an earlier task creates it"])
        raise K8sError(404, "NotFound", f"{plan.ref} does not exist")
    expected = None
    if plan.required_env or plan.env_from_annotations:
        # The account's annotations and the pods are independent reads: side by side.
        expected, listed = side_by_side(partial(expected_env, api, plan, workload),
                                        partial(workload_pods, api, plan, workload))
        pods = live_pods(listed, plan, expected)
        if not needs_restart(pods):
            # Nothing restarted, nothing to show in a diff.
            return Outcome(False, values={"restarted": False, "pods": pods}, diffable=False)
    restarted_at = restart_time(workload)
    try:
        workload = api.patch(plan.resource, plan.name, restart_annotation(restarted_at), plan.namespace,
                             dry_run=check_mode)
    except K8sError as e:
        if e.object_not_found:
            raise K8sError(404, "NotFound", f"{plan.ref} does not exist", e.details) from e
        raise
    warnings = []
    if (workload.get("spec") or {}).get("paused"):
        warnings.append(f"{plan.ref} is paused: the restart takes effect once the rollout is resumed")
    if not plan.wait or check_mode:
        return restarted(restarted_at, live_pods(workload_pods(api, plan, workload), plan, expected), warnings)
    try:
        workload = wait_for_rollout(api, plan)
    except RolloutFailed as e:
        raise RestartNotFinished(str(e), restarted_at) from None
    pods = live_pods(workload_pods(api, plan, workload), plan, expected)
    return restarted(restarted_at, pods, warnings + after_restart_warnings(plan, workload, pods))


ARGUMENT_SPEC: dict[str, Any] = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="str", required=True),
    kind=dict(type="str", choices=["Deployment", "StatefulSet", "DaemonSet"], default="Deployment"),
    unless_env_present=dict(type="list", elements="str"),
    unless_env_matches_service_account=dict(type="dict"),
    wait=dict(type="bool", default=False),
    timeout=dict(type="int", default=300),
)

RESOURCE = Resource("rollout_restart", ARGUMENT_SPEC, build, apply, k8s=True)
