# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust chain's checks: ``evaluate`` turns the facts read (``_trust_chain_read``) into one ``Check``
per link, each with its concrete fix, without any I/O, so every rule is testable on plain data."""

from __future__ import annotations

from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import DEFAULT_AUDIENCE as TOKEN_EXCHANGE_AUDIENCE
from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import FIC_LIMIT as CREDENTIAL_LIMIT
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_workload_sa import CLIENT_ID as CLIENT_ID_ANNOTATION
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import (
    INJECTED_ENV,
    OPERATOR_DEPLOYMENT,
    USE_LABEL,
    Check,
    Facts,
    auth_refs,
)


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
