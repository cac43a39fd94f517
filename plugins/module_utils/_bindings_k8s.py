# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``workload_bindings``' Kubernetes side: one list per kind (namespaces, service accounts,
TriggerAuthentications, ScaledObjects), cluster-wide or per namespace; KEDA's webhook rules checked
before any write (``_keda_conflicts``); each object decided and written by its per-item module's runner
(``_k8s_workload_sa.ensure``, ``_keda.ensure``) over the listed objects (``_k8s_listed.ListedApi``)."""

from __future__ import annotations

import functools
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_workload_sa as workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils import _keda as keda
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_plan import Binding
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_run import RunState
from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    SCALED_OBJECT,
    SERVICE_ACCOUNT,
    TRIGGER_AUTHENTICATION,
    K8sError,
    Resource,
    ResourceNotServed,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_listed import object_key
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import Definition, ensure_present


def _action(outcome: Outcome) -> str:
    if outcome.kept:
        return "kept"  # not ours (no managed-by label): state absent left it, with a warning
    if not outcome.changed:
        return "unchanged"
    if outcome.before is None:
        return "created"
    return "deleted" if outcome.after is None else "updated"


class KubernetesSide(RunState):
    """The namespaces' part of the run (each namespace in a worker thread)."""

    def _read_kubernetes(self) -> None:
        listed = self.listed
        namespaces = sorted({b.namespace for b in self.bindings})
        kinds = [SERVICE_ACCOUNT]
        if any(b.trigger_auth for b in self.bindings):
            kinds.append(TRIGGER_AUTHENTICATION)
        if any(b.scaled_object for b in self.bindings):
            kinds.append(SCALED_OBJECT)
        try:
            if self.params["list_scope"] == "cluster":
                jobs: list[tuple[Resource, str | None]] = [(NAMESPACE, None), *((kind, None) for kind in kinds)]
            else:
                jobs = [(kind, namespace) for kind in kinds for namespace in namespaces]
                for namespace in namespaces:
                    found = listed.api.get(NAMESPACE, namespace)
                    listed.index[object_key(NAMESPACE, namespace, None)] = found
            with self._pool() as pool:
                list(pool.map(lambda job: listed.load(*job), jobs))
        except K8sError as e:
            self._fail("kubernetes", e)
            self._raise_failures()
        for namespace in namespaces:
            if listed.index.get(object_key(NAMESPACE, namespace, None)) is None:
                listed.missing_namespaces.add(namespace)
        if listed.unserved and not self.check_mode:
            # Fail before any write, as the per-item modules do, rather than once per binding.
            for kind in kinds:
                if kind.kind in listed.unserved:
                    self._fail("kubernetes", listed.unserved[kind.kind])
            self._raise_failures()

    def _check_scaled_objects(self) -> None:
        """KEDA's webhook rules on other ScaledObjects and HPAs, before any write, for every binding whose
        ScaledObject would be written (one already as stated is left alone, as KEDA's webhook would be)."""
        listed = self.listed
        bindings = []
        for binding in self.bindings:
            plan = binding.scaled_object
            if plan is None or plan.scaled_object_item is None:
                continue
            plan.conflicts_checked = True
            try:
                live = listed.get(SCALED_OBJECT, plan.definition.name, plan.definition.namespace)
            except ResourceNotServed:
                live = None
            if live is None or not plan.definition.matches(live):
                bindings.append((binding, plan.scaled_object_item))
        if not bindings:
            return
        cluster_scope = self.params["list_scope"] == "cluster"
        hpas: list[dict[str, Any]] | None = None

        class Listing:
            # ScaledObjects from the listing already made; HPAs in one list (cluster scope) or one per namespace.
            @staticmethod
            def list(resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
                nonlocal hpas
                if resource.kind in listed.unserved:
                    raise listed.unserved[resource.kind]
                if resource == SCALED_OBJECT and listed._covers(resource, namespace):
                    return [obj for key, obj in list(listed.index.items())
                            if obj and key[0] == resource.kind and key[1] == (namespace or "")]
                if not cluster_scope:
                    return listed.api.list(resource, namespace)
                if hpas is None:
                    hpas = listed.api.list(resource)
                return [h for h in hpas if (h.get("metadata") or {}).get("namespace") == namespace]

        per_namespace: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for binding, item in bindings:
            try:
                conflicts.check_against_cluster(Listing(), [(f"{binding.where}.scaled_object",) + item[1:]],
                                                per_namespace)
            except (OptionError, K8sError) as e:
                self._fail(f"{binding.where}.scaled_object", e)
        self._raise_failures()

    def _ensure_k8s(self, binding: Binding, label: str, ref: str, outcome_of: Callable[[], Outcome],
                    view: Callable[[dict | None], Any]) -> bool:
        try:
            outcome = outcome_of()
        except (K8sError, OptionError) as e:
            self._fail(f"{binding.where}.{label}", e)
            binding.actions[label] = "failed"
            return False
        for message in outcome.warnings:
            self.warn(message)
        action = _action(outcome)
        binding.actions[label] = action if outcome.changed or outcome.before else "absent"
        self._record(ref, view(outcome.before), view(outcome.after), outcome.changed)
        return True

    def _converge_namespace(self, namespace: str, bindings: list[Binding]) -> None:
        api, check = self.listed, self.check_mode
        if namespace in api.missing_namespaces and any(b.state == "present" for b in bindings):
            creator = next((b for b in bindings if b.state == "present" and b.params.get("create_namespace")), None)
            if creator is None:
                for binding in bindings:
                    self._fail(f"{binding.where}.namespace", K8sError(
                        404, "NotFound", f'namespaces "{namespace}" not found (set create_namespace: true)'))
                return
            definition = Definition(NAMESPACE, namespace, None, {})
            if not self._ensure_k8s(creator, "namespace", definition.ref,
                                    lambda: ensure_present(api, definition, check_mode=check), _namespace_view):
                return
        trigger_auths_done: set[str] = set()
        for binding in bindings:
            if binding.identity.missing and binding.state == "present" and not check:
                continue
            steps: list[tuple[str, Any, Callable[[Any], Outcome], Callable[[dict | None], Any]]] = [
                ("service_account", binding.service_account, lambda p: workload_sa.ensure(api, p, check),
                 workload_sa.summary)]
            if binding.trigger_auth and binding.trigger_auth.definition.name not in trigger_auths_done:
                # Bindings of one namespace may share a TriggerAuthentication (same identity, checked up front).
                trigger_auths_done.add(binding.trigger_auth.definition.name)
                steps.append(("trigger_auth", binding.trigger_auth, lambda p: keda.ensure(api, p, check), _clean_view))
            if binding.scaled_object:
                steps.append(("scaled_object", binding.scaled_object, lambda p: keda.ensure(api, p, check),
                              _clean_view))
            if binding.state == "absent":
                steps.reverse()  # a scaler goes before the authentication and the account it uses
            for label, plan, ensure, view in steps:
                self._ensure_k8s(binding, label, plan.definition.ref, functools.partial(ensure, plan), view)


def _clean_view(obj: dict | None) -> Any:
    from ansible_collections.kedaops.aks.plugins.module_utils._diff import without_volatile
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import clean
    return clean(without_volatile(obj)) if obj else None


def _namespace_view(obj: dict | None) -> Any:
    return {"name": (obj.get("metadata") or {}).get("name")} if obj else None
