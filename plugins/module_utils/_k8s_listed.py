# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes read caches for many objects at once. ``ListedApi`` answers the runner's reads from
list calls made up front and follows the run's own writes. It serves the same ``ObjectStore``
protocol as ``Api``, so ``_k8s_runner.ensure_present`` / ``ensure_absent`` run over it unchanged.
``PrefetchedApi`` answers each object's first read from a GET made side by side with the others'."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    Api,
    K8sError,
    Resource,
    ResourceNotServed,
)


def object_key(resource: Resource, name: str, namespace: str | None) -> tuple[str, str, str]:
    return (resource.kind, namespace or "", name)


class ListedApi:
    """An ``Api`` whose reads are answered from list calls made up front.

    ``_k8s_runner.ensure_present`` reads an object, compares, then writes; fed from the listing, it makes
    no request for an object that already matches. The index follows our own writes, so a
    ScaledObject's TriggerAuthentication created earlier in the run is found (in check mode, the
    dry-run answer stands in for it). After a conflict (409) the object is read from the server
    again, as the runner's retry expects.
    """

    def __init__(self, api: Api):
        self.api = api
        self.lock = threading.Lock()
        self.index: dict[tuple[str, str, str], dict | None] = {}
        self.listed: set[tuple[str, str]] = set()  # (kind, namespace or "") fully listed
        self.unserved: dict[str, ResourceNotServed] = {}
        self.stale: set[tuple[str, str, str]] = set()
        self.missing_namespaces: set[str] = set()

    def load(self, resource: Resource, namespace: str | None = None) -> None:
        try:
            items = self.api.list(resource, namespace)
        except ResourceNotServed as e:
            self.unserved[resource.kind] = e
            return
        with self.lock:
            self.listed.add((resource.kind, namespace or ""))
            for item in items:
                metadata = item.get("metadata") or {}
                # A list's items carry no kind/apiVersion; the runner's diff wants whole objects.
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                self.index[object_key(resource, metadata.get("name", ""), metadata.get("namespace"))] = item

    def _covers(self, resource: Resource, namespace: str | None) -> bool:
        return (resource.kind, "") in self.listed or (resource.kind, namespace or "") in self.listed

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        if resource.kind in self.unserved:
            raise self.unserved[resource.kind]
        key = object_key(resource, name, namespace)
        with self.lock:
            if key not in self.stale and (key in self.index or self._covers(resource, namespace)):
                return self.index.get(key)
        return self.api.get(resource, name, namespace)

    def _remember(self, resource: Resource, name: str, namespace: str | None, obj: dict | None) -> None:
        with self.lock:
            key = object_key(resource, name, namespace)
            self.index[key] = obj
            self.stale.discard(key)

    def _write(self, resource: Resource, name: str, namespace: str | None, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except K8sError as e:
            if e.code == 409:
                with self.lock:
                    self.stale.add(object_key(resource, name, namespace))
            raise

    def create(self, resource: Resource, body: dict, namespace: str | None = None, dry_run: bool = False) -> dict:
        name = (body.get("metadata") or {}).get("name", "")
        if dry_run and resource.namespaced and namespace in self.missing_namespaces:
            # The server cannot dry-run an object into a namespace that exists only as a dry run
            # (the per-item runner predicts the same way).
            created = body
        else:
            created = self._write(resource, name, namespace,
                                  lambda: self.api.create(resource, body, namespace, dry_run=dry_run))
        if resource is NAMESPACE and not dry_run:
            self.missing_namespaces.discard(name)
        self._remember(resource, name, namespace, created)
        return created

    def patch(self, resource: Resource, name: str, patch: dict, namespace: str | None = None,
              dry_run: bool = False) -> dict:
        patched = self._write(resource, name, namespace,
                              lambda: self.api.patch(resource, name, patch, namespace, dry_run=dry_run))
        self._remember(resource, name, namespace, patched)
        return patched

    def delete(self, resource: Resource, name: str, namespace: str | None = None, dry_run: bool = False) -> Any:
        result = self.api.delete(resource, name, namespace, dry_run=dry_run)
        self._remember(resource, name, namespace, None)
        return result


class PrefetchedApi:
    """An ``Api`` whose first read of each named object was made up front, side by side with the others
    (``reads`` for ``_core.side_by_side``): the objects of one task are independent until written, so their
    GETs need not wait for each other, and the cluster's latency is paid once for all of them.

    Each answer -- or the error it raised, re-raised at that object's turn, so a failure still comes after
    the writes of the items before it -- serves that object's first read only; every later read (a retry
    after a 409, a reference check) and every write goes to the server. A task sends the requests it would
    send one object at a time, only sooner."""

    def __init__(self, api: Api):
        self.api = api
        self.answers: dict[tuple[str, str, str], dict | K8sError | None] = {}

    def reads(self, objects: list[tuple[Resource, str, str | None]]) -> list[Callable[[], None]]:
        """One read per (resource, name, namespace), each keeping its answer for the object's first ``get``."""
        def read(resource: Resource, name: str, namespace: str | None) -> None:
            answer: dict | K8sError | None
            try:
                answer = self.api.get(resource, name, namespace)
            except K8sError as e:  # ResourceNotServed included: raised again where the runner reads
                answer = e
            self.answers[object_key(resource, name, namespace)] = answer
        return [partial(read, resource, name, namespace) for resource, name, namespace in objects]

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        key = object_key(resource, name, namespace)
        if key not in self.answers:
            return self.api.get(resource, name, namespace)
        answer = self.answers.pop(key)
        if isinstance(answer, K8sError):
            raise answer
        return answer

    def create(self, resource: Resource, body: dict, namespace: str | None = None, dry_run: bool = False) -> dict:
        return self.api.create(resource, body, namespace, dry_run=dry_run)

    def patch(self, resource: Resource, name: str, patch: dict, namespace: str | None = None,
              dry_run: bool = False) -> dict:
        return self.api.patch(resource, name, patch, namespace, dry_run=dry_run)

    def delete(self, resource: Resource, name: str, namespace: str | None = None, dry_run: bool = False) -> Any:
        return self.api.delete(resource, name, namespace, dry_run=dry_run)
