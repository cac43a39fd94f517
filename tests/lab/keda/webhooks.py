"""KEDA's admission webhooks (the ``keda-admission-webhooks`` container), as the lab's API server calls them.

The ValidatingWebhookConfiguration ``keda-admission`` (kedacore/charts keda/templates/webhooks/
validatingconfiguration.yaml@v2.20.2; the same four webhooks as the kubebuilder markers in
kedacore/keda apis/keda/v1alpha1/*_webhook.go) sends CREATE and UPDATE of ScaledObjects, ScaledJobs,
TriggerAuthentications and ClusterTriggerAuthentications here; ``tests/lab/k8s/admission.py`` turns
a denial into the API server's ``admission webhook "<name>" denied the request: <message>``.

Checks and texts per version, from kedacore/keda at v2.17.2 (the AKS add-on) and v2.20.2 (the chart):
- ScaledObject (``scaledobject_webhook.go`` validateWorkload): verifyCPUMemoryScalers,
  verifyScaledObjects, verifyHpas, verifyReplicaCount, verifyFallback, verifyName (2.20 only), then
  verifyTriggers. KEDA keeps them in a Go map, so when several fail the one reported is random;
  the lab reports the first in the order of the source's map literal. An update that only removes
  a finalizer is not checked (isRemovingFinalizer).
- ScaledJob (``scaledjob_webhook.go``): verifyTriggers only.
- (Cluster)TriggerAuthentication (``triggerauthentication_webhook.go`` validateSpec).
controller-runtime denies with 403 Forbidden (pkg/webhook/admission/validator_custom.go ``Denied``;
an error that is an API status, such as a NotFound from reading the target, keeps its status) and
recovers a panic as 500 ``panic: <value> [recovered]`` (pkg/webhook/admission/webhook.go@v0.19.7).
2.20.2's verifyScaledObjects also returns the PollingInterval/CooldownPeriod warnings.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ..k8s import errors as k8s_errors
from .status import version_of

WEBHOOK_SERVICE = "keda-admission-webhooks"
SCALED_OBJECT_PATH = "/validate-keda-sh-v1alpha1-scaledobject"
SCALED_JOB_PATH = "/validate-keda-sh-v1alpha1-scaledjob"
TRIGGER_AUTH_PATH = "/validate-keda-sh-v1alpha1-triggerauthentication"
CLUSTER_TRIGGER_AUTH_PATH = "/validate-keda-sh-v1alpha1-clustertriggerauthentication"
# apis/keda/v1alpha1/scaledobject_types.go@v2.17.2:54-56,85-86; gvkr.go:25-27
OWNER_ANNOTATION = "scaledobject.keda.sh/name"
TRANSFER_HPA_OWNERSHIP = "scaledobject.keda.sh/transfer-hpa-ownership"
VALIDATIONS_HPA_OWNERSHIP = "validations.keda.sh/hpa-ownership"
DEFAULT_MIN, DEFAULT_MAX = 1, 100
MAX_LABEL_VALUE = 63  # scaledobject_webhook.go@v2.20.2 maxK8sLabelValueLength
NIL_POINTER = "runtime error: invalid memory address or nil pointer dereference"

WEBHOOKS = (("vscaledobject.kb.io", SCALED_OBJECT_PATH, "scaledobjects"),
            ("vscaledjob.kb.io", SCALED_JOB_PATH, "scaledjobs"),
            ("vstriggerauthentication.kb.io", TRIGGER_AUTH_PATH, "triggerauthentications"),
            ("vsclustertriggerauthentication.kb.io", CLUSTER_TRIGGER_AUTH_PATH, "clustertriggerauthentications"))


def configuration(namespace: str, labels: dict[str, str], failure_policy: str = "Ignore") -> dict[str, Any]:
    """The ``keda-admission`` ValidatingWebhookConfiguration for a KEDA installed in ``namespace``.

    failurePolicy ``Ignore``: the chart's default (values.yaml ``webhooks.failurePolicy``) and the
    kubebuilder markers' ``failurePolicy=ignore``.
    """
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "keda-admission", "labels": dict(labels, **{"app.kubernetes.io/name": WEBHOOK_SERVICE})},
        "webhooks": [{
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": WEBHOOK_SERVICE, "namespace": namespace, "path": path, "port": 443}},
            "failurePolicy": failure_policy, "matchPolicy": "Equivalent", "name": name,
            "namespaceSelector": {}, "objectSelector": {},
            "rules": [{"apiGroups": ["keda.sh"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"],
                       "resources": [resource], "scope": "*"}],
            "sideEffects": "None", "timeoutSeconds": 10,
        } for name, path, resource in WEBHOOKS],
    }


def service(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """The Service in front of the webhook pods (kedacore/charts keda/templates/webhooks/service.yaml)."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": WEBHOOK_SERVICE, "namespace": namespace,
                         "labels": dict(labels, **{"app.kubernetes.io/name": WEBHOOK_SERVICE})},
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 9443, "appProtocol": "https"}],
                     "selector": {"app": WEBHOOK_SERVICE}}}


class Denied(Exception):
    """A validation error: the webhook answers allowed=false with this status."""

    def __init__(self, message: str, code: int = 403, reason: str = "Forbidden", details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status: dict[str, Any] = {"code": code, "reason": reason, "message": message}
        if details:
            self.status["details"] = details


def _positive(quantity: Any) -> bool:
    match = re.match(r"^\s*([0-9.]+)", str(quantity))
    return match is not None and float(match.group(1) or 0) > 0


def _hpa_name(so: dict[str, Any]) -> str:
    config = ((so.get("spec") or {}).get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    return config.get("name") or f"keda-hpa-{so['metadata']['name']}"


class KedaWebhooks:
    """The webhook server; ``register`` puts its four paths on the API server's dispatcher."""

    def __init__(self, k8s: Any):
        self.k8s = k8s

    def register(self) -> None:
        for _name, path, _resource in WEBHOOKS:
            self.k8s.api.admission.register(path, self.serve)

    # -- the handler -----------------------------------------------------------------------------

    def serve(self, pod: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        version = version_of(pod)
        kind = request["kind"]["kind"]
        obj, old = request["object"], request.get("oldObject")
        warnings: list[str] = []
        try:
            if old is not None and self._removing_finalizer(kind, obj, old):
                pass
            elif kind == "ScaledObject":
                warnings = self._scaled_object(obj, version, bool(request.get("dryRun")))
            elif kind == "ScaledJob":
                self._triggers(obj)
            elif kind in ("TriggerAuthentication", "ClusterTriggerAuthentication"):
                self._trigger_auth(obj, version)
        except Denied as exc:
            return {"uid": request["uid"], "allowed": False, "status": exc.status}
        except (KeyError, AttributeError, TypeError):
            # Go dereferences a nil pointer here; controller-runtime recovers the panic.
            return {"uid": request["uid"], "allowed": False,
                    "status": {"code": 500, "message": f"panic: {NIL_POINTER} [recovered]"}}
        return {"uid": request["uid"], "allowed": True, **({"warnings": warnings} if warnings else {})}

    @staticmethod
    def _removing_finalizer(kind: str, obj: dict[str, Any], old: dict[str, Any]) -> bool:
        new_fin = obj["metadata"].get("finalizers") or []
        old_fin = old["metadata"].get("finalizers") or []
        same_spec = obj.get("spec") == old.get("spec")
        if kind == "ScaledObject":
            return len(new_fin) < len(old_fin) and same_spec
        return not new_fin and len(old_fin) == 1 and same_spec

    # -- ScaledObject --------------------------------------------------------------------------------

    def _list(self, api_version: str, kind: str, namespace: str) -> list[dict[str, Any]]:
        rt = self.k8s.api.registry.by_kind(api_version, kind)
        return self.k8s.api.list(rt, namespace)[0] if rt is not None else []

    def _gvk(self, ref: dict[str, Any]) -> str:
        """ParseGVKR's GVKString (gvkr.go, gvkr_types.go:47); the REST mapper refuses an unknown kind."""
        api_version = ref.get("apiVersion") or "apps/v1"
        kind = ref.get("kind") or "Deployment"
        group, _slash, version = api_version.rpartition("/")
        if kind not in ("Deployment", "StatefulSet") and self.k8s.api.registry.by_kind(api_version, kind) is None:
            raise Denied(f'no matches for kind "{kind}" in version "{api_version}"')
        return f"{group}/{version}.{kind}"

    def _scaled_object(self, so: dict[str, Any], version: tuple[int, ...], dry_run: bool) -> list[str]:
        checks = [self._cpu_memory, self._other_scaled_objects, self._hpas, self._replicas, self._fallback]
        if version >= (2, 20):
            checks = [self._other_scaled_objects, self._cpu_memory, self._hpas, self._replicas, self._fallback,
                      self._name]
        warnings: list[str] = []
        for check in checks:
            warnings.extend(check(so, version, dry_run) or [])
        self._triggers(so)
        return warnings

    def _other_scaled_objects(self, so: dict[str, Any], version: tuple[int, ...], _dry_run: bool) -> list[str]:
        spec = so.get("spec") or {}
        warnings = self._interval_warnings(spec) if version >= (2, 20) else []
        namespace, name = so["metadata"].get("namespace", ""), so["metadata"]["name"]
        ref = spec.get("scaleTargetRef") or {}
        incoming = self._gvk(ref)
        hpa_name = _hpa_name(so)
        for other in self._list("keda.sh/v1alpha1", "ScaledObject", namespace):
            if other["metadata"]["name"] == name:
                continue
            other_ref = (other.get("spec") or {}).get("scaleTargetRef") or {}
            if self._gvk(other_ref) == incoming and other_ref.get("name") == ref.get("name"):
                raise Denied(f"the workload '{other_ref.get('name')}' of type '{incoming}' is already managed by "
                             f"the ScaledObject '{other['metadata']['name']}'")
            if _hpa_name(other) == hpa_name:
                configured = other["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"]
                raise Denied(f"the HPA '{configured}' is already managed by the ScaledObject '{other['metadata']['name']}'")
        return warnings

    @staticmethod
    def _interval_warnings(spec: dict[str, Any]) -> list[str]:
        # scaledobject_webhook.go@v2.20.2 verifyScaledObjects: the PollingInterval/CooldownPeriod warnings.
        min_replicas = spec.get("minReplicaCount") or 0
        idle_not_zero = spec.get("idleReplicaCount") is None or spec.get("idleReplicaCount") != 0
        cached = any(t.get("useCachedMetrics") for t in spec.get("triggers") or [])
        warnings = []
        if spec.get("pollingInterval") is not None and min_replicas > 0 and idle_not_zero and not cached:
            warnings.append("PollingInterval is configured but is not relevant. PollingInterval is only relevant "
                            "when minReplicaCount = 0 or idleReplicaCount = 0 or useCachedMetrics is enabled")
        if spec.get("cooldownPeriod") is not None and min_replicas > 0 and idle_not_zero:
            warnings.append("CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant "
                            "when minReplicaCount = 0 or idleReplicaCount = 0")
        return warnings

    def _hpas(self, so: dict[str, Any], _version: tuple[int, ...], _dry_run: bool) -> list[str]:
        spec = so.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        incoming = self._gvk(ref)
        annotations = so["metadata"].get("annotations") or {}
        for hpa in self._list("autoscaling/v2", "HorizontalPodAutoscaler", so["metadata"].get("namespace", "")):
            if (hpa["metadata"].get("annotations") or {}).get(VALIDATIONS_HPA_OWNERSHIP) == "false":
                continue
            target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if self._gvk(target) != incoming or target.get("name") != ref.get("name"):
                continue
            if any(o.get("kind") == "ScaledObject" and o.get("name") == so["metadata"]["name"]
                   for o in hpa["metadata"].get("ownerReferences") or []):
                continue
            hpa_name = hpa["metadata"]["name"]
            if annotations.get(TRANSFER_HPA_OWNERSHIP) == "true":
                configured = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("name")
                if configured == hpa_name:
                    continue
                raise Denied(f"the existing hpa '{hpa_name}' for workload '{ref.get('name')}' of type '{incoming}' "
                             "must be specified by name in advanced settings to enable ownership transfer")
            raise Denied(f"the workload '{ref.get('name')}' of type '{incoming}' is already managed by the hpa '{hpa_name}'")
        return []

    @staticmethod
    def _replicas(so: dict[str, Any], _version: tuple[int, ...], _dry_run: bool) -> list[str]:
        # scaledobject_types.go CheckReplicaCountBoundsAreValid (with GetHPAMinReplicas / GetHPAMaxReplicas).
        spec = so.get("spec") or {}
        min_count = spec.get("minReplicaCount")
        min_replicas = 0 if min_count is None else (min_count if min_count > 0 else DEFAULT_MIN)
        max_replicas = spec["maxReplicaCount"] if spec.get("maxReplicaCount") is not None else DEFAULT_MAX
        if min_replicas > max_replicas:
            raise Denied(f"MinReplicaCount={min_replicas} must be less than MaxReplicaCount={max_replicas}")
        idle = spec.get("idleReplicaCount")
        if idle is not None and idle >= min_replicas:
            raise Denied(f"IdleReplicaCount={idle} must be less than MinReplicaCount={min_replicas}")
        return []

    @staticmethod
    def _fallback(so: dict[str, Any], version: tuple[int, ...], _dry_run: bool) -> list[str]:
        # scaledobject_types.go CheckFallbackValid (2.17.2 ignores the trigger's metricType; 2.20.2 needs AverageValue).
        spec = so.get("spec") or {}
        fallback = spec.get("fallback")
        if fallback is None:
            return []
        threshold, replicas = fallback.get("failureThreshold", 0), fallback.get("replicas", 0)
        if threshold < 0 or replicas < 0:
            raise Denied(f"FailureThreshold={threshold} & Replicas={replicas} must both be greater than or equal to 0")
        modifiers = (spec.get("advanced") or {}).get("scalingModifiers")
        if modifiers:
            if version >= (2, 20) and modifiers.get("metricType") == "Value":
                raise Denied("when using ScalingModifiers, ScaledObject.Spec.Advanced.ScalingModifiers.MetricType "
                             "must be AverageValue to have fallback enabled")
            return []
        for trigger in spec.get("triggers") or []:
            if trigger.get("type") in ("cpu", "memory"):
                continue
            if version < (2, 20) or (trigger.get("metricType") or "AverageValue") == "AverageValue":
                return []
        raise Denied("at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the "
                     "fallback to be enabled")

    @staticmethod
    def _name(so: dict[str, Any], _version: tuple[int, ...], _dry_run: bool) -> list[str]:
        # scaledobject_webhook.go@v2.20.2 verifyName.
        name = so["metadata"]["name"]
        if len(name) > MAX_LABEL_VALUE:
            raise Denied(f'scaledobject name "{name}" is {len(name)} characters long; must be no more than '
                         f'{MAX_LABEL_VALUE} characters because it is used as the "{OWNER_ANNOTATION}" label value')
        hpa_name = _hpa_name(so)
        if len(hpa_name) > MAX_LABEL_VALUE:
            raise Denied(f'HPA name "{hpa_name}" derived from scaledobject is {len(hpa_name)} characters long; must be '
                         f"no more than {MAX_LABEL_VALUE} characters; set spec.advanced.horizontalPodAutoscalerConfig.name "
                         "to a shorter name or shorten the scaledobject name")
        return []

    def _cpu_memory(self, so: dict[str, Any], _version: tuple[int, ...], dry_run: bool) -> list[str]:
        # scaledobject_webhook.go verifyCPUMemoryScalers (skipped for dry-run requests).
        if dry_run:
            return []
        spec = so.get("spec") or {}
        triggers = spec.get("triggers") or []
        namespace = so["metadata"].get("namespace", "")
        pod_spec: dict[str, Any] | None = None
        for trigger in triggers:
            if trigger.get("type") not in ("cpu", "memory"):
                continue
            if pod_spec is None:
                ref = spec.get("scaleTargetRef") or {}
                gvk = self._gvk(ref)
                if gvk not in ("apps/v1.Deployment", "apps/v1.StatefulSet"):
                    return []
                kind = gvk.rsplit(".", 1)[1]
                target = self.k8s.get_object("apps/v1", kind, namespace, ref.get("name", ""))
                if target is None:
                    error = k8s_errors.not_found(kind.lower() + "s", "apps", ref.get("name", ""))
                    raise Denied(error.message, error.code, error.reason, error.details)
                pod_spec = ((target.get("spec") or {}).get("template") or {}).get("spec") or {}
            resource = trigger["type"]
            container_name = (trigger.get("metadata") or {}).get("containerName") or ""
            for container in pod_spec.get("containers") or []:
                if container_name and container.get("name") != container_name:
                    continue
                resources = container.get("resources") or {}
                requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
                set_here = (resource in requests or resource in limits) and (
                    _positive(requests.get(resource, 0)) or _positive(limits.get(resource, 0)))
                if not set_here and not self._limit_range_default(namespace, resource):
                    raise Denied(f"the scaledobject has a {resource} trigger but the container {container.get('name')} "
                                 f"doesn't have the {resource} request defined")
            if all(t.get("type") in ("cpu", "memory") for t in triggers) and not spec.get("minReplicaCount"):
                raise Denied("scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't "
                             "work in this case)")
        return []

    def _limit_range_default(self, namespace: str, resource: str) -> bool:
        for limit_range in self._list("v1", "LimitRange", namespace):
            for item in (limit_range.get("spec") or {}).get("limits") or []:
                default_request, default = item.get("defaultRequest") or {}, item.get("default") or {}
                if item.get("type") == "Container" and (resource in default_request or resource in default) and (
                        _positive(default_request.get(resource, 0)) or _positive(default.get(resource, 0))):
                    return True
        return False

    @staticmethod
    def _triggers(obj: dict[str, Any]) -> None:
        # scaletriggers_types.go ValidateTriggers.
        triggers = (obj.get("spec") or {}).get("triggers") or []
        if not triggers:
            raise Denied("no triggers defined in the ScaledObject/ScaledJob")
        names: set[str] = set()
        for trigger in triggers:
            if trigger.get("useCachedMetrics") and trigger.get("type") in ("cpu", "memory", "cron"):
                raise Denied(f'property "useCachedMetrics" is not supported for "{trigger.get("type")}" scaler')
            name = trigger.get("name") or ""
            if name:
                if name in names:
                    raise Denied(f'triggerName "{name}" is defined multiple times in the ScaledObject/ScaledJob, '
                                 "but it must be unique")
                names.add(name)

    # -- (Cluster)TriggerAuthentication --------------------------------------------------------------

    @staticmethod
    def _trigger_auth(obj: dict[str, Any], version: tuple[int, ...]) -> None:
        # triggerauthentication_webhook.go validateSpec (2.20.2 adds the AWS externalID and the oauth2 rules).
        spec = obj.get("spec") or {}
        identity = spec.get("podIdentity")
        if identity is not None:
            provider = identity.get("provider")
            if provider == "azure-workload":
                if identity.get("identityId") == "":
                    raise Denied("identityId of PodIdentity should not be empty. If it's set, identityId has to be "
                                 'different than ""')
                if identity.get("identityAuthorityHost"):
                    if not identity.get("identityTenantId"):
                        raise Denied("identityTenantID of PodIdentity should not be nil or empty when "
                                     "identityAuthorityHost of PodIdentity is set")
                elif identity.get("identityTenantId") == "":
                    raise Denied("identityTenantId of PodIdentity should not be empty. If it's set, identityTenantId "
                                 'has to be different than ""')
            elif provider == "aws":
                workload_owner = identity.get("identityOwner") == "workload"
                if identity.get("roleArn") and workload_owner:
                    raise Denied("roleArn of PodIdentity can't be set if KEDA isn't identityOwner")
                if version >= (2, 20) and identity.get("externalID") and not identity.get("roleArn"):
                    raise Denied("externalID of PodIdentity requires roleArn to be set")
            else:
                return
        oauth2 = spec.get("oauth2")
        if version >= (2, 20) and oauth2 is not None:
            if oauth2.get("type") != "clientCredentials":
                raise Denied(f"oauth2.type must be 'clientCredentials', got '{oauth2.get('type', '')}'")
            if not oauth2.get("clientId"):
                raise Denied("oauth2.clientId is required when oauth2 is configured")
            if not oauth2.get("tokenUrl"):
                raise Denied("oauth2.tokenUrl is required when oauth2 is configured")
            parsed = urllib.parse.urlparse(str(oauth2["tokenUrl"]))
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise Denied("oauth2.tokenUrl must be a valid http or https URL")
