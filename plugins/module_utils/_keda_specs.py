# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of the KEDA modules (keda_trigger_auth, keda_scaled_object, keda_scaled_job),
which keda_objects takes a list of each and workload_bindings reuses for its bindings."""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._keda_triggers import TRIGGERS_ARGSPEC

# The options of one ScaledObject but its namespace and state: keda_scaled_object adds those, a
# workload_bindings binding has its own.
SCALED_OBJECT_OPTIONS: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "scale_target": {"type": "dict", "options": {
        "name": {"type": "str", "required": True},
        "kind": {"type": "str"},
        "api_version": {"type": "str"},
        "env_source_container_name": {"type": "str"},
    }},
    "min_replicas": {"type": "int"},
    "max_replicas": {"type": "int"},
    "polling_interval": {"type": "int"},
    "cooldown_period": {"type": "int"},
    "initial_cooldown_period": {"type": "int"},
    "idle_replica_count": {"type": "int"},
    "fallback": {"type": "dict", "options": {
        "failure_threshold": {"type": "int", "required": True},
        "replicas": {"type": "int", "required": True},
        "behavior": {"type": "str", "choices": [
            "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower", "scalingModifiers"]},
    }},
    "advanced": {"type": "dict"},
    "triggers": TRIGGERS_ARGSPEC,
}


# keda_trigger_auth's options; keda_objects takes a list of them.
TRIGGER_AUTH_ARGSPEC: dict[str, Any] = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
    kind=dict(type="str", choices=["TriggerAuthentication", "ClusterTriggerAuthentication"],
              default="TriggerAuthentication"),
    provider=dict(type="str", default="azure-workload"),
    identity_id=dict(type="str"),
    identity_tenant_id=dict(type="str"),
    identity_authority_host=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


# keda_scaled_object's options; keda_objects takes a list of them.
SCALED_OBJECT_ARGSPEC: dict[str, Any] = dict(
    SCALED_OBJECT_OPTIONS,
    namespace=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)


# keda_scaled_job's options; keda_objects takes a list of them.
SCALED_JOB_ARGSPEC: dict[str, Any] = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    job_target=dict(type="dict"),
    polling_interval=dict(type="int"),
    min_replicas=dict(type="int"),
    max_replicas=dict(type="int"),
    successful_jobs_history_limit=dict(type="int"),
    failed_jobs_history_limit=dict(type="int"),
    env_source_container_name=dict(type="str"),
    scaling_strategy=dict(type="dict", options=dict(
        strategy=dict(type="str", choices=["default", "custom", "accurate", "eager"]),
        custom_scaling_queue_length_deduction=dict(type="int"),
        custom_scaling_running_job_percentage=dict(type="str"),
        pending_pod_conditions=dict(type="list", elements="str"),
        multiple_scalers_calculation=dict(type="str", choices=["min", "avg", "sum", "max"]),
    )),
    rollout=dict(type="dict", options=dict(
        strategy=dict(type="str", choices=["gradual", "immediate"]),
        propagation_policy=dict(type="str", choices=["foreground", "background"]),
    )),
    triggers=TRIGGERS_ARGSPEC,
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
