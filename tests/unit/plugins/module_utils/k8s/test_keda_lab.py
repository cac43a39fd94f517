# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KEDA modules' logic against the lab with the real KEDA CRDs installed: the objects the server
stores follow the CRD schemas, references are checked before writing, no-ops are one GET."""

from __future__ import annotations

import copy

import pytest
from k8s_openapi_subset import load_crds, validate_object
from test_keda_crd_schema import FULL_SJ, FULL_SO
from test_keda_options import SJ, SO, TA

from ansible_collections.kedaops.aks.plugins.module_utils import _keda
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

CRDS = load_crds()


def run(k8s, plan, check_mode=False, want_diff=True):
    return result(_keda.apply(Connection.of(k8s=k8s.api), plan, check_mode), want_diff)


def trigger_auth(k8s, name, namespace="default", kind="TriggerAuthentication"):
    run(k8s, _keda.build_trigger_auth(dict(TA, name=name, namespace=namespace if kind == "TriggerAuthentication" else None,
                                           kind=kind)))


@pytest.mark.parametrize("build,params", [
    (_keda.build_trigger_auth, dict(TA, name="another-auth")),
    (_keda.build_scaled_object, SO),
    (_keda.build_scaled_object, FULL_SO),
    (_keda.build_scaled_job, SJ),
    (_keda.build_scaled_job, FULL_SJ),
], ids=["trigger auth", "scaled object", "scaled object, every option", "scaled job", "scaled job, every option"])
def test_stored_objects_follow_the_crd_schema_and_a_second_run_is_one_get(k8s, build, params):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-managed-prometheus-trigger-auth")
    trigger_auth(k8s, "azure-servicebus-auth")
    trigger_auth(k8s, "shared", kind="ClusterTriggerAuthentication")
    first = run(k8s, build(params))
    assert first["changed"]
    stored = first[build(params).result_key]
    assert validate_object(CRDS, stored) == []
    k8s.clear()
    second = run(k8s, build(params))
    assert not second["changed"]
    assert [r["method"] for r in k8s.requests()] == ["GET"]
    assert second["diff"]["before"] == second["diff"]["after"]


def test_check_mode_predicts_the_servers_object_without_writing(k8s):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-managed-prometheus-trigger-auth")
    k8s.clear()
    predicted = run(k8s, _keda.build_scaled_object(SO), check_mode=True)
    assert predicted["changed"]
    assert predicted["diff"]["before"] == {}
    assert predicted["scaled_object"]["spec"]["triggers"][0]["metadata"]["threshold"] == "100.50"
    assert k8s.writes() == []
    created = run(k8s, _keda.build_scaled_object(SO))
    assert created["scaled_object"]["spec"] == predicted["scaled_object"]["spec"]


def test_a_trigger_auth_in_another_namespace_is_refused_before_writing(k8s):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-managed-prometheus-trigger-auth", namespace="kube-system")
    k8s.clear()
    with pytest.raises(OptionError, match=r"triggers\[0\].authentication_ref: TriggerAuthentication "
                                          r"default/azure-managed-prometheus-trigger-auth does not exist"):
        run(k8s, _keda.build_scaled_object(SO))
    assert k8s.writes() == []


def test_in_check_mode_a_missing_trigger_auth_is_a_warning(k8s):
    k8s.install_keda_crds()
    result = run(k8s, _keda.build_scaled_object(SO), check_mode=True)
    assert result["changed"]
    assert any("does not exist" in w and "unless an earlier task creates it" in w for w in result["warnings"])


def test_a_cluster_trigger_auth_reference_is_looked_up_cluster_wide(k8s):
    k8s.install_keda_crds()
    params = copy.deepcopy(SO)
    params["triggers"][0]["authentication_ref"] = {"name": "shared", "kind": "ClusterTriggerAuthentication"}
    with pytest.raises(OptionError, match="ClusterTriggerAuthentication shared does not exist"):
        run(k8s, _keda.build_scaled_object(params))
    trigger_auth(k8s, "shared", kind="ClusterTriggerAuthentication")
    assert run(k8s, _keda.build_scaled_object(params))["changed"]


def test_the_reference_is_only_checked_when_writing(k8s):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-managed-prometheus-trigger-auth")
    run(k8s, _keda.build_scaled_object(SO))
    k8s.clear()
    assert not run(k8s, _keda.build_scaled_object(SO))["changed"]
    assert len(k8s.requests()) == 1


def test_an_update_replaces_the_trigger_list_and_keeps_unmanaged_fields(k8s):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-managed-prometheus-trigger-auth")
    run(k8s, _keda.build_scaled_object(dict(SO, polling_interval=15)))
    params = copy.deepcopy(SO)
    del params["triggers"][0]["metadata"]["activationThreshold"]
    params["triggers"][0]["metadata"]["threshold"] = 100.5
    params["min_replicas"] = None
    result = run(k8s, _keda.build_scaled_object(params))
    spec = result["scaled_object"]["spec"]
    assert result["changed"]
    assert spec["triggers"][0]["metadata"]["threshold"] == "100.5"
    assert "activationThreshold" not in spec["triggers"][0]["metadata"]
    assert spec["pollingInterval"] == 15 and spec["minReplicaCount"] == 1  # not given: untouched
    assert result["diff"]["before"]["spec"]["triggers"][0]["metadata"]["activationThreshold"] == "5.5"


def test_trigger_auth_identity_fields_are_removed_not_emptied(k8s):
    k8s.install_keda_crds()
    run(k8s, _keda.build_trigger_auth(dict(TA, identity_tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47")))
    result = run(k8s, _keda.build_trigger_auth(dict(TA, identity_tenant_id="")))
    assert result["changed"]
    assert result["trigger_auth"]["spec"]["podIdentity"] == {"provider": "azure-workload",
                                                             "identityId": TA["identity_id"]}


def test_other_parts_of_a_trigger_auth_spec_are_kept(k8s):
    k8s.install_keda_crds()
    k8s.create("/apis/keda.sh/v1alpha1/namespaces/default/triggerauthentications", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": "azure-servicebus-auth"},
        "spec": {"secretTargetRef": [{"parameter": "connection", "name": "sb", "key": "conn"}]}})
    result = run(k8s, _keda.build_trigger_auth(TA))
    assert result["changed"]
    assert result["trigger_auth"]["spec"]["secretTargetRef"] == [{"parameter": "connection", "name": "sb", "key": "conn"}]
    assert validate_object(CRDS, result["trigger_auth"]) == []


def test_job_target_removals_with_null_and_server_defaults_are_not_a_change(k8s):
    k8s.install_keda_crds()
    trigger_auth(k8s, "azure-servicebus-auth")
    params = copy.deepcopy(SJ)
    params["job_target"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    params["job_target"]["backoffLimit"] = 2
    run(k8s, _keda.build_scaled_job(params))
    k8s.clear()
    assert not run(k8s, _keda.build_scaled_job(params))["changed"]  # even if the server defaulted protocol: TCP
    params["job_target"]["backoffLimit"] = None
    result = run(k8s, _keda.build_scaled_job(params))
    assert result["changed"] and "backoffLimit" not in result["scaled_job"]["spec"]["jobTargetRef"]


def test_absent_deletes_once(k8s):
    k8s.install_keda_crds()
    run(k8s, _keda.build_trigger_auth(TA))
    absent = dict(TA, state="absent")
    assert run(k8s, _keda.build_trigger_auth(absent), check_mode=True)["changed"]
    assert run(k8s, _keda.build_trigger_auth(absent))["changed"]
    assert not run(k8s, _keda.build_trigger_auth(absent))["changed"]
