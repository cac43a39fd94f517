# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks grounded in KEDA's source: what KEDA removed or ignores is refused or warned before any API call."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _keda
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

CLIENT_ID = "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TA = dict(name="azure-servicebus-auth", namespace="default", kind="TriggerAuthentication", provider="azure-workload",
          identity_id=CLIENT_ID, identity_tenant_id=None, identity_authority_host=None, state="present")
PROMETHEUS = dict(type="prometheus", name=None, metric_type=None, use_cached_metrics=None,
                  metadata=dict(serverAddress="https://amw-1234.eastus.prometheus.monitor.azure.com",
                                metricName="http_requests_total", query="sum(up)", threshold="100.50"),
                  authentication_ref=dict(name="azure-managed-prometheus-trigger-auth", kind=None))
SO = dict(name="azure-managed-prometheus-scaler", namespace="default", state="present",
          scale_target=dict(name="web", kind=None, api_version=None, env_source_container_name=None),
          min_replicas=1, max_replicas=20, polling_interval=None, cooldown_period=None, initial_cooldown_period=None,
          idle_replica_count=None, fallback=None, advanced=None, triggers=[PROMETHEUS])
SERVICEBUS = dict(type="azure-servicebus", name=None, metric_type=None, use_cached_metrics=None,
                  metadata=dict(queueName="orders", namespace="sb-keda-demo", messageCount="10"),
                  authentication_ref=dict(name="azure-servicebus-auth", kind=None))
JOB = {"template": {"spec": {"containers": [{"name": "consumer", "image": "consumer:1"}], "restartPolicy": "Never"}}}


def test_prometheus_metric_name_is_warned_as_ignored():
    plan = _keda.build_scaled_object(copy.deepcopy(SO))  # SO's trigger carries the article's metricName
    assert [w for w in plan.warnings if "metricName is ignored since KEDA 2.12" in w] == [
        "triggers[0].metadata.metricName is ignored since KEDA 2.12 (removed, #4899); name the trigger with the "
        "trigger's name option instead"]
    params = copy.deepcopy(SO)
    del params["triggers"][0]["metadata"]["metricName"]
    assert not [w for w in _keda.build_scaled_object(params).warnings if "metricName" in w]


def test_pod_identity_provider_azure_is_refused_with_the_reason():
    with pytest.raises(OptionError, match=r"^provider: 'azure' \(AAD Pod Identity\) was removed in KEDA 2\.15 .*"
                                          r"use azure-workload"):
        _keda.build_trigger_auth(dict(TA, provider="azure"))
    with pytest.raises(OptionError, match=r"^provider: must be azure-workload, got 'gcp'"):
        _keda.build_trigger_auth(dict(TA, provider="gcp"))


def test_identity_authority_host_is_warned_as_ignored_by_servicebus_and_prometheus():
    plan = _keda.build_trigger_auth(dict(TA, identity_tenant_id=TENANT_ID,
                                         identity_authority_host="https://login.microsoftonline.us/"))
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith("identity_authority_host: the azure-servicebus and prometheus scalers ignore")
    assert plan.definition.owned["spec"]["podIdentity"]["identityAuthorityHost"] == "https://login.microsoftonline.us/"
    assert _keda.build_trigger_auth(dict(TA)).warnings == []


@pytest.mark.parametrize("namespace", ["sb-keda-demo.servicebus.windows.net", "https://sb-keda-demo.servicebus.windows.net:443/",
                                       "sb-keda-demo.servicebus.usgovcloudapi.net"])
def test_servicebus_namespace_given_as_a_host_is_refused(namespace):
    trigger = copy.deepcopy(SERVICEBUS)
    trigger["metadata"]["namespace"] = namespace
    params = dict(name="consumer", namespace="default", state="present", job_target=JOB, triggers=[trigger],
                  polling_interval=None, min_replicas=None, max_replicas=None, successful_jobs_history_limit=None,
                  failed_jobs_history_limit=None, env_source_container_name=None, scaling_strategy=None, rollout=None)
    with pytest.raises(OptionError, match=r"^triggers\[0\]\.metadata\.namespace: '.*' is a host name or URL; give the "
                                          r"namespace name alone \('sb-keda-demo'\)"):
        _keda.build_scaled_job(params)
