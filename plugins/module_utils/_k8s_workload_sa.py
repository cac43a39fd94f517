# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service-account end of the workload identity trust chain.

The Azure Workload Identity webhook reads three annotations from a pod's service account
(``pkg/webhook/consts.go``): the identity's client id, an optional tenant id and the projected
token's lifetime (3600-86400 s). Those three keys are the ones this module owns; every other
annotation and label on the account belongs to someone else and is never removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import SERVICE_ACCOUNT, Api, ObjectStore
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import (
    Definition,
    Outcome,
    ensure_absent,
    ensure_present,
    outcome_result,
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


def build(params: dict[str, Any]) -> ServiceAccountPlan:
    namespace = validate.dns_label("namespace", params["namespace"])
    name = validate.dns_subdomain("name", params["name"])
    state, create = params["state"], params["create"]
    metadata: dict[str, Any] = {}
    if state == "present":
        if not params.get("client_id"):
            raise OptionError("client_id: required when state is present (the identity's client id, a GUID)")
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
    elif not create:
        metadata["annotations"] = {key: None for key in OWNED_ANNOTATIONS}
    return ServiceAccountPlan(Definition(SERVICE_ACCOUNT, name, namespace, {"metadata": metadata}),
                              state, create, bool(params.get("create_namespace")))


def ensure(api: ObjectStore, plan: ServiceAccountPlan, check_mode: bool) -> Outcome:
    definition = plan.definition
    if plan.state == "absent":
        if plan.create:
            return ensure_absent(api, SERVICE_ACCOUNT, definition.name, definition.namespace, check_mode=check_mode)
        return ensure_present(api, definition, check_mode=check_mode, missing="ignore")
    return ensure_present(
        api, definition, check_mode=check_mode,
        missing="create" if plan.create else "fail",
        missing_message=(f"service account {definition.namespace}/{definition.name} does not exist; with "
                         "create=false the module only annotates an existing account (is KEDA installed?)"),
        create_namespace=plan.create_namespace)


def summary(obj: dict | None) -> dict[str, Any]:
    if not obj:
        return {}
    metadata = obj.get("metadata") or {}
    return {"namespace": metadata.get("namespace"), "name": metadata.get("name"),
            "annotations": dict(metadata.get("annotations") or {}), "labels": dict(metadata.get("labels") or {})}


def apply(api: Api, plan: ServiceAccountPlan, check_mode: bool, want_diff: bool) -> dict[str, Any]:
    return outcome_result(ensure(api, plan, check_mode), "service_account", want_diff, summary)
