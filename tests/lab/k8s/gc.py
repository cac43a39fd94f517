"""Deletion: the delete answer, what a delete takes with it, and the garbage collector.

A namespace takes everything in it, a CRD its custom resources (and its kind leaves the registry),
a Pod is deleted gracefully (watchers see it Terminating first); dependents whose ownerReferences
point at the deleted object are deleted too (Background / Foreground) or lose the reference
(Orphan): pkg/controller/garbagecollector and registry/generic/registry/store.go.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .options import Options
from .resources import ResourceType
from .store import now_rfc3339

if TYPE_CHECKING:
    from .api import Api


def delete_response(api: Api, rt: ResourceType, final: dict[str, Any]) -> dict[str, Any]:
    meta = final["metadata"]
    if not rt.returns_deleted_object:
        details = {"name": meta["name"]}
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
        details["uid"] = meta.get("uid", "")
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
    shown = copy.deepcopy(final)
    key = (rt.group, rt.kind)
    if key == ("", "Namespace"):
        # The namespace registry answers with the namespace switched to Terminating.
        shown["metadata"]["deletionTimestamp"] = now_rfc3339()
        shown["status"] = {"phase": "Terminating"}
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        shown["metadata"]["deletionTimestamp"] = now_rfc3339()
        shown["metadata"]["finalizers"] = ["customresourcecleanup.apiextensions.k8s.io"]
    elif key == ("", "Pod"):
        shown["metadata"]["deletionTimestamp"] = now_rfc3339()
        shown["metadata"]["deletionGracePeriodSeconds"] = (shown.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return api.present(rt, shown)


def remove(api: Api, rt: ResourceType, old: dict[str, Any], propagation: str) -> dict[str, Any]:
    """Remove an object, what it owns (garbage collection) and what lives in it (namespaces, CRDs)."""
    meta = old["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    if (rt.group, rt.kind) == ("", "Namespace"):
        for gr in api.store.group_resources():
            for obj in api.store.items(gr, name):
                _remove_plain(api, gr, obj)
    if (rt.group, rt.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        spec = old.get("spec") or {}
        gr = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        for obj in api.store.items(gr):
            _remove_plain(api, gr, obj)
        api.registry.unregister_crd(name)
    if (rt.group, rt.kind) == ("", "Pod"):
        # Graceful deletion: watchers see the pod Terminating (deletionTimestamp set), then
        # DELETED once the kubelet confirms, which in the lab is immediately.
        terminating = copy.deepcopy(old)
        terminating["metadata"]["deletionTimestamp"] = now_rfc3339()
        terminating["metadata"]["deletionGracePeriodSeconds"] = (old.get("spec") or {}).get(
            "terminationGracePeriodSeconds", 30)
        old = api.store.put(rt.group_resource, terminating)
    final = api.store.remove(rt.group_resource, namespace, name)
    api.ownership.forget(api._oid(rt, namespace, name))
    if api.controllers is not None and final is not None:
        api.controllers.observe(rt, "DELETED", final, old)
    _collect_dependents(api, meta.get("uid", ""), namespace, propagation)
    return final or old


def _remove_plain(api: Api, gr: tuple[str, str], obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    final = api.store.remove(gr, meta.get("namespace", ""), meta["name"])
    api.ownership.forget((gr[0], gr[1], meta.get("namespace", ""), meta["name"]))
    rt = next((t for t in api.registry.versions_of(*gr)), None)
    if rt is not None and final is not None and api.controllers is not None:
        api.controllers.observe(rt, "DELETED", final, obj)


def _collect_dependents(api: Api, uid: str, namespace: str, propagation: str) -> None:
    """The garbage collector: dependents whose ownerReferences point at uid."""
    if not uid:
        return
    for gr in api.store.group_resources():
        types = api.registry.versions_of(*gr)
        if not types:
            continue
        rt = types[0]
        for obj in api.store.items(gr, namespace if rt.namespaced else None):
            refs = obj["metadata"].get("ownerReferences") or []
            if not any(ref.get("uid") == uid for ref in refs):
                continue
            if propagation == "Orphan":
                obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid] or None
                if obj["metadata"]["ownerReferences"] is None:
                    del obj["metadata"]["ownerReferences"]
                api._commit(rt, obj, api.store.get(gr, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]),
                            Options(manager="kube-controller-manager"))
            else:
                remove(api, rt, obj, propagation)
