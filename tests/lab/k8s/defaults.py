"""Defaulting of built-in kinds, as the apiserver's decoders apply it (pkg/apis/*/v1/defaults.go).

The real defaulters run when a request body is decoded, so clients see these fields in every
response and three-way patches (kubectl apply, helm upgrade) are computed against them. Only
the defaults a client can observe in common manifests are reproduced.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def quantity(value: Any) -> Any:
    """A resource.Quantity as the apiserver answers it: always a string, in canonical form.

    Quantities decode from JSON numbers or strings and encode as strings (apimachinery
    pkg/api/resource/quantity.go, MarshalJSON / CanonicalizeBytes): ``1`` -> ``"1"``, ``0.5`` ->
    ``"500m"``. Only plain decimal numbers are rewritten here; suffixed strings (``100Mi``) pass as sent.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    if number == number.to_integral_value():
        return str(int(number))
    millis = number * 1000
    if millis == millis.to_integral_value():
        return f"{int(millis)}m"
    return str(value)


def _resources(resources: Any) -> None:
    if not isinstance(resources, dict):
        return
    for key in ("limits", "requests"):
        if isinstance(resources.get(key), dict):
            resources[key] = {name: quantity(amount) for name, amount in resources[key].items()}


def _container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    image = str(container.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in container:
        # SetDefaults_Container: Always for :latest or untagged images, else IfNotPresent.
        untagged = ":" not in tag and "@" not in image
        container["imagePullPolicy"] = "Always" if untagged or tag.endswith(":latest") else "IfNotPresent"
    container.setdefault("resources", {})
    _resources(container["resources"])
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            if isinstance(probe.get("httpGet"), dict):
                probe["httpGet"].setdefault("scheme", "HTTP")


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _container(container)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("secret", "configMap", "projected", "downwardAPI"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def _template(obj: dict[str, Any]) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec(template["spec"])


def apply(group: str, kind: str, obj: dict[str, Any]) -> None:
    """Default ``obj`` in place."""
    spec = obj.get("spec")
    if group == "" and kind == "Pod" and isinstance(spec, dict):
        pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
    elif group == "" and kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif group == "" and kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
    elif group == "apps" and isinstance(spec, dict):
        if kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            strategy = spec.setdefault("strategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
            spec.setdefault("progressDeadlineSeconds", 600)
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            update = spec.setdefault("updateStrategy", {})
            update.setdefault("type", "RollingUpdate")
            if update["type"] == "RollingUpdate":
                update.setdefault("rollingUpdate", {}).setdefault("partition", 0)
            spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        elif kind == "DaemonSet":
            update = spec.setdefault("updateStrategy", {})
            update.setdefault("type", "RollingUpdate")
            if update["type"] == "RollingUpdate":
                rolling = update.setdefault("rollingUpdate", {})
                rolling.setdefault("maxUnavailable", 1)
                rolling.setdefault("maxSurge", 0)
        if kind == "ReplicaSet":
            spec.pop("revisionHistoryLimit", None)
        _template(obj)
    elif group == "batch" and kind == "Job" and isinstance(spec, dict):
        # SetDefaults_Job: both unset means one pod to completion; parallelism alone stays a work queue.
        if "completions" not in spec and "parallelism" not in spec:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        _template(obj)
    elif group == "batch" and kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = (spec.get("jobTemplate") or {}).get("spec")
        if isinstance(job_template, dict):
            apply("batch", "Job", {"spec": job_template})
    elif group == "apiextensions.k8s.io" and kind == "CustomResourceDefinition" and isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
        names = spec.get("names")
        if isinstance(names, dict):
            names.setdefault("singular", str(names.get("kind", "")).lower())
            names.setdefault("listKind", f"{names.get('kind', '')}List")
