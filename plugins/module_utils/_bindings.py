# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many workload bindings reconciled in one process (the ``workload_bindings`` module).

A binding is the whole chain for one workload: namespace, annotated service account, federated
credential on the identity, TriggerAuthentication, ScaledObject and the identity's role
assignments. Per-item tasks pay a process, the imports and a token for every object (600+ runs
for 100 bindings); here they are paid once, and the reads are a handful of list calls:

- Kubernetes: one list per kind (namespaces, service accounts, TriggerAuthentications,
  ScaledObjects), cluster-wide or per namespace;
- Azure: per identity, one GET of the identity and one list of its federated credentials.

Only differences are written. Every decision is made by the per-item modules' own code, imported:
option rules and desired objects (``_k8s_workload_sa.build``, ``_keda.build_*``,
``_azure_msi.validate_credential``, ``_azure_rbac.validate_assignment``), the compare-and-write
runner (``_k8s_runner.ensure_present`` / ``ensure_absent``, fed the listed objects through
``_k8s_listed.ListedApi`` instead of one GET each), the credential planner with its limit and
issuer+subject refusals (``_azure_msi.plan_credential``), the per-identity write lock and the 409
retry, and ``_azure_rbac.ensure_assignment_present``. Identities are worked on in parallel
threads; the federated credential writes of one identity are serialised (Azure answers
overlapping writes under one identity with a 409).

The core: ``build`` (``_bindings_plan.plan_bindings``, every binding through ``_bulk.build_items``),
``apply`` (a ``Reconciler``: ``_bindings_azure`` and ``_bindings_k8s`` over ``_bindings_run``'s state),
``RESOURCE``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_azure import AzureSide
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_k8s import KubernetesSide
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_plan import (
    ARGSPEC,
    Binding,
    BindingsPlan,
    build_k8s_plans,
    plan_bindings,
)
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

ARGUMENT_SPEC = ARGSPEC


class Reconciler(AzureSide, KubernetesSide):
    """One run over every binding: Azure's identities and Kubernetes' namespaces in worker threads."""

    def run(self) -> Outcome:
        if self.plan.issuer_required_by and not self.check_mode:
            raise OptionError(f"{self.plan.issuer_required_by}: issuer: required when a binding is present "
                              "(the cluster's OIDC issuer URL)")
        if not self.params.get("issuer") and any(b.state == "present" for b in self.bindings):
            self.warn("issuer is not known yet (check mode); the federated credentials would be written once it is")
        for message in msi.issuer_warnings(self.params.get("issuer")):
            self.warn(message)
        self._prepare_azure()
        with self._pool() as pool:
            list(pool.map(self._read_identity, self.identities.values()))
        self._raise_failures()
        for binding in self.bindings:
            build_k8s_plans(binding)  # again, now with the identities' real client ids
        self._read_kubernetes()
        self._check_scaled_objects()
        by_identity: dict[tuple[str, str], list[Binding]] = {}
        by_namespace: dict[str, list[Binding]] = {}
        for binding in self.bindings:
            by_identity.setdefault(binding.identity.key, []).append(binding)
            by_namespace.setdefault(binding.namespace, []).append(binding)
        # Two pools, so that Kubernetes work does not queue behind an identity's serialised writes.
        with self._pool() as azure_pool, self._pool() as k8s_pool:
            jobs = [azure_pool.submit(self._converge_identity, self.identities[key], group)
                    for key, group in by_identity.items()]
            jobs += [k8s_pool.submit(self._converge_namespace, namespace, group)
                     for namespace, group in by_namespace.items()]
            for job in jobs:
                job.result()
        self._raise_failures()
        return self.outcome()


def build(params: dict[str, Any]) -> BindingsPlan:
    return plan_bindings(params)


def apply(connection: Connection, plan: BindingsPlan, check_mode: bool) -> Outcome:
    return Reconciler(plan, connection.azure, connection.k8s, check_mode).run()


RESOURCE = Resource("workload_bindings", ARGUMENT_SPEC, build, apply, azure=True, k8s=True)
