# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload identity trust chain, link by link.

    AKS cluster --issuer (exact)--> federated credential <--subject-- operator service account
    identity --client id--> SA annotation, TriggerAuthentication identityId
    identity principal --role at scope--> event source
    operator pod (labelled, created after the annotation) --> injected AZURE_* env

``gather`` reads everything (Azure and Kubernetes); ``evaluate`` turns the facts into checks
without any I/O, so every rule is testable on plain data; ``inspect`` is the whole
``workload_identity_info`` run, and with ``probe_token_exchange`` adds ``_trust_chain_probe``'s
check, the exchange KEDA itself will perform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import DEFAULT_AUDIENCE as TOKEN_EXCHANGE_AUDIENCE
from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import FIC_LIMIT as CREDENTIAL_LIMIT
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure, OptionError
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
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_workload_sa import CLIENT_ID as CLIENT_ID_ANNOTATION
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import Check, Facts

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection

USE_LABEL = "azure.workload.identity/use"
INJECTED_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")
# Where KEDA runs: the AKS add-on, then the Helm chart's documented namespace.
OPERATOR_CANDIDATES = (("kube-system", "addon"), ("keda", "helm"))
OPERATOR_DEPLOYMENT = "keda-operator"


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
        from ansible_collections.kedaops.aks.plugins.module_utils._arc import cluster_checks

        checks.extend(cluster_checks(facts))
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
            f"kedaops.aks.federated_credential resource_group={group} identity_name={name} name={matching[0]['name']} "
            f"issuer={matching[0]['issuer']} subject={matching[0]['subject']} audiences=['{TOKEN_EXCHANGE_AUDIENCE}'] "
            f"(az identity federated-credential update --resource-group {group} --identity-name {name} "
            f"--name {matching[0]['name']} --issuer {matching[0]['issuer']} --subject {matching[0]['subject']} "
            f"--audiences {TOKEN_EXCHANGE_AUDIENCE})"))
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
    problems, stale, unlabelled = [], False, False
    for pod in facts.pods:
        pod_name = (pod.get("metadata") or {}).get("name")
        labels = (pod.get("metadata") or {}).get("labels") or {}
        env = _env_of(pod)
        if labels.get(USE_LABEL) != "true":
            problems.append(f"{pod_name} lacks the label {USE_LABEL}=true (the webhook ignores it)")
            unlabelled = True
            continue
        missing = [v for v in INJECTED_ENV if v not in env]
        if missing:
            problems.append(f"{pod_name} lacks {', '.join(missing)} (started before the service account was annotated)")
            stale = True
        elif annotated and env.get("AZURE_CLIENT_ID") != annotated:
            problems.append(f"{pod_name} has AZURE_CLIENT_ID={env.get('AZURE_CLIENT_ID')}, the annotation says {annotated} "
                            f"(started before the annotation changed)")
            stale = True
        elif client_id and env.get("AZURE_CLIENT_ID") != client_id:
            # It runs with what the annotation names, but that is not the identity's: once the annotation is
            # mended the pod is stale, so its restart is part of the fix now, not of the next doctor run.
            problems.append(f"{pod_name} has AZURE_CLIENT_ID={env.get('AZURE_CLIENT_ID')}, the identity's client id "
                            f"is {client_id} (see service_account_annotation)")
            stale = True
    if not facts.pods:
        problems.append("no running operator pod")
    checks.append(Check(
        "operator_pods", not problems,
        "; ".join(problems) if problems else f"{len(facts.pods)} pod(s) labelled and carrying {', '.join(INJECTED_ENV)}",
        _operator_pods_fix(facts, stale, unlabelled, annotation_ok=annotated == client_id)))
    return checks


def _operator_pods_fix(facts: Facts, stale: bool, unlabelled: bool, annotation_ok: bool) -> str:
    """The commands that mend the operator's pods: a restart makes the webhook inject what the service account
    names now (so it comes after the annotation's fix); a pod the webhook skips needs its label first."""
    ns, deployment = facts.operator_namespace, OPERATOR_DEPLOYMENT
    restart = (f"kubectl rollout restart deployment/{deployment} -n {ns} && "
               f"kubectl rollout status deployment/{deployment} -n {ns}")
    module = (f"kedaops.aks.rollout_restart namespace={ns} name={deployment} wait=true "
              f"unless_env_present={list(INJECTED_ENV)} "
              f"unless_env_matches_service_account={{'AZURE_CLIENT_ID': '{CLIENT_ID_ANNOTATION}'}}")
    after = "" if annotation_ok else "after the service_account_annotation fix, "
    fixes = []
    if unlabelled:
        fixes.append(f"label the operator's pod template {USE_LABEL}=true ("
                     + ("helm upgrade keda kedacore/keda -n " + ns + " --reuse-values --set podIdentity.azureWorkload.enabled=true"
                        if facts.operator_mode == "helm" else "the AKS add-on labels its own pods: enable workload identity "
                        f"on the cluster (az aks update {facts.cluster_ref} --enable-workload-identity)")
                     + "), then restart it: " + restart)
    if stale:
        fixes.append(f"{after}restart the operator so the webhook injects what its service account names now: "
                     f"{restart} (or {module})")
    if not facts.pods:
        fixes.append(f"find why no operator pod runs: kubectl describe deployment/{deployment} -n {ns}; "
                     f"kubectl get events -n {ns}")
    return "; ".join(fixes)


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


# --- the whole inspection ----------------------------------------------------------------------


class ChainProblems(ModuleFailure):
    """``fail_on_problems``: the chain has failing checks; the result still carries every check."""

    def __init__(self, failed: list[Check], result: dict[str, Any]):
        super().__init__(f"{len(failed)} problem(s) in the workload identity chain: "
                         + "; ".join(f"{c.id}: {c.detail}" for c in failed))
        self.result = result

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), **self.result}


def gather(conn: AzureConnection, connect_k8s: Callable[[], Api], options: dict[str, Any]) -> tuple[Facts, Api]:
    """Read every link: the cluster (or the given issuer), the identity and its credentials and
    roles in Azure, then the operator, its pods and the scalers in Kubernetes.

    The links do not depend on one another until they are evaluated, so the cluster, the identity,
    its credentials and the Kubernetes side are read side by side, after one token: at ARM's usual
    latency (~100 ms a request) three reads in sequence were most of this module's time."""
    from concurrent.futures import ThreadPoolExecutor

    from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import azure_errors

    facts = Facts(cluster_kind=options["cluster_kind"])
    # Everything the threads need is imported and built here first: the connections and clients are
    # built lazily, and two threads importing one package (requests, from both SDKs) at once can meet
    # it half-initialised.
    from ansible_collections.kedaops.aks.plugins.module_utils import _arc, _azure_aks  # noqa: F401

    api = connect_k8s()
    conn.msi()
    conn.arm()
    with azure_errors("authenticating to Azure"):
        conn.credential.get_token(conn.cloud.scope)  # one token, which the reads share

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="kedaops-chain") as pool:
        k8s = pool.submit(read_kubernetes, api, facts, options["operator_namespace"], options["operator_service_account"],
                          options["scalers"], options["trigger_auths"])
        cluster = pool.submit(_read_cluster, conn, facts, options)
        credentials = identity = None
        if options["identity_name"]:
            facts.identity_ref = (options["identity_resource_group"], options["identity_name"])
            identity = pool.submit(msi.get_identity, conn, *facts.identity_ref)
            credentials = pool.submit(_credentials_if_any, conn, facts.identity_ref)
        # Results in the order the links were read one by one before, so the same error is reported.
        cluster.result()
        if identity is not None:
            facts.identity = identity.result()
        else:
            group, name, facts.identity = msi.find_identity_by_client_id(conn, options["identity_client_id"])
            facts.identity_ref = (group, name)
            if facts.identity:
                credentials = pool.submit(_credentials_if_any, conn, facts.identity_ref)
        if facts.identity:
            found = credentials.result() if credentials else None
            facts.credentials = found if found is not None else []
            if options["role_assignments"]:
                facts.roles = read_roles(conn, facts.identity["principal_id"], options["role_assignments"])
        k8s.result()
    if (options["probe_token_exchange"] and facts.cluster_kind == "arc" and facts.issuer and facts.operator_namespace
            and facts.service_account):
        # Arc only: which issuer the API server signs with (a token is asked for, and only read).
        from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import request_token, token_issuer

        facts.token_issuer = token_issuer(request_token(api, facts.operator_namespace, facts.operator_service_account))
    return facts, api


def _read_cluster(conn: AzureConnection, facts: Facts, options: dict[str, Any]) -> None:
    """The cluster's issuer (AKS or Arc); without a cluster name, the issuer given."""
    if options["cluster_name"] and facts.cluster_kind == "arc":
        from ansible_collections.kedaops.aks.plugins.module_utils import _arc as arc

        facts.cluster = arc.cluster_state(arc.get_cluster(conn, options["cluster_resource_group"],
                                                          options["cluster_name"]))
        facts.cluster_ref = f"-g {options['cluster_resource_group']} -n {options['cluster_name']}"
        facts.issuer = facts.cluster.get("issuer_url") or ""
    elif options["cluster_name"]:
        from ansible_collections.kedaops.aks.plugins.module_utils import _azure_aks as aks

        # A missing cluster raises Azure's own 404 (ResourceNotFound), kept in the failure result.
        facts.cluster = aks.cluster_state(aks.get_cluster(conn, options["cluster_resource_group"],
                                                          options["cluster_name"]))
        facts.cluster_ref = f"-g {options['cluster_resource_group']} -n {options['cluster_name']}"
        facts.issuer = facts.cluster.get("oidc_issuer_url") or ""
    else:
        facts.issuer = options["issuer_url"]


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


def inspect(conn: AzureConnection, connect_k8s: Callable[[], Api], options: dict[str, Any]) -> dict[str, Any]:
    """The ``workload_identity_info`` result: gather, evaluate, and with ``probe_token_exchange`` probe."""
    if options["wait_timeout"] < 0:
        raise OptionError("wait_timeout: must be 0 or more seconds")
    check_names(options)
    facts, api = gather(conn, connect_k8s, options)
    checks = evaluate(facts)
    result: dict[str, Any] = {"changed": False}
    identity = facts.identity
    if options["probe_token_exchange"] and identity and facts.operator_namespace:
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import PUBLIC_AUTHORITY_HOSTS
        from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_probe import (
            exchange,
            probe,
            probe_check,
            request_token,
        )

        cloud = conn.cloud
        static_ok = all(c.ok for c in checks
                        if c.id.startswith(("credential_", "oidc_issuer", "identity", "api_server_issuer")))
        outcome = probe(
            lambda: request_token(api, facts.operator_namespace, facts.operator_service_account),
            lambda token: exchange(token, identity["tenant_id"], identity["client_id"], cloud.authority_host,
                                   cloud.scope, PUBLIC_AUTHORITY_HOSTS),
            float(options["wait_timeout"]), may_wait=static_ok)
        checks.append(probe_check(outcome, facts))
        result["probe"] = outcome
    result["checks"] = [c.as_dict() for c in checks]
    result["ok"] = all(c.ok for c in checks)
    result["chain"] = {
        "issuer": facts.issuer, "subject": facts.subject,
        "client_id": (identity or {}).get("client_id"), "principal_id": (identity or {}).get("principal_id"),
        "operator_namespace": facts.operator_namespace, "operator_service_account": facts.operator_service_account,
        "install": facts.operator_mode,
    }
    if options["fail_on_problems"] and not result["ok"]:
        raise ChainProblems([c for c in checks if not c.ok], result)
    return result
