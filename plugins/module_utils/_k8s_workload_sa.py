# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service-account end of the workload identity trust chain.

The Azure Workload Identity webhook reads three annotations from a pod's service account
(``pkg/webhook/consts.go``): the identity's client id, an optional tenant id and the projected
token's lifetime (3600-86400 s). Those three keys are the ones this module owns; every other
annotation and label on the account belongs to someone else and is never removed.

Ownership (docs/ownership.md): an account the module creates carries ``app.kubernetes.io/managed-by:
kedaops.aks``; ``state: absent`` deletes only such an account. One that existed before keeps its
place: only our annotations (and the labels named in ``labels``) are removed from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._diff import KNOWN_AFTER_APPLY
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import SERVICE_ACCOUNT, ObjectStore
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    Definition,
    created_by_us,
    ensure_present,
    not_ours,
    viewed,
)

CLIENT_ID = "azure.workload.identity/client-id"
TENANT_ID = "azure.workload.identity/tenant-id"
TOKEN_EXPIRATION = "azure.workload.identity/service-account-token-expiration"
OWNED_ANNOTATIONS = (CLIENT_ID, TENANT_ID, TOKEN_EXPIRATION)
TOKEN_EXPIRATION_RANGE = (3600, 86400)


@dataclass
class ServiceAccountPlan:
    definition: Definition
    state: str
    create: bool
    create_namespace: bool
    # Options whose value only the apply can tell (check mode, a predicted identity): shown as
    # KNOWN_AFTER_APPLY; a real run refuses them before any call.
    unknown: tuple[str, ...] = ()


def build(params: dict[str, Any]) -> ServiceAccountPlan:
    namespace = validate.dns_label("namespace", params["namespace"])
    name = validate.dns_subdomain("name", params["name"])
    state, create = params["state"], params["create"]
    metadata: dict[str, Any] = {}
    unknown: tuple[str, ...] = ()
    if state == "present":
        if params.get("client_id") in (None, "", KNOWN_AFTER_APPLY):
            # Legal in check mode only (apply refuses it): an identity an earlier task would create.
            unknown = ("client_id",)
            annotations = {CLIENT_ID: KNOWN_AFTER_APPLY}
        else:
            annotations = {CLIENT_ID: validate.guid("client_id", params["client_id"])}
        if params.get("tenant_id"):
            annotations[TENANT_ID] = validate.guid("tenant_id", params["tenant_id"])
        if params.get("token_expiration") is not None:
            annotations[TOKEN_EXPIRATION] = str(validate.int_range(
                "token_expiration", params["token_expiration"], *TOKEN_EXPIRATION_RANGE))
        metadata["annotations"] = annotations
        labels = validate.labels("labels", params.get("labels"))
        if labels:
            metadata["labels"] = labels
    else:
        metadata["annotations"] = {key: None for key in OWNED_ANNOTATIONS}
        labels = validate.labels("labels", params.get("labels"))
        if labels:
            metadata["labels"] = {key: None for key in labels}
    definition = Definition(SERVICE_ACCOUNT, name, namespace, {"metadata": metadata},
                            created_labels={MANAGED_BY_LABEL: MANAGED_BY})
    return ServiceAccountPlan(definition, state, create, bool(params.get("create_namespace")), unknown)


def ensure(api: ObjectStore, plan: ServiceAccountPlan, check_mode: bool) -> Outcome:
    definition = plan.definition
    if plan.unknown and not check_mode:
        raise OptionError("client_id: required when state is present (the identity's client id, a GUID)")
    if plan.state == "absent":
        live = api.get(SERVICE_ACCOUNT, definition.name, definition.namespace)
        if live is None:
            return Outcome(False, None, None)
        if plan.create and created_by_us(live):
            api.delete(SERVICE_ACCOUNT, definition.name, definition.namespace, dry_run=check_mode)
            return Outcome(True, live, None)
        if definition.matches(live):
            return Outcome(False, live, live)  # a no-op stays one GET
        outcome = ensure_present(api, definition, check_mode=check_mode, missing="ignore")
        if plan.create and outcome.changed:
            outcome.warnings.append(
                not_ours(f"service account {definition.namespace}/{definition.name}") + ", only our annotations were removed")
        return outcome
    outcome = ensure_present(
        api, definition, check_mode=check_mode,
        missing="create" if plan.create else "fail",
        missing_message=(f"service account {definition.namespace}/{definition.name} does not exist; with "
                         "create=false the module only annotates an existing account (is KEDA installed?)"),
        missing_in_check_mode=(f"service account {definition.namespace}/{definition.name} does not exist yet; "
                               "check mode predicts its annotation once an earlier task (KEDA's install) creates it"),
        create_namespace=plan.create_namespace)
    if plan.unknown:
        outcome.warnings.append(f"client_id is {KNOWN_AFTER_APPLY} (check mode: the identity is only predicted)")
    return outcome


def summary(obj: dict | None) -> dict[str, Any]:
    if not obj:
        return {}
    metadata = obj.get("metadata") or {}
    return {"namespace": metadata.get("namespace"), "name": metadata.get("name"),
            "annotations": dict(metadata.get("annotations") or {}), "labels": dict(metadata.get("labels") or {})}


def apply(connection: Connection, plan: ServiceAccountPlan, check_mode: bool) -> Outcome:
    return viewed(ensure(connection.k8s, plan, check_mode), "service_account", summary)


# workload_sa's options; keda_objects takes a list of them.
ARGSPEC: dict[str, Any] = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="str", required=True),
    client_id=dict(type="str"),
    tenant_id=dict(type="str"),
    token_expiration=dict(type="int", no_log=False),
    labels=dict(type="dict"),
    create=dict(type="bool", default=True),
    create_namespace=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

RESOURCE = Resource("workload_sa", ARGSPEC, build, apply, k8s=True)
