# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEDA objects (keda.sh/v1alpha1) built from typed options, with KEDA's own rules checked first.

Sources for the rules: the v2.20.2 CRDs (schema, enums, the minReplicaCount CEL rule), the
admission webhooks (``scaledobject_webhook.go``, ``triggerauthentication_webhook.go``) and the
scalers (``prometheus_scaler.go``, ``azure_servicebus_scaler.go``). Anything KEDA would only
report later as a 401/403 or a log line (a TriggerAuthentication missing from the namespace) is
refused here, before a write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, cast

from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_specs as specs
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_triggers as triggers
from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._core import Resource as Core
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    CLUSTER_TRIGGER_AUTHENTICATION,
    SCALED_JOB,
    SCALED_OBJECT,
    TRIGGER_AUTHENTICATION,
    ObjectStore,
    Resource,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    Definition,
    clean,
    ensure_absent,
    ensure_present,
    viewed,
)

# The argument specs and trigger rules, importable from here as before the split (workload_bindings, tests).
TRIGGER_AUTH_ARGSPEC = specs.TRIGGER_AUTH_ARGSPEC
SCALED_OBJECT_ARGSPEC = specs.SCALED_OBJECT_ARGSPEC
SCALED_OBJECT_OPTIONS = specs.SCALED_OBJECT_OPTIONS
SCALED_JOB_ARGSPEC = specs.SCALED_JOB_ARGSPEC
TRIGGERS_ARGSPEC = triggers.TRIGGERS_ARGSPEC
metadata_strings = triggers.metadata_strings

HPA_PREFIX = "keda-hpa-"
DEFAULT_MAX_REPLICAS = 100  # the CRD's CEL rule compares minReplicaCount with 100 when max is unset
# The CRDs default nothing inside triggers, so the list is compared as a whole: a metadata key
# removed from the options is a change. (jobTargetRef is not: its pod spec has server defaults.)
TRIGGERS_PATH = (("spec", "triggers"),)
# Ownership (docs/ownership.md): every KEDA object the modules create carries the managed-by label,
# set on creation only; ``state: absent`` deletes only an object carrying it.
CREATED_LABELS = {MANAGED_BY_LABEL: MANAGED_BY}


def _definition(resource: Resource, name: str, namespace: str | None, owned: dict[str, Any],
                exact: tuple[tuple[str, ...], ...] = ()) -> Definition:
    return Definition(resource, name, namespace, owned, exact, created_labels=dict(CREATED_LABELS))


@dataclass
class KedaPlan:
    definition: Definition
    state: str
    result_key: str
    auth_refs: list[tuple[str, str, str]] = field(default_factory=list)  # (option, kind, name)
    warnings: list[str] = field(default_factory=list)
    # A ScaledObject's conflicts with other ScaledObjects and HPAs (_keda_conflicts) were checked for
    # the whole task already (keda_objects, workload_bindings): ensure does not list again.
    conflicts_checked: bool = False

    @property
    def scaled_object_item(self) -> tuple[str, str, str, dict[str, Any]] | None:
        """("", namespace, name, spec) of a ScaledObject stated present, for _keda_conflicts."""
        definition = self.definition
        if definition.resource != SCALED_OBJECT or self.state != "present":
            return None
        return "", definition.namespace or "", definition.name, definition.owned.get("spec") or {}


# -- TriggerAuthentication / ClusterTriggerAuthentication ---------------------------------------

def build_trigger_auth(params: dict[str, Any]) -> KedaPlan:
    cluster = params["kind"] == "ClusterTriggerAuthentication"
    resource = CLUSTER_TRIGGER_AUTHENTICATION if cluster else TRIGGER_AUTHENTICATION
    name = validate.dns_subdomain("name", params["name"])
    namespace = params.get("namespace")
    if cluster and namespace:
        raise OptionError("namespace: must not be set when kind is ClusterTriggerAuthentication (cluster-scoped)")
    if not cluster:
        if not namespace:
            raise OptionError("namespace: required when kind is TriggerAuthentication (it must be the "
                              "namespace of the ScaledObjects and ScaledJobs that use it)")
        validate.dns_label("namespace", namespace)
    if params["provider"] == "azure":
        raise OptionError("provider: 'azure' (AAD Pod Identity) was removed in KEDA 2.15 (kedacore/keda CHANGELOG "
                          "v2.15.0, Breaking: 'AAD-Pod-Identity and AWS-KIAM auths have been removed (#5035)'; the "
                          "CRD enum no longer has it): use azure-workload with a federated credential for the operator")
    if params["provider"] != "azure-workload":
        raise OptionError(f"provider: must be azure-workload, got {params['provider']!r}")
    # Empty strings mean "not set": KEDA's webhook rejects identityId/identityTenantId == "".
    identity_id = params.get("identity_id") or None
    tenant_id = params.get("identity_tenant_id") or None
    authority_host = params.get("identity_authority_host") or None
    if identity_id:
        validate.guid("identity_id", identity_id)
    if tenant_id:
        validate.guid("identity_tenant_id", tenant_id)
    if authority_host:
        validate.https_url("identity_authority_host", authority_host)
        if not tenant_id:
            raise OptionError("identity_authority_host: requires identity_tenant_id (KEDA rejects "
                              "identityAuthorityHost without identityTenantId)")
    warnings = []
    if authority_host:
        # Service Bus and Prometheus build their credential with NewChainedCredential (kedacore/keda
        # pkg/scalers/azure/azure_azidentity_chain.go): azidentity's WorkloadIdentityCredential takes the
        # client and tenant ids but reads the authority from AZURE_AUTHORITY_HOST; only scalers on the MSAL path
        # (pkg/scalers/azure/azure_aad_workload_identity.go, GetAzureADWorkloadIdentityToken) honour it.
        warnings.append("identity_authority_host: the azure-servicebus and prometheus scalers ignore "
                        "identityAuthorityHost (KEDA's chained credential reads AZURE_AUTHORITY_HOST from the operator "
                        "pod); only scalers that use GetAzureADWorkloadIdentityToken honour it")
    # The module owns spec.podIdentity as a whole: an identity field left out is removed.
    pod_identity = {"provider": params["provider"], "identityId": identity_id,
                    "identityTenantId": tenant_id, "identityAuthorityHost": authority_host}
    definition = _definition(resource, name, None if cluster else namespace, {"spec": {"podIdentity": pod_identity}})
    return KedaPlan(definition, params["state"], "trigger_auth", warnings=warnings)


def _counts(params: dict[str, Any], names: dict[str, tuple[str, int]]) -> dict[str, int]:
    """Integer options copied into the spec when set (unset ones are left to KEDA's defaults)."""
    spec = {}
    for option, (field_name, minimum) in names.items():
        if params.get(option) is not None:
            spec[field_name] = validate.int_range(option, params[option], minimum)
    return spec


def _replica_bounds(params: dict[str, Any]) -> None:
    low, high = params.get("min_replicas"), params.get("max_replicas")
    if low is not None and low > (high if high is not None else DEFAULT_MAX_REPLICAS):
        if high is None:
            raise OptionError(f"min_replicas: {low} is more than KEDA's default max_replicas "
                              f"({DEFAULT_MAX_REPLICAS}); set max_replicas too")
        raise OptionError(f"min_replicas: {low} must be less than or equal to max_replicas ({high})")


def _namespaced_name(params: dict[str, Any], max_length: int = 253) -> tuple[str, str]:
    namespace = validate.dns_label("namespace", params["namespace"])
    return validate.dns_subdomain("name", params["name"], max_length), namespace


# -- ScaledObject -------------------------------------------------------------------------------

def build_scaled_object(params: dict[str, Any]) -> KedaPlan:
    # KEDA's webhook: the ScaledObject name is at most 63 characters.
    name, namespace = _namespaced_name(params, 63)
    if params["state"] == "absent":
        return KedaPlan(_definition(SCALED_OBJECT, name, namespace, {}), "absent", "scaled_object")
    advanced = params.get("advanced") or {}
    hpa_name = ((advanced.get("horizontalPodAutoscalerConfig") or {}).get("name") or "")
    if hpa_name:
        validate.dns_subdomain("advanced.horizontalPodAutoscalerConfig.name", hpa_name, 63)
    elif len(HPA_PREFIX + name) > 63:
        raise OptionError(f"name: '{name}' is {len(name)} characters; KEDA names the HPA '{HPA_PREFIX}<name>', which "
                          f"must not exceed 63 characters (so at most {63 - len(HPA_PREFIX)}), unless "
                          "advanced.horizontalPodAutoscalerConfig.name names the HPA")
    target = params.get("scale_target")
    if not target or not target.get("name"):
        raise OptionError("scale_target: required when state is present, with at least a name")
    # A Kubernetes kind is a CamelCase identifier; KEDA looks it up as given, so "Deployment " would never
    # resolve (https://kubernetes.io/docs/reference/using-api/api-concepts/#standard-api-terminology).
    if target.get("kind") and not re.fullmatch(r"[A-Z][A-Za-z0-9]*", target["kind"]):
        raise OptionError(f"scale_target.kind: {target['kind']!r} is not a Kubernetes kind (CamelCase letters and "
                          "digits, no white space), for example Deployment or StatefulSet")
    warnings: list[str] = []
    spec: dict[str, Any] = {
        # The reference is owned as a whole: a field left out goes back to KEDA's default.
        "scaleTargetRef": {"name": target["name"], "kind": target.get("kind") or None,
                           "apiVersion": target.get("api_version") or None,
                           "envSourceContainerName": target.get("env_source_container_name") or None},
    }
    spec.update(_counts(params, {
        "polling_interval": ("pollingInterval", 1),
        "cooldown_period": ("cooldownPeriod", 0),
        "initial_cooldown_period": ("initialCooldownPeriod", 0),
        "min_replicas": ("minReplicaCount", 0),
        "max_replicas": ("maxReplicaCount", 1),
        "idle_replica_count": ("idleReplicaCount", 0),
    }))
    _replica_bounds(params)
    idle = params.get("idle_replica_count")
    if idle is not None and idle >= (params.get("min_replicas") or 0):
        raise OptionError(f"idle_replica_count: {idle} must be less than min_replicas "
                          f"({params.get('min_replicas') or 0}) (KEDA webhook rule)")
    fallback = params.get("fallback")
    if fallback:
        spec["fallback"] = {"failureThreshold": validate.int_range("fallback.failure_threshold",
                                                                   fallback["failure_threshold"], 0),
                            "replicas": validate.int_range("fallback.replicas", fallback["replicas"], 0)}
        if fallback.get("behavior"):
            spec["fallback"]["behavior"] = fallback["behavior"]
    if advanced:
        spec["advanced"] = advanced
    spec["triggers"], refs = triggers.build_triggers("triggers", params.get("triggers"), warnings)
    return KedaPlan(_definition(SCALED_OBJECT, name, namespace, {"spec": spec}, TRIGGERS_PATH), "present",
                    "scaled_object", refs, warnings)


# -- ScaledJob ----------------------------------------------------------------------------------

def build_scaled_job(params: dict[str, Any]) -> KedaPlan:
    name, namespace = _namespaced_name(params)
    if params["state"] == "absent":
        return KedaPlan(_definition(SCALED_JOB, name, namespace, {}), "absent", "scaled_job")
    job_target = params.get("job_target")
    if not job_target:
        raise OptionError("job_target: required when state is present (a batch/v1 JobSpec)")
    template = job_target.get("template")
    if not isinstance(template, dict) or not ((template.get("spec") or {}).get("containers")):
        raise OptionError("job_target.template.spec.containers: required (job_target is a batch/v1 JobSpec whose "
                          "template KEDA runs for each job)")
    warnings: list[str] = []
    spec: dict[str, Any] = {"jobTargetRef": job_target}
    spec.update(_counts(params, {
        "polling_interval": ("pollingInterval", 1),
        "min_replicas": ("minReplicaCount", 0),
        "max_replicas": ("maxReplicaCount", 1),
        "successful_jobs_history_limit": ("successfulJobsHistoryLimit", 0),
        "failed_jobs_history_limit": ("failedJobsHistoryLimit", 0),
    }))
    low, high = params.get("min_replicas"), params.get("max_replicas")
    if low is not None and high is not None and low > high:
        raise OptionError(f"min_replicas: {low} must be less than or equal to max_replicas ({high})")
    if params.get("env_source_container_name"):
        spec["envSourceContainerName"] = params["env_source_container_name"]
    strategy = params.get("scaling_strategy")
    if strategy:
        scaling = {
            "strategy": strategy.get("strategy"),
            "customScalingQueueLengthDeduction": strategy.get("custom_scaling_queue_length_deduction"),
            "customScalingRunningJobPercentage": strategy.get("custom_scaling_running_job_percentage"),
            "pendingPodConditions": strategy.get("pending_pod_conditions"),
            "multipleScalersCalculation": strategy.get("multiple_scalers_calculation"),
        }
        if scaling["customScalingRunningJobPercentage"] is not None:
            triggers.number("scaling_strategy.custom_scaling_running_job_percentage",
                            scaling["customScalingRunningJobPercentage"])
        spec["scalingStrategy"] = {k: v for k, v in scaling.items() if v is not None}
    rollout = params.get("rollout")
    if rollout:
        spec["rollout"] = {k: v for k, v in (("strategy", rollout.get("strategy")),
                                             ("propagationPolicy", rollout.get("propagation_policy"))) if v}
    spec["triggers"], refs = triggers.build_triggers("triggers", params.get("triggers"), warnings)
    return KedaPlan(_definition(SCALED_JOB, name, namespace, {"spec": spec}, TRIGGERS_PATH), "present", "scaled_job",
                    refs, warnings)


# -- apply --------------------------------------------------------------------------------------

def check_auth_refs(api: ObjectStore, namespace: str, refs: list[tuple[str, str, str]], check_mode: bool) -> list[str]:
    """KEDA resolves a TriggerAuthentication in the scaler's own namespace and, when it is
    missing, only logs and scales without credentials; refuse to write such a reference.
    In check mode an earlier task may be about to create it, so a warning says what a run needs."""
    warnings = []
    seen = set()
    for option, kind, name in refs:
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        if kind == "ClusterTriggerAuthentication":
            missing = api.get(CLUSTER_TRIGGER_AUTHENTICATION, name) is None
            problem = f"{option}: ClusterTriggerAuthentication {name} does not exist; create it first"
        else:
            missing = api.get(TRIGGER_AUTHENTICATION, name, namespace) is None
            problem = (f"{option}: TriggerAuthentication {namespace}/{name} does not exist; KEDA only looks in the "
                       "scaler's own namespace and, without it, scales with no credentials (401/403 later). Create "
                       "it in that namespace first, or use kind ClusterTriggerAuthentication")
        if missing:
            if not check_mode:
                raise OptionError(problem)
            warnings.append(problem + " (a run fails here unless an earlier task creates it)")
    return warnings


def ensure(api: ObjectStore, plan: KedaPlan, check_mode: bool) -> Outcome:
    definition = plan.definition
    if plan.state == "absent":
        # Only an object we created (it carries CREATED_LABELS); any other is kept with a warning.
        return ensure_absent(api, definition.resource, definition.name, definition.namespace, check_mode=check_mode,
                             owned_only=True)
    warnings = list(plan.warnings)

    item = None if plan.conflicts_checked else plan.scaled_object_item

    def before_write() -> None:
        if item is not None:
            # KEDA's webhook rules on other objects, read only when this task would write.
            # The module's Api lists; a ListedApi (workload_bindings) lists through the Api behind it.
            lister = cast(conflicts.Lister, getattr(api, "api", api))
            conflicts.check_against_cluster(lister, [item])
        warnings.extend(check_auth_refs(api, definition.namespace or "", plan.auth_refs, check_mode))

    outcome = ensure_present(api, definition, check_mode=check_mode,
                             before_write=before_write if plan.auth_refs or item else None)
    outcome.warnings[:0] = warnings
    return outcome


def apply(connection: Connection, plan: KedaPlan, check_mode: bool) -> Outcome:
    return viewed(ensure(connection.k8s, plan, check_mode), plan.result_key, clean)


def checked(build: Callable[[dict[str, Any]], KedaPlan], spec: dict[str, Any]) -> Callable[[dict[str, Any]], KedaPlan]:
    """``build`` as a module runs it: with ``state: absent``, an option other than the object's name is
    refused (it would be ignored) before anything is sent."""
    def run(params: dict[str, Any]) -> KedaPlan:
        validate.absent_ignores(params, spec)
        return build(params)
    return run


# The modules' cores (_core.Resource): keda_trigger_auth, keda_scaled_object, keda_scaled_job.
TRIGGER_AUTH_RESOURCE = Core("keda_trigger_auth", TRIGGER_AUTH_ARGSPEC,
                             checked(build_trigger_auth, TRIGGER_AUTH_ARGSPEC), apply, k8s=True)
SCALED_OBJECT_RESOURCE = Core("keda_scaled_object", SCALED_OBJECT_ARGSPEC,
                              checked(build_scaled_object, SCALED_OBJECT_ARGSPEC), apply, k8s=True)
SCALED_JOB_RESOURCE = Core("keda_scaled_job", SCALED_JOB_ARGSPEC,
                           checked(build_scaled_job, SCALED_JOB_ARGSPEC), apply, k8s=True)
