# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the trust chain's links into ``Facts``: the cluster (or the issuer given), the identity with
its credentials and roles in Azure, the operator, its pods and the scalers in Kubernetes -- side by side,
since no link depends on another until the checks (``_trust_chain_checks``) look at them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, side_by_side
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    CLUSTER_TRIGGER_AUTHENTICATION,
    DEPLOYMENT,
    POD,
    SCALED_JOB,
    SCALED_OBJECT,
    SERVICE_ACCOUNT,
    TRIGGER_AUTHENTICATION,
    Api,
    ResourceNotServed,
)
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import (
    OPERATOR_DEPLOYMENT,
    ChainPlan,
    Facts,
    auth_refs,
)

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection

# Where KEDA runs: the AKS add-on, then the Helm chart's documented namespace.
OPERATOR_CANDIDATES = (("kube-system", "addon"), ("keda", "helm"))


def find_operator(api: Api, namespace: str | None, deployment: str) -> tuple[str, str, dict | None]:
    """(namespace, mode, Deployment) of the KEDA operator; the add-on wins over Helm when both exist."""
    if namespace:
        return namespace, dict(OPERATOR_CANDIDATES).get(namespace, ""), api.get(DEPLOYMENT, deployment, namespace)
    for candidate, mode in OPERATOR_CANDIDATES:
        found = api.get(DEPLOYMENT, deployment, candidate)
        if found:
            return candidate, mode, found
    return "", "", None


def operator_pods(api: Api, namespace: str, deployment: dict | None) -> list[dict]:
    selector = ((deployment or {}).get("spec") or {}).get("selector", {}).get("matchLabels") or {"app": OPERATOR_DEPLOYMENT}
    pods = api.list(POD, namespace, label_selector=",".join(f"{k}={v}" for k, v in sorted(selector.items())))
    return [p for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running")
            and not (p.get("metadata") or {}).get("deletionTimestamp")]


def read_kubernetes(api: Api, facts: Facts, plan: ChainPlan) -> None:
    """The operator (Deployment, service account, pods), the scalers and their authentications."""
    operator_namespace, operator_service_account = plan.operator_namespace, plan.operator_service_account
    scalers, trigger_auths = plan.scalers, plan.trigger_auths
    namespace, mode, deployment = find_operator(api, operator_namespace, OPERATOR_DEPLOYMENT)
    facts.operator_namespace = namespace or operator_namespace or ""
    facts.operator_mode = mode
    facts.operator_deployment = deployment
    pod_spec = (((deployment or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    facts.operator_service_account = operator_service_account or pod_spec.get("serviceAccountName") or OPERATOR_DEPLOYMENT
    if facts.operator_namespace:
        facts.service_account = api.get(SERVICE_ACCOUNT, facts.operator_service_account, facts.operator_namespace)
        facts.pods = operator_pods(api, facts.operator_namespace, deployment) if deployment else []

    try:
        if scalers is None:  # discover every scaler in the cluster
            facts.scalers = api.list(SCALED_OBJECT) + api.list(SCALED_JOB)
        else:
            for ref in scalers:
                resource = SCALED_JOB if ref.get("kind") == "ScaledJob" else SCALED_OBJECT
                found = api.get(resource, ref["name"], ref.get("namespace") or "default")
                facts.scalers.append(found or {"kind": resource.kind, "missing": True,
                                               "metadata": {"name": ref["name"], "namespace": ref.get("namespace") or "default"}})
        wanted = {(t.get("kind") or "TriggerAuthentication", t.get("namespace") or "", t["name"]) for t in trigger_auths}
        facts.explicit_trigger_auths = sorted(wanted)
        for scaler in facts.scalers:
            scaler_ns = (scaler.get("metadata") or {}).get("namespace") or ""
            for kind, name in auth_refs(scaler):
                wanted.add((kind, "" if kind == "ClusterTriggerAuthentication" else scaler_ns, name))
        for kind, namespace, name in sorted(wanted):
            resource = CLUSTER_TRIGGER_AUTHENTICATION if kind == "ClusterTriggerAuthentication" else TRIGGER_AUTHENTICATION
            facts.trigger_auths[(kind, namespace, name)] = api.get(resource, name, namespace or None)
        if any(ta is None for key, ta in facts.trigger_auths.items() if key[0] == "TriggerAuthentication"):
            for ta in api.list(TRIGGER_AUTHENTICATION):
                meta = ta.get("metadata") or {}
                facts.trigger_auths_elsewhere.setdefault(meta.get("name", ""), []).append(meta.get("namespace", ""))
    except ResourceNotServed:
        facts.keda_installed = False


def read_roles(conn: AzureConnection, principal_id: str, expected: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Whether the principal holds each (scope, role), directly at the scope or inherited from above."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_rbac import (
        definition_guid,
        find_assignment,
        resolve_role,
    )
    results = []
    for item in expected:
        scope, role = item["scope"], item["role"]
        guid = definition_guid(resolve_role(conn, scope, role))
        holding = find_assignment(conn, scope, guid, principal_id, inherited=True)
        results.append({"scope": scope, "role": role, "holds": holding is not None,
                        "at": holding["scope"] if holding else None})
    return results


def gather(connection: Connection, plan: ChainPlan) -> Facts:
    """Read every link: the cluster (or the given issuer), the identity and its credentials and
    roles in Azure, then the operator, its pods and the scalers in Kubernetes.

    The links do not depend on one another until they are evaluated, so the cluster, the identity,
    its credentials and the Kubernetes side are read side by side, after one token: at ARM's usual
    latency (~100 ms a request) three reads in sequence were most of this module's time."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import azure_errors

    facts = Facts(cluster_kind=plan.cluster_kind)
    # Everything the threads need is imported and built here first: the connections and clients are
    # built lazily, and two threads importing one package (requests, from both SDKs) at once can meet
    # it half-initialised.
    from ansible_collections.kedaops.aks.plugins.module_utils import _arc, _azure_aks  # noqa: F401

    api, conn = connection.k8s, connection.azure
    conn.msi()
    conn.arm()
    with azure_errors("authenticating to Azure"):
        conn.credential.get_token(conn.cloud.scope)  # one token, which the reads share

    # Answers in the order the links were read one by one before, so the same error is reported.
    side_by_side(lambda: _read_cluster(conn, facts, plan),
                 lambda: _read_identity(conn, facts, plan),
                 lambda: read_kubernetes(api, facts, plan))
    if (plan.probe_token_exchange and facts.cluster_kind == "arc" and facts.issuer and facts.operator_namespace
            and facts.service_account):
        # Arc only: which issuer the API server signs with (a token is asked for, and only read).
        from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import request_token, token_issuer

        facts.token_issuer = token_issuer(request_token(api, facts.operator_namespace, facts.operator_service_account))
    return facts


def _read_identity(conn: AzureConnection, facts: Facts, plan: ChainPlan) -> None:
    """The identity (by name, or found by client id), its credentials beside it, then its roles."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi

    found: list[dict[str, Any]] | None = None
    if plan.identity_name:
        ref = (plan.identity_resource_group or "", plan.identity_name)
        facts.identity_ref = ref
        facts.identity, found = side_by_side(lambda: msi.get_identity(conn, *ref),
                                             lambda: _credentials_if_any(conn, ref))
    else:
        group, name, facts.identity = msi.find_identity_by_client_id(conn, plan.identity_client_id or "")
        facts.identity_ref = (group, name)
        if facts.identity:
            found = _credentials_if_any(conn, facts.identity_ref)
    if facts.identity:
        facts.credentials = found if found is not None else []
        if plan.role_assignments:
            facts.roles = read_roles(conn, facts.identity["principal_id"], plan.role_assignments)


def _read_cluster(conn: AzureConnection, facts: Facts, plan: ChainPlan) -> None:
    """The cluster's issuer (AKS or Arc); without a cluster name, the issuer given."""
    group, name = plan.cluster_resource_group or "", plan.cluster_name
    if name and facts.cluster_kind == "arc":
        from ansible_collections.kedaops.aks.plugins.module_utils import _arc as arc

        facts.cluster = arc.cluster_state(arc.get_cluster(conn, group, name))
        facts.cluster_ref = f"-g {group} -n {name}"
        facts.issuer = facts.cluster.get("issuer_url") or ""
    elif name:
        from ansible_collections.kedaops.aks.plugins.module_utils import _azure_aks as aks

        # A missing cluster raises Azure's own 404 (ResourceNotFound), kept in the failure result.
        facts.cluster = aks.cluster_state(aks.get_cluster(conn, group, name))
        facts.cluster_ref = f"-g {group} -n {name}"
        facts.issuer = facts.cluster.get("oidc_issuer_url") or ""
    else:
        facts.issuer = plan.issuer_url or ""


def _credentials_if_any(conn: AzureConnection, identity_ref: tuple[str, str]) -> list[dict[str, Any]] | None:
    """The identity's credentials; None when the identity (read at the same time) does not exist."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError

    try:
        return msi.list_credentials(conn, *identity_ref)
    except AzureError as err:
        if err.status == 404:
            return None
        raise
