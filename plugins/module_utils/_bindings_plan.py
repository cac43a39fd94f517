# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input of ``workload_bindings``: its options, the bindings and identities they name, and
every rule checked before anything is read -- each binding validated with its own spec and built by
``_bulk.build_items`` (the per-item modules' rules, by their own builders, every refusal naming
``bindings[3].scaled_object.min_replicas``), then the rules only a list can break. ``_bindings``
reconciles the plan."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_workload_sa as workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils import _keda as keda
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils._bulk import build_items
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID

PRINCIPAL_TYPE = "ServicePrincipal"

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


@dataclass
class BindingsPlan:
    """Every binding, the identities they name (each once), and the options of the run.
    ``issuer_required_by``: the first present binding when no issuer is given -- refused unless in check
    mode, where an earlier task may enable the cluster's issuer (as federated_credential predicts)."""

    params: dict[str, Any]
    bindings: list[Binding]
    identities: dict[tuple[str, str], Identity]
    issuer_required_by: str | None = None


@dataclass
class _Built:
    """One binding's own part of the plan, from its validated options (``_bulk.build_items``)."""

    identity: Identity
    credential_name: str
    subject: str
    service_account: workload_sa.ServiceAccountPlan
    trigger_auth: keda.KedaPlan | None
    scaled_object: keda.KedaPlan | None


def _k8s_objects(params: dict[str, Any], identity: Identity
                 ) -> tuple[workload_sa.ServiceAccountPlan, keda.KedaPlan | None, keda.KedaPlan | None]:
    """The desired Kubernetes objects, by the per-item modules' builders (same rules, same messages, the
    TriggerAuthentication's and ScaledObject's named under their option)."""
    sa, ta, so = _k8s_params(params, identity)
    service_account = workload_sa.build(sa)
    try:
        trigger_auth = keda.build_trigger_auth(ta) if ta else None
    except OptionError as e:
        raise e.at("trigger_auth") from None
    try:
        scaled_object = keda.build_scaled_object(so) if so else None
    except OptionError as e:
        raise e.at("scaled_object") from None
    return service_account, trigger_auth, scaled_object


def _build_binding(params: dict[str, Any], resource_group: str | None) -> _Built:
    """The rules of one binding (raised bare: ``build_items`` names the binding)."""
    group = params.get("identity_resource_group") or resource_group
    if not group:
        raise OptionError("identity_resource_group: required when resource_group is not set")
    identity = Identity(group, params["identity"])
    objects = _k8s_objects(params, identity)
    for position, assignment in enumerate(params.get("role_assignments") or []):
        try:
            rbac.validate_assignment(assignment["scope"], assignment["role"], NIL_GUID, PRINCIPAL_TYPE)
        except OptionError as e:
            raise e.at(f"role_assignments[{position}]") from None
    name = params.get("credential_name") or f"{params['namespace']}-{params['service_account']}"
    subject = f"system:serviceaccount:{params['namespace']}:{params['service_account']}"
    return _Built(identity, name, subject, *objects)


def build_k8s_plans(binding: Binding) -> None:
    """The desired Kubernetes objects again, now with the identity's real client id."""
    try:
        binding.service_account, binding.trigger_auth, binding.scaled_object = _k8s_objects(
            binding.params, binding.identity)
    except OptionError as e:
        raise e.at(binding.where) from None


def plan_bindings(params: dict[str, Any]) -> BindingsPlan:
    """Every input rule, checked before anything is read: each binding with its own spec and the per-item
    rules per object, then the rules that only a list can break (one binding per service account, one
    credential name per subject, at most 20 credentials per identity, one identity per TriggerAuthentication).

    The issuer may be unknown in check mode (a cluster whose OIDC issuer an earlier task would enable): the
    credentials are then checked with a stand-in, as federated_credential does.
    """
    if not params.get("bindings"):
        raise OptionError("bindings: at least one binding is required")
    if params["parallel"] < 1:
        raise OptionError("parallel: must be at least 1")
    items = build_items(params["bindings"], "bindings", BINDING_OPTIONS,
                        functools.partial(_build_binding, resource_group=params.get("resource_group")))
    identities: dict[tuple[str, str], Identity] = {}
    bindings: list[Binding] = []
    issuer, audiences = params.get("issuer"), params.get("audiences")
    required_by = None
    for index, item in enumerate(items):
        built = item.plan
        identity = identities.setdefault(built.identity.key, built.identity)
        binding = Binding(index, item.params, identity, built.credential_name, built.subject,
                          built.service_account, built.trigger_auth, built.scaled_object)
        if item.params["state"] == "present" and not issuer and required_by is None:
            required_by = item.path
        try:
            msi.validate_credential(binding.credential_name, issuer or msi.UNKNOWN_ISSUER, binding.subject,
                                    audiences, item.params["state"])
        except OptionError as e:
            raise e.at(item.path, ": ") from None
        bindings.append(binding)
    _check_list_rules(bindings)
    return BindingsPlan(params, bindings, identities, required_by)


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
    # KEDA's webhook: one ScaledObject per workload and per HPA name (_keda_conflicts).
    conflicts.check_unique_targets([(f"{b.where}.scaled_object",) + b.scaled_object.scaled_object_item[1:]
                                    for b in bindings if b.scaled_object and b.scaled_object.scaled_object_item])
