# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""workload_sa and rollout_restart against the lab: the add-on path end to end - annotate the
operator's account, restart once because its pods predate the annotation, then nothing."""

from __future__ import annotations

import re

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_rollout, _k8s_workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import DEPLOYMENT, POD, K8sError

CLIENT_ID = "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"
WI_ENV = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"]
SA = dict(namespace="kube-system", name="keda-operator", client_id=CLIENT_ID, tenant_id=None, token_expiration=None,
          labels=None, create=False, create_namespace=False, state="present")
RESTART = dict(namespace="kube-system", name="keda-operator", kind="Deployment", unless_env_present=WI_ENV,
               unless_env_matches_service_account=None, wait=True, timeout=60)


def operator(k8s, replicas=2):
    """The add-on's operator: its service account (no client id yet) and a Deployment whose pod
    template carries the workload identity label, running."""
    k8s.create("/api/v1/namespaces/kube-system/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "keda-operator", "annotations": {"kubernetes.azure.com/managedby": "aks"}}})
    k8s.create("/apis/apps/v1/namespaces/kube-system/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "keda-operator"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "keda-operator"}},
                 "template": {"metadata": {"labels": {"app": "keda-operator", "azure.workload.identity/use": "true"}},
                              "spec": {"serviceAccountName": "keda-operator",
                                       "containers": [{"name": "keda-operator", "image": "keda:2.17.2"}]}}}})

    def rolled_out() -> bool:
        return _k8s_rollout.rollout_done("Deployment", k8s.api.get(DEPLOYMENT, "keda-operator", "kube-system"))[0]

    k8s.wait_for(rolled_out, what="the operator deployment to roll out")


def sa(k8s, check_mode=False, **change):
    plan = _k8s_workload_sa.build(dict(SA, **change))
    return result(_k8s_workload_sa.apply(Connection.of(k8s=k8s.api), plan, check_mode), True)


def restart(k8s, check_mode=False, **change):
    return _k8s_rollout.apply(k8s.api, _k8s_rollout.build(dict(RESTART, **change)), check_mode, True)


def test_create_false_fails_clearly_when_the_account_is_missing(k8s):
    with pytest.raises(K8sError, match="service account kube-system/keda-operator does not exist; with create=false"):
        sa(k8s)
    assert k8s.writes() == []


def test_annotating_the_add_on_account_keeps_its_metadata_and_absent_removes_only_ours(k8s):
    operator(k8s)
    annotated = sa(k8s, tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert annotated["changed"]
    assert annotated["service_account"]["annotations"] == {
        "kubernetes.azure.com/managedby": "aks",
        "azure.workload.identity/client-id": CLIENT_ID,
        "azure.workload.identity/tenant-id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}
    k8s.clear()
    assert not sa(k8s)["changed"]  # tenant not given: left as it is
    assert len(k8s.requests()) == 1
    removed = sa(k8s, client_id=None, state="absent")
    assert removed["changed"]
    assert removed["service_account"]["annotations"] == {"kubernetes.azure.com/managedby": "aks"}
    assert removed["diff"]["before"]["annotations"]["azure.workload.identity/client-id"] == CLIENT_ID
    assert not sa(k8s, client_id=None, state="absent")["changed"]


def test_a_workload_sa_we_created_is_deleted_by_absent(k8s):
    created = sa(k8s, namespace="keda", create=True, create_namespace=True)
    assert created["changed"] and created["service_account"]["namespace"] == "keda"
    gone = sa(k8s, namespace="keda", create=True, client_id=None, state="absent")
    assert gone["changed"] and gone["service_account"] == {}
    assert not sa(k8s, namespace="keda", create=True, client_id=None, state="absent")["changed"]


def test_restart_happens_once_until_every_pod_has_the_injected_env(k8s):
    operator(k8s)
    k8s.clear()
    before = restart(k8s, check_mode=True)
    assert before["changed"] and before["restarted"]
    assert {tuple(p["missing_env"]) for p in before["pods"]} == {("AZURE_CLIENT_ID",)}
    assert k8s.writes() == []
    sa(k8s)
    first = restart(k8s)
    assert first["changed"] and first["restarted"]
    assert len(first["pods"]) == 2
    assert all(p["missing_env"] == [] and p["ready"] for p in first["pods"])
    assert not {p["name"] for p in first["pods"]} & {p["name"] for p in before["pods"]}
    k8s.clear()
    second = restart(k8s)
    assert not second["changed"] and not second["restarted"]
    assert [r["method"] for r in k8s.requests()] == ["GET", "GET"]


FROM_SA = {"AZURE_CLIENT_ID": "azure.workload.identity/client-id", "AZURE_TENANT_ID": "azure.workload.identity/tenant-id"}
NEW_CLIENT_ID = "0b6c1d2e-3f40-4a5b-8c7d-9e0f1a2b3c4d"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def client_ids(k8s) -> set[str]:
    pods = k8s.api.list(POD, "kube-system", "app=keda-operator")
    return {_k8s_rollout.env_values(p, "AZURE_CLIENT_ID").pop() for p in pods
            if not p["metadata"].get("deletionTimestamp") and _k8s_rollout.env_values(p, "AZURE_CLIENT_ID")}


def test_an_operator_running_with_a_client_id_its_account_no_longer_names_restarts_once(k8s):
    """The identity was replaced (new client id) and the account re-annotated: the pods still carry the old
    client id, which unless_env_present alone cannot see; unless_env_matches_service_account restarts them
    once, check mode predicts it without writing, and then nothing more happens."""
    operator(k8s)
    sa(k8s, tenant_id=TENANT)
    assert restart(k8s)["restarted"]
    assert client_ids(k8s) == {CLIENT_ID}
    sa(k8s, client_id=NEW_CLIENT_ID, tenant_id=TENANT)
    k8s.clear()
    assert not restart(k8s, check_mode=True)["changed"], "the variables are all there: the old option sees nothing"
    predicted = restart(k8s, check_mode=True, unless_env_matches_service_account=FROM_SA)
    assert predicted["changed"] and predicted["restarted"]
    assert {tuple(p["stale_env"]) for p in predicted["pods"]} == {("AZURE_CLIENT_ID",)}
    assert k8s.writes() == []
    done = restart(k8s, unless_env_matches_service_account=FROM_SA)
    assert done["changed"] and done["restarted"], done.get("warnings")
    assert "warnings" not in done, done["warnings"]
    assert all(p["stale_env"] == [] and p["missing_env"] == [] for p in done["pods"])
    assert client_ids(k8s) == {NEW_CLIENT_ID}
    k8s.clear()
    again = restart(k8s, unless_env_matches_service_account=FROM_SA)
    assert not again["changed"] and not again["restarted"]
    assert [r["method"] for r in k8s.requests()] == ["GET", "GET", "GET"], "workload, its account, its pods"


def test_check_mode_after_teardown_predicts_the_restart_the_new_annotation_will_need(k8s):
    """Teardown removed our annotations from the add-on's account while its operator kept running: the pods
    carry a client id the account no longer names, so a preview of the next site run predicts the restart."""
    operator(k8s, replicas=1)
    sa(k8s, tenant_id=TENANT)
    restart(k8s)
    sa(k8s, client_id=None, state="absent")
    k8s.clear()
    predicted = restart(k8s, check_mode=True, unless_env_matches_service_account=FROM_SA)
    assert predicted["restarted"]
    assert predicted["pods"][0]["stale_env"] == ["AZURE_CLIENT_ID", "AZURE_TENANT_ID"]
    assert k8s.writes() == []


def test_a_pod_that_sets_the_client_id_itself_is_restarted_with_a_warning(k8s):
    """A value the pod template sets itself wins over the webhook's (it injects only unset variables): a
    restart cannot change it, and the module says so instead of reporting success silently."""
    operator(k8s, replicas=1)
    sa(k8s, tenant_id=TENANT)
    k8s.api.patch(DEPLOYMENT, "keda-operator", {"spec": {"template": {"spec": {"containers": [
        {"name": "keda-operator", "image": "keda:2.17.2",
         "env": [{"name": "AZURE_CLIENT_ID", "value": NEW_CLIENT_ID}]}]}}}}, "kube-system")
    result = restart(k8s, unless_env_matches_service_account=FROM_SA)
    assert result["restarted"]
    assert any("still run with AZURE_CLIENT_ID other than service account kube-system/keda-operator names" in w
               for w in result["warnings"])


@pytest.mark.parametrize("value, message", [
    ({"AZURE_CLIENT_ID=x": "azure.workload.identity/client-id"},
     "unless_env_matches_service_account: 'AZURE_CLIENT_ID=x' is not an environment variable name"),
    ({"AZURE_CLIENT_ID": ["azure.workload.identity/client-id"]},
     "unless_env_matches_service_account.AZURE_CLIENT_ID: the value must be an annotation key"),
    ({"AZURE_CLIENT_ID": "azure.workload.identity/"},
     "unless_env_matches_service_account.AZURE_CLIENT_ID: key 'azure.workload.identity/' is not a valid"),
])
def test_bad_env_to_annotation_mappings_are_refused_before_any_call(k8s, value, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        restart(k8s, unless_env_matches_service_account=value)
    assert k8s.requests() == []


def test_restarting_pods_that_cannot_get_the_env_warns(k8s):
    operator(k8s, replicas=1)  # the account is never annotated: no AZURE_CLIENT_ID however often we restart
    result = restart(k8s)
    assert result["restarted"]
    assert any("still lack" in w for w in result["warnings"])


def test_plain_restart_sets_the_kubectl_annotation(k8s):
    operator(k8s, replicas=1)
    result = restart(k8s, unless_env_present=None, wait=False)
    assert result["restarted"]
    deployment = k8s.api.get(DEPLOYMENT, "keda-operator", "kube-system")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"] == result["restarted_at"]


def test_two_restarts_within_one_second_each_replace_the_pods(k8s):
    """kubectl's restartedAt has whole seconds: a second restart in the same second would patch nothing."""
    operator(k8s, replicas=1)
    first = restart(k8s, unless_env_present=None)
    second = restart(k8s, unless_env_present=None)
    assert second["restarted_at"] != first["restarted_at"]
    assert not {p["name"] for p in second["pods"]} & {p["name"] for p in first["pods"]}


def test_a_rollout_that_does_not_finish_times_out(k8s):
    operator(k8s, replicas=1)
    k8s.handle.settings(pod_ready_seconds=30)
    result = restart(k8s, unless_env_present=None, timeout=1)
    assert result["failed"] and result["restarted"]
    assert "timed out after 1s waiting for the rollout of Deployment kube-system/keda-operator" in result["msg"]


def test_a_missing_workload_is_not_found(k8s):
    with pytest.raises(K8sError, match="Deployment kube-system/keda-operator does not exist"):
        restart(k8s)
    with pytest.raises(K8sError, match="Deployment kube-system/keda-operator does not exist"):
        restart(k8s, unless_env_present=None)
    assert [r["method"] for r in k8s.requests()] == ["GET", "GET"], "read first, never a PATCH into a 404"


def test_check_mode_predicts_the_restart_of_a_workload_an_earlier_task_would_create(k8s):
    predicted = restart(k8s, check_mode=True, unless_env_present=None)
    assert predicted["changed"] and predicted["restarted_at"] == "(known after apply)"
    assert "does not exist yet" in predicted["warnings"][0]
    assert k8s.writes() == []


def test_a_missing_account_with_create_false_is_predicted_in_check_mode(k8s):
    predicted = sa(k8s, check_mode=True)
    assert predicted["changed"] and "does not exist yet" in predicted["warnings"][0]
    assert k8s.writes() == []


def test_an_account_that_was_there_before_is_kept_by_absent(k8s):
    k8s.create("/api/v1/namespaces/default/serviceaccounts",
               {"metadata": {"name": "theirs", "labels": {"team": "payments"}}})
    assert sa(k8s, namespace="default", name="theirs", create=True)["changed"]
    kept = sa(k8s, namespace="default", name="theirs", create=True, client_id=None, state="absent")
    assert kept["changed"] and kept["service_account"]["labels"] == {"team": "payments"}
    assert kept["service_account"]["annotations"] == {}
    assert "was not created by kedaops.aks" in kept["warnings"][0]
