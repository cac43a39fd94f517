# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What KEDA's ScaledObject admission webhook refuses because of other objects, checked before a write.

kedacore/keda ``apis/keda/v1alpha1/scaledobject_webhook.go`` (v2.17.2 and v2.20.2), verifyScaledObjects
and verifyHpas: in one namespace,
- one workload (its ``group/version.Kind`` and name, ``apps/v1.Deployment`` when the reference leaves
  them out) is scaled by at most one ScaledObject;
- one HPA name (``keda-hpa-<name>`` or ``advanced.horizontalPodAutoscalerConfig.name``) belongs to
  at most one ScaledObject;
- a workload an HPA already scales (an HPA not owned by this ScaledObject and not annotated
  ``validations.keda.sh/hpa-ownership: "false"``) takes no ScaledObject, unless the ScaledObject
  carries ``scaledobject.keda.sh/transfer-hpa-ownership: "true"`` and names that HPA.
The webhook's failure policy is ``Ignore`` and a cluster may run without it, so the collection
checks the same rules itself and names the other object; in check mode too (reads only).
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    HORIZONTAL_POD_AUTOSCALER,
    SCALED_OBJECT,
    Resource,
    ResourceNotServed,
)

HPA_PREFIX = "keda-hpa-"
TRANSFER_HPA_OWNERSHIP = "scaledobject.keda.sh/transfer-hpa-ownership"
VALIDATIONS_HPA_OWNERSHIP = "validations.keda.sh/hpa-ownership"
WEBHOOK = "KEDA's admission webhook vscaledobject.kb.io refuses it"


class Lister(Protocol):
    def list(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        ...


def target_of(spec: dict[str, Any]) -> tuple[str, str]:
    """(GVKString, name) of a ScaledObject's or HPA's scaleTargetRef, as KEDA's ParseGVKR defaults it."""
    ref = spec.get("scaleTargetRef") or {}
    api_version = ref.get("apiVersion") or "apps/v1"
    group, _slash, version = api_version.rpartition("/")
    return f"{group}/{version}.{ref.get('kind') or 'Deployment'}", str(ref.get("name") or "")


def hpa_name_of(name: str, spec: dict[str, Any]) -> str:
    config = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    return config.get("name") or HPA_PREFIX + name


def _describe(target: tuple[str, str]) -> str:
    gvk, name = target
    group_version, _dot, kind = gvk.rpartition(".")
    return f"{kind} {name} ({group_version.lstrip('/')})"


def conflict(namespace: str, name: str, spec: dict[str, Any], annotations: dict[str, str],
             scaled_objects: Iterable[dict], hpas: Iterable[dict]) -> str | None:
    """The rule a ScaledObject ``namespace/name`` with ``spec`` would break, naming the other object; or None."""
    target = target_of(spec)
    hpa_name = hpa_name_of(name, spec)
    for other in scaled_objects:
        meta = other.get("metadata") or {}
        if meta.get("name") == name or meta.get("deletionTimestamp"):
            continue
        other_spec = other.get("spec") or {}
        if target_of(other_spec) == target:
            return (f"scale_target: {_describe(target)} is already scaled by ScaledObject {namespace}/{meta.get('name')}; "
                    f"a workload takes one ScaledObject ({WEBHOOK}). Change that ScaledObject, or remove it first")
        if hpa_name_of(str(meta.get("name")), other_spec) == hpa_name:
            return (f"advanced.horizontalPodAutoscalerConfig.name: the HPA {hpa_name} is already managed by ScaledObject "
                    f"{namespace}/{meta.get('name')} ({WEBHOOK}); choose another HPA name")
    for hpa in hpas:
        meta = hpa.get("metadata") or {}
        if (meta.get("annotations") or {}).get(VALIDATIONS_HPA_OWNERSHIP) == "false":
            continue
        if target_of(hpa.get("spec") or {}) != target:
            continue
        if any(o.get("kind") == "ScaledObject" and o.get("name") == name for o in meta.get("ownerReferences") or []):
            continue
        if annotations.get(TRANSFER_HPA_OWNERSHIP) == "true" and hpa_name == meta.get("name"):
            continue
        owners = ", ".join(f"{o.get('kind')} {o.get('name')}" for o in meta.get("ownerReferences") or [])
        return (f"scale_target: {_describe(target)} is already scaled by HorizontalPodAutoscaler "
                f"{namespace}/{meta.get('name')}{f' (owned by {owners})' if owners else ''}, which this ScaledObject does "
                f"not own ({WEBHOOK}). Remove that HPA, or annotate it {VALIDATIONS_HPA_OWNERSHIP}: \"false\"")
    return None


def check_unique_targets(items: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Within one task: (where, namespace, name, spec) of every ScaledObject stated present."""
    targets: dict[tuple[str, tuple[str, str]], tuple[str, str]] = {}
    hpas: dict[tuple[str, str], tuple[str, str]] = {}
    for where, namespace, name, spec in items:
        target = (namespace, target_of(spec))
        if target in targets and targets[target][1] != name:
            raise OptionError(f"{where}.scale_target: {_describe(target[1])} in {namespace} is also the target of "
                              f"ScaledObject {namespace}/{targets[target][1]} ({targets[target][0]}); a workload "
                              f"takes one ScaledObject ({WEBHOOK})")
        targets.setdefault(target, (where, name))
        hpa = (namespace, hpa_name_of(name, spec))
        if hpa in hpas and hpas[hpa][1] != name:
            raise OptionError(f"{where}.advanced.horizontalPodAutoscalerConfig.name: the HPA {hpa[1]} is also the HPA "
                              f"of ScaledObject {namespace}/{hpas[hpa][1]} ({hpas[hpa][0]}) ({WEBHOOK})")
        hpas.setdefault(hpa, (where, name))


def check_against_cluster(api: Lister, items: Iterable[tuple[str, str, str, dict[str, Any]]],
                          listed: dict[str, tuple[list[dict], list[dict]]] | None = None) -> None:
    """Each (where, namespace, name, spec) against the ScaledObjects and HPAs of its namespace.

    One list of each kind per namespace (kept in ``listed`` across calls); a cluster without KEDA's
    CRD has no ScaledObjects to conflict with (the write then reports the missing CRD as before)."""
    listed = {} if listed is None else listed
    for where, namespace, name, spec in items:
        if namespace not in listed:
            try:
                scaled_objects = api.list(SCALED_OBJECT, namespace)
            except ResourceNotServed:
                scaled_objects = []
            listed[namespace] = (scaled_objects, api.list(HORIZONTAL_POD_AUTOSCALER, namespace))
        scaled_objects, hpas = listed[namespace]
        live = next((s for s in scaled_objects if (s.get("metadata") or {}).get("name") == name), None)
        annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
        problem = conflict(namespace, name, spec, annotations, scaled_objects, hpas)
        if problem:
            raise OptionError(problem).at(where) if where else OptionError(problem)


def check_written(api: Lister, entries: list[tuple[str, Any]]) -> None:
    """``entries``: (where, KedaPlan) of ScaledObjects stated present in one task, all checked before its
    first write. One list of ScaledObjects per namespace decides which would be written (one already as
    stated is left alone, as KEDA's webhook would leave it); HPAs are listed only for those."""
    scaled_objects: dict[str, list[dict]] = {}
    written = []
    for where, plan in entries:
        _where, namespace, name, spec = plan.scaled_object_item
        if namespace not in scaled_objects:
            try:
                scaled_objects[namespace] = api.list(SCALED_OBJECT, namespace)
            except ResourceNotServed:
                scaled_objects[namespace] = []
        live = next((s for s in scaled_objects[namespace] if (s.get("metadata") or {}).get("name") == name), None)
        if live is None or not plan.definition.matches(live):
            written.append((where, namespace, name, spec))
    listed = {namespace: (scaled_objects[namespace], api.list(HORIZONTAL_POD_AUTOSCALER, namespace))
              for namespace in sorted({item[1] for item in written})}
    check_against_cluster(api, written, listed)
