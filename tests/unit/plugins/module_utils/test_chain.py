"""The trust-chain rules on plain data: each broken link fails exactly its own check."""

from __future__ import annotations

import copy

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kedaops.aks.plugins.module_utils import _trust_chain as core
from ansible_collections.kedaops.aks.plugins.module_utils import _trust_chain_checks as _chain
from ansible_collections.kedaops.aks.plugins.module_utils import _trust_chain_probe as probing
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

ISSUER = "https://eastus.oic.prod-aks.azure.com/tenant/guid/"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
PRINCIPAL_ID = "99999999-8888-7777-6666-555555555555"
SUBJECT = "system:serviceaccount:kube-system:keda-operator"
INJECTED = [{"name": n, "value": CLIENT_ID if n == "AZURE_CLIENT_ID" else "x"} for n in _chain.INJECTED_ENV]


def healthy() -> _chain.Facts:
    return _chain.Facts(
        cluster={"oidc_issuer": True, "workload_identity": True, "oidc_issuer_url": ISSUER},
        cluster_ref="-g rg -n aks",
        issuer=ISSUER,
        identity={"client_id": CLIENT_ID, "principal_id": PRINCIPAL_ID, "tenant_id": "t"},
        identity_ref=("rg", "mi"),
        credentials=[{"name": "keda-operator", "issuer": ISSUER, "subject": SUBJECT,
                      "audiences": ["api://AzureADTokenExchange"]}],
        operator_namespace="kube-system",
        operator_service_account="keda-operator",
        operator_mode="addon",
        operator_deployment={"metadata": {"name": "keda-operator"}},
        service_account={"metadata": {"annotations": {_chain.CLIENT_ID_ANNOTATION: CLIENT_ID}}},
        pods=[{"metadata": {"name": "keda-operator-abc", "labels": {_chain.USE_LABEL: "true"}},
               "spec": {"containers": [{"name": "keda-operator", "env": INJECTED}]}}],
        scalers=[{"kind": "ScaledObject", "metadata": {"name": "so", "namespace": "default"},
                  "spec": {"triggers": [{"type": "prometheus", "authenticationRef": {"name": "ta"}}]}}],
        trigger_auths={("TriggerAuthentication", "default", "ta"): {
            "spec": {"podIdentity": {"provider": "azure-workload", "identityId": CLIENT_ID}}}},
        roles=[{"scope": "/subscriptions/s/rg/x", "role": "Monitoring Data Reader", "holds": True, "at": "/subscriptions/s"}],
    )


def failed(facts: _chain.Facts) -> list[str]:
    return sorted(c.id for c in _chain.evaluate(facts) if not c.ok)


def _subject_other_namespace(f):
    f.credentials[0]["subject"] = "system:serviceaccount:keda:keda-operator"


def _subject_case(f):
    f.credentials[0]["subject"] = "system:serviceaccount:kube-system:KEDA-operator"


def _issuer_no_slash(f):
    f.credentials[0]["issuer"] = ISSUER.rstrip("/")


def _audience(f):
    f.credentials[0]["audiences"] = ["api://AzureADTokenExchangeUSGov"]


def _pods_before_annotation(f):
    f.pods[0]["spec"]["containers"][0]["env"] = [e for e in INJECTED if e["name"] != "AZURE_CLIENT_ID"]


def _pod_unlabelled(f):
    f.pods[0]["metadata"]["labels"] = {}


def _annotation_principal(f):
    f.service_account["metadata"]["annotations"][_chain.CLIENT_ID_ANNOTATION] = PRINCIPAL_ID
    f.pods[0]["spec"]["containers"][0]["env"][0]["value"] = PRINCIPAL_ID


OLD_CLIENT_ID = "00000000-aaaa-bbbb-cccc-000000000001"


def _stale_client_id(f):
    f.pods[0]["spec"]["containers"][0]["env"][0]["value"] = OLD_CLIENT_ID


def _ta_elsewhere(f):
    f.trigger_auths[("TriggerAuthentication", "default", "ta")] = None
    f.trigger_auths_elsewhere = {"ta": ["other"]}


def _ta_principal_id(f):
    f.trigger_auths[("TriggerAuthentication", "default", "ta")]["spec"]["podIdentity"]["identityId"] = PRINCIPAL_ID


def _role_missing(f):
    f.roles[0].update(holds=False, at=None)


def _oidc_off(f):
    f.cluster.update(oidc_issuer=False, oidc_issuer_url=None)
    f.issuer = ""


def _wi_off(f):
    f.cluster["workload_identity"] = False


def _twenty(f):
    f.credentials += [{"name": f"c{i}", "issuer": ISSUER, "subject": f"system:serviceaccount:ns{i}:sa",
                       "audiences": ["api://AzureADTokenExchange"]} for i in range(19)]


BREAKS = [
    ("subject in another namespace", _subject_other_namespace, ["credential_subject"]),
    ("subject differs only by case", _subject_case, ["credential_subject"]),
    ("issuer without trailing slash", _issuer_no_slash, ["credential_issuer"]),
    ("sovereign audience", _audience, ["credential_audience"]),
    ("operator started before the annotation", _pods_before_annotation, ["operator_pods"]),
    ("operator pod not labelled", _pod_unlabelled, ["operator_pods"]),
    ("annotation holds the principal id", _annotation_principal, ["operator_pods", "service_account_annotation"]),
    ("operator runs with a replaced identity's client id", _stale_client_id, ["operator_pods"]),
    ("TriggerAuthentication in another namespace", _ta_elsewhere, ["scaler_auth_ref:default/so"]),
    ("TriggerAuthentication names the principal id", _ta_principal_id, ["trigger_auth:default/ta"]),
    ("role assignment removed", _role_missing, ["role:Monitoring Data Reader@/subscriptions/s/rg/x"]),
    ("workload identity disabled", _wi_off, ["workload_identity"]),
    ("credential limit reached", _twenty, ["credential_limit"]),
]


def test_healthy_chain_has_no_failed_check():
    assert failed(healthy()) == []


@pytest.mark.parametrize("name,breaker,expected", BREAKS, ids=[b[0] for b in BREAKS])
def test_one_broken_link_fails_exactly_its_check_with_a_fix(name, breaker, expected):
    facts = copy.deepcopy(healthy())
    breaker(facts)
    checks = _chain.evaluate(facts)
    assert sorted(c.id for c in checks if not c.ok) == expected, name
    assert all(c.fix for c in checks if not c.ok)


def test_oidc_issuer_off_fails_the_issuer_links():
    facts = healthy()
    _oidc_off(facts)
    assert "oidc_issuer" in failed(facts)


def test_issuer_near_miss_detail_names_the_trailing_slash():
    facts = healthy()
    _issuer_no_slash(facts)
    issuer_check = next(c for c in _chain.evaluate(facts) if c.id == "credential_issuer")
    assert "trailing '/'" in issuer_check.detail
    assert f"issuer={ISSUER}" in issuer_check.fix


def test_case_only_subject_names_aadsts7002138():
    facts = healthy()
    _subject_case(facts)
    subject_check = next(c for c in _chain.evaluate(facts) if c.id == "credential_subject")
    assert "AADSTS7002138" in subject_check.detail
    assert f"subject={SUBJECT}" in subject_check.fix


def test_another_identitys_trigger_auth_is_not_this_chains_problem():
    facts = healthy()
    facts.trigger_auths[("TriggerAuthentication", "default", "ta")]["spec"]["podIdentity"]["identityId"] = \
        "00000000-0000-0000-0000-000000000001"
    assert failed(facts) == []


def test_missing_identity_is_one_check_not_a_cascade():
    facts = healthy()
    facts.identity = None
    facts.credentials = []
    assert "identity" in failed(facts)
    assert not [c for c in failed(facts) if c.startswith("credential_")]


class Refused(Exception):
    pass


@pytest.mark.parametrize("may_wait,answers,ok,attempts", [
    (True, ["AADSTS70021: no match", "AADSTS70021: no match", None], True, 3),
    (False, ["AADSTS70021: no match", None], False, 1),
    (True, ["AADSTS700016: Application not found", None], False, 1),
])
def test_probe_waits_only_for_propagation(may_wait, answers, ok, attempts):
    answers = list(answers)
    slept = []

    def try_exchange(token):
        assert token == "t"
        answer = answers.pop(0)
        if answer:
            raise Refused(answer)

    result = probing.probe(lambda: "t", try_exchange, wait_timeout=30, may_wait=may_wait, sleep=slept.append)
    assert result["ok"] is ok
    assert result["attempts"] == attempts
    assert len(slept) == attempts - 1


def test_probe_check_explains_the_aadsts_code():
    check = probing.probe_check({"ok": False, "code": "AADSTS700016", "message": "AADSTS700016: Application x",
                                "attempts": 1, "elapsed": 0.1}, healthy())
    assert not check.ok
    assert "principal id" in check.detail
    assert "client id" in check.fix


@pytest.mark.parametrize("mode, namespace", [("addon", "kube-system"), ("helm", "keda")])
def test_a_stale_operator_client_id_is_fixed_by_the_restart_command_printed(mode, namespace):
    """site -> teardown -> site: the account names the new identity, the operator still runs with the old
    client id. The fix is the restart of that operator (namespace and name), not a no-op."""
    facts = copy.deepcopy(healthy())
    facts.operator_mode, facts.operator_namespace = mode, namespace
    _stale_client_id(facts)
    check = next(c for c in _chain.evaluate(facts) if c.id == "operator_pods")
    assert not check.ok
    assert f"has AZURE_CLIENT_ID={OLD_CLIENT_ID}, the annotation says {CLIENT_ID}" in check.detail
    assert check.fix.startswith("restart the operator so the webhook injects what its service account names now: "
                                f"kubectl rollout restart deployment/keda-operator -n {namespace} && "
                                f"kubectl rollout status deployment/keda-operator -n {namespace} (or "
                                f"kedaops.aks.rollout_restart namespace={namespace} name=keda-operator wait=true ")
    assert "unless_env_matches_service_account={'AZURE_CLIENT_ID': 'azure.workload.identity/client-id'}" in check.fix


def test_pods_on_a_wrong_annotation_are_restarted_after_the_annotation_fix():
    """The annotation names the principal id and the pods run with it: mending the annotation alone would
    leave them stale, so the pods' fix says to restart them after it."""
    facts = copy.deepcopy(healthy())
    _annotation_principal(facts)
    checks = {c.id: c for c in _chain.evaluate(facts)}
    assert f"the identity's client id is {CLIENT_ID}" in checks["operator_pods"].detail
    assert checks["operator_pods"].fix.startswith("after the service_account_annotation fix, restart the operator")
    assert "kubectl annotate serviceaccount -n kube-system keda-operator --overwrite" in checks["service_account_annotation"].fix


def test_an_unlabelled_operator_pod_is_labelled_then_restarted():
    facts = copy.deepcopy(healthy())
    facts.operator_mode, facts.operator_namespace = "helm", "keda"
    _pod_unlabelled(facts)
    check = next(c for c in _chain.evaluate(facts) if c.id == "operator_pods")
    assert "--set podIdentity.azureWorkload.enabled=true" in check.fix
    assert check.fix.endswith("then restart it: kubectl rollout restart deployment/keda-operator -n keda && "
                              "kubectl rollout status deployment/keda-operator -n keda")


def test_the_audience_fix_is_a_whole_command():
    facts = copy.deepcopy(healthy())
    _audience(facts)
    check = next(c for c in _chain.evaluate(facts) if c.id == "credential_audience")
    assert check.fix == (
        f"kedaops.aks.federated_credential resource_group=rg identity_name=mi name=keda-operator issuer={ISSUER} "
        f"subject={SUBJECT} audiences=['api://AzureADTokenExchange'] (az identity federated-credential update "
        f"--resource-group rg --identity-name mi --name keda-operator --issuer {ISSUER} --subject {SUBJECT} "
        "--audiences api://AzureADTokenExchange)")


# --- build: the options become a plan, every refusal before the first read ---------------------


def chain_params(**given):
    """The module's parameters as AnsibleModule fills them from its own spec and rules."""
    validation = ArgumentSpecValidator(core.ARGUMENT_SPEC, **core.RULES).validate(
        {"issuer_url": ISSUER, "identity_client_id": CLIENT_ID, **given})
    assert not validation.error_messages, validation.error_messages
    return dict(validation.validated_parameters)


def test_build_plans_what_the_options_name():
    plan = core.build(chain_params(scalers=[{"name": "worker"}],
                                   trigger_auths=[{"name": "wi", "kind": "ClusterTriggerAuthentication"}]))
    assert (plan.issuer_url, plan.identity_client_id, plan.cluster_name, plan.cluster_kind) == (
        ISSUER, CLIENT_ID, None, "aks")
    assert plan.scalers == [{"kind": "ScaledObject", "name": "worker", "namespace": "default"}]
    assert plan.trigger_auths == [{"kind": "ClusterTriggerAuthentication", "name": "wi", "namespace": None}]
    assert (plan.role_assignments, plan.probe_token_exchange, plan.wait_timeout) == ([], False, 0)


@pytest.mark.parametrize("given, option", [
    ({"operator_namespace": "Keda"}, "operator_namespace: 'Keda' is not a valid DNS-1123 label"),
    ({"scalers": [{"name": "worker"}, {"name": "Bad_Name"}]}, "scalers[1].name: 'Bad_Name'"),
    ({"trigger_auths": [{"name": "wi", "namespace": "a/b"}]}, "trigger_auths[0].namespace: 'a/b'"),
    ({"role_assignments": [{"scope": "subscriptions/x", "role": "Reader"}]}, "role_assignments[0].scope:"),
])
def test_build_refuses_a_name_no_object_can_have(given, option):
    with pytest.raises(OptionError) as refused:
        core.build(chain_params(**given))
    assert str(refused.value).startswith(option)
