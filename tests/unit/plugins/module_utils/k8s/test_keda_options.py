# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEDA option rules: every invalid input is refused before any API call, naming the option and the rule."""

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
                  metadata=dict(serverAddress="https://test-azure-monitor-workspace-name-1234.eastus.prometheus.monitor.azure.com",
                                metricName="http_requests_total",
                                query='sum(rate(http_requests_total{deployment="my-deployment"}[2m]))',
                                threshold="100.50", activationThreshold="5.5"),
                  authentication_ref=dict(name="azure-managed-prometheus-trigger-auth", kind=None))
SO = dict(name="azure-managed-prometheus-scaler", namespace="default", state="present",
          scale_target=dict(name="deployment-name-to-be-scaled", kind=None, api_version=None,
                            env_source_container_name=None),
          min_replicas=1, max_replicas=20, polling_interval=None, cooldown_period=None, initial_cooldown_period=None,
          idle_replica_count=None, fallback=None, advanced=None, triggers=[PROMETHEUS])

SERVICEBUS = dict(type="azure-servicebus", name=None, metric_type=None, use_cached_metrics=None,
                  metadata=dict(queueName="orders", namespace="sb-keda-demo", messageCount="10"),
                  authentication_ref=dict(name="azure-servicebus-auth", kind=None))
JOB = {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}},
                    "spec": {"serviceAccountName": "keda-int-identity",
                             "containers": [{"name": "myconsumer",
                                             "image": "ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest",
                                             "env": [{"name": "OPERATION_MODE", "value": "consumer"}]}],
                             "restartPolicy": "Never"}}}
SJ = dict(name="myconsumer-scaledjob", namespace="default", state="present", job_target=JOB, polling_interval=None,
          min_replicas=None, max_replicas=None, successful_jobs_history_limit=None, failed_jobs_history_limit=None,
          env_source_container_name=None, scaling_strategy=None, rollout=None, triggers=[SERVICEBUS])


def changed(base: dict, path: str, value) -> dict:
    """``base`` with the dotted ``path`` set to ``value`` (list indexes as numbers)."""
    params = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = params
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return params


@pytest.mark.parametrize("path,value,message", [
    ("identity_id", "not-a-guid", "identity_id: 'not-a-guid' is not a GUID"),
    ("identity_id", "5a3e2f0c9d1b4c7e8a6f2b4d6e8f0a1c", "identity_id: "),
    ("identity_tenant_id", "tenant", "identity_tenant_id: 'tenant' is not a GUID"),
    ("identity_authority_host", "https://login.microsoftonline.us/", "identity_authority_host: requires identity_tenant_id"),
    ("namespace", None, "namespace: required when kind is TriggerAuthentication"),
    ("namespace", "Default", "namespace: 'Default' is not a valid DNS-1123 label"),
    ("name", "bad_name", "name: 'bad_name' is not a valid Kubernetes object name"),
])
def test_trigger_auth_rejects_invalid_options(path, value, message):
    with pytest.raises(OptionError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        _keda.build_trigger_auth(changed(TA, path, value))


def test_cluster_trigger_auth_refuses_a_namespace():
    with pytest.raises(OptionError, match="namespace: must not be set when kind is ClusterTriggerAuthentication"):
        _keda.build_trigger_auth(dict(TA, kind="ClusterTriggerAuthentication"))


def test_authority_host_must_be_https():
    params = dict(TA, identity_tenant_id=TENANT_ID, identity_authority_host="http://login.example")
    with pytest.raises(OptionError, match="identity_authority_host: 'http://login.example' is not an https:// URL"):
        _keda.build_trigger_auth(params)


def test_trigger_auth_never_sends_empty_identity_fields():
    plan = _keda.build_trigger_auth(dict(TA, identity_id="", identity_tenant_id=""))
    assert plan.definition.manifest()["spec"] == {"podIdentity": {"provider": "azure-workload"}}
    # and the owned fields mark them absent, so an existing value is removed rather than set to ""
    assert plan.definition.owned["spec"]["podIdentity"]["identityId"] is None


def test_cluster_trigger_auth_is_cluster_scoped():
    plan = _keda.build_trigger_auth(dict(TA, kind="ClusterTriggerAuthentication", namespace=None,
                                         identity_tenant_id=TENANT_ID,
                                         identity_authority_host="https://login.microsoftonline.us/"))
    manifest = plan.definition.manifest()
    assert manifest["kind"] == "ClusterTriggerAuthentication"
    assert "namespace" not in manifest["metadata"]
    assert manifest["spec"]["podIdentity"] == {"provider": "azure-workload", "identityId": CLIENT_ID,
                                               "identityTenantId": TENANT_ID,
                                               "identityAuthorityHost": "https://login.microsoftonline.us/"}


@pytest.mark.parametrize("value,expected", [
    ("100.50", "100.50"),   # the user's string is kept as typed
    (100.5, "100.5"),
    (10, "10"),
    (True, "true"),
    (False, "false"),
    ("5.5", "5.5"),
    (0.1, "0.1"),
])
def test_trigger_metadata_values_become_the_strings_keda_requires(value, expected):
    assert _keda.metadata_strings("m", {"threshold": value}) == {"threshold": expected}


@pytest.mark.parametrize("value,message", [
    (None, "triggers[0].metadata.threshold: must be a string, number or boolean"),
    ([1], "triggers[0].metadata.threshold: must be a string, number or boolean"),
    ({"a": 1}, "triggers[0].metadata.threshold: must be a string, number or boolean"),
    (float("nan"), "triggers[0].metadata.threshold: nan is not a finite number"),
])
def test_trigger_metadata_rejects_non_scalars(value, message):
    with pytest.raises(OptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _keda.build_scaled_object(changed(SO, "triggers.0.metadata.threshold", value))


SO_CASES = [
    ("name", "a" * 64, "name: 'a{64}' is not a valid Kubernetes object name .*at most 63"),
    ("name", "a" * 55, "name: 'a{55}' is 55 characters; KEDA names the HPA 'keda-hpa-<name>', which must not "
                       "exceed 63 characters \\(so at most 54\\)"),
    ("min_replicas", 21, r"min_replicas: 21 must be less than or equal to max_replicas \(20\)"),
    ("min_replicas", -1, "min_replicas: -1 must be at least 0"),
    ("max_replicas", 0, "max_replicas: 0 must be at least 1"),
    ("polling_interval", 0, "polling_interval: 0 must be at least 1"),
    ("cooldown_period", -5, "cooldown_period: -5 must be at least 0"),
    ("idle_replica_count", 1, r"idle_replica_count: 1 must be less than min_replicas \(1\)"),
    ("scale_target", None, "scale_target: required when state is present"),
    ("scale_target.kind", "Deployment ", r"scale_target.kind: 'Deployment ' is not a Kubernetes kind"),
    ("triggers", [], "triggers: at least one trigger is required"),
    ("triggers.0.type", " ", r"triggers\[0\].type: required"),
    ("triggers.0.metadata", {}, r"triggers\[0\].metadata: must be a non-empty mapping"),
    ("triggers.0.metadata.threshold", "lots", r"triggers\[0\].metadata.threshold: 'lots' is not a number"),
    ("triggers.0.metadata.activationThreshold", "x", r"triggers\[0\].metadata.activationThreshold: 'x' is not a number"),
    ("triggers.0.metadata.serverAddress", "prometheus:9090", r"triggers\[0\].metadata.serverAddress: .* is not an http"),
    ("triggers.0.metadata.query", "", r"triggers\[0\].metadata.query: required by the prometheus scaler"),
    ("triggers.0.authentication_ref.name", "Bad_Ref", r"triggers\[0\].authentication_ref.name: 'Bad_Ref' is not"),
]


@pytest.mark.parametrize("path,value,message", SO_CASES)
def test_scaled_object_rejects_invalid_options(path, value, message):
    with pytest.raises(OptionError, match="^" + message):
        _keda.build_scaled_object(changed(SO, path, value))


def test_min_replicas_above_kedas_default_max_needs_an_explicit_max():
    with pytest.raises(OptionError, match=r"min_replicas: 150 is more than KEDA's default max_replicas \(100\)"):
        _keda.build_scaled_object(dict(SO, min_replicas=150, max_replicas=None))


def test_a_custom_hpa_name_lifts_the_54_character_limit():
    advanced = {"horizontalPodAutoscalerConfig": {"name": "short-hpa"}}
    plan = _keda.build_scaled_object(dict(SO, name="a" * 60, advanced=advanced))
    assert plan.definition.owned["spec"]["advanced"] == advanced


def test_scaled_object_from_scenario_a():
    plan = _keda.build_scaled_object(changed(SO, "triggers.0.metadata.activationThreshold", 5.5))
    manifest = plan.definition.manifest()
    assert manifest == {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        # Created with our ownership label (docs/ownership.md): state absent deletes only such an object.
        "metadata": {"name": "azure-managed-prometheus-scaler", "namespace": "default",
                     "labels": {"app.kubernetes.io/managed-by": "kedaops.aks"}},
        "spec": {
            "scaleTargetRef": {"name": "deployment-name-to-be-scaled"},
            "minReplicaCount": 1, "maxReplicaCount": 20,
            "triggers": [{"type": "prometheus", "metadata": dict(PROMETHEUS["metadata"], activationThreshold="5.5"),
                          "authenticationRef": {"name": "azure-managed-prometheus-trigger-auth"}}],
        },
    }
    assert plan.auth_refs == [("triggers[0].authentication_ref", "TriggerAuthentication",
                               "azure-managed-prometheus-trigger-auth")]


SB_CASES = [
    ({"queueName": "q", "topicName": "t", "namespace": "n"}, "both topicName and queueName are set"),
    ({"queueName": "q", "subscriptionName": "s", "namespace": "n"}, "subscriptionName: only with topicName"),
    ({"topicName": "t", "namespace": "n"}, "subscriptionName: required with topicName"),
    ({"namespace": "n"}, "queueName, or topicName with subscriptionName, is required"),
    ({"queueName": "q", "namespace": "n", "messageCount": "ten"}, "messageCount: 'ten' is not an integer"),
    ({"queueName": "q", "namespace": "n", "activationMessageCount": 1.5}, "activationMessageCount: '1.5' is not an integer"),
]


@pytest.mark.parametrize("metadata,message", SB_CASES)
def test_servicebus_trigger_rules(metadata, message):
    with pytest.raises(OptionError, match=message):
        _keda.build_scaled_job(changed(SJ, "triggers.0.metadata", metadata))


def test_servicebus_without_namespace_warns_when_using_pod_identity():
    plan = _keda.build_scaled_job(changed(SJ, "triggers.0.metadata", {"queueName": "orders"}))
    assert any("namespace are required when using pod identity" in w for w in plan.warnings)


@pytest.mark.parametrize("path,value,message", [
    ("job_target", None, "job_target: required when state is present"),
    ("job_target", {"template": {"spec": {}}}, "job_target.template.spec.containers: required"),
    ("max_replicas", 0, "max_replicas: 0 must be at least 1"),
    ("successful_jobs_history_limit", -1, "successful_jobs_history_limit: -1 must be at least 0"),
    ("scaling_strategy", {"strategy": "custom", "custom_scaling_queue_length_deduction": None,
                          "custom_scaling_running_job_percentage": "half", "pending_pod_conditions": None,
                          "multiple_scalers_calculation": None},
     "scaling_strategy.custom_scaling_running_job_percentage: 'half' is not a number"),
    ("name", "My-Job", "name: 'My-Job' is not a valid Kubernetes object name"),
])
def test_scaled_job_rejects_invalid_options(path, value, message):
    with pytest.raises(OptionError, match="^" + message):
        _keda.build_scaled_job(changed(SJ, path, value))


def test_scaled_job_min_must_not_exceed_max():
    with pytest.raises(OptionError, match=r"min_replicas: 5 must be less than or equal to max_replicas \(2\)"):
        _keda.build_scaled_job(dict(SJ, min_replicas=5, max_replicas=2))


def test_scaled_job_from_scenario_b():
    plan = _keda.build_scaled_job(dict(SJ, scaling_strategy={"strategy": "accurate",
                                                             "custom_scaling_queue_length_deduction": None,
                                                             "custom_scaling_running_job_percentage": None,
                                                             "pending_pod_conditions": None,
                                                             "multiple_scalers_calculation": None}))
    spec = plan.definition.manifest()["spec"]
    assert spec["jobTargetRef"] == JOB
    assert spec["scalingStrategy"] == {"strategy": "accurate"}
    assert spec["triggers"] == [{"type": "azure-servicebus",
                                 "metadata": {"queueName": "orders", "namespace": "sb-keda-demo", "messageCount": "10"},
                                 "authenticationRef": {"name": "azure-servicebus-auth"}}]


def test_absent_needs_only_the_name():
    plan = _keda.build_scaled_object(dict(SO, state="absent", scale_target=None, triggers=None))
    assert plan.state == "absent" and plan.definition.name == "azure-managed-prometheus-scaler"


def test_removing_a_metadata_key_counts_as_a_change():
    live = _keda.build_scaled_object(SO).definition.manifest()
    without_activation = copy.deepcopy(SO)
    del without_activation["triggers"][0]["metadata"]["activationThreshold"]
    assert _keda.build_scaled_object(SO).definition.matches(live)
    assert not _keda.build_scaled_object(without_activation).definition.matches(live)
