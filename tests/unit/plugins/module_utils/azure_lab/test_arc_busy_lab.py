# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connected_cluster against the lab while another operation runs on the cluster: a non-terminal
provisioningState is waited out before the write, a 409 is retried only when a re-read shows one,
Deleting and a 409 on a settled cluster fail at once, and check mode neither waits nor writes."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _arc as arc
from ansible_collections.kedaops.aks.plugins.module_utils import _core
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError

RG = "rg-keda-integration"
ENABLE = {"oidc_issuer": True, "workload_identity": True, "self_hosted_issuer_url": None}


@pytest.fixture
def name(azure_env):
    return azure_env.env["LAB_ARC_NAME"]


def other_operation(lab, name: str, state: str, reads: int, after_reads: int = 0) -> Any:
    """Start another operation on the connected cluster (tests/lab/azure/arc_busy.py)."""
    return lab.control("POST", "/services/arm/connected-clusters/operation",
                       {"name": name, "state": state, "reads": reads, "after_reads": after_reads})


def cluster_calls(lab, name: str) -> list[tuple[str, int]]:
    return [(r["method"], r["status"]) for r in lab.requests("arm") if r["path"].split("?")[0].endswith("/" + name)]


def test_an_updating_cluster_is_waited_out_and_written_once(conn, azure_env, name):
    other_operation(azure_env, name, "Updating", reads=2)
    azure_env.clear_requests()
    changed, before, after = arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 60), False)
    assert changed and before["workload_identity"] is False
    assert (after["oidc_issuer"], after["workload_identity"], after["provisioning_state"]) == (True, True, "Succeeded")
    calls = cluster_calls(azure_env, name)
    # Read Updating twice (waited out), read Succeeded, one PUT; then the long-running operation's final GET.
    assert calls[:4] == [("GET", 200), ("GET", 200), ("GET", 200), ("PUT", 200)]
    assert calls[4:] == [("GET", 200)]
    assert [w["method"] for w in azure_env.writes("arm")] == ["PUT"]


def test_a_409_while_another_operation_starts_is_retried_after_it(conn, azure_env, name):
    # The other operation starts between our read and our write: the PUT meets the lab's 409.
    other_operation(azure_env, name, "Updating", reads=1, after_reads=1)
    azure_env.clear_requests()
    changed, _before, after = arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 60), False)
    assert changed and after["workload_identity"] is True
    calls = cluster_calls(azure_env, name)
    # Read Succeeded, PUT refused, re-read Updating (waited out), read Succeeded, PUT, the operation's final GET.
    assert calls == [("GET", 200), ("PUT", 409), ("GET", 200), ("GET", 200), ("PUT", 200), ("GET", 200)]
    assert [w["status"] for w in azure_env.writes("arm")] == [409, 200]


def test_a_409_on_a_succeeded_cluster_fails_at_once_with_its_code(conn, azure_env, name):
    azure_env.fault(service="arm", method="PUT", path=f"connectedClusters/{name}\\?", status=409,
                    code="ConflictingUserOperation", message="refused for a reason of its own", times=5)
    azure_env.clear_requests()
    with pytest.raises(AzureError) as caught:
        arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 60), False)
    assert (caught.value.code, caught.value.status) == ("ConflictingUserOperation", 409)
    assert cluster_calls(azure_env, name) == [("GET", 200), ("PUT", 409), ("GET", 200)]
    assert arc.cluster_state(arc.get_cluster(conn, RG, name))["workload_identity"] is False


def test_a_deleting_cluster_fails_at_once(conn, azure_env, name):
    other_operation(azure_env, name, "Deleting", reads=5)
    azure_env.clear_requests()
    with pytest.raises(AzureError, match="being deleted .provisioningState Deleting.; nothing was changed"):
        arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 60), False)
    assert cluster_calls(azure_env, name) == [("GET", 200)]
    assert azure_env.writes("arm") == []


def test_a_409_when_the_cluster_turns_deleting_fails_at_once(conn, azure_env, name):
    other_operation(azure_env, name, "Deleting", reads=1, after_reads=1)
    with pytest.raises(AzureError) as caught:
        arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 60), False)
    # GET (Succeeded), PUT refused 409, re-read shows Deleting: fails at once, keeping the 409's code.
    assert caught.value.status == 409 and "being deleted" in caught.value.msg
    assert [m for m, _s in cluster_calls(azure_env, name)] == ["GET", "PUT", "GET"]


def test_check_mode_on_a_busy_cluster_warns_and_writes_nothing(conn, azure_env, name):
    other_operation(azure_env, name, "Updating", reads=5)
    azure_env.clear_requests()
    plan = arc.build({"resource_group": RG, "name": name, "timeout": 60, **ENABLE})
    result = _core.result(arc.RESOURCE.apply(_core.Connection.of(azure=conn), plan, True), True)
    assert result["changed"] and result["cluster"]["workload_identity"] is True
    assert result["diff"]["before"]["workload_identity"] is False and result["diff"]["after"]["workload_identity"] is True
    assert cluster_calls(azure_env, name) == [("GET", 200)]
    assert azure_env.writes("arm") == []
    warnings = result["warnings"]
    assert len(warnings) == 1 and "another operation is in progress (provisioningState Updating)" in warnings[0]


def test_a_cluster_still_busy_at_the_timeout_fails_naming_the_state(conn, azure_env, name):
    other_operation(azure_env, name, "Provisioning", reads=1000)
    with pytest.raises(AzureError, match="another operation is in progress .provisioningState Provisioning."):
        arc.ensure(conn, arc.ArcPlan(RG, name, ENABLE, 1), False)
    assert azure_env.writes("arm") == []
