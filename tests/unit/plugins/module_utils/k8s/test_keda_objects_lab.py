# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keda_objects' core (_keda_objects) against the lab: every item is checked by its own module's spec and
build before a call and named by its place; one headed diff per changed object; a re-run is one GET per
object (read side by side) and the webhook check's list; a read that fails fails at its item's turn, after
the writes of the items before it."""

from __future__ import annotations

import pytest
from test_keda_options import CLIENT_ID, SJ, SO, TA

from ansible_collections.kedaops.aks.plugins.module_utils import _keda_objects
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import K8sError


def given(options):
    """Options as a user writes them: only those set (the validated forms above carry every option as None)."""
    if isinstance(options, dict):
        return {key: given(value) for key, value in options.items() if value is not None}
    if isinstance(options, list):
        return [given(value) for value in options]
    return options


SA = {"namespace": "default", "name": "consumer", "client_id": CLIENT_ID}
TA, SO, SJ = given(TA), given(SO), given(SJ)
PROMETHEUS_AUTH = dict(TA, name="azure-managed-prometheus-trigger-auth")
OBJECTS = {"service_accounts": [SA], "trigger_auths": [TA, PROMETHEUS_AUTH], "scaled_objects": [SO],
           "scaled_jobs": [SJ]}
HEADERS = ["ServiceAccount default/consumer", "TriggerAuthentication default/azure-servicebus-auth",
           "TriggerAuthentication default/azure-managed-prometheus-trigger-auth",
           "ScaledObject default/azure-managed-prometheus-scaler", "ScaledJob default/myconsumer-scaledjob"]


def params(**lists):
    return {option: lists.get(option, []) for option in _keda_objects.KINDS}


def run(connection, objects, check_mode=False):
    plan = _keda_objects.build(params(**objects))
    return result(_keda_objects.apply(connection, plan, check_mode), True)


@pytest.mark.parametrize("objects,message", [
    ({"service_accounts": [dict(SA, colour="blue")]}, r"^service_accounts\[0\]: unsupported parameter colour"),
    ({"scaled_objects": [dict(SO, min_replicas=5, max_replicas=2)]}, r"^scaled_objects\[0\]\.min_replicas: 5 must be"),
    ({"trigger_auths": [TA, {"name": TA["name"], "namespace": "default", "state": "absent"}]},
     r"^trigger_auths\[1\]: TriggerAuthentication default/azure-servicebus-auth is listed twice "
     r"\(also as trigger_auths\[0\]\)"),
    ({"scaled_objects": [SO, dict(SO, name="another-scaler")]},
     r"^scaled_objects\[1\]\.scale_target: Deployment deployment-name-to-be-scaled \(apps/v1\) in default is also "
     r"the target of ScaledObject default/azure-managed-prometheus-scaler \(scaled_objects\[0\]\)"),
    ({"scaled_jobs": [{"name": SJ["name"], "namespace": "default", "state": "absent", "max_replicas": 3}]},
     r"^scaled_jobs\[0\]\.max_replicas: only means something with state: present"),
    ({"trigger_auths": ["azure-servicebus-auth"]}, r"^trigger_auths\[0\]: must be a dictionary of options, got str"),
], ids=["unknown option", "a per-item rule", "one object twice", "two ScaledObjects for one workload",
        "an option state absent ignores", "an item that is not a mapping"])
def test_every_item_is_refused_by_its_modules_rules_and_named_by_its_place(objects, message):
    with pytest.raises(OptionError, match=message):
        _keda_objects.build(params(**objects))


def test_check_apply_check_apply_with_one_headed_diff_per_changed_object_and_a_re_run_of_reads(k8s):
    k8s.install_keda_crds()
    k8s.clear()
    predicted = run(Connection.of(k8s=k8s.api), OBJECTS, check_mode=True)
    assert predicted["changed"] and k8s.writes() == []
    assert [d["before_header"] for d in predicted["diff"]] == HEADERS
    applied = run(Connection.of(k8s=k8s.api), OBJECTS)
    assert applied["changed"]
    assert [d["after_header"] for d in applied["diff"]] == HEADERS
    assert applied["scaled_objects"][0]["scaled_object"]["spec"]["maxReplicaCount"] == 20
    assert applied["service_accounts"][0]["service_account"]["annotations"] == {
        "azure.workload.identity/client-id": CLIENT_ID}
    assert [item["changed"] for option in _keda_objects.KINDS for item in applied[option]] == [True] * 5
    k8s.clear()
    again = run(Connection.of(k8s=k8s.api), OBJECTS)
    assert not again["changed"] and again["diff"] == []
    assert not any(item["changed"] for option in _keda_objects.KINDS for item in again[option])
    requests = k8s.requests()
    assert {r["method"] for r in requests} == {"GET"}
    paths = sorted(r["path"] for r in requests)
    assert len(paths) == len(set(paths)) == 6, "one GET per object and the namespace's ScaledObjects, each once"


def test_a_read_that_fails_fails_at_its_items_turn_after_the_writes_before_it(k8s):
    k8s.install_keda_crds()
    k8s.clear()
    k8s.handle.fault(service="k8s", method="GET", path="/scaledjobs/", status=403, reason="Forbidden", times=1)
    connection = Connection.of(k8s=k8s.api)
    with pytest.raises(K8sError) as failed:
        run(connection, {"trigger_auths": [PROMETHEUS_AUTH], "scaled_objects": [SO], "scaled_jobs": [SJ]})
    assert failed.value.code == 403
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in k8s.writes()] == [
        ("POST", "triggerauthentications"), ("POST", "scaledobjects")]
    assert connection.wrote(), "the task reports changed: two objects were created before the failure"
