"""The apiserver's request semantics, independent of HTTP: create, get, list, update, patch, delete.

Every write runs the same pipeline as kube-apiserver's generic registry (handlers/create.go,
update.go, patch.go, delete.go and registry/generic/registry/store.go): decode (with defaulting,
and pruning for custom resources), mutating admission (namespace must exist, pod admission),
name generation, the kind's strategy (system fields, status reset, generation), validation (422),
storage (409 on conflicts), then field ownership and the controllers. ``dryRun=All`` runs
everything but storage. The HTTP layer, the controllers and the Azure emulator all call this, so
there is one code path for every write.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import errors, events_api, gc, managedfields, strategy, validation, webhook
from .admission import ValidatingAdmission
from .apply import Ownership
from .decode import decode
from .oidc import TokenIssuer
from .options import Options
from .patch import PatchError, json_patch, merge_patch, strategic_merge
from .resources import Registry, ResourceType
from .selectors import Selector, label_selector_string
from .store import Store, random_suffix

if TYPE_CHECKING:
    from .controllers import Controllers

PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_JSON = "application/json-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"
CUSTOM_PATCH_TYPES = [PATCH_JSON, PATCH_MERGE, PATCH_APPLY]
BUILTIN_PATCH_TYPES = [PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY]

# kube-apiserver refuses to delete these (pkg/registry/core/namespace/storage + NamespaceLifecycle).
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
_PROPAGATION = ("Foreground", "Background", "Orphan")
# Schema and validation errors found on the way (``list`` inside Api names its method).
FieldErrors = list[errors.FieldError]
_METADATA_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                   "ownerReferences", "finalizers", "managedFields")


def order(obj: dict[str, Any]) -> dict[str, Any]:
    """kind, apiVersion, metadata first, as the Go structs serialize."""
    out: dict[str, Any] = {}
    for key in ("kind", "apiVersion", "metadata"):
        if key in obj:
            out[key] = obj[key]
    for key, value in obj.items():
        if key not in out:
            out[key] = value
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: meta[k] for k in _METADATA_ORDER if k in meta}
        out["metadata"].update({k: v for k, v in meta.items() if k not in out["metadata"]})
    return out


class Api:
    """One cluster's state and the operations on it. Thread-safe: one store lock."""

    def __init__(self, issuer: TokenIssuer, issuer_url: Callable[[], str], default_tenant: str,
                 authority_host: Callable[[], str], ca_pem: Callable[[], str]) -> None:
        # Callables, because the service's URL is only known once its server is bound.
        self.issuer = issuer
        self._issuer_url = issuer_url
        self._authority_host = authority_host
        self._ca_pem = ca_pem
        self.default_tenant = default_tenant
        # Every --service-account-issuer the API server accepts (the first one signs), and whether the
        # workload identity webhook is installed; the service replaces both.
        self.accepted_issuers: Callable[[], list[str]] = lambda: [self.issuer_url]
        self.workload_identity_webhook: Callable[[], bool] = lambda: True
        self.store = Store()
        self.registry = Registry()
        self.ownership = Ownership()
        self.controllers: Controllers | None = None
        self.admission = ValidatingAdmission(self)
        self._depth = 0
        self._draining = False
        self._cluster_ips = itertools.count(10)

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def lock(self) -> Any:
        return self.store.lock

    @property
    def issuer_url(self) -> str:
        return self._issuer_url()

    @property
    def authority_host(self) -> str:
        return self._authority_host()

    def ca_pem(self) -> str:
        return self._ca_pem()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store lock; when the outermost operation ends, let the controllers react.

        Controllers run synchronously before the response is sent, the way a real cluster would
        look a moment later; their writes are ordinary writes with their own resourceVersions.
        """
        with self.store.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and not self._draining and self.controllers is not None:
                    self._draining = True
                    try:
                        self.controllers.drain()
                    finally:
                        self._draining = False

    def present(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if events_api.applies(rt):
            obj = events_api.to_events(obj)
        obj = dict(obj)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta = obj.get("metadata") or {}
        managed = managedfields.render(self.ownership.known(self._oid(rt, meta.get("namespace", ""), meta.get("name", ""))))
        if managed:
            obj["metadata"] = dict(meta, managedFields=managed)
        return order(obj)

    def _ns(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _oid(self, rt: ResourceType, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (rt.group, rt.plural, namespace, name)

    def resolve(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise errors.ApiError(404, "NotFound", f'no matches for kind "{kind}" in version "{api_version}"', {})
        return rt

    # -- reads -------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        with self.store.lock:
            obj = self.store.get(rt.group_resource, self._ns(rt, namespace), name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return self.present(rt, obj)

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self.store.get(rt.group_resource, self._ns(rt, namespace), name)
        return self.present(rt, obj) if obj is not None else None

    def list(self, rt: ResourceType, namespace: str | None, selector: Selector | None = None) -> tuple[list[dict[str, Any]], int]:
        with self.store.lock:
            items = self.store.items(rt.group_resource, namespace if rt.namespaced and namespace else None)
            rv = self.store.resource_version
        items = [self.present(rt, obj) for obj in items]
        if selector is not None and not selector.empty:
            items = [obj for obj in items if selector.matches(obj)]
        return items, rv

    # -- decoding ----------------------------------------------------------------------------

    # -- admission ---------------------------------------------------------------------------

    def _require_namespace(self, rt: ResourceType, namespace: str) -> None:
        if rt.namespaced and not self.store.exists(("", "namespaces"), "", namespace):
            raise errors.not_found("namespaces", "", namespace)

    def _get_sa(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get(("", "serviceaccounts"), namespace, name)

    def _admit_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.group == "" and rt.kind == "Pod":
            namespace = obj["metadata"]["namespace"]
            account = webhook.service_account_admission(obj, namespace, self._get_sa)
            if self.workload_identity_webhook():
                webhook.workload_identity_mutation(obj, account, self.default_tenant, self.authority_host)
            # Priority and DefaultTolerationSeconds admission plugins.
            spec = obj["spec"]
            spec.setdefault("priority", 0)
            spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
            tolerations = spec.setdefault("tolerations", [])
            for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                if not any(t.get("key") == taint for t in tolerations):
                    tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})

    # -- strategies --------------------------------------------------------------------------

    def _validate(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None,
                  schema_errors: FieldErrors) -> None:
        found = validation.validate(rt, obj, old) + schema_errors
        if found:
            raise errors.invalid_object(rt.kind, rt.group, obj["metadata"].get("name", ""), found)

    # -- writes ------------------------------------------------------------------------------

    def _commit(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, opts: Options,
                record_update: bool = True) -> dict[str, Any]:
        stored = self.store.put(rt.group_resource, obj)
        meta = stored["metadata"]
        if record_update:
            self.ownership.record_update(self._oid(rt, meta.get("namespace", ""), meta["name"]), opts.manager or "unknown",
                                         rt.api_version, old, stored, rt.kind, rt.has_status)
        if self.controllers is not None:
            self.controllers.observe(rt, "ADDED" if old is None else "MODIFIED", stored, old)
        return stored

    def create(self, rt: ResourceType, namespace: str | None, body: Any, opts: Options) -> dict[str, Any]:
        if events_api.applies(rt):
            return self.present(rt, self._create_event(rt, namespace, body, opts))
        namespace = self._ns(rt, namespace)
        with self.transaction():
            obj, schema_errors = decode(rt, namespace, body, opts)
            if obj["metadata"].get("resourceVersion"):
                # etcd3 store: storage.ErrResourceVersionSetOnCreate surfaces as an internal error.
                raise errors.internal("resourceVersion should not be set on objects to be created")
            self._require_namespace(rt, namespace)
            self._admit_create(rt, obj)
            meta = obj["metadata"]
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
            strategy.prepare_create(rt, obj, self._cluster_ips)
            self._validate(rt, obj, None, schema_errors)
            self.admission.validate(rt, "CREATE", obj, None, opts)
            if self.store.exists(rt.group_resource, namespace, meta["name"]):
                raise errors.already_exists(rt.plural, rt.group, meta["name"])
            if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
                self._check_crd_conflicts(obj)
            if opts.dry_run:
                return self.present(rt, obj)
            return self.present(rt, self._commit(rt, obj, None, opts))

    def _create_event(self, rt: ResourceType, namespace: str | None, body: Any, opts: Options) -> dict[str, Any]:
        """An events.k8s.io/v1 create: its validation, then stored as the core Event it is (events_api.py)."""
        if not isinstance(body, dict):
            raise errors.bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
        if body.get("apiVersion") and body["apiVersion"] != rt.api_version:
            raise errors.bad_request(f"the API version in the data ({body['apiVersion']}) does not match the expected "
                                     f"API version ({rt.api_version})")
        found = events_api.create_errors(body)
        if found:
            raise errors.invalid_object(rt.kind, rt.group, (body.get("metadata") or {}).get("name", ""), found)
        return self.create(self.resolve("v1", "Event"), namespace, events_api.to_core(body), opts)

    def _existing(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        old = self.store.get(rt.group_resource, namespace, name)
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return old

    def update(self, rt: ResourceType, namespace: str | None, name: str, body: Any, opts: Options,
               subresource: str = "") -> dict[str, Any]:
        namespace = self._ns(rt, namespace)
        with self.transaction():
            old = self._existing(rt, namespace, name)
            obj, schema_errors = decode(rt, namespace, body, opts, url_name=name)
            wanted_rv = obj["metadata"].get("resourceVersion")
            if not wanted_rv and not _unconditional_update(rt):
                raise errors.invalid_object(rt.kind, rt.group, name, [errors.FieldError(
                    "metadata.resourceVersion", "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update")])
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name)
            return self._finish_update(rt, obj, old, opts, subresource, schema_errors)

    def _finish_update(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any], opts: Options,
                       subresource: str, schema_errors: FieldErrors, record_update: bool = True) -> dict[str, Any]:
        if events_api.applies(rt):
            # Stored as the core Event it is (events_api.py); answered in the events.k8s.io shape.
            return self.present(rt, self._finish_update(self.resolve("v1", "Event"), events_api.to_core(obj), old, opts,
                                                        subresource, schema_errors, record_update))
        obj = strategy.prepare_update(rt, obj, old, subresource)
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._validate(rt, obj, old, schema_errors)
        self.admission.validate(rt, "UPDATE", obj, old, opts, subresource)
        if obj == old or opts.dry_run:
            # An update that changes nothing is not written (etcd GuaranteedUpdate short-circuits),
            # so resourceVersion and watchers stay as they were.
            return self.present(rt, obj)
        return self.present(rt, self._commit(rt, obj, old, opts, record_update))

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str, body: Any, opts: Options,
              subresource: str = "") -> tuple[dict[str, Any], bool]:
        """Returns (object, created). Only apply patches can create."""
        namespace = self._ns(rt, namespace)
        if patch_type == PATCH_APPLY:
            return self._apply(rt, namespace, name, body, opts, subresource)
        if patch_type == PATCH_STRATEGIC and not rt.builtin:
            raise errors.unsupported_media_type(CUSTOM_PATCH_TYPES)
        with self.transaction():
            old = self._existing(rt, namespace, name)
            current = self.present(rt, old)
            try:
                if patch_type == PATCH_MERGE:
                    patched = merge_patch(current, body)
                elif patch_type == PATCH_JSON:
                    patched = json_patch(current, body)
                else:
                    patched = strategic_merge(current, body, rt.kind)
            except PatchError as exc:
                if exc.bad_request:
                    raise errors.bad_request(str(exc)) from exc
                # handlers/patch.go: jsonpatch failures become a generic 422.
                raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                                      {}) from exc
            if not isinstance(patched, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            patched_meta = patched.get("metadata") or {}
            if patched_meta.get("name") not in (None, name):
                raise errors.bad_request(f"the name of the object ({patched_meta.get('name')}) does not match the name on the URL ({name})")
            obj, schema_errors = decode(rt, namespace, patched, opts, url_name=name)
            wanted_rv = obj["metadata"].get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name)
            return self._finish_update(rt, obj, old, opts, subresource, schema_errors), False

    def _apply(self, rt: ResourceType, namespace: str, name: str, body: Any, opts: Options,
               subresource: str) -> tuple[dict[str, Any], bool]:
        if not isinstance(body, dict):
            raise errors.bad_request("the object provided is unrecognized (must be of type apply configuration)")
        if (body.get("metadata") or {}).get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        for field, label in (("apiVersion", "apiVersion"), ("kind", "Kind")):
            if not body.get(field):
                raise errors.bad_request(f"Object '{label}' is missing in '{json.dumps(body, separators=(',', ':'))}'")
        with self.transaction():
            old = self.store.get(rt.group_resource, namespace, name)
            config, schema_errors = decode(rt, namespace, body, opts, url_name=name)
            oid = self._oid(rt, namespace, name)
            if old is None:
                if subresource:
                    raise errors.not_found(rt.plural, rt.group, name)
                if config["metadata"].get("resourceVersion"):
                    raise errors.not_found(rt.plural, rt.group, name)
                created = self.create(rt, namespace, config, _apply_create_options(opts))
                if not opts.dry_run:
                    self.ownership.forget(oid)
                    self.ownership.apply(oid, opts.manager, rt.api_version, {}, config, rt.kind, rt.has_status, True)
                    created = self.present(rt, self._existing(rt, namespace, name))
                return created, True
            wanted_rv = config["metadata"].get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name)
            # Work on a copy of the field managers: they change only if the write succeeds.
            scratch = Ownership()
            scratch.managers(oid).update(copy.deepcopy(self.ownership.managers(oid)))
            merged = scratch.apply(oid, opts.manager, rt.api_version, self.present(rt, old), config, rt.kind,
                                   rt.has_status, bool(opts.force))
            merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            obj, more_errors = decode(rt, namespace, merged, Options(field_validation="Ignore"), url_name=name)
            result = self._finish_update(rt, obj, old, opts, subresource, schema_errors + more_errors, record_update=False)
            if not opts.dry_run:
                self.ownership.managers(oid).clear()
                self.ownership.managers(oid).update(scratch.managers(oid))
                result = self.present(rt, self._existing(rt, namespace, name))
            return result, False

    def delete(self, rt: ResourceType, namespace: str | None, name: str, opts: Options) -> dict[str, Any]:
        namespace = self._ns(rt, namespace)
        if opts.propagation is not None and opts.propagation not in _PROPAGATION:
            raise errors.invalid_object("DeleteOptions", "meta.k8s.io", "", [errors.not_supported(
                "propagationPolicy", opts.propagation, list(_PROPAGATION) + ["nil"])])
        with self.transaction():
            old = self._existing(rt, namespace, name)
            meta = old["metadata"]
            wanted_uid = opts.preconditions.get("uid")
            if wanted_uid and wanted_uid != meta.get("uid"):
                raise errors.conflict(rt.plural, rt.group, name, f"Precondition failed: UID in precondition: {wanted_uid}, "
                                                                 f"UID in object meta: {meta.get('uid')}")
            wanted_rv = opts.preconditions.get("resourceVersion")
            if wanted_rv and wanted_rv != meta.get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name,
                                      f"Precondition failed: ResourceVersion in precondition: {wanted_rv}, "
                                      f"ResourceVersion in object meta: {meta.get('resourceVersion')}")
            if rt.group == "" and rt.kind == "Namespace" and name in PROTECTED_NAMESPACES:
                raise errors.forbidden("namespaces", "", name, "this namespace may not be deleted")
            final = old if opts.dry_run else gc.remove(self, rt, old, opts.propagation or "Background")
            return gc.delete_response(self, rt, final)

    def delete_collection(self, rt: ResourceType, namespace: str | None, selector: Selector,
                          opts: Options) -> dict[str, Any]:
        with self.transaction():
            items = self.list(rt, namespace, selector)[0]
            deleted = []
            for obj in items:
                meta = obj["metadata"]
                if not opts.dry_run:
                    gc.remove(self, rt, self.store.get(rt.group_resource, meta.get("namespace", ""), meta["name"]) or obj,
                              opts.propagation or "Background")
                deleted.append(obj)
            return {"kind": rt.list_kind_name, "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": deleted}

    def system_write(self, rt: ResourceType, namespace: str, name: str, mutate: Callable[[dict[str, Any]], None],
                     manager: str) -> dict[str, Any] | None:
        """A controller's write of fields it owns (status, scheduling): no admission, no validation.

        Like a status update, it is skipped when nothing changes, so controllers settle.
        """
        with self.transaction():
            old = self.store.get(rt.group_resource, namespace, name)
            if old is None:
                return None
            obj = copy.deepcopy(old)
            mutate(obj)
            if obj == old:
                return old
            if rt.generation and strategy.content(obj, rt) != strategy.content(old, rt):
                obj["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1
            return self._commit(rt, obj, old, Options(manager=manager))

    # -- CRDs --------------------------------------------------------------------------------

    def _check_crd_conflicts(self, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        for rt in self.registry.all():
            if rt.group == spec.get("group") and rt.builtin:
                raise errors.invalid_object("CustomResourceDefinition", "apiextensions.k8s.io", obj["metadata"]["name"], [
                    errors.invalid("spec.group", spec.get("group"), "is a reserved group served by the apiserver")])

    def register_crd(self, crd: dict[str, Any]) -> None:
        self.registry.register_crd(crd)

    # -- subresources ------------------------------------------------------------------------

    def scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.get(rt, namespace, name)
        return _scale_of(obj)

    def update_scale(self, rt: ResourceType, namespace: str | None, name: str, replicas: Any, opts: Options,
                     wanted_rv: str | None = None) -> dict[str, Any]:
        namespace = self._ns(rt, namespace)
        with self.transaction():
            old = self._existing(rt, namespace, name)
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(f"{rt.plural}", rt.group, name)
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.invalid_object("Scale", "autoscaling", name, [
                    errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
            obj = copy.deepcopy(old)
            obj.setdefault("spec", {})["replicas"] = replicas
            result = self._finish_update(rt, obj, old, opts, "", [])
            return _scale_of(result)


def _unconditional_update(rt: ResourceType) -> bool:
    """Strategy.AllowUnconditionalUpdate: custom resources and CRDs demand a resourceVersion on PUT."""
    return rt.builtin and rt.kind != "CustomResourceDefinition"


def _apply_create_options(opts: Options) -> Options:
    created = Options(dry_run=opts.dry_run, manager=opts.manager, field_validation="Ignore")
    created.warnings = opts.warnings
    return created


def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": label_selector_string((obj.get("spec") or {}).get("selector"))},
    }
