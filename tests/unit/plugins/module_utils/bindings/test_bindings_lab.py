# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""workload_bindings' logic against the lab: the per-item rules applied to a list, a few list
calls instead of one read per object, writes only for differences, check mode, the per-identity
credential limit, retried concurrency conflicts, and failures that keep Azure's and Kubernetes'
codes while the other bindings go on."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_aks as aks
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _bindings as bindings
from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._bindings_run import BindingsFailed
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure, OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect

RG = "rg-keda-integration"
ISSUER = "https://oidc.example.test/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/"
ROLE = "Azure Service Bus Data Owner"


class Run:
    """One module run: the core's build and apply over a fresh connection (as each task gets), the module
    result with its diff, its warnings (kept also when the run fails)."""

    def __init__(self, lab):
        self.lab = lab
        self.warnings: list[str] = []

    def __call__(self, bindings_list: list[dict[str, Any]], check_mode: bool = False, **options: Any) -> dict:
        plan = bindings.build(params_for(bindings_list, **options))
        connection = Connection.of(azure=AzureConnection(AzureAuth.from_env(self.lab.env)),
                                   k8s=Api(connect({}, environ=dict(self.lab.env))))
        try:
            outcome = bindings.apply(connection, plan, check_mode)
        except ModuleFailure as failed:
            self.warnings += failed.failure_result().get("warnings", [])
            raise
        out = result(outcome, True)
        self.warnings += out.pop("warnings", [])
        return out


def params_for(bindings_list: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """The module's parameters as AnsibleModule fills them from its own spec (every suboption present, None
    when not given, defaults set), which each binding's validation by ``_bulk.build_items`` then reads."""
    args = {"resource_group": RG, "issuer": ISSUER, "bindings": copy.deepcopy(bindings_list), "timeout": 30, **options}
    validation = ArgumentSpecValidator(bindings.ARGUMENT_SPEC).validate(args)
    assert not validation.error_messages, validation.error_messages
    return dict(validation.validated_parameters)


def binding(index: int, identity: str = "mi-a", **extra: Any) -> dict[str, Any]:
    namespace = f"team-{index}"
    entry = {
        "namespace": namespace, "service_account": "worker", "identity": identity,
        "trigger_auth": {"name": "azure-wi"},
        "scaled_object": {"name": "worker", "scale_target": {"name": "worker"}, "max_replicas": 10,
                          "triggers": [{"type": "azure-servicebus",
                                        "metadata": {"namespace": "sb-keda-demo", "queueName": "orders",
                                                     "messageCount": 5},
                                        "authentication_ref": {"name": "azure-wi"}}]},
    }
    entry.update(extra)
    return entry


@pytest.fixture
def wlab(clean_lab, monkeypatch):
    for name, value in clean_lab.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    return clean_lab


@pytest.fixture
def conn(wlab) -> AzureConnection:
    return AzureConnection(AzureAuth.from_env(wlab.env))


@pytest.fixture
def keda(conn, wlab):
    """The AKS KEDA add-on enabled: it installs the keda.sh CRDs into the Kubernetes lab."""
    features = {"oidc_issuer": True, "workload_identity": True, "keda": True}
    aks.ensure_features(conn, aks.AksPlan(RG, wlab.env["LAB_AKS_NAME"], features, 60), False)


@pytest.fixture
def identities(conn, keda):
    made = {}
    for name in ("mi-a", "mi-b"):
        _changed, made[name] = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, name, "eastus"), False)
    return made


@pytest.fixture
def run(wlab) -> Run:
    return Run(wlab)


def writes(wlab) -> list[dict]:
    return wlab.writes()


def reads(wlab) -> list[tuple[str, str]]:
    return [(r["service"], r["path"].split("?")[0]) for r in wlab.requests()
            if r["method"] == "GET" and r["service"] in ("k8s", "arm") and "/metadata/" not in r["path"]]


# --- input rules, before any request ------------------------------------------------------------

INVALID = [
    ([binding(0, namespace="Team_A")], OptionError, "bindings[0].namespace: 'Team_A' is not a valid DNS-1123 label"),
    ([binding(0, scaled_object={"name": "worker", "scale_target": {"name": "w"}, "min_replicas": 5,
                                "max_replicas": 2, "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]})],
     OptionError, "bindings[0].scaled_object.min_replicas: 5 must be less than or equal to max_replicas (2)"),
    ([binding(0), binding(0, identity="mi-b")], OptionError, "service account team-0/worker is already bound by bindings[0]"),
    ([binding(0), binding(1, credential_name="TEAM-0-worker")], OptionError,
     "bindings[1].credential_name: 'TEAM-0-worker' is already used on identity rg-keda-integration/mi-a"),
    ([binding(i) for i in range(21)], OptionError, "would need more than 20 federated credentials"),
    ([binding(0, trigger_auth={"name": "azure-wi", "identity_authority_host": "https://login.example.test/"})],
     OptionError, "bindings[0].trigger_auth.identity_authority_host: requires identity_tenant_id"),
    ([binding(0, credential_name="ab")], OptionError, "bindings[0]: name: 'ab' is not a valid federated credential name"),
    ([binding(0, role_assignments=[{"scope": "subscriptions/x", "role": ROLE}])], OptionError,
     "bindings[0].role_assignments[0].scope: 'subscriptions/x' must be an Azure resource id"),
    ([dict(binding(0), trigger_auth={"name": "azure-wi"}), dict(binding(1), namespace="team-0", service_account="other",
                                                                identity="mi-b")],
     OptionError, "TriggerAuthentication team-0/azure-wi is also stated by bindings[0] with another identity"),
]


@pytest.mark.parametrize("bindings_list, error, message", INVALID, ids=[m for _b, _e, m in INVALID])
def test_invalid_input_fails_before_any_request(wlab, run, bindings_list, error, message):
    wlab.clear_requests()
    with pytest.raises(error) as raised:
        run(bindings_list)
    assert message in str(raised.value)
    assert [r for r in wlab.requests() if r["service"] != "control"] == []


def test_a_present_binding_needs_the_issuer(wlab, run):
    with pytest.raises(OptionError, match=r"bindings\[0\]: issuer: required"):
        run([binding(0)], issuer=None)


# --- converge -----------------------------------------------------------------------------------


def test_check_apply_check_apply(wlab, run, identities):
    scope = wlab.env["LAB_SERVICEBUS_NAMESPACE_ID"]
    spec = [binding(i, "mi-a" if i % 2 else "mi-b", role_assignments=[{"scope": scope, "role": ROLE}]) for i in range(4)]

    wlab.clear_requests()
    predicted = run(spec, check_mode=True)
    assert predicted["changed"] and writes(wlab) == []
    assert predicted["summary"]["service_account"] == {"created": 4}
    assert predicted["summary"]["role_assignments"] == {"created": 2}  # one per identity, not per binding

    applied = run(spec)
    assert applied["changed"]
    assert applied["summary"] == {
        "namespace": {"created": 4}, "service_account": {"created": 4}, "trigger_auth": {"created": 4},
        "scaled_object": {"created": 4}, "credential": {"created": 4}, "role_assignments": {"created": 2}}
    assert applied["bindings"][1]["client_id"] == identities["mi-a"]["client_id"]
    diff_keys = set(applied["diff"]["after"])
    assert "FederatedIdentityCredential rg-keda-integration/mi-a/team-1-worker" in diff_keys
    assert "ScaledObject team-3/worker" in diff_keys

    wlab.clear_requests()
    assert run(spec, check_mode=True)["changed"] is False
    assert writes(wlab) == []
    wlab.clear_requests()
    again = run(spec)
    assert again["changed"] is False and again["diff"] == {"before": {}, "after": {}}
    assert writes(wlab) == []


def test_reads_do_not_grow_with_the_number_of_bindings(wlab, run, identities):
    def noop_reads(count: int) -> list[tuple[str, str]]:
        spec = [binding(i, "mi-a") for i in range(count)]
        run(spec)
        wlab.clear_requests()
        run(spec)
        assert writes(wlab) == []
        return sorted(reads(wlab))

    assert noop_reads(2) == noop_reads(12)
    k8s_reads = [path for service, path in noop_reads(3) if service == "k8s"]
    assert sorted(k8s_reads) == ["/api/v1/namespaces", "/api/v1/serviceaccounts",
                                 "/apis/keda.sh/v1alpha1/scaledobjects", "/apis/keda.sh/v1alpha1/triggerauthentications"]


def test_namespace_list_scope_reads_per_namespace(wlab, run, identities):
    spec = [binding(0), binding(1)]
    run(spec, list_scope="namespace")
    wlab.clear_requests()
    assert run(spec, list_scope="namespace")["changed"] is False
    k8s_reads = sorted(path for service, path in reads(wlab) if service == "k8s")
    assert "/api/v1/namespaces/team-0/serviceaccounts" in k8s_reads and "/api/v1/serviceaccounts" not in k8s_reads


def test_only_the_differences_are_written(wlab, run, identities):
    spec = [binding(i) for i in range(3)]
    run(spec)
    spec[1]["scaled_object"]["max_replicas"] = 20
    wlab.clear_requests()
    result = run(spec)
    assert result["summary"]["scaled_object"] == {"unchanged": 2, "updated": 1}
    assert [(w["method"], w["path"].split("?")[0]) for w in writes(wlab)] == [
        ("PATCH", "/apis/keda.sh/v1alpha1/namespaces/team-1/scaledobjects/worker")]
    assert result["diff"]["before"]["ScaledObject team-1/worker"]["spec"]["maxReplicaCount"] == 10


def test_absent_removes_the_binding_and_keeps_shared_role_assignments(wlab, run, identities):
    scope = wlab.env["LAB_SERVICEBUS_NAMESPACE_ID"]
    roles = [{"scope": scope, "role": ROLE}]
    spec = [binding(0, role_assignments=roles), binding(1, role_assignments=roles)]
    run(spec)
    spec[1]["state"] = "absent"
    result = run(spec)
    actions = result["bindings"][1]["actions"]
    assert (actions["scaled_object"], actions["trigger_auth"], actions["service_account"], actions["credential"]) == (
        "deleted", "deleted", "deleted", "deleted")
    assert result["bindings"][1]["actions"]["role_assignments"][0]["action"] == "unchanged"  # binding 0 still needs it
    wlab.clear_requests()
    assert run(spec)["changed"] is False and writes(wlab) == []


# --- refusals and failures ------------------------------------------------------------------------


def test_the_21st_credential_is_refused_and_the_others_are_written(wlab, run, conn, identities):
    for index in range(19):
        msi.ensure_credential_present(conn, msi.CredentialPlan(RG, "mi-a", f"existing-{index}", ISSUER,
                                                               f"system:serviceaccount:other:sa-{index}", timeout=30),
                                      False, lambda _m: None)
    with pytest.raises(BindingsFailed) as failed:
        run([binding(0), binding(1)])
    assert failed.value.error["code"] == "FederatedIdentityCredentialLimitReached"
    outcome = failed.value.result["bindings"]
    assert [b["actions"]["credential"] for b in outcome] == ["created", "failed"]
    assert outcome[1]["actions"]["service_account"] == "created"  # Kubernetes side still converged


def test_concurrent_write_conflicts_are_retried(wlab, run, identities):
    wlab.fault(
        service="arm", method="PUT", path="federatedIdentityCredentials", status=409,
        code=msi.CONCURRENT_WRITE_CODE, message="Too many concurrent writes", times=2)
    result = run([binding(0), binding(1)])
    assert result["summary"]["credential"] == {"created": 2}


def test_an_azure_error_keeps_its_code(wlab, run, identities):
    wlab.fault(
        service="arm", method="PUT", path="roleAssignments", status=403, code="AuthorizationFailed",
        message="The client does not have authorization", times=5)
    with pytest.raises(BindingsFailed) as failed:
        run([binding(0, role_assignments=[{"scope": wlab.env["LAB_SERVICEBUS_NAMESPACE_ID"], "role": ROLE}])])
    assert failed.value.error == {"code": "AuthorizationFailed", "message": "The client does not have authorization",
                                  "status": 403}
    assert "bindings[0].role_assignments" in failed.value.failures[0].where


def test_a_missing_trigger_authentication_is_refused_with_keda_scaled_objects_message(wlab, run, identities):
    spec = [binding(0, trigger_auth=None)]
    with pytest.raises(BindingsFailed) as failed:
        run(spec)
    assert ("triggers[0].authentication_ref: TriggerAuthentication team-0/azure-wi does not exist"
            in str(failed.value))
    assert [w for w in writes(wlab) if "scaledobjects" in w["path"]] == []


def test_a_missing_identity_fails_before_any_write_and_check_mode_warns(wlab, run, identities):
    spec = [binding(0, "mi-missing")]
    wlab.clear_requests()
    with pytest.raises(BindingsFailed) as failed:
        run(spec)
    assert failed.value.error["code"] == "ResourceNotFound" and writes(wlab) == []
    predicted = run(spec, check_mode=True)
    assert predicted["changed"] and any("mi-missing does not exist yet" in w for w in run.warnings)


def test_without_keda_a_run_fails_before_writing_and_check_mode_predicts(wlab, run, conn):
    msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, "mi-a", "eastus"), False)
    wlab.clear_requests()
    with pytest.raises(BindingsFailed) as failed:
        run([binding(0)])
    assert "KEDA is not installed (CRD triggerauthentications.keda.sh missing)" in str(failed.value)
    assert writes(wlab) == []
    predicted = run([binding(0)], check_mode=True)
    assert predicted["bindings"][0]["actions"]["scaled_object"] == "created"
    assert len([w for w in run.warnings if "KEDA is not installed" in w]) == 2  # once per kind, not per binding


def test_a_conflict_is_read_again_from_the_server(wlab, run, identities):
    spec = [binding(0)]
    run(spec)
    spec[0]["scaled_object"]["max_replicas"] = 30
    wlab.fault(
        service="k8s", method="PATCH", path="/scaledobjects/worker", status=409, code="Conflict",
        message="the object has been modified", times=1)
    wlab.clear_requests()
    result = run(spec)
    assert result["summary"]["scaled_object"] == {"updated": 1}
    gets = [r["path"] for r in wlab.requests() if r["method"] == "GET" and "/namespaces/team-0/scaledobjects/worker" in r["path"]]
    assert len(gets) == 1  # the list served the first read; the retry read the server


def test_check_mode_without_an_issuer_predicts_the_credentials(wlab, run, identities):
    predicted = run([binding(0)], check_mode=True, issuer=None)
    assert predicted["bindings"][0]["actions"]["credential"] == "created"
    assert any("issuer is not known yet" in w for w in run.warnings)
