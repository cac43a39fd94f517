# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired-state runner every Kubernetes module hands its one definition to.

A ``Definition`` states only the fields a module owns (``None`` = must be absent). ``ensure_present``
reads the object once; when every owned field already matches it stops there (one GET, no write).
Otherwise it creates the object or sends a JSON merge patch of the owned fields, guarded by the
resourceVersion it read and retried on 409 Conflict. Check mode sends the same write with
``dryRun=All``, so the predicted object is the server's own answer.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._diff import is_subset, without_volatile
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    K8sError,
    ObjectStore,
    Resource,
    ResourceNotServed,
)

# One retry policy for optimistic-concurrency conflicts: re-read, re-compare, re-send.
CONFLICT_BACKOFF = (0.1, 0.3, 0.9)
# Set on the objects the modules create (never patched onto one found), the Kubernetes recommended
# label: ``state: absent`` deletes only an object carrying it (``ensure_absent(owned_only=True)``).
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kedaops.aks"


@dataclass
class Definition:
    """One object as a module wants it: where it lives and the fields the module owns."""

    resource: Resource
    name: str
    namespace: str | None
    owned: dict[str, Any]  # partial object: metadata.labels/annotations, spec, ...
    # Owned paths compared for equality rather than as a subset: values the server never
    # defaults (KEDA triggers), so a key the user removed counts as a change.
    exact: tuple[tuple[str, ...], ...] = ()
    # Labels set only when the module creates the object (never patched onto one it found): the
    # mark by which a later ``state: absent`` knows the object is ours to delete.
    created_labels: dict[str, str] = field(default_factory=dict)

    def manifest(self, created: bool = True) -> dict[str, Any]:
        """The full object to create: owned fields without the ``None`` (absent) markers; with
        ``created=False`` the object as someone else creates it and we then patch (no ``created_labels``)."""
        body = prune(copy.deepcopy(self.owned)) or {}
        metadata = dict(body.pop("metadata", None) or {}, name=self.name)
        if self.created_labels and created:
            metadata["labels"] = {**self.created_labels, **(metadata.get("labels") or {})}
        if self.resource.namespaced:
            metadata["namespace"] = self.namespace
        return {"apiVersion": self.resource.api_version, "kind": self.resource.kind, "metadata": metadata, **body}

    def matches(self, live: dict[str, Any]) -> bool:
        """Every owned field already has its value on the live object."""
        return is_subset(self.owned, live) and all(_at(self.owned, path) == _at(live, path) for path in self.exact)

    @property
    def ref(self) -> str:
        return self.resource.ref(self.name, self.namespace)


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def prune(value: Any) -> Any:
    """Drop ``None`` values (and the dicts they leave empty) at every depth."""
    if isinstance(value, dict):
        pruned = {}
        for key, item in value.items():
            if item is None:
                continue
            kept = prune(item)
            if isinstance(item, dict) and item and not kept:
                continue  # held only absent markers
            pruned[key] = kept
        return pruned
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


@dataclass(frozen=True)
class Missing:
    """What ``ensure_present`` does when the object does not exist: ``action`` "create" it, "fail" with
    ``message``, or "ignore" it (nothing to change). With ``in_check_mode``, a missing object that would fail
    is predicted in check mode instead (with that warning): an earlier task the check did not run would
    create it."""

    action: str = "create"
    message: str | None = None
    in_check_mode: str | None = None


CREATE, IGNORE = Missing(), Missing("ignore")


def ensure_present(api: ObjectStore, definition: Definition, *, check_mode: bool, missing: Missing = CREATE,
                   create_namespace: bool = False, before_write: Callable[[], None] | None = None) -> Outcome:
    """Make the owned fields true; ``missing`` says what a missing object means. ``before_write`` runs
    once, only if something is written."""
    resource, name, namespace = definition.resource, definition.name, definition.namespace
    checked = False
    last_error: K8sError | None = None
    for delay in (0.0,) + CONFLICT_BACKOFF:
        if delay:
            time.sleep(delay)
        try:
            existing = api.get(resource, name, namespace)
        except ResourceNotServed as e:
            if check_mode:
                return Outcome(True, None, definition.manifest(created=missing.action == "create"),
                               [f"{e.message}: check mode predicts the object a run would create once it is"])
            raise
        if existing is None:
            if missing.action == "ignore":
                return Outcome(False, None, None)
            if missing.action == "fail" and check_mode and missing.in_check_mode:
                # An earlier task of the same run (the add-on, the chart) would create it, and this one
                # only patches it: our creation-only label is not predicted (the run never sets it).
                return Outcome(True, None, definition.manifest(created=False), [missing.in_check_mode])
            if missing.action == "fail":
                raise K8sError(404, "NotFound", missing.message or f"{definition.ref} does not exist")
            if before_write and not checked:
                before_write()
                checked = True
            try:
                created = _create(api, definition, check_mode, create_namespace)
            except K8sError as e:
                if e.code == 409 and e.reason == "AlreadyExists":
                    last_error = e  # created meanwhile by someone else: compare with theirs
                    continue
                raise
            return Outcome(True, None, created)
        if definition.matches(existing):
            return Outcome(False, existing, existing)
        if before_write and not checked:
            before_write()
            checked = True
        patch = copy.deepcopy(definition.owned)
        patch.setdefault("metadata", {})["resourceVersion"] = existing["metadata"].get("resourceVersion")
        try:
            patched = api.patch(resource, name, patch, namespace, dry_run=check_mode)
        except K8sError as e:
            if e.code == 409:
                last_error = e
                continue
            raise
        return Outcome(without_volatile(existing) != without_volatile(patched), existing, patched)
    if last_error is None:
        raise RuntimeError("unreachable: every attempt either returns or records a 409")
    raise last_error


def _create(api: ObjectStore, definition: Definition, check_mode: bool, create_namespace: bool) -> dict:
    resource, namespace = definition.resource, definition.namespace
    manifest = definition.manifest()
    try:
        return api.create(resource, manifest, namespace, dry_run=check_mode)
    except K8sError as e:
        if not (create_namespace and e.code == 404 and e.details.get("kind") == "namespaces"):
            raise
    try:
        # The label lets a teardown tell a namespace we created from one that was already there.
        api.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}},
                   dry_run=check_mode)
    except K8sError as e:
        if not (e.code == 409 and e.reason == "AlreadyExists"):
            raise
    if check_mode:
        # The server cannot dry-run an object into a namespace that exists only as a dry run.
        return manifest
    return api.create(resource, manifest, namespace)


def created_by_us(obj: dict[str, Any] | None) -> bool:
    """The object carries our creation-only marker (docs/ownership.md): the managed-by label."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def not_ours(what: str) -> str:
    """Why an object was kept: one wording for every Kubernetes kind (docs/ownership.md)."""
    return f"{what} was not created by kedaops.aks (no {MANAGED_BY_LABEL}={MANAGED_BY} label): kept"


def ensure_absent(api: ObjectStore, resource: Resource, name: str, namespace: str | None, *,
                  check_mode: bool, owned_only: bool = False) -> Outcome:
    """Delete the object. With ``owned_only`` (the ownership rule), only one carrying our
    ``created_by_us`` label: any other is kept with a warning naming it, ``changed: false``."""
    try:
        existing = api.get(resource, name, namespace)
    except ResourceNotServed:
        return Outcome(False, None, None)  # without the CRD no such object can exist
    if existing is None:
        return Outcome(False, None, None)
    if owned_only and not created_by_us(existing):
        return Outcome(False, existing, existing, [not_ours(resource.ref(name, namespace))], kept=True)
    api.delete(resource, name, namespace, dry_run=check_mode)
    return Outcome(True, existing, None)


def clean(obj: dict | None) -> dict:
    """An object as modules return it: without managedFields noise."""
    if not obj:
        return {}
    result = copy.deepcopy(obj)
    (result.get("metadata") or {}).pop("managedFields", None)
    return result


def viewed(outcome: Outcome, key: str, view: Callable[[dict | None], Any] = clean) -> Outcome:
    """The outcome as a module returns it: ``view`` of the object under ``key``, and the diff pair through
    ``view`` without the metadata the server rewrites."""
    before = view(without_volatile(outcome.before)) if outcome.before else None
    after = view(without_volatile(outcome.after)) if outcome.after else None
    return replace(outcome, before=before, after=after, values={**outcome.values, key: view(outcome.after)})
