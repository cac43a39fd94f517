# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The objects the KEDA modules build follow the real KEDA v2.20.2 CRD schemas (field names, types,
required fields, enums), for every option the modules offer."""

from __future__ import annotations

import copy

import pytest
from k8s_openapi_subset import load_crds, served_schema, validate, validate_object
from test_keda_options import JOB, SJ, SO, TA, TENANT_ID

from ansible_collections.kedaops.aks.plugins.module_utils import _keda

CRDS = load_crds()

FULL_SO = dict(
    SO, scale_target=dict(name="web", kind="StatefulSet", api_version="apps/v1", env_source_container_name="app"),
    min_replicas=2, max_replicas=30, polling_interval=15, cooldown_period=120, initial_cooldown_period=60,
    idle_replica_count=1, fallback=dict(failure_threshold=3, replicas=6, behavior="currentReplicasIfHigher"),
    advanced={"restoreToOriginalReplicaCount": True,
              "horizontalPodAutoscalerConfig": {"name": "web-hpa", "behavior": {"scaleDown": {
                  "stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}}},
    triggers=[dict(SO["triggers"][0], name="rps", metric_type="AverageValue", use_cached_metrics=True,
                   authentication_ref=dict(name="shared", kind="ClusterTriggerAuthentication"))],
)
FULL_SJ = dict(
    SJ, polling_interval=10, min_replicas=0, max_replicas=50, successful_jobs_history_limit=5,
    failed_jobs_history_limit=5, env_source_container_name="myconsumer",
    scaling_strategy=dict(strategy="custom", custom_scaling_queue_length_deduction=1,
                          custom_scaling_running_job_percentage="0.5", pending_pod_conditions=["Ready"],
                          multiple_scalers_calculation="max"),
    rollout=dict(strategy="gradual", propagation_policy="foreground"),
    job_target=dict(copy.deepcopy(JOB), backoffLimit=4, activeDeadlineSeconds=600),
)

OBJECTS = {
    "trigger auth (scenario)": lambda: _keda.build_trigger_auth(TA),
    "trigger auth, every identity field": lambda: _keda.build_trigger_auth(dict(
        TA, identity_tenant_id=TENANT_ID, identity_authority_host="https://login.microsoftonline.us/")),
    "cluster trigger auth": lambda: _keda.build_trigger_auth(dict(TA, kind="ClusterTriggerAuthentication",
                                                                  namespace=None)),
    "scaled object (scenario A)": lambda: _keda.build_scaled_object(SO),
    "scaled object, every option": lambda: _keda.build_scaled_object(FULL_SO),
    "scaled job (scenario B)": lambda: _keda.build_scaled_job(SJ),
    "scaled job, every option": lambda: _keda.build_scaled_job(FULL_SJ),
}


@pytest.mark.parametrize("case", OBJECTS)
def test_built_object_follows_the_keda_crd_schema(case):
    manifest = OBJECTS[case]().definition.manifest()
    assert validate_object(CRDS, manifest) == []


@pytest.mark.parametrize("mutation,problem", [
    (lambda o: o["spec"]["triggers"][0].update(authenticationRef={"kind": "TriggerAuthentication"}),
     "spec.triggers[0].authenticationRef.name: required"),
    (lambda o: o["spec"]["triggers"][0]["metadata"].update(threshold=100.5),
     "spec.triggers[0].metadata.threshold: must be of type string"),
    (lambda o: o["spec"].update(minReplicaCount="1"), "spec.minReplicaCount: must be of type integer"),
    (lambda o: o["spec"].update(maxReplicaCount=0), "spec.maxReplicaCount: 0 is below the minimum 1"),
    (lambda o: o["spec"].update(scaleTarget={"name": "x"}), "spec.scaleTarget: unknown field"),
    (lambda o: o["spec"].update(fallback={"replicas": 1, "failureThreshold": 1, "behavior": "sometimes"}),
     "spec.fallback.behavior: 'sometimes' not in enum"),
    (lambda o: o["spec"].pop("triggers"), "spec.triggers: required"),
    (lambda o: o["spec"].update(triggers=[]), "spec.triggers: fewer than 1 items"),
])
def test_the_schema_check_catches_what_the_server_would_refuse(mutation, problem):
    manifest = _keda.build_scaled_object(SO).definition.manifest()
    mutation(manifest)
    problems = validate_object(CRDS, manifest)
    assert any(p.startswith(problem) for p in problems), problems


def test_the_schema_check_knows_the_pod_identity_enum():
    schema = served_schema(CRDS["TriggerAuthentication"], "v1alpha1")
    assert validate(schema, {"spec": {"podIdentity": {"provider": "azure"}}}) == [
        "spec.podIdentity.provider: 'azure' not in enum ['azure-workload', 'gcp', 'aws', 'aws-eks', 'none']"]
