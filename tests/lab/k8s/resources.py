"""The resource types the emulated apiserver serves: built-ins, plus whatever CRDs register.

A ``ResourceType`` is one (group, version, resource) endpoint with the facts discovery publishes
about it (kind, scope, short names, categories, verbs, subresources) and the storage-strategy
facts the handlers need (does it track ``metadata.generation``, does DELETE return the object).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Namespaces have no deletecollection (pkg/registry/core/namespace/storage).
NAMESPACE_VERBS: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")
CREATE_ONLY: tuple[str, ...] = ("create",)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    # Strategies that set metadata.generation on create and bump it on spec changes.
    generation: bool = False
    # genericregistry.Store.ReturnDeletedObject: DELETE answers with the object, else a Status.
    returns_deleted_object: bool = False
    builtin: bool = True
    crd_name: str = ""
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple[Any, ...] = field(default=(), compare=False, hash=False)
    list_kind: str = ""
    # Served from another resource's storage (events.k8s.io events are the core events, events_api.py).
    storage: tuple[str, str] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> tuple[str, str]:
        return self.storage or (self.group, self.plural)

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or self.kind + "List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def has_scale(self) -> bool:
        return "scale" in self.subresources


def _core(kind: str, plural: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", kind, plural, kind.lower(), namespaced, **kw)


def _apps(kind: str, plural: str, **kw: Any) -> ResourceType:
    return ResourceType("apps", "v1", kind, plural, kind.lower(), True, generation=True, **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _core("Namespace", "namespaces", False, short_names=("ns",), verbs=NAMESPACE_VERBS,
          subresources=("status", "finalize"), returns_deleted_object=True),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",),
          returns_deleted_object=True),
    _core("Secret", "secrets"),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Pod", "pods", short_names=("po",), categories=("all",), subresources=("status", "log"),
          returns_deleted_object=True),
    _core("Service", "services", short_names=("svc",), categories=("all",), subresources=("status",),
          returns_deleted_object=True),
    _core("Event", "events", short_names=("ev",)),
    ResourceType("events.k8s.io", "v1", "Event", "events", "event", True, short_names=("ev",), storage=("", "events")),
    _core("Node", "nodes", False, short_names=("no",), subresources=("status",), returns_deleted_object=True),
    _apps("Deployment", "deployments", short_names=("deploy",), categories=("all",), subresources=("status", "scale")),
    _apps("ReplicaSet", "replicasets", short_names=("rs",), categories=("all",), subresources=("status", "scale")),
    _apps("StatefulSet", "statefulsets", short_names=("sts",), categories=("all",), subresources=("status", "scale")),
    _apps("DaemonSet", "daemonsets", short_names=("ds",), categories=("all",), subresources=("status",)),
    ResourceType("batch", "v1", "Job", "jobs", "job", True, categories=("all",), subresources=("status",), generation=True),
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, short_names=("cj",), categories=("all",),
                 subresources=("status",), generation=True),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                 "customresourcedefinition", False, short_names=("crd", "crds"), categories=("api-extensions",),
                 subresources=("status",), generation=True, returns_deleted_object=True),
    ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False, verbs=CREATE_ONLY),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", False,
                 verbs=CREATE_ONLY),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                 "selfsubjectaccessreview", False, verbs=CREATE_ONLY),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", False),
    ResourceType("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
                 "mutatingwebhookconfiguration", False, categories=("api-extensions",), generation=True),
    ResourceType("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
                 "validatingwebhookconfiguration", False, categories=("api-extensions",), generation=True),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler",
                 True, short_names=("hpa",), categories=("all",), subresources=("status",)),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", True,
                 short_names=("pdb",), subresources=("status",), generation=True),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True,
                 short_names=("netpol",), generation=True),
    # The aggregation layer's registration (k8s.io/kube-aggregator); the keda chart registers the
    # external metrics API with one.
    ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", False,
                 categories=("api-extensions",), subresources=("status",)),
)

# Subresources that answer with another group's kind (discovery lists them with group/version).
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "token": ("authentication.k8s.io", "v1", "TokenRequest", CREATE_ONLY),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "status": ("", "", "", ("get", "patch", "update")),
    "finalize": ("", "", "", ("update",)),
    # pods/log: kind Pod, verb get (kube-apiserver discovery for /api/v1).
    "log": ("", "", "Pod", ("get",)),
}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key for kube-aware version ordering: GA > beta > alpha, higher numbers first.

    This is apimachinery's version.CompareKubeAwareVersionStrings, which discovery uses for
    the order of a group's versions and to pick preferredVersion.
    """
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stage = {"": 0, None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor, "")


class Registry:
    """The served resource types. Mutated when CRDs are created, changed or deleted."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._crd_types: dict[str, list[ResourceType]] = {}

    def all(self) -> list[ResourceType]:
        with self._lock:
            result = list(BUILTINS)
            for types in self._crd_types.values():
                result.extend(types)
            return result

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        for rt in self.all():
            if rt.group == group and rt.version == version and rt.plural == plural:
                return rt
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _slash, version = api_version.rpartition("/")
        for rt in self.all():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def versions_of(self, group: str, plural: str) -> list[ResourceType]:
        """All served versions of one resource (they share one storage)."""
        types = [rt for rt in self.all() if rt.group == group and rt.plural == plural]
        return sorted(types, key=lambda rt: version_priority(rt.version))

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions in discovery order (builtins first, then CRD groups, as registered)."""
        groups: dict[str, list[str]] = {}
        for rt in self.all():
            versions = groups.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return {g: sorted(v, key=version_priority) for g, v in groups.items()}

    def has_group_version(self, group: str, version: str) -> bool:
        return version in self.group_versions().get(group, [])

    def crd_types(self, crd_name: str) -> list[ResourceType]:
        with self._lock:
            return list(self._crd_types.get(crd_name, []))

    def register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        types = []
        for version in spec.get("versions") or []:
            if not version.get("served", False):
                continue
            sub = version.get("subresources") or {}
            subresources = tuple(name for name in ("status", "scale") if name in sub)
            types.append(ResourceType(
                group=spec.get("group", ""), version=version.get("name", ""), kind=names.get("kind", ""),
                plural=names.get("plural", ""), singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope") == "Namespaced", short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()), subresources=subresources, generation=True,
                returns_deleted_object=True, builtin=False, crd_name=crd["metadata"]["name"],
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                list_kind=names.get("listKind") or "",
            ))
        with self._lock:
            self._crd_types[crd["metadata"]["name"]] = types

    def unregister_crd(self, crd_name: str) -> None:
        with self._lock:
            self._crd_types.pop(crd_name, None)

    def clear_crds(self) -> None:
        with self._lock:
            self._crd_types.clear()
