"""The kinds' strategies: what PrepareForCreate / PrepareForUpdate do to an object before validation.

System fields (uid, creationTimestamp, generation), status reset on the main resource and
everything-but-status on the status subresource (metav1.ResetObjectMetaForStatus), and the kinds'
own rules: Namespace finalizers and name label, Pod phase and QoS class, Service cluster IPs, the
Job's generated selector (pkg/registry/*/strategy.go in kubernetes/kubernetes).
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

from .resources import ResourceType
from .store import new_uid, now_rfc3339


def content(obj: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """What a generation bump looks at: everything but metadata (and status with a status subresource)."""
    skip = {"metadata", "apiVersion", "kind"} | ({"status"} if rt.has_status else set())
    return {k: v for k, v in obj.items() if k not in skip}


def qos(spec: dict[str, Any]) -> str:
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for res in resources:
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def prepare_create(rt: ResourceType, obj: dict[str, Any], cluster_ips: Iterator[int]) -> None:
    meta = obj["metadata"]
    for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                  "selfLink", "generation"):
        meta.pop(field, None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now_rfc3339()
    if rt.generation:
        meta["generation"] = 1
    if rt.has_status:
        obj.pop("status", None)
        if rt.builtin:
            obj["status"] = {}
    key = (rt.group, rt.kind)
    if key == ("", "Namespace"):
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    elif key == ("", "Pod"):
        obj["status"] = {"phase": "Pending", "qosClass": qos(obj.get("spec") or {})}
    elif key == ("", "Service"):
        spec = obj.setdefault("spec", {})
        if spec.get("type", "ClusterIP") != "ExternalName" and not spec.get("clusterIP"):
            index = next(cluster_ips)
            spec["clusterIP"] = f"10.0.{index // 250}.{index % 250 + 1}"
        if spec.get("clusterIP"):
            spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        obj["status"] = {"loadBalancer": {}}
        if spec.get("type") == "LoadBalancer":
            # The cloud provider assigns a public IP (helm --wait waits for it).
            index = next(cluster_ips)
            obj["status"]["loadBalancer"]["ingress"] = [{"ip": f"20.62.{index // 250}.{index % 250 + 1}", "ipMode": "VIP"}]
    elif key == ("batch", "Job"):
        job_selector(obj)


def job_selector(obj: dict[str, Any]) -> None:
    # Job PrepareForCreate: a generated selector on the controller-uid label (unless manualSelector).
    spec = obj.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    uid = obj["metadata"]["uid"]
    name = obj["metadata"]["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                   "controller-uid": uid, "job-name": name})


def prepare_update(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any], subresource: str) -> dict[str, Any]:
    meta = obj["metadata"]
    old_meta = old["metadata"]
    for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    meta.pop("managedFields", None)
    meta.pop("selfLink", None)
    if subresource == "status":
        # Status strategies keep everything but status (metav1.ResetObjectMetaForStatus).
        status = obj.get("status")
        obj = copy.deepcopy(old)
        if status is None:
            obj.pop("status", None)
        else:
            obj["status"] = status
        return obj
    if rt.has_status:
        if "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        else:
            obj.pop("status", None)
    key = (rt.group, rt.kind)
    if key == ("", "Namespace"):
        obj["spec"] = copy.deepcopy(old.get("spec") or {})
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    elif key == ("", "Service"):
        spec, old_spec = obj.setdefault("spec", {}), old.get("spec") or {}
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if field not in spec and field in old_spec:
                spec[field] = copy.deepcopy(old_spec[field])
    elif key == ("batch", "Job"):
        spec, old_spec = obj.setdefault("spec", {}), old.get("spec") or {}
        if "selector" not in spec and "selector" in old_spec:
            spec["selector"] = copy.deepcopy(old_spec["selector"])
    if rt.generation and content(obj, rt) != content(old, rt):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    return obj
