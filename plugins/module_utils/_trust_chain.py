# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload identity trust chain, link by link: the core of ``workload_identity_info``.

    AKS cluster --issuer (exact)--> federated credential <--subject-- operator service account
    identity --client id--> SA annotation, TriggerAuthentication identityId
    identity principal --role at scope--> event source
    operator pod (labelled, created after the annotation) --> injected AZURE_* env

``build`` checks the options (the only place) into a ``ChainPlan``; ``apply`` reads everything
(``_trust_chain_read.gather``, side by side), turns the facts into checks without any I/O
(``_trust_chain_checks.evaluate``) and with ``probe_token_exchange`` adds ``_trust_chain_probe``'s
check, the exchange KEDA itself will perform. The outcome is read-only: never changed, no diff.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_checks import evaluate
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import ChainPlan, Check, Facts
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_read import gather

ARGUMENT_SPEC: dict[str, Any] = dict(
    cluster_resource_group={"type": "str"},
    cluster_name={"type": "str"},
    cluster_kind={"type": "str", "choices": ["aks", "arc"], "default": "aks"},
    issuer_url={"type": "str"},
    identity_resource_group={"type": "str"},
    identity_name={"type": "str"},
    identity_client_id={"type": "str"},
    operator_namespace={"type": "str"},
    operator_service_account={"type": "str"},
    scalers={"type": "list", "elements": "dict", "options": {
        "kind": {"type": "str", "choices": ["ScaledObject", "ScaledJob"], "default": "ScaledObject"},
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "default": "default"},
    }},
    trigger_auths={"type": "list", "elements": "dict", "default": [], "options": {
        "kind": {"type": "str", "choices": ["TriggerAuthentication", "ClusterTriggerAuthentication"],
                 "default": "TriggerAuthentication"},
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str"},
    }},
    role_assignments={"type": "list", "elements": "dict", "default": [], "options": {
        "scope": {"type": "str", "required": True},
        "role": {"type": "str", "required": True},
    }},
    probe_token_exchange={"type": "bool", "default": False},
    wait_timeout={"type": "int", "default": 0},
    fail_on_problems={"type": "bool", "default": False},
)

RULES: dict[str, Any] = {
    "required_one_of": [("cluster_name", "issuer_url"), ("identity_name", "identity_client_id")],
    "mutually_exclusive": [("cluster_name", "issuer_url"), ("identity_name", "identity_client_id")],
    "required_together": [("cluster_resource_group", "cluster_name"), ("identity_resource_group", "identity_name")],
}


class ChainProblems(ModuleFailure):
    """``fail_on_problems``: the chain has failing checks; the result still carries every check."""

    def __init__(self, failed: list[Check], result: dict[str, Any]):
        super().__init__(f"{len(failed)} problem(s) in the workload identity chain: "
                         + "; ".join(f"{c.id}: {c.detail}" for c in failed))
        self.result = result

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), **self.result}


def check_names(options: dict[str, Any]) -> None:
    """The names the chain is read under, checked before the first read (a name no object can have is a typo,
    not a finding): Kubernetes names (apimachinery's rules), Azure names and role assignment scopes."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
    from ansible_collections.kedaops.aks.plugins.module_utils._paths import resource_id_segments

    if options.get("operator_namespace") is not None:
        rules.dns_label("operator_namespace", options["operator_namespace"])
    if options.get("operator_service_account") is not None:
        rules.dns_subdomain("operator_service_account", options["operator_service_account"])
    for option in ("cluster_resource_group", "identity_resource_group"):
        if options.get(option) is not None:
            rules.resource_group(option, options[option])
    if options.get("cluster_name") is not None:
        rules.cluster_name("cluster_name", options["cluster_name"], "cluster")
    if options.get("identity_name") is not None:
        rules.identity_name("identity_name", options["identity_name"])
    for option in ("scalers", "trigger_auths"):
        for index, item in enumerate(options.get(option) or []):
            rules.dns_subdomain(f"{option}[{index}].name", item["name"])
            if item.get("namespace") is not None:
                rules.dns_label(f"{option}[{index}].namespace", item["namespace"])
    for index, item in enumerate(options.get("role_assignments") or []):
        resource_id_segments(f"role_assignments[{index}].scope", item["scope"])


def build(params: dict[str, Any]) -> ChainPlan:
    """Every refusal, before the first read (``wait_timeout`` 0 or more is ``_core``'s rule)."""
    check_names(params)
    return ChainPlan(
        cluster_kind=params["cluster_kind"], cluster_resource_group=params.get("cluster_resource_group"),
        cluster_name=params.get("cluster_name"), issuer_url=params.get("issuer_url"),
        identity_resource_group=params.get("identity_resource_group"), identity_name=params.get("identity_name"),
        identity_client_id=params.get("identity_client_id"), operator_namespace=params.get("operator_namespace"),
        operator_service_account=params.get("operator_service_account"), scalers=params.get("scalers"),
        trigger_auths=list(params.get("trigger_auths") or []),
        role_assignments=list(params.get("role_assignments") or []),
        probe_token_exchange=bool(params["probe_token_exchange"]), wait_timeout=int(params["wait_timeout"]),
        fail_on_problems=bool(params["fail_on_problems"]))


def _probe(connection: Connection, api: Api, facts: Facts, checks: list[Check],
           wait_timeout: float) -> dict[str, Any]:
    """The token exchange KEDA will make; it waits for propagation only when the credential checks pass."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import PUBLIC_AUTHORITY_HOSTS
    from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import exchange, probe, request_token

    identity = facts.identity or {}
    cloud = connection.azure.cloud
    static_ok = all(c.ok for c in checks
                    if c.id.startswith(("credential_", "oidc_issuer", "identity", "api_server_issuer")))
    return probe(
        lambda: request_token(api, facts.operator_namespace, facts.operator_service_account),
        lambda token: exchange(token, identity["tenant_id"], identity["client_id"], cloud.authority_host,
                               cloud.scope, PUBLIC_AUTHORITY_HOSTS),
        wait_timeout, may_wait=static_ok)


def apply(connection: Connection, plan: ChainPlan, check_mode: bool) -> Outcome:
    """Gather, evaluate, and with ``probe_token_exchange`` probe; reads only, the same in check mode."""
    facts = gather(connection, plan)
    checks = evaluate(facts)
    values: dict[str, Any] = {}
    identity = facts.identity
    if plan.probe_token_exchange and identity and facts.operator_namespace:
        from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import probe_check

        values["probe"] = _probe(connection, connection.k8s, facts, checks, float(plan.wait_timeout))
        checks.append(probe_check(values["probe"], facts))
    values["checks"] = [c.as_dict() for c in checks]
    values["ok"] = all(c.ok for c in checks)
    values["chain"] = {
        "issuer": facts.issuer, "subject": facts.subject,
        "client_id": (identity or {}).get("client_id"), "principal_id": (identity or {}).get("principal_id"),
        "operator_namespace": facts.operator_namespace, "operator_service_account": facts.operator_service_account,
        "install": facts.operator_mode,
    }
    if plan.fail_on_problems and not values["ok"]:
        raise ChainProblems([c for c in checks if not c.ok], {"changed": False, **values})
    return Outcome(changed=False, values=values, diffable=False)


RESOURCE = Resource("workload_identity_info", ARGUMENT_SPEC, build, apply, azure=True, k8s=True, rules=RULES)
