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
runner (``_k8s.ensure_present`` / ``ensure_absent``, fed the listed objects through
``ListedApi`` instead of one GET each), the credential planner with its limit and
issuer+subject refusals (``_azure_msi.plan_credential``), the per-identity write lock and the 409
retry, and ``_azure_rbac.ensure_assignment_present``. Identities are worked on in parallel
threads; the federated credential writes of one identity are serialised (Azure answers
overlapping writes under one identity with a 409).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_workload_sa as workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils import _keda as keda
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, azure_errors
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
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import Definition, Outcome, ensure_present
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID

# Stands in for identity ids while the input is validated (before anything is read) and, in
# check mode, for an identity that does not exist yet.
PRINCIPAL_TYPE = "ServicePrincipal"
UNKNOWN_ISSUER = "https://issuer.unknown/"

BINDING_OPTIONS: dict[str, Any] = {
    "namespace": {"type": "str", "required": True},
    "service_account": {"type": "str", "required": True},
    "identity": {"type": "str", "required": True},
    "identity_resource_group": {"type": "str"},
    "credential_name": {"type": "str"},
    "create_namespace": {"type": "bool", "default": True},
    "service_account_labels": {"type": "dict"},
    "token_expiration": {"type": "int", "no_log": False},
    "trigger_auth": {"type": "dict", "options": {
        "name": {"type": "str", "required": True},
        "identity_tenant_id": {"type": "str"},
        "identity_authority_host": {"type": "str"},
    }},
    "scaled_object": {"type": "dict", "options": keda.SCALED_OBJECT_OPTIONS},
    "role_assignments": {"type": "list", "elements": "dict", "default": [], "options": {
        "scope": {"type": "str", "required": True},
        "role": {"type": "str", "required": True},
    }},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}

ARGSPEC: dict[str, Any] = {
    "resource_group": {"type": "str"},
    "issuer": {"type": "str"},
    "audiences": {"type": "list", "elements": "str", "default": [msi.DEFAULT_AUDIENCE]},
    "bindings": {"type": "list", "elements": "dict", "required": True, "options": BINDING_OPTIONS},
    "list_scope": {"type": "str", "choices": ["cluster", "namespace"], "default": "cluster"},
    "parallel": {"type": "int", "default": 5},
    "timeout": {"type": "int", "default": 300},
}


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class Identity:
    resource_group: str
    name: str
    state: dict[str, Any] | None = None  # msi.identity_state, None until read (or when missing)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    missing: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.resource_group.lower(), self.name.lower())

    @property
    def ref(self) -> str:
        return f"{self.resource_group}/{self.name}"

    @property
    def client_id(self) -> str:
        return (self.state or {}).get("client_id") or NIL_GUID

    @property
    def tenant_id(self) -> str | None:
        return (self.state or {}).get("tenant_id")

    @property
    def principal_id(self) -> str:
        return (self.state or {}).get("principal_id") or NIL_GUID


@dataclass
class Binding:
    index: int
    params: dict[str, Any]
    identity: Identity
    credential_name: str
    subject: str
    # The desired Kubernetes objects, from the per-item builders (built again with the real client
    # id once the identity has been read).
    service_account: workload_sa.ServiceAccountPlan | None = None
    trigger_auth: keda.KedaPlan | None = None
    scaled_object: keda.KedaPlan | None = None
    actions: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"bindings[{self.index}]"

    @property
    def namespace(self) -> str:
        return self.params["namespace"]

    @property
    def state(self) -> str:
        return self.params["state"]

    def result(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "service_account": self.params["service_account"],
            "identity": self.identity.name,
            "client_id": (self.identity.state or {}).get("client_id"),
            "credential_name": self.credential_name,
            "state": self.state,
            "changed": any(_is_change(a) for a in self.actions.values()),
            "actions": dict(self.actions),
        }


def _is_change(action: Any) -> bool:
    if isinstance(action, list):
        return any(_is_change(a) for a in action)
    if isinstance(action, dict):
        return _is_change(action.get("action"))
    return action in ("created", "updated", "deleted")


def _prefixed(where: str, error: Exception) -> Exception:
    """The per-item rule's message, naming the binding it came from."""
    return type(error)(f"{where}.{error}")


def _k8s_params(binding: dict[str, Any], identity: Identity) -> tuple[dict, dict | None, dict | None]:
    """The per-item modules' parameters for this binding's three Kubernetes objects."""
    state = binding["state"]
    sa = {"namespace": binding["namespace"], "name": binding["service_account"], "client_id": identity.client_id,
          "tenant_id": identity.tenant_id, "token_expiration": binding.get("token_expiration"),
          "labels": binding.get("service_account_labels"), "create": True,
          "create_namespace": binding.get("create_namespace"), "state": state}
    ta = None
    if binding.get("trigger_auth"):
        spec = binding["trigger_auth"]
        ta = {"kind": "TriggerAuthentication", "name": spec["name"], "namespace": binding["namespace"],
              "provider": "azure-workload", "identity_id": identity.client_id,
              "identity_tenant_id": spec.get("identity_tenant_id"),
              "identity_authority_host": spec.get("identity_authority_host"), "state": state}
    so = None
    if binding.get("scaled_object"):
        so = dict(binding["scaled_object"], namespace=binding["namespace"], state=state)
    return sa, ta, so


def build_k8s_plans(binding: Binding) -> None:
    """The desired Kubernetes objects, by the per-item modules' builders (same rules, same messages)."""
    sa, ta, so = _k8s_params(binding.params, binding.identity)
    try:
        binding.service_account = workload_sa.build(sa)
        binding.trigger_auth = keda.build_trigger_auth(ta) if ta else None
        binding.scaled_object = keda.build_scaled_object(so) if so else None
    except OptionError as e:
        raise _prefixed(binding.where, e) from None


def plan_bindings(params: dict[str, Any], check_mode: bool = False
                  ) -> tuple[list[Binding], dict[tuple[str, str], Identity]]:
    """Every input rule, checked before anything is read: the per-item rules per object, and the
    rules that only a list can break (one binding per service account, one credential name per
    subject, at most 20 credentials per identity, one identity per TriggerAuthentication).

    In check mode the issuer may be unknown (a cluster whose OIDC issuer an earlier task would
    enable): the credentials are then checked with a stand-in, as federated_credential does.
    """
    if not params.get("bindings"):
        raise OptionError("bindings: at least one binding is required")
    if params["parallel"] < 1:
        raise OptionError("parallel: must be at least 1")
    identities: dict[tuple[str, str], Identity] = {}
    bindings: list[Binding] = []
    issuer, audiences = params.get("issuer"), params.get("audiences")
    for index, raw in enumerate(params["bindings"]):
        where = f"bindings[{index}]"
        group = raw.get("identity_resource_group") or params.get("resource_group")
        if not group:
            raise OptionError(f"{where}.identity_resource_group: required when resource_group is not set")
        identity = Identity(group, raw["identity"])
        identity = identities.setdefault(identity.key, identity)
        name = raw.get("credential_name") or f"{raw['namespace']}-{raw['service_account']}"
        subject = f"system:serviceaccount:{raw['namespace']}:{raw['service_account']}"
        binding = Binding(index, raw, identity, name, subject)
        build_k8s_plans(binding)
        try:
            if raw["state"] == "present" and not issuer and not check_mode:
                raise OptionError("issuer: required when a binding is present (the cluster's OIDC issuer URL)")
            msi.validate_credential(name, issuer or UNKNOWN_ISSUER, subject, audiences, raw["state"])
        except OptionError as e:
            raise OptionError(f"{where}: {e}") from None
        for position, assignment in enumerate(raw.get("role_assignments") or []):
            try:
                rbac.validate_assignment(assignment["scope"], assignment["role"], NIL_GUID, PRINCIPAL_TYPE)
            except OptionError as e:
                raise OptionError(f"{where}.role_assignments[{position}].{e}") from None
        bindings.append(binding)
    _check_list_rules(bindings)
    return bindings, identities


def _check_list_rules(bindings: list[Binding]) -> None:
    accounts: dict[tuple[str, str], Binding] = {}
    credentials: dict[tuple[tuple[str, str], str], Binding] = {}
    trigger_auths: dict[tuple[str, str], Binding] = {}
    scaled_objects: dict[tuple[str, str], Binding] = {}
    per_identity: dict[tuple[str, str], int] = {}
    for b in bindings:
        account = (b.namespace, b.params["service_account"])
        if account in accounts:
            raise OptionError(f"{b.where}: service account {account[0]}/{account[1]} is already bound by "
                              f"{accounts[account].where}; a service account is annotated for one identity")
        accounts[account] = b
        credential = (b.identity.key, b.credential_name.lower())
        if credential in credentials:
            raise OptionError(f"{b.where}.credential_name: '{b.credential_name}' is already used on identity "
                              f"{b.identity.ref} by {credentials[credential].where} (names are case-insensitive)")
        credentials[credential] = b
        if b.trigger_auth:
            key = (b.namespace, b.trigger_auth.definition.name)
            other = trigger_auths.get(key)
            if other and (other.identity.key != b.identity.key or other.state != b.state):
                raise OptionError(f"{b.where}.trigger_auth.name: TriggerAuthentication {key[0]}/{key[1]} is also "
                                  f"stated by {other.where} with another identity or state")
            trigger_auths.setdefault(key, b)
        if b.scaled_object:
            key = (b.namespace, b.scaled_object.definition.name)
            if key in scaled_objects:
                raise OptionError(f"{b.where}.scaled_object.name: ScaledObject {key[0]}/{key[1]} is already stated "
                                  f"by {scaled_objects[key].where}")
            scaled_objects[key] = b
        if b.state == "present":
            per_identity[b.identity.key] = per_identity.get(b.identity.key, 0) + 1
            if per_identity[b.identity.key] > msi.FIC_LIMIT:
                raise OptionError(f"{b.where}: identity {b.identity.ref} would need more than {msi.FIC_LIMIT} "
                                  f"federated credentials, the Entra limit per identity; spread the bindings over "
                                  f"more identities")


# --- Kubernetes: list once, then the per-item runner ---------------------------------------------


def _key(resource: Resource, name: str, namespace: str | None) -> tuple[str, str, str]:
    return (resource.kind, namespace or "", name)


class ListedApi:
    """An ``Api`` whose reads are answered from list calls made up front.

    ``_k8s.ensure_present`` reads an object, compares, then writes; fed from the listing, it makes
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
                self.index[_key(resource, metadata.get("name", ""), metadata.get("namespace"))] = item

    def _covers(self, resource: Resource, namespace: str | None) -> bool:
        return (resource.kind, "") in self.listed or (resource.kind, namespace or "") in self.listed

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        if resource.kind in self.unserved:
            raise self.unserved[resource.kind]
        key = _key(resource, name, namespace)
        with self.lock:
            if key not in self.stale and (key in self.index or self._covers(resource, namespace)):
                return self.index.get(key)
        return self.api.get(resource, name, namespace)

    def _remember(self, resource: Resource, name: str, namespace: str | None, obj: dict | None) -> None:
        with self.lock:
            key = _key(resource, name, namespace)
            self.index[key] = obj
            self.stale.discard(key)

    def _write(self, resource: Resource, name: str, namespace: str | None, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except K8sError as e:
            if e.code == 409:
                with self.lock:
                    self.stale.add(_key(resource, name, namespace))
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


def _action(outcome: Outcome) -> str:
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
        self.listed: ListedApi | None = None

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

    def run(self) -> dict[str, Any]:
        self.bindings, self.identities = plan_bindings(self.params, self.check_mode)
        if not self.params.get("issuer") and any(b.state == "present" for b in self.bindings):
            self.warn("issuer is not known yet (check mode); the federated credentials would be written once it is")
        self.listed = ListedApi(self.connect_k8s())  # sends nothing yet
        self._prepare_azure()
        with self._pool() as pool:
            list(pool.map(self._read_identity, self.identities.values()))
        self._raise_failures()
        for binding in self.bindings:
            build_k8s_plans(binding)  # again, now with the identities' real client ids
        self._read_kubernetes()
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
        plans = []
        for binding in sorted(bindings, key=lambda b: b.state != "absent"):
            if binding.state == "absent":
                current = msi.find_credential(working, binding.credential_name)
                plans.append((binding, current, {} if current else None))
                if current:
                    working.remove(current)
                continue
            try:
                current, desired = msi.plan_credential(working, identity.name, binding.credential_name, issuer,
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
                    written = self._write_credential(identity, binding, current, desired)
                except AzureError as e:
                    self._fail(f"{binding.where}.credential", e)
                    binding.actions["credential"] = "failed"
                    continue
                self._credential_done(identity, binding, current, desired, written)

    def _write_credential(self, identity: Identity, binding: Binding, current: dict | None,
                          desired: dict | None) -> dict | None:
        if desired is None:
            return current
        if not desired:
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
                jobs = [(NAMESPACE, None)] + [(kind, None) for kind in kinds]
            else:
                jobs = [(kind, namespace) for kind in kinds for namespace in namespaces]
                for namespace in namespaces:
                    found = listed.api.get(NAMESPACE, namespace)
                    listed.index[_key(NAMESPACE, namespace, None)] = found
            with self._pool() as pool:
                list(pool.map(lambda job: listed.load(*job), jobs))
        except K8sError as e:
            self._fail("kubernetes", e)
            self._raise_failures()
        for namespace in namespaces:
            if listed.index.get(_key(NAMESPACE, namespace, None)) is None:
                listed.missing_namespaces.add(namespace)
        if listed.unserved and not self.check_mode:
            # Fail before any write, as the per-item modules do, rather than once per binding.
            for kind in kinds:
                if kind.kind in listed.unserved:
                    self._fail("kubernetes", listed.unserved[kind.kind])
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
                self._ensure_k8s(binding, label, plan.definition.ref, lambda p=plan, e=ensure: e(p), view)


def _clean_view(obj: dict | None) -> Any:
    from ansible_collections.kedaops.aks.plugins.module_utils._diff import without_volatile
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import clean
    return clean(without_volatile(obj)) if obj else None


def _namespace_view(obj: dict | None) -> Any:
    return {"name": (obj.get("metadata") or {}).get("name")} if obj else None
