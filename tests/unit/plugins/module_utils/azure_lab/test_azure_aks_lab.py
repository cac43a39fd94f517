# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aks_cluster's logic against the lab: a read, check mode, flipping only the requested flags
through a long-running PUT, node pools kept, AKS's rules enforced before any write."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_aks as aks
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

RG = "rg-keda-integration"
NONE = {"oidc_issuer": None, "workload_identity": None, "keda": None}
ALL = {"oidc_issuer": True, "workload_identity": True, "keda": True}


@pytest.fixture
def name(azure_env):
    return azure_env.env["LAB_AKS_NAME"]


def test_no_feature_options_is_a_read(conn, azure_env, name):
    changed, before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, NONE, 60), False)
    assert not changed and before == after
    assert after["oidc_issuer"] is False and after["oidc_issuer_url"] is None and after["kubernetes_version"]
    assert azure_env.writes() == []


def test_check_mode_predicts_without_writing(conn, azure_env, name):
    changed, before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, ALL, 60), True)
    assert changed and not before["keda"]
    assert (after["oidc_issuer"], after["workload_identity"], after["keda"]) == (True, True, True)
    assert azure_env.writes() == []


def test_enable_everything_then_no_change(conn, azure_env, name):
    azure_env.settings(aks_lro_polls=3)
    pools_before = aks.get_cluster(conn, RG, name)["properties"]["agentPoolProfiles"]
    changed, _before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, ALL, 120), False)
    assert changed and after["oidc_issuer_url"] and after["oidc_issuer_url"].endswith("/")
    assert (after["workload_identity"], after["keda"], after["provisioning_state"]) == (True, True, "Succeeded")
    polls = [r for r in azure_env.requests("arm") if "/operations/" in r["path"]]
    assert len(polls) >= 3, "the long-running operation was awaited"
    cluster = aks.get_cluster(conn, RG, name)
    assert [p["name"] for p in cluster["properties"]["agentPoolProfiles"]] == [p["name"] for p in pools_before]
    azure_env.clear_requests()
    assert aks.ensure_features(conn, aks.AksPlan(RG, name, ALL, 60), False)[0] is False
    assert azure_env.writes() == []


def test_only_the_requested_flag_is_flipped(conn, name):
    aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "keda": True}, 60), False)
    state = aks.cluster_state(aks.get_cluster(conn, RG, name))
    assert (state["oidc_issuer"], state["workload_identity"], state["keda"]) == (False, False, True)
    changed, _before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "keda": False}, 60), False)
    assert changed and after["keda"] is False


@pytest.mark.parametrize("requested, option", [
    ({**NONE, "workload_identity": True}, "workload_identity"),
    ({**NONE, "oidc_issuer": False, "workload_identity": True}, "workload_identity"),
])
def test_workload_identity_without_oidc_fails_before_any_write(conn, azure_env, name, requested, option):
    with pytest.raises(OptionError) as err:
        aks.ensure_features(conn, aks.AksPlan(RG, name, requested, 60), False)
    assert str(err.value).startswith(option + ": ") and "OIDC issuer" in str(err.value)
    assert azure_env.writes() == []


def test_disabling_the_oidc_issuer_is_refused_before_any_write(conn, azure_env, name):
    aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "oidc_issuer": True}, 60), False)
    azure_env.clear_requests()
    with pytest.raises(OptionError):
        aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "oidc_issuer": False}, 60), False)
    assert azure_env.writes() == []


def test_a_missing_cluster_fails_with_resource_not_found(conn):
    with pytest.raises(AzureError) as err:
        aks.ensure_features(conn, aks.AksPlan(RG, "no-such-cluster", NONE, 60), False)
    assert err.value.code == "ResourceNotFound" and err.value.status == 404


def test_a_transient_failure_of_the_put_is_retried(conn, azure_env, name):
    azure_env.fault(service="arm", method="PUT", path="managedClusters/", status=500, times=1)
    changed, _before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "oidc_issuer": True}, 60), False)
    assert changed and after["oidc_issuer"]


IN_PROGRESS = ("Operation is not allowed: Another operation (Updating) is in progress, please wait for it to "
               "finish before starting a new operation.")


def test_another_operation_in_progress_is_waited_out(conn, azure_env, name):
    azure_env.fault(service="arm", method="PUT", path="managedClusters/", status=409, code="OperationNotAllowed",
                    message=IN_PROGRESS, times=1)
    changed, _before, after = aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "keda": True}, 60), False)
    assert changed and after["keda"]
    puts = [w for w in azure_env.writes() if w["method"] == "PUT"]
    assert [w["status"] for w in puts][:1] == [409] and len(puts) == 2


def test_another_operation_not_allowed_is_not_waited_for(conn, azure_env, name):
    azure_env.fault(service="arm", method="PUT", path="managedClusters/", status=409, code="OperationNotAllowed",
                    message="Preview feature is not registered", times=1)
    with pytest.raises(AzureError) as err:
        aks.ensure_features(conn, aks.AksPlan(RG, name, {**NONE, "keda": True}, 60), False)
    assert err.value.code == "OperationNotAllowed"
