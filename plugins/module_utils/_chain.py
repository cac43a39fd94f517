# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload identity trust chain, link by link.

    AKS cluster --issuer (exact)--> federated credential <--subject-- operator service account
    identity --client id--> SA annotation, TriggerAuthentication identityId
    identity principal --role at scope--> event source
    operator pod (labelled, created after the annotation) --> injected AZURE_* env

``gather`` reads everything (Azure and Kubernetes); ``evaluate`` turns the facts into checks
without any I/O, so every rule is testable on plain data; ``probe`` performs the exchange KEDA
itself will perform: an operator service-account token, traded at Entra for the identity.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    CLUSTER_TRIGGER_AUTHENTICATION, DEPLOYMENT, POD, SCALED_JOB, SCALED_OBJECT, SERVICE_ACCOUNT,
    TRIGGER_AUTHENTICATION, Api, K8sError, ResourceNotServed)

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
INJECTED_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")
CREDENTIAL_LIMIT = 20
# Where KEDA runs: the AKS add-on, then the Helm chart's documented namespace.
OPERATOR_CANDIDATES = (("kube-system", "addon"), ("keda", "helm"))
OPERATOR_DEPLOYMENT = "keda-operator"
# Codes the token endpoint answers while a correct credential has not reached every Entra replica.
PROPAGATING_CODES = ("70021", "700211", "700213")

AADSTS_MEANINGS = {
    "70021": ("No federated credential on the identity matches the token's issuer, subject and audience "
              "(or a new one has not propagated yet; that takes seconds to minutes)"),
    "700211": "No federated credential matches the token's issuer (a missing trailing '/' is the usual cause)",
    "700213": "No federated credential matches the token's subject (namespace or service account name)",
    "7002138": "A credential's subject matches only when letter case is ignored; Entra compares it case-sensitively",
    "700024": "The service account token has expired or is not yet valid (clock skew, or a stale token file)",
    "700016": ("No application with this client id exists in the tenant: the client id is wrong (a principal "
               "id instead of the client id?), the identity was deleted, or it lives in another tenant"),
    "90061": "Entra could not reach the cluster's OIDC issuer to fetch its signing keys",
    "50027": "The service account token is malformed or its signature does not verify against the issuer's keys",
}


@dataclass
class Check:
    id: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "detail": self.detail, "fix": "" if self.ok else self.fix}


@dataclass
class Facts:
    """Everything the checks look at, read once."""

    cluster: dict[str, Any] | None = None  # the aks_cluster / connected_cluster view; None when an issuer URL was given
    cluster_kind: str = "aks"  # aks | arc (Azure Arc-enabled Kubernetes)
    token_issuer: str | None = None  # arc: the iss of a fresh operator token (what the API server signs with)
    cluster_ref: str = ""  # "-g RG -n NAME" for fixes
    issuer: str = ""
    identity: dict[str, Any] | None = None
    identity_ref: tuple[str, str] = ("", "")  # (resource group, name)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    operator_namespace: str = ""
    operator_service_account: str = ""
    operator_mode: str = ""  # addon | helm | "" (given, or not found)
    operator_deployment: dict[str, Any] | None = None
    service_account: dict[str, Any] | None = None
    pods: list[dict[str, Any]] = field(default_factory=list)
    keda_installed: bool = True
    scalers: list[dict[str, Any]] = field(default_factory=list)  # ScaledObjects / ScaledJobs
    trigger_auths: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)
    trigger_auths_elsewhere: dict[str, list[str]] = field(default_factory=dict)  # name -> namespaces
    explicit_trigger_auths: list[tuple[str, str, str]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)  # {scope, role, holds, detail}

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.operator_namespace}:{self.operator_service_account}"


# --- reading ---------------------------------------------------------------------------------


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


def auth_refs(scaler: dict) -> list[tuple[str, str]]:
    """(kind, name) of every authenticationRef in a ScaledObject / ScaledJob."""
    refs = []
    for trigger in (scaler.get("spec") or {}).get("triggers") or []:
        ref = trigger.get("authenticationRef") or {}
        if ref.get("name"):
            refs.append((ref.get("kind") or "TriggerAuthentication", ref["name"]))
    return refs


def read_kubernetes(api: Api, facts: Facts, operator_namespace: str | None, operator_service_account: str | None,
                    scalers: list[dict[str, str]] | None, trigger_auths: list[dict[str, str]]) -> None:
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


def read_roles(conn: Any, principal_id: str, expected: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Whether the principal holds each (scope, role), directly at the scope or inherited from above."""
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_rbac import definition_guid, find_assignment, resolve_role
    results = []
    for item in expected:
        scope, role = item["scope"], item["role"]
        guid = definition_guid(resolve_role(conn, scope, role))
        holding = find_assignment(conn, scope, guid, principal_id, inherited=True)
        results.append({"scope": scope, "role": role, "holds": holding is not None,
                        "at": holding["scope"] if holding else None})
    return results


# --- evaluating ------------------------------------------------------------------------------


def _env_of(pod: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        for var in container.get("env") or []:
            env.setdefault(var.get("name", ""), var.get("value") or "")
    return env


def evaluate(facts: Facts) -> list[Check]:
    checks: list[Check] = []
    identity = facts.identity or {}
    client_id = identity.get("client_id") or ""
    group, name = facts.identity_ref
    cluster_args = facts.cluster_ref

    if facts.cluster is not None and facts.cluster_kind == "arc":
        checks.extend(_arc_cluster_checks(facts))
    elif facts.cluster is not None:
        checks.append(Check(
            "oidc_issuer", bool(facts.cluster.get("oidc_issuer") and facts.issuer),
            f"OIDC issuer {'enabled: ' + facts.issuer if facts.issuer else 'disabled'}",
            f"kedaops.aks.aks_cluster with oidc_issuer: true (az aks update {cluster_args} --enable-oidc-issuer)"))
        checks.append(Check(
            "workload_identity", bool(facts.cluster.get("workload_identity")),
            f"workload identity {'enabled' if facts.cluster.get('workload_identity') else 'disabled'}",
            f"kedaops.aks.aks_cluster with workload_identity: true (az aks update {cluster_args} --enable-workload-identity)"))

    checks.append(Check(
        "keda_operator", facts.operator_deployment is not None,
        (f"{facts.operator_namespace}/{OPERATOR_DEPLOYMENT} ({facts.operator_mode or 'given namespace'}), "
         f"service account {facts.operator_namespace}/{facts.operator_service_account}")
        if facts.operator_deployment else
        f"no {OPERATOR_DEPLOYMENT} Deployment in {facts.operator_namespace or 'kube-system or keda'}",
        "install KEDA: the keda_addon role (AKS add-on) or the keda_helm role (kedacore/keda chart)"))

    checks.extend(_credential_checks(facts, group, name))
    checks.extend(_service_account_checks(facts, client_id))
    checks.extend(_trigger_auth_checks(facts, client_id, identity.get("principal_id") or ""))
    for role in facts.roles:
        checks.append(Check(
            f"role:{role['role']}@{role['scope']}", role["holds"],
            (f"holds {role['role']} (assigned at {role['at']})" if role["holds"]
             else f"principal {identity.get('principal_id')} does not hold {role['role']} at {role['scope']}; "
                  f"calls from KEDA are refused with 403 (Azure Monitor) or 401 (Service Bus)"),
            (f"kedaops.aks.role_assignment scope={role['scope']} role='{role['role']}' principal_id={identity.get('principal_id')} "
             f"(az role assignment create --assignee-object-id {identity.get('principal_id')} "
             f"--assignee-principal-type ServicePrincipal --role '{role['role']}' --scope {role['scope']})")))
    return checks


def _arc_cluster_checks(facts: Facts) -> list[Check]:
    """A connected cluster: its two switches, and the Arc-only link, the API server signing service
    account tokens with the connected cluster's issuer (MicrosoftDocs azure-arc/kubernetes/
    workload-identity.md: kube-apiserver --service-account-issuer, for K3s in /etc/rancher/k3s/config.yaml)."""
    update = f"az connectedk8s update {facts.cluster_ref}"
    checks = [
        Check("oidc_issuer", bool(facts.cluster.get("oidc_issuer") and facts.issuer),
              f"OIDC issuer {'enabled: ' + facts.issuer if facts.issuer else 'disabled'}",
              f"kedaops.aks.connected_cluster with oidc_issuer: true ({update} --enable-oidc-issuer)"),
        Check("workload_identity", bool(facts.cluster.get("workload_identity")),
              f"workload identity webhook {'enabled' if facts.cluster.get('workload_identity') else 'disabled'}",
              f"kedaops.aks.connected_cluster with workload_identity: true ({update} --enable-workload-identity)"),
    ]
    if facts.token_issuer is not None and facts.issuer:
        ok = facts.token_issuer == facts.issuer
        detail = (f"the API server signs service account tokens with the connected cluster's issuer {facts.issuer}" if ok else
                  f"the API server signs service account tokens with iss {facts.token_issuer!r}, not the connected cluster's "
                  f"issuer {facts.issuer!r}: Entra matches no federated credential (AADSTS70021)")
        checks.append(Check("api_server_issuer", ok, detail, k3s_fix(facts.issuer)))
    return checks


def k3s_fix(issuer: str) -> str:
    return (f"on the cluster's server nodes, the kedaops.aks.k3s_issuer role with k3s_issuer_url={issuer} "
            f"(/etc/rancher/k3s/config.yaml: kube-apiserver-arg service-account-issuer={issuer} first, the previous issuer "
            "kept as a second service-account-issuer, service-account-max-token-expiration=24h; then systemctl restart k3s), "
            "and restart the KEDA operator so its token is reissued")


def token_issuer(token: str) -> str | None:
    """The ``iss`` claim of a JWT, read without verifying it (the API server's choice is the question)."""
    import base64
    import json
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def _credential_checks(facts: Facts, group: str, name: str) -> list[Check]:
    creds = facts.credentials
    subject, issuer = facts.subject, facts.issuer
    create = (f"kedaops.aks.federated_credential resource_group={group} identity_name={name} issuer={issuer} "
              f"subject={subject} (az identity federated-credential create --resource-group {group} --identity-name {name} "
              f"--name <name> --issuer {issuer} --subject {subject} --audience {TOKEN_EXCHANGE_AUDIENCE})")
    checks = []
    if facts.identity is None:
        return [Check("identity", False, f"managed identity {group}/{name} not found",
                      f"kedaops.aks.managed_identity resource_group={group} name={name} location=<region>")]

    by_issuer = [c for c in creds if c["issuer"] == issuer]
    if by_issuer or not issuer:
        detail = f"{len(by_issuer)} credential(s) trust {issuer}" if issuer else "no issuer to compare (OIDC issuer off)"
        checks.append(Check("credential_issuer", bool(by_issuer), detail, create))
    else:
        near = [c for c in creds if c["issuer"].rstrip("/").lower() == issuer.rstrip("/").lower()]
        detail = (f"no credential trusts the cluster's issuer {issuer} exactly"
                  + (f"; {', '.join(repr(c['name']) for c in near)} has {near[0]['issuer']!r}: Entra compares issuers "
                     f"exactly, trailing '/' included (AADSTS70021)" if near else ""))
        fix = (f"kedaops.aks.federated_credential resource_group={group} identity_name={name} name={near[0]['name']} "
               f"issuer={issuer} subject={near[0]['subject']}" if near else create)
        checks.append(Check("credential_issuer", False, detail, fix))

    by_subject = [c for c in creds if c["subject"] == subject]
    if by_subject:
        paired = [c for c in by_subject if c["issuer"] == issuer] or by_subject
        checks.append(Check("credential_subject", True, f"{paired[0]['name']!r} trusts {subject}", create))
    else:
        case_only = [c for c in creds if c["subject"].lower() == subject.lower()]
        other_ns = [c for c in creds if c["subject"].endswith(":" + facts.operator_service_account)
                    and c["subject"].startswith("system:serviceaccount:")]
        if case_only:
            detail = (f"{case_only[0]['name']!r} has subject {case_only[0]['subject']!r}, which matches {subject} only "
                      f"ignoring case; Entra compares subjects case-sensitively (AADSTS7002138)")
            target = case_only[0]
        elif other_ns:
            detail = (f"{other_ns[0]['name']!r} trusts {other_ns[0]['subject']}, not the operator's {subject} "
                      f"(KEDA authenticates with its operator's token: {facts.operator_mode or 'this'} install runs in "
                      f"{facts.operator_namespace}) (AADSTS70021)")
            target = other_ns[0]
        else:
            detail = f"no credential trusts {subject} (AADSTS70021)"
            target = None
        fix = (f"kedaops.aks.federated_credential resource_group={group} identity_name={name} name={target['name']} "
               f"issuer={target['issuer'] if target['issuer'] == issuer else issuer} subject={subject}" if target else create)
        checks.append(Check("credential_subject", False, detail, fix))

    matching = [c for c in by_subject if c["issuer"] == issuer] or by_subject
    if matching:
        audiences = matching[0]["audiences"]
        checks.append(Check(
            "credential_audience", audiences == [TOKEN_EXCHANGE_AUDIENCE],
            f"{matching[0]['name']!r} accepts {audiences}",
            f"kedaops.aks.federated_credential ... name={matching[0]['name']} audiences=['{TOKEN_EXCHANGE_AUDIENCE}']"))
    checks.append(Check(
        "credential_limit", len(creds) < CREDENTIAL_LIMIT,
        f"{len(creds)} of {CREDENTIAL_LIMIT} federated credentials used" + (": no room for another" if len(creds) >= CREDENTIAL_LIMIT else ""),
        f"remove unused credentials from {name}, or spread service accounts over more identities"))
    return checks


def _service_account_checks(facts: Facts, client_id: str) -> list[Check]:
    ns, sa = facts.operator_namespace, facts.operator_service_account
    if not ns:
        return []
    checks = []
    annotations = ((facts.service_account or {}).get("metadata") or {}).get("annotations") or {}
    annotated = annotations.get(CLIENT_ID_ANNOTATION)
    if facts.service_account is None:
        checks.append(Check("service_account_annotation", False, f"service account {ns}/{sa} not found",
                            f"kedaops.aks.workload_sa namespace={ns} name={sa} client_id={client_id}"))
    else:
        checks.append(Check(
            "service_account_annotation", annotated == client_id,
            f"{ns}/{sa} {CLIENT_ID_ANNOTATION}={annotated or '(none)'}" + (
                "" if annotated == client_id else f", the identity's client id is {client_id}"),
            f"kedaops.aks.workload_sa namespace={ns} name={sa} client_id={client_id}"
            + (" create=false" if facts.operator_mode == "addon" else "")
            + f" (kubectl annotate serviceaccount -n {ns} {sa} --overwrite {CLIENT_ID_ANNOTATION}={client_id})"))
    if facts.operator_deployment is None:
        return checks
    problems = []
    for pod in facts.pods:
        pod_name = (pod.get("metadata") or {}).get("name")
        labels = (pod.get("metadata") or {}).get("labels") or {}
        env = _env_of(pod)
        if labels.get(USE_LABEL) != "true":
            problems.append(f"{pod_name} lacks the label {USE_LABEL}=true (the webhook ignores it)")
            continue
        missing = [v for v in INJECTED_ENV if v not in env]
        if missing:
            problems.append(f"{pod_name} lacks {', '.join(missing)} (started before the service account was annotated)")
        elif annotated and env.get("AZURE_CLIENT_ID") != annotated:
            problems.append(f"{pod_name} has AZURE_CLIENT_ID={env.get('AZURE_CLIENT_ID')}, the annotation says {annotated} "
                            f"(started before the annotation changed)")
    if not facts.pods:
        problems.append("no running operator pod")
    deployment = OPERATOR_DEPLOYMENT
    checks.append(Check(
        "operator_pods", not problems,
        "; ".join(problems) if problems else f"{len(facts.pods)} pod(s) labelled and carrying {', '.join(INJECTED_ENV)}",
        f"kedaops.aks.rollout_restart namespace={ns} name={deployment} unless_env_present={list(INJECTED_ENV)} "
        f"(kubectl rollout restart deployment {deployment} -n {ns})"))
    return checks


def _trigger_auth_checks(facts: Facts, client_id: str, principal_id: str) -> list[Check]:
    if not facts.keda_installed:
        return [Check("keda_crds", False, "KEDA's CRDs (keda.sh/v1alpha1) are not installed",
                      "install KEDA: the keda_addon or keda_helm role")]
    checks = []
    for scaler in facts.scalers:
        meta = scaler.get("metadata") or {}
        ref_id = f"{scaler.get('kind', 'ScaledObject')} {meta.get('namespace')}/{meta.get('name')}"
        if scaler.get("missing"):
            checks.append(Check(f"scaler:{meta.get('namespace')}/{meta.get('name')}", False, f"{ref_id} not found",
                                "create it (kedaops.aks.keda_scaled_object / keda_scaled_job)"))
            continue
        for kind, name in auth_refs(scaler):
            key = (kind, "" if kind == "ClusterTriggerAuthentication" else meta.get("namespace", ""), name)
            if facts.trigger_auths.get(key) is not None:
                continue
            elsewhere = facts.trigger_auths_elsewhere.get(name, []) if kind == "TriggerAuthentication" else []
            detail = f"{ref_id} refers to {kind} {name!r}, which does not exist in {meta.get('namespace')}"
            if elsewhere:
                detail += (f"; one exists in {', '.join(elsewhere)}, but KEDA reads a TriggerAuthentication only from "
                           f"its scaler's namespace and otherwise silently uses no authentication (401/403 later)")
            checks.append(Check(
                f"scaler_auth_ref:{meta.get('namespace')}/{meta.get('name')}", False, detail,
                f"kedaops.aks.keda_trigger_auth name={name} namespace={meta.get('namespace')} identity_id={client_id} "
                f"(or a ClusterTriggerAuthentication with authenticationRef.kind: ClusterTriggerAuthentication)"))
    explicit = set(facts.explicit_trigger_auths)
    for (kind, namespace, name), ta in sorted(facts.trigger_auths.items()):
        label = f"{namespace}/{name}" if namespace else name
        if ta is None:
            if (kind, namespace, name) in explicit:
                checks.append(Check(f"trigger_auth:{label}", False, f"{kind} {label} not found",
                                    f"kedaops.aks.keda_trigger_auth name={name} namespace={namespace} identity_id={client_id}"))
            continue
        pod_identity = (ta.get("spec") or {}).get("podIdentity") or {}
        provider = pod_identity.get("provider")
        identity_id = pod_identity.get("identityId")
        if provider != "azure-workload":
            if (kind, namespace, name) in explicit:
                checks.append(Check(f"trigger_auth:{label}", False,
                                    f"{kind} {label} uses podIdentity.provider {provider!r}, not azure-workload",
                                    f"kedaops.aks.keda_trigger_auth name={name} namespace={namespace} provider=azure-workload"))
            continue
        if identity_id and identity_id not in (client_id, principal_id) and (kind, namespace, name) not in explicit:
            continue  # another identity's TriggerAuthentication: not this chain
        ok = identity_id in (None, "", client_id)
        detail = (f"{kind} {label}: provider azure-workload, identityId {identity_id or '(operator default)'}"
                  + ("" if ok else (" is the identity's principal (object) id, not its client id (AADSTS700016)"
                                    if identity_id == principal_id else f", the identity's client id is {client_id}")))
        checks.append(Check(f"trigger_auth:{label}", ok, detail,
                            f"kedaops.aks.keda_trigger_auth name={name} namespace={namespace} identity_id={client_id}"))
    return checks


# --- probing ---------------------------------------------------------------------------------


def request_token(api: Api, namespace: str, service_account: str, seconds: int = 600) -> str:
    """A short-lived token for the service account, as the kubelet would project it (TokenRequest)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [TOKEN_EXCHANGE_AUDIENCE], "expirationSeconds": seconds}}
    result = api.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
                      body=body, content_type="application/json")
    return result["status"]["token"]


def aadsts_code(message: str) -> str | None:
    match = re.search(r"AADSTS(\d+)", message or "")
    return match.group(1) if match else None


def exchange(token: str, tenant_id: str, client_id: str, authority: str, scope: str, public_authorities) -> None:
    """Trade the service account token at Entra for ``client_id``; raises ClientAuthenticationError."""
    from azure.identity import ClientAssertionCredential
    credential = ClientAssertionCredential(tenant_id, client_id, lambda: token, authority=authority,
                                           disable_instance_discovery=authority not in public_authorities)
    credential.get_token(scope)


def probe(get_token: Callable[[], str], try_exchange: Callable[[str], None], wait_timeout: float,
          may_wait: bool, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Exchange a token, again and again while the answer is 'not propagated yet' and time remains."""
    started = time.monotonic()
    attempts = 0
    delay = 1.0
    while True:
        attempts += 1
        try:
            try_exchange(get_token())
            return {"ok": True, "code": None, "message": "token exchanged", "attempts": attempts,
                    "elapsed": round(time.monotonic() - started, 2)}
        except K8sError as err:
            return {"ok": False, "code": err.reason, "message": f"TokenRequest failed: {err.message}",
                    "attempts": attempts, "elapsed": round(time.monotonic() - started, 2)}
        except Exception as err:  # pylint: disable=broad-except
            message = str(err)
            code = aadsts_code(message)
            remaining = wait_timeout - (time.monotonic() - started)
            if may_wait and code in PROPAGATING_CODES and remaining > 0:
                sleep(min(delay, remaining))
                delay = min(delay * 2, 10.0)
                continue
            return {"ok": False, "code": f"AADSTS{code}" if code else type(err).__name__, "message": message,
                    "attempts": attempts, "elapsed": round(time.monotonic() - started, 2)}


def probe_check(result: dict[str, Any], facts: Facts) -> Check:
    if result["ok"]:
        detail = (f"a {facts.operator_namespace}/{facts.operator_service_account} token was exchanged at Entra for "
                  f"{(facts.identity or {}).get('client_id')} ({result['attempts']} attempt(s), {result['elapsed']}s)")
        return Check("token_exchange", True, detail)
    code = (result["code"] or "").replace("AADSTS", "")
    meaning = AADSTS_MEANINGS.get(code, "")
    if facts.cluster_kind == "arc" and facts.token_issuer and facts.issuer and facts.token_issuer != facts.issuer:
        return Check("token_exchange", False,
                     f"{result['code']}: the operator's token carries iss {facts.token_issuer!r}, not the connected "
                     f"cluster's issuer (see api_server_issuer). {(result['message'] or '').strip().splitlines()[0]}",
                     k3s_fix(facts.issuer))
    fix = {
        "70021": "fix the failing credential_* check; if all pass, the credential is still propagating: retry with wait_timeout",
        "700211": "set the credential's issuer to the cluster's issuer exactly (see credential_issuer)",
        "700213": "set the credential's subject to the operator's service account (see credential_subject)",
        "7002138": "fix the subject's letter case (see credential_subject)",
        "700016": "use the identity's client id (not its principal id) in the annotation and TriggerAuthentications",
        "700024": "check the controller's clock; request a fresh token",
    }.get(code, "see the detail")
    first_line = (result["message"] or "").strip().splitlines()[0] if result["message"] else ""
    return Check("token_exchange", False, f"{result['code']}: {meaning + '. ' if meaning else ''}{first_line}", fix)
