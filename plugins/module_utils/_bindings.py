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
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_workload_sa as workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils import _keda as keda
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, azure_errors
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_plan import (
    PRINCIPAL_TYPE,
    Binding,
    Identity,
    build_k8s_plans,
    plan_bindings,
)
from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure, OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    SCALED_OBJECT,
    SERVICE_ACCOUNT,
    TRIGGER_AUTHENTICATION,
    Api,
    K8sError,
    Resource,
    ResourceNotServed,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_listed import ListedApi, object_key
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import Definition, ensure_present
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID


def _action(outcome: Outcome) -> str:
    if outcome.kept:
        return "kept"  # not ours (no managed-by label): state absent left it, with a warning
    if not outcome.changed:
        return "unchanged"
    if outcome.before is None:
        return "created"
    return "deleted" if outcome.after is None else "updated"


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Failure:
    where: str
    error: Exception

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"where": self.where, "msg": _message(self.error)}
        if isinstance(self.error, (AzureError, K8sError)):
            entry["error"] = self.error.as_dict()
        return entry


def _message(error: Exception) -> str:
    if isinstance(error, AzureError):
        return error.msg
    if isinstance(error, ResourceNotServed):
        return error.message
    if isinstance(error, K8sError):
        return f"{error.reason} ({error.code}): {error.message}"
    return str(error)


class BindingsFailed(ModuleFailure):
    """Some writes failed; ``result`` still says what the run did."""

    def __init__(self, failures: list[Failure], result: dict[str, Any]):
        first = failures[0]
        more = f" (and {len(failures) - 1} more failure(s), see errors)" if len(failures) > 1 else ""
        super().__init__(f"{first.where}: {_message(first.error)}{more}")
        self.failures = failures
        self.result = result

    @property
    def error(self) -> dict[str, Any] | None:
        first = self.failures[0].error
        return first.as_dict() if isinstance(first, (AzureError, K8sError)) else None

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), "error": self.error, "errors": [f.as_dict() for f in self.failures], **self.result}


class Reconciler:
    """One run over every binding. ``warn`` receives warnings; ``connect_k8s`` builds the transport."""

    def __init__(self, params: dict[str, Any], conn: AzureConnection, connect_k8s: Callable[[], Api],
                 check_mode: bool, want_diff: bool, warn: Callable[[str], None]):
        self.params = params
        self.conn = conn
        self.connect_k8s = connect_k8s
        self.check_mode = check_mode
        self.want_diff = want_diff
        self._warn = warn
        self._warned: set[str] = set()
        self.timeout = float(params["timeout"])
        self.lock = threading.Lock()
        self.failures: list[Failure] = []
        self.diff_before: dict[str, Any] = {}
        self.diff_after: dict[str, Any] = {}
        self.bindings: list[Binding] = []
        self.identities: dict[tuple[str, str], Identity] = {}
        # One entry per assignment (bindings of one identity share theirs): (identity, scope, role) -> action.
        self.assignments: dict[tuple[tuple[str, str], str, str], str] = {}
        self._listed: ListedApi | None = None

    # -- bookkeeping (called from worker threads) -------------------------------------------------

    def _record(self, ref: str, before: Any, after: Any, changed: bool) -> None:
        if changed and self.want_diff:
            with self.lock:
                self.diff_before[ref] = before
                self.diff_after[ref] = after

    def warn(self, message: str) -> None:
        """Each warning once (a missing CRD would otherwise be reported for every binding)."""
        with self.lock:
            if message in self._warned:
                return
            self._warned.add(message)
        self._warn(message)

    def _fail(self, where: str, error: Exception) -> None:
        with self.lock:
            self.failures.append(Failure(where, error))

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.params["parallel"], thread_name_prefix="kedaops-bindings")

    # -- entry ------------------------------------------------------------------------------------

    @property
    def listed(self) -> ListedApi:
        """The Kubernetes read cache; ``run`` makes it before anything reads through it."""
        if self._listed is None:
            raise RuntimeError("the Kubernetes objects are read once run() has connected")
        return self._listed

    def run(self) -> dict[str, Any]:
        self.bindings, self.identities = plan_bindings(self.params, self.check_mode)
        if not self.params.get("issuer") and any(b.state == "present" for b in self.bindings):
            self.warn("issuer is not known yet (check mode); the federated credentials would be written once it is")
        for message in msi.issuer_warnings(self.params.get("issuer")):
            self.warn(message)
        self._listed = ListedApi(self.connect_k8s())  # sends nothing yet
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
        result = self._result()
        if self.failures:
            raise BindingsFailed(self.failures, result)
        return result

    def _raise_failures(self) -> None:
        if self.failures:
            raise BindingsFailed(self.failures, self._result())

    def _result(self) -> dict[str, Any]:
        bindings = [b.result() for b in self.bindings]
        summary: dict[str, dict[str, int]] = {}
        for binding in self.bindings:
            for kind, verb in binding.actions.items():
                if isinstance(verb, str):
                    counts = summary.setdefault(kind, {})
                    counts[verb] = counts.get(verb, 0) + 1
        for verb in self.assignments.values():
            counts = summary.setdefault("role_assignments", {})
            counts[verb] = counts.get(verb, 0) + 1
        result: dict[str, Any] = {
            "changed": any(b["changed"] for b in bindings),
            "bindings": bindings,
            "summary": summary,
            "identities": {i.ref: {k: (i.state or {}).get(k) for k in ("client_id", "principal_id", "tenant_id")}
                           for i in self.identities.values()},
        }
        if self.want_diff:
            result["diff"] = {"before": self.diff_before, "after": self.diff_after}
        return result

    # -- Azure ------------------------------------------------------------------------------------

    def _prepare_azure(self) -> None:
        """Build the credential and clients and fetch the token once, before the threads share them
        (the connection builds them lazily, and each client's auth policy would fetch its own)."""
        conn = self.conn
        conn.msi()
        scopes = {a["scope"] for b in self.bindings for a in b.params.get("role_assignments") or []}
        for scope in scopes:
            conn.authorization(rbac.subscription_of(scope))
        with azure_errors("authenticating to Azure"):
            conn.credential.get_token(conn.cloud.scope)

    def _read_identity(self, identity: Identity) -> None:
        try:
            identity.state = msi.get_identity(self.conn, identity.resource_group, identity.name)
            if identity.state is None:
                identity.missing = True
                present = any(b.identity is identity and b.state == "present" for b in self.bindings)
                if not present:
                    return
                if not self.check_mode:
                    raise AzureError(
                        f"Managed identity {identity.ref} does not exist; create it first (kedaops.aks.managed_identity, "
                        f"or the workload_bindings role's workload_bindings_identities)",
                        code="ResourceNotFound", status=404)
                self.warn(f"managed identity {identity.ref} does not exist yet: check mode predicts its bindings "
                          f"with client id {NIL_GUID}")
                return
            identity.credentials = msi.list_credentials(self.conn, identity.resource_group, identity.name)
        except (AzureError, OptionError) as e:
            self._fail(f"identity {identity.ref}", e)

    def _plan_credentials(self, identity: Identity, credentials: list[dict[str, Any]],
                          bindings: list[Binding]) -> list[tuple[Binding, dict | None, dict | None]]:
        """(binding, current, desired) per binding; desired None = nothing to do, {} = delete.

        The planner sees the credentials the earlier bindings will add, so the 21st is refused;
        a refused binding is reported as failed and the others go on, as separate tasks would.
        Deletions are planned first: they make room under the limit.
        """
        issuer, audiences = self.params.get("issuer"), self.params["audiences"]
        working = list(credentials)
        plans: list[tuple[Binding, dict | None, dict | None]] = []
        for binding in sorted(bindings, key=lambda b: b.state != "absent"):
            if binding.state == "absent":
                current = msi.find_credential(working, binding.credential_name)
                plans.append((binding, current, {} if current else None))
                if current:
                    working.remove(current)
                continue
            try:
                current, desired = msi.plan_credential(working, identity.name, binding.credential_name, issuer,  # type: ignore[arg-type]
                                                       binding.subject, audiences)
            except AzureError as e:
                self._fail(f"{binding.where}.credential", e)
                binding.actions["credential"] = "failed"
                continue
            if desired is not None:
                if current is not None:
                    working.remove(current)
                working.append({**desired, "id": desired["id"] or msi.credential_id(self.conn, identity.resource_group, identity.name, desired["name"])})
            plans.append((binding, current, desired))
        return plans

    def _converge_identity(self, identity: Identity, bindings: list[Binding]) -> None:
        try:
            self._converge_credentials(identity, bindings)
        except (AzureError, OptionError) as e:
            self._fail(f"identity {identity.ref}", e)
        self._converge_roles(identity, bindings)

    def _converge_credentials(self, identity: Identity, bindings: list[Binding]) -> None:
        issuer = self.params.get("issuer") or ""
        plans = self._plan_credentials(identity, identity.credentials, bindings)
        for binding, _current, _desired in plans:
            if binding.state == "present":
                for message in msi.near_misses(identity.credentials, issuer, binding.subject):
                    self.warn(f"{binding.where}: {message}")
        if not any(desired is not None for _b, _c, desired in plans) or self.check_mode or identity.missing:
            for binding, current, desired in plans:
                self._credential_done(identity, binding, current, desired, None)
            return
        lock_id = msi.identity_id(self.conn.subscription_id, identity.resource_group, identity.name)
        with msi.identity_write_lock(lock_id, self.timeout):
            # Another process may have written while we waited for the lock: plan again on fresh state.
            identity.credentials = msi.list_credentials(self.conn, identity.resource_group, identity.name)
            pending = [b for b in bindings if b.actions.get("credential") != "failed"]
            for binding, current, desired in self._plan_credentials(identity, identity.credentials, pending):
                try:
                    written = self._write_credential(identity, current, desired)
                except AzureError as e:
                    self._fail(f"{binding.where}.credential", e)
                    binding.actions["credential"] = "failed"
                    continue
                self._credential_done(identity, binding, current, desired, written)

    def _write_credential(self, identity: Identity, current: dict | None,
                          desired: dict | None) -> dict | None:
        if desired is None:
            return current
        if not desired:
            if current is not None:
                msi.delete_credential(self.conn, identity.resource_group, identity.name, current["name"], self.timeout)
            return None
        return msi.write_credential(self.conn, identity.resource_group, identity.name, desired, self.timeout)

    def _credential_done(self, identity: Identity, binding: Binding, current: dict | None, desired: dict | None,
                         written: dict | None) -> None:
        ref = f"FederatedIdentityCredential {identity.ref}/{binding.credential_name}"
        if desired is None:
            binding.actions["credential"] = "unchanged" if current else "absent"
            return
        if not desired:
            binding.actions["credential"] = "deleted"
            self._record(ref, current, None, True)
            return
        after = written or {**desired, "id": desired["id"] or msi.credential_id(self.conn, identity.resource_group, identity.name, desired["name"])}
        binding.actions["credential"] = "updated" if current else "created"
        self._record(ref, current, after, True)

    def _converge_roles(self, identity: Identity, bindings: list[Binding]) -> None:
        wanted: dict[tuple[str, str], list[Binding]] = {}
        unwanted: dict[tuple[str, str], list[Binding]] = {}
        for binding in bindings:
            target = wanted if binding.state == "present" else unwanted
            for assignment in binding.params.get("role_assignments") or []:
                target.setdefault((rbac.normalize_scope(assignment["scope"]), assignment["role"]), []).append(binding)
        # An assignment still wanted by a present binding of the identity stays (and an absent
        # binding that listed it is told so).
        for key in list(unwanted):
            if key in wanted:
                wanted[key].extend(unwanted.pop(key))
        for (scope, role), owners in list(wanted.items()) + list(unwanted.items()):
            present = (scope, role) in wanted
            try:
                if identity.missing:
                    changed, before, after = True, None, {"scope": scope, "role": role}
                elif present:
                    changed, before, after = rbac.ensure_assignment_present(
                        self.conn, scope, role, identity.principal_id, PRINCIPAL_TYPE, self.check_mode, self.timeout)
                else:
                    changed, before = rbac.ensure_assignment_absent(
                        self.conn, scope, role, identity.principal_id, PRINCIPAL_TYPE, self.check_mode)
                    after = None
            except (AzureError, OptionError) as e:
                self._fail(f"{owners[0].where}.role_assignments ({role} on {scope})", e)
                verb = "failed"
            else:
                verb = ("created" if present else "deleted") if changed else ("unchanged" if present else "absent")
                self._record(f"RoleAssignment {role} for {identity.ref} on {scope}", before, after, changed)
            with self.lock:
                self.assignments[(identity.key, scope, role)] = verb
            for binding in owners:
                binding.actions.setdefault("role_assignments", []).append(
                    {"scope": scope, "role": role, "action": verb})

    # -- Kubernetes -------------------------------------------------------------------------------

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
