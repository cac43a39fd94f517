"""The lab KEDA: what the keda-operator does for ScaledObjects and ScaledJobs whose triggers use
``azure-servicebus`` or ``prometheus`` with ``podIdentity.provider: azure-workload``.

Behaviour, texts and numbers follow reference/keda-behaviour.md (kedacore/keda v2.20.2; file:line
cited there and below): conditions (§1.3, §2.1), the ``keda-hpa-<name>`` HPA (§1.4, ``controllers/keda/hpa.go``),
ScaledJob scaling with the default strategy (§2.2, ``pkg/scaling/executor/scale_jobs.go``), Jobs (§2.3),
Events (§3, ``pkg/eventreason/eventreason.go``), credentials from the operator pod's env (§6) and the
operator log (§7). The add-on's KEDA (≤ 2.19) writes core/v1 events and the Prometheus error with its
body; 2.20 writes events.k8s.io events (notes over 1024 characters are dropped) and no body (§0).

The HPA controller's part (kube-controller-manager ``pkg/controller/podautoscaler``) is done here too:
desired replicas = ceil(metric / averageValue target), clamped to [minReplicas, maxReplicas], written
through the target's ``/scale``; no stabilization window (the lab has no 5-minute waits).

Timing: each object is polled every ``spec.pollingInterval`` seconds (default 30), capped by the lab
setting ``keda_polling_cap_seconds`` (default 1 s; null follows the spec exactly). Not modelled:
fallback, pause annotations, scalingModifiers, cooldown before scale-to-zero, finalizers (so removing
KEDA before its objects never leaves them stuck in the lab), other trigger types (reported as
``no scaler found for type: <type>``).
"""

from __future__ import annotations

import copy
import math
import threading
import time
from typing import Any

from ..k8s import errors as k8s_errors
from ..k8s.api import Options
from . import azure, oplog

GROUP_VERSION = "keda.sh/v1alpha1"
OPERATOR_MANAGER = "keda-operator"
HPA_MANAGER = "kube-controller-manager"
SO_LABEL = "scaledobject.keda.sh/name"
SJ_LABEL = "scaledjob.keda.sh/name"
DEFAULT_POLLING = 30
EVENT_SERIES_SECONDS = 600
SO_READY = "ScaledObject is defined correctly and is ready for scaling"
SJ_READY_RECONCILE = "ScaledJob is defined correctly and is ready to scaling"  # (sic) scaledjob_controller.go:159
SJ_READY_POLL = "ScaledJob is defined correctly and is ready for scaling"
ACTIVE = "Scaling is performed because triggers are active"
NOT_ACTIVE = "Scaling is not performed because triggers are not active"


def version_of(pod: dict[str, Any]) -> tuple[int, ...]:
    labels = pod["metadata"].get("labels") or {}
    text = labels.get("app.kubernetes.io/version") or ""
    if not text:
        image = next((c.get("image", "") for c in pod["spec"].get("containers") or []), "")
        text = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    digits = [int(p) for p in text.lstrip("v").split(".") if p.isdigit()]
    return tuple(digits) or (2, 20, 2)


def signing_issuer(k8s: Any) -> str:
    """The issuer kube-apiserver signs new service account tokens with (the first --service-account-issuer)."""
    issuers = getattr(k8s, "token_issuers", None)
    return issuers[0] if issuers else k8s.issuer_url


def _conditions(status: dict[str, Any]) -> list[dict[str, Any]]:
    conditions = status.setdefault("conditions", [])
    if not conditions:
        # GetInitializedConditions: no lastTransitionTime in KEDA's Condition type.
        conditions.extend([{"type": "Ready", "status": "Unknown"}, {"type": "Active", "status": "Unknown"},
                           {"type": "Fallback", "status": "Unknown"}, {"type": "Paused", "status": "False"}])
    return conditions


def _set(status: dict[str, Any], ctype: str, value: str, reason: str, message: str) -> None:
    for cond in _conditions(status):
        if cond["type"] == ctype:
            cond.update({"status": value, "reason": reason, "message": message})
            return
    status["conditions"].append({"type": ctype, "status": value, "reason": reason, "message": message})


def _get(status: dict[str, Any], ctype: str) -> str:
    return next((c.get("status", "") for c in status.get("conditions") or [] if c["type"] == ctype), "")


def _rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Keda:
    """One lab KEDA for the cluster; ``tick()`` is called by the service's thread."""

    def __init__(self, lab: Any):
        self.lab = lab
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.RLock()):
            self.next_poll: dict[str, float] = {}
            self.state: dict[str, dict[str, Any]] = {}
            self.events: dict[tuple, tuple[str, str, float]] = {}
            self.tokens: dict[tuple, tuple[str, float]] = {}
            self.started_pods: set[str] = set()

    # -- cluster access ------------------------------------------------------------------------------

    @property
    def k8s(self) -> Any:
        return self.lab.services["k8s"]

    def _rt(self, api_version: str, kind: str) -> Any:
        return self.k8s.api.registry.by_kind(api_version, kind)

    def _list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        rt = self._rt(api_version, kind)
        if rt is None:
            return []
        return self.k8s.api.list(rt, namespace)[0]

    def _find(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        rt = self._rt(api_version, kind)
        if rt is None:
            return None
        with self.k8s.api.lock:
            return self.k8s.api.find(rt, namespace, name)

    def operator_pod(self) -> dict[str, Any] | None:
        pods = [p for p in self._list("v1", "Pod")
                if (p["metadata"].get("labels") or {}).get("app") == "keda-operator"
                and (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        return max(pods, key=lambda p: p["metadata"].get("creationTimestamp", "")) if pods else None

    def log(self, pod: dict[str, Any], level: str, logger: str, message: str, fields: dict[str, Any] | None = None) -> None:
        for text in oplog.line(level, logger, message, fields):
            self.k8s.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], text)

    # -- events --------------------------------------------------------------------------------------

    def event(self, operator: dict[str, Any], obj: dict[str, Any], etype: str, reason: str, message: str,
              component: str = "keda-operator", action: str | None = None) -> None:
        """One event. ``action`` (2.20): the EventEmitter's events carry their message as action
        (eventemitter.go:332), direct recorder calls their reason, "Started scalers watch" ScalersWatchStarted."""
        v20 = version_of(operator) >= (2, 20)
        action = action or reason
        if v20 and (len(message) > 1024 or len(action) > 128):
            # events.k8s.io note limit: the API server rejects the event and client-go drops it (§3.1).
            self.k8s.append_log(operator["metadata"]["namespace"], operator["metadata"]["name"],
                                f"E{time.strftime('%m%d %H:%M:%S', time.gmtime())}.000000       1 event_broadcaster.go:270] "
                                f"\"Server rejected event (will not retry!)\" err=\"Event \\\"{obj['metadata']['name']}\\\" is invalid: "
                                f"note: Too long: may not be more than 1024 bytes\"")
            return
        meta = obj["metadata"]
        key = (meta["uid"], etype, reason, component) + ((action,) if v20 else (message,))
        now = time.time()
        events_rt = self._rt("v1", "Event")
        with self.lock:
            known = self.events.get(key)
        if known is not None and now - known[2] < EVENT_SERIES_SECONDS:
            namespace, name, _first = known

            def bump(ev: dict[str, Any]) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = _rfc3339()
            if self.k8s.api.system_write(events_rt, namespace, name, bump, component) is not None:
                return
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"], "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "firstTimestamp": _rfc3339(), "lastTimestamp": _rfc3339(),
            "source": {} if v20 else {"component": component},
            "reportingComponent": component if v20 else "",
            "reportingInstance": f"{component}-{operator['metadata']['name']}" if v20 else "",
        }
        if v20:
            event["action"] = action
        try:
            with self.k8s.api.transaction():
                created = self.k8s.api.create(events_rt, meta["namespace"], event, Options(manager=component))
        except k8s_errors.ApiError:
            return
        with self.lock:
            self.events[key] = (meta["namespace"], created["metadata"]["name"], now)

    # -- the loop ------------------------------------------------------------------------------------

    def tick(self) -> None:
        operator = self.operator_pod()
        if operator is None or self._rt(GROUP_VERSION, "ScaledObject") is None:
            return
        if operator["metadata"]["uid"] not in self.started_pods:
            self.started_pods.add(operator["metadata"]["uid"])
            version = ".".join(str(p) for p in version_of(operator))
            for message in ("Starting manager", f"KEDA Version: {version}", "Git Commit: lab", "Go Version: go1.24.6",
                            "Go OS/Arch: linux/amd64"):
                self.log(operator, "INFO", "setup", message)
        cap = self.lab.settings.get("keda_polling_cap_seconds")
        now = time.monotonic()
        for kind in ("ScaledObject", "ScaledJob"):
            for obj in self._list(GROUP_VERSION, kind):
                meta = obj["metadata"]
                if meta.get("deletionTimestamp"):
                    continue
                interval = float((obj.get("spec") or {}).get("pollingInterval") or DEFAULT_POLLING)
                if cap is not None:
                    interval = min(interval, float(cap))
                key = f"{meta['uid']}/{operator['metadata']['uid']}"
                if self.next_poll.get(key, 0) > now:
                    continue
                self.next_poll[key] = now + interval
                try:
                    if kind == "ScaledObject":
                        self.scaled_object(operator, obj)
                    else:
                        self.scaled_job(operator, obj)
                except k8s_errors.ApiError:
                    # Lost a race with another writer (or the object went away): next poll.
                    continue

    # -- scalers ---------------------------------------------------------------------------------------

    def _auth(self, operator: dict[str, Any], obj: dict[str, Any], trigger: dict[str, Any], index: int,
              logger_fields: dict[str, Any]) -> dict[str, Any]:
        """resolver/scale_resolvers.go: the TriggerAuthentication's podIdentity, or provider none."""
        ref = trigger.get("authenticationRef") or {}
        if not ref.get("name"):
            return {"provider": "none"}
        kind = ref.get("kind") or "TriggerAuthentication"
        namespace = None if kind == "ClusterTriggerAuthentication" else obj["metadata"]["namespace"]
        auth = self._find(GROUP_VERSION, kind, namespace, ref["name"])
        if auth is None:
            self.log(operator, "ERROR", "scale_resolvers", "error getting triggerAuth", dict(logger_fields, triggerIndex=index, error=(
                f"{kind}.keda.sh \"{ref['name']}\" not found")))
            return {"provider": "none"}
        identity = (auth.get("spec") or {}).get("podIdentity") or {}
        return {"provider": identity.get("provider") or "none", "identityId": identity.get("identityId"),
                "identityTenantId": identity.get("identityTenantId")}

    def _token(self, operator: dict[str, Any], obj: dict[str, Any], auth: dict[str, Any], scope: str,
               logger: str, fields: dict[str, Any]) -> str:
        env = {e.get("name"): e.get("value", "") for c in operator["spec"].get("containers") or []
               for e in c.get("env") or [] if "value" in e}
        credential, problem = azure.credential_from_env(env, auth.get("identityId"), auth.get("identityTenantId"))
        if credential is None:
            self.log(operator, "ERROR", logger, "error starting azure workload-identity token provider", dict(fields, error=problem))
            raise azure.ScalerError(azure.NO_CREDENTIAL)
        key = (operator["metadata"]["uid"], obj["metadata"]["uid"], obj["metadata"].get("generation"),
               credential.client_id, credential.tenant_id, scope)
        cached = self.tokens.get(key)
        if cached and cached[1] - 60 > time.time():
            return cached[0]
        account = self._find("v1", "ServiceAccount", operator["metadata"]["namespace"], operator["spec"].get("serviceAccountName") or "default")
        if account is None:
            raise azure.ScalerError(azure.chain_error(
                f"WorkloadIdentityCredential: open {credential.token_file}: no such file or directory"))
        assertion, _exp = self.k8s.issuer.issue(
            signing_issuer(self.k8s), account["metadata"]["namespace"], account["metadata"]["name"], account["metadata"]["uid"],
            [azure.EXCHANGE_AUDIENCE], 3600, {"kind": "Pod", "name": operator["metadata"]["name"], "uid": operator["metadata"]["uid"]})
        token = azure.get_token(self.lab, credential, assertion, scope)
        self.tokens[key] = (token, time.time() + 3599)
        return token

    def _build(self, operator: dict[str, Any], obj: dict[str, Any], fields: dict[str, Any]) -> list[dict[str, Any]]:
        """Scalers of every trigger; raises ScalerError for a build error (Prometheus without credentials too)."""
        scalers = []
        for index, trigger in enumerate((obj.get("spec") or {}).get("triggers") or []):
            ttype = trigger.get("type", "")
            metadata = trigger.get("metadata") or {}
            auth = self._auth(operator, obj, trigger, index, fields)
            if ttype == "azure-servicebus":
                meta = azure.servicebus_metadata(metadata, auth["provider"])
                scalers.append({"type": ttype, "index": index, "meta": meta, "auth": auth,
                                "metric": azure.metric_name_servicebus(metadata, index),
                                "go": "azureServiceBusScaler", "logger": "azure_servicebus_scaler"})
            elif ttype == "prometheus":
                meta = azure.prometheus_metadata(metadata)
                if auth["provider"] == "azure-workload":
                    env = {e.get("name"): e.get("value", "") for c in operator["spec"].get("containers") or []
                           for e in c.get("env") or [] if "value" in e}
                    credential, problem = azure.credential_from_env(env, auth.get("identityId"), auth.get("identityTenantId"))
                    if credential is None:
                        self.log(operator, "ERROR", "prometheus_scaler", "error starting azure workload-identity token provider",
                                 dict(fields, error=problem))
                        raise azure.ScalerError(azure.NO_CREDENTIAL)
                scalers.append({"type": ttype, "index": index, "meta": meta, "auth": auth, "metric": f"s{index}-prometheus",
                                "go": "prometheusScaler", "logger": "prometheus_scaler"})
            else:
                raise azure.ScalerError(f"no scaler found for type: {ttype}")
        return scalers

    def _measure(self, operator: dict[str, Any], obj: dict[str, Any], scaler: dict[str, Any],
                 fields: dict[str, Any]) -> float:
        meta, auth = scaler["meta"], scaler["auth"]
        if scaler["type"] == "azure-servicebus":
            try:
                token = self._token(operator, obj, auth, azure.SERVICEBUS_SCOPE, scaler["logger"], fields)
                return float(azure.servicebus_count(self.lab, meta, token))
            except azure.ScalerError as exc:
                self.log(operator, "ERROR", scaler["logger"], "error getting service bus entity length", dict(fields, error=str(exc)))
                raise
        token = None
        url = azure.prometheus_url(meta)
        if auth["provider"] == "azure-workload":
            try:
                token = self._token(operator, obj, auth, azure.PROMETHEUS_SCOPE, scaler["logger"], fields)
            except azure.ScalerError as exc:
                # The round tripper's token error comes back wrapped by net/http with the request URL.
                error = azure.ScalerError(f'Get "{url}": {exc}')
                self.log(operator, "ERROR", "prometheus_scaler", "error executing prometheus query", dict(fields, error=str(error)))
                raise error from exc
        try:
            return azure.prometheus_value(self.lab, meta, token, with_body=version_of(operator) < (2, 20), url=url)
        except azure.ScalerError as exc:
            if str(exc).startswith("prometheus query api returned error"):
                self.log(operator, "ERROR", "prometheus_scaler", "prometheus query api returned error", dict(fields, error=str(exc)))
            self.log(operator, "ERROR", "prometheus_scaler", "error executing prometheus query", dict(fields, error=str(exc)))
            raise

    def _poll(self, operator: dict[str, Any], obj: dict[str, Any], scalers: list[dict[str, Any]],
              fields: dict[str, Any]) -> list[tuple[dict[str, Any], float | None, str | None]]:
        results = []
        for scaler in scalers:
            try:
                value = self._measure(operator, obj, scaler, fields)
            except azure.ScalerError as first:
                # A scaler error refreshes the scalers cache and retries once (scale_handler.go getScalerState).
                try:
                    value = self._measure(operator, obj, scaler, fields)
                except azure.ScalerError as exc:
                    results.append((scaler, None, str(exc) or str(first)))
                    continue
            results.append((scaler, value, None))
        return results

    # -- ScaledObject ------------------------------------------------------------------------------------

    def scaled_object(self, operator: dict[str, Any], so: dict[str, Any]) -> None:
        meta, spec = so["metadata"], so.get("spec") or {}
        namespace, name = meta["namespace"], meta["name"]
        fields = {"type": "ScaledObject", "namespace": namespace, "name": name}
        controller_fields = {"controller": "scaledobject", "controllerGroup": "keda.sh", "controllerKind": "ScaledObject",
                             "ScaledObject": {"name": name, "namespace": namespace}, "namespace": namespace, "name": name}
        rt = self._rt(GROUP_VERSION, "ScaledObject")
        state = self.state.setdefault(f"{meta['uid']}/{operator['metadata']['uid']}", {})
        status = copy.deepcopy(so.get("status") or {})
        _conditions(status)
        ref = spec.get("scaleTargetRef") or {}
        target_kind = ref.get("kind") or "Deployment"
        target_api = ref.get("apiVersion") or "apps/v1"
        target_rt = self._rt(target_api, target_kind)
        target = self._find(target_api, target_kind, namespace, ref.get("name", "")) if target_rt else None
        group = target_api.split("/")[0] if "/" in target_api else ""
        version = target_api.split("/")[-1]
        triggers = spec.get("triggers") or []
        status["triggersTypes"] = ",".join(dict.fromkeys(t.get("type", "") for t in triggers))
        auth_names = ",".join(dict.fromkeys((t.get("authenticationRef") or {}).get("name") for t in triggers
                                            if (t.get("authenticationRef") or {}).get("name")))
        if auth_names:
            status["authenticationsTypes"] = auth_names
        if not state.get("reconciled"):
            self.log(operator, "INFO", "", "Reconciling ScaledObject", controller_fields)
        if target is None:
            plural = target_rt.plural if target_rt else target_kind.lower() + "s"
            message = (f"ScaledObject doesn't have correct scaleTargetRef specification: "
                       f"{plural}{'.' + group if group else ''} \"{ref.get('name', '')}\" not found")
            _set(status, "Ready", "False", "ScaledObjectCheckFailed", message)
            _set(status, "Active", "Unknown", "UnknownState", "ScaledObject check failed")
            self._write(rt, namespace, name, status)
            if not state.get("target_missing"):
                self.event(operator, so, "Warning", "ScaledObjectCheckFailed", "Target resource doesn't exist",
                           action="Target resource doesn't exist")
                self.log(operator, "ERROR", "", "Target resource doesn't exist", dict(controller_fields, resource=f"{target_api}.{target_kind}"))
                state["target_missing"] = True
            return
        state["target_missing"] = False
        status["scaleTargetKind"] = f"{target_api}.{target_kind}" if group else f"{version}.{target_kind}"
        status["scaleTargetGVKR"] = {"group": group, "version": version, "kind": target_kind, "resource": target_rt.plural}
        status.setdefault("originalReplicaCount", int((target.get("spec") or {}).get("replicas", 1)))
        if not state.get("reconciled"):
            self.log(operator, "INFO", "", "Detected resource targeted for scaling",
                     dict(controller_fields, resource=status["scaleTargetKind"], name=ref.get("name")))
        build_key = (meta.get("generation"), repr(triggers))
        try:
            scalers = self._build(operator, so, fields)
        except azure.ScalerError as exc:
            self.log(operator, "ERROR", "scale_handler", "error resolving auth params", dict(fields, triggerIndex=0, error=str(exc)))
            self.log(operator, "ERROR", "", "failed to ensure HPA is correctly created for ScaledObject", dict(controller_fields, error=str(exc)))
            self.event(operator, so, "Warning", "KEDAScalerFailed", str(exc), action=str(exc))
            _set(status, "Ready", "False", "ScaledObjectCheckFailed", f"failed to ensure HPA is correctly created for ScaledObject: {exc}")
            _set(status, "Active", "Unknown", "UnknownState", "ScaledObject check failed")
            self._write(rt, namespace, name, status)
            state["built"] = None
            return
        metric_names = [s["metric"] for s in scalers]
        status["externalMetricNames"] = metric_names
        hpa_name = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("name") or f"keda-hpa-{name}"
        first_build = state.get("built") != build_key
        if first_build:
            for scaler in scalers:
                self.event(operator, so, "Normal", "KEDAScalersStarted", f"Scaler {scaler['type']} is built",
                           action=f"Scaler {scaler['type']} is built")
            if not state.get("watching"):
                self.event(operator, so, "Normal", "KEDAScalersStarted", "Started scalers watch", action="ScalersWatchStarted")
                self.log(operator, "INFO", "", "Initializing Scaling logic according to ScaledObject Specification", controller_fields)
                state["watching"] = True
            state["built"] = build_key
        self._ensure_hpa(operator, so, hpa_name, target_api, target_kind, scalers, controller_fields)
        status["hpaName"] = hpa_name
        was_ready = _get(status, "Ready") == "True"
        _set(status, "Ready", "True", "ScaledObjectReady", SO_READY)
        if _get(status, "Fallback") != "False":
            _set(status, "Fallback", "False", "NoFallbackFound", "No fallbacks are active on this scaled object")
        if not was_ready:
            self.event(operator, so, "Normal", "ScaledObjectReady", "ScaledObject is ready for scaling",
                       action="ScaledObject is ready for scaling")
        state["reconciled"] = True

        # The scale loop (executor/scale_scaledobjects.go RequestScale) and the HPA's sync.
        results = self._poll(operator, so, scalers, fields)
        activity = {}
        errors = [r for r in results if r[2] is not None]
        for scaler, value, error in results:
            if error is not None:
                go = scaler["go"]
                self.log(operator, "ERROR", "scale_handler", "error getting metric for trigger",
                         {"scaledObject.Namespace": namespace, "scaledObject.Name": name, "trigger": go, "error": error})
                self.log(operator, "ERROR", "scale_handler", "error getting scale decision",
                         {"scaledObject.Namespace": namespace, "scaledObject.Name": name, "scaler": go, "error": error})
                self.event(operator, so, "Warning", "KEDAScalerFailed", error)
                activity[scaler["metric"]] = {"isActive": False}
            else:
                activity[scaler["metric"]] = {"isActive": value > scaler["meta"]["activation"]}
        status["triggersActivity"] = activity
        active = any(a["isActive"] for a in activity.values())
        current = int((self._find(target_api, target_kind, namespace, ref["name"]) or {}).get("spec", {}).get("replicas", 0) or 0)
        if errors and not active:
            _set(status, "Ready", "False", "TriggerError", "Triggers defined in ScaledObject are not working correctly")
            _set(status, "Active", "False", "ScalerNotActive", NOT_ACTIVE)
        elif errors:
            _set(status, "Ready", "Unknown", "PartialTriggerError", "Some triggers defined in ScaledObject are not working correctly")
            _set(status, "Active", "True", "ScalerActive", ACTIVE)
        else:
            _set(status, "Active", "True" if active else "False", "ScalerActive" if active else "ScalerNotActive",
                 ACTIVE if active else NOT_ACTIVE)
        if active:
            status["lastActiveTime"] = _rfc3339()
        self._write(rt, namespace, name, status)
        self._hpa_sync(operator, so, hpa_name, target_rt, ref["name"], status, results, current, active)

    def _write(self, rt: Any, namespace: str, name: str, status: dict[str, Any]) -> None:
        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = status
        self.k8s.api.system_write(rt, namespace, name, mutate, OPERATOR_MANAGER)

    def _ensure_hpa(self, operator: dict[str, Any], so: dict[str, Any], hpa_name: str, target_api: str, target_kind: str,
                    scalers: list[dict[str, Any]], controller_fields: dict[str, Any]) -> None:
        meta, spec = so["metadata"], so.get("spec") or {}
        minimum = int(spec.get("minReplicaCount") or 0)
        labels = {"app.kubernetes.io/name": hpa_name[:63], "app.kubernetes.io/version": ".".join(str(p) for p in version_of(operator)),
                  "app.kubernetes.io/part-of": meta["name"], "app.kubernetes.io/managed-by": "keda-operator"}
        labels.update(meta.get("labels") or {})
        labels[SO_LABEL] = meta["name"]
        metrics = []
        for scaler in sorted(scalers, key=lambda s: s["type"]):
            metrics.append({"type": "External", "external": {
                "metric": {"name": scaler["metric"], "selector": {"matchLabels": {SO_LABEL: meta["name"]}}},
                "target": {"type": "AverageValue", "averageValue": azure.milli(scaler["meta"]["target"])}}})
        hpa_spec = {"scaleTargetRef": {"apiVersion": target_api, "kind": target_kind, "name": spec["scaleTargetRef"]["name"]},
                    "minReplicas": minimum if minimum > 0 else 1, "maxReplicas": int(spec.get("maxReplicaCount") or 100),
                    "metrics": metrics}
        behavior = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior")
        if behavior:
            hpa_spec["behavior"] = behavior
        rt = self._rt("autoscaling/v2", "HorizontalPodAutoscaler")
        existing = self._find("autoscaling/v2", "HorizontalPodAutoscaler", meta["namespace"], hpa_name)
        owner = {"apiVersion": GROUP_VERSION, "kind": "ScaledObject", "name": meta["name"], "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}
        body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": hpa_name, "namespace": meta["namespace"], "labels": labels,
                             "ownerReferences": [owner]}, "spec": hpa_spec}
        if meta.get("annotations"):
            body["metadata"]["annotations"] = dict(meta["annotations"])
        with self.k8s.api.transaction():
            if existing is None:
                self.log(operator, "INFO", "", "Creating a new HPA", dict(controller_fields, **{"HPA.Namespace": meta["namespace"], "HPA.Name": hpa_name}))
                self.k8s.api.create(rt, meta["namespace"], body, Options(manager=OPERATOR_MANAGER))
            elif existing.get("spec") != hpa_spec:
                updated = copy.deepcopy(existing)
                updated["spec"] = hpa_spec
                self.k8s.api.update(rt, meta["namespace"], hpa_name, updated, Options(manager=OPERATOR_MANAGER))

    def _hpa_sync(self, operator: dict[str, Any], so: dict[str, Any], hpa_name: str, target_rt: Any, target: str,
                  status: dict[str, Any], results: list, current: int, active: bool) -> None:
        namespace, name = so["metadata"]["namespace"], so["metadata"]["name"]
        spec = so.get("spec") or {}
        hpa = self._find("autoscaling/v2", "HorizontalPodAutoscaler", namespace, hpa_name)
        if hpa is None:
            return
        minimum, maximum = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
        selector = f"&LabelSelector{{MatchLabels:map[string]string{{{SO_LABEL}: {name},}},MatchExpressions:[]LabelSelectorRequirement{{}},}}"
        failed = next(((s, e) for s, v, e in results if e is not None), None)
        conditions = [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                       "message": "recommended size matches current size", "lastTransitionTime": _rfc3339()}]
        desired = current
        current_metrics = []
        if failed is not None:
            scaler, _error = failed
            conditions.append({"type": "ScalingActive", "status": "False", "reason": "FailedGetExternalMetric",
                               "message": f"the HPA was unable to compute the replica count: unable to get external metric "
                                          f"{namespace}/{scaler['metric']}/{selector}: unable to fetch metrics from external metrics API: "
                                          f"rpc error: code = Unknown desc = error when getting metric values metric:{scaler['metric']} "
                                          "encountered error", "lastTransitionTime": _rfc3339()})
        else:
            wanted = []
            for scaler, value, _error in results:
                target_value = scaler["meta"]["target"] or 1
                wanted.append(math.ceil(value / target_value) if value else 0)
                current_metrics.append({"type": "External", "external": {
                    "metric": {"name": scaler["metric"], "selector": {"matchLabels": {SO_LABEL: name}}},
                    "current": {"averageValue": azure.milli(value / max(current, 1))}}})
            desired = max([minimum] + wanted)
            limited = desired > maximum
            desired = min(desired, maximum)
            if int(spec.get("minReplicaCount") or 0) == 0 and not active:
                desired = 0
            conditions.append({"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                               "message": "the HPA was able to successfully calculate a replica count from external metric "
                                          f"{results[0][0]['metric']}({selector})" if results else "",
                               "lastTransitionTime": _rfc3339()})
            conditions.append({"type": "ScalingLimited", "status": "True" if limited else "False",
                               "reason": "TooManyReplicas" if limited else "DesiredWithinRange",
                               "message": "the desired replica count is more than the maximum replica count" if limited
                               else "the desired count is within the acceptable range", "lastTransitionTime": _rfc3339()})
        if desired != current:
            with self.k8s.api.transaction():
                self.k8s.api.update_scale(target_rt, namespace, target, desired, Options(manager=HPA_MANAGER))
            metric = results[0][0]["metric"] if results else ""
            if current == 0 and desired > 0:
                self.event(operator, so, "Normal", "KEDAScaleTargetActivated",
                           f"Scaled {status.get('scaleTargetKind')} {namespace}/{target} from {current} to {desired}, triggered by {metric}")
                self.log(operator, "INFO", "scaleexecutor", "Successfully updated ScaleTarget",
                         {"scaledobject.Name": name, "scaledObject.Namespace": namespace, "scaleTarget.Name": target,
                          "Original Replicas Count": current, "New Replicas Count": desired})
            elif desired == 0:
                self.event(operator, so, "Normal", "KEDAScaleTargetDeactivated",
                           f"Deactivated {status.get('scaleTargetKind')} {namespace}/{target} from {current} to 0")
            else:
                direction = "above" if desired > current else "below"
                self._hpa_event(operator, hpa, f"New size: {desired}; reason: external metric {metric}({selector}) {direction} target")

        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = {"currentReplicas": current, "desiredReplicas": desired, "currentMetrics": current_metrics or None,
                             "conditions": conditions}
            if desired != current:
                obj["status"]["lastScaleTime"] = _rfc3339()
            if obj["status"]["currentMetrics"] is None:
                del obj["status"]["currentMetrics"]
        self.k8s.api.system_write(self._rt("autoscaling/v2", "HorizontalPodAutoscaler"), namespace, hpa_name, mutate, HPA_MANAGER)

    def _hpa_event(self, operator: dict[str, Any], hpa: dict[str, Any], message: str) -> None:
        # kube-controller-manager's core/v1 event for a rescale (pkg/controller/podautoscaler/horizontal.go).
        meta = hpa["metadata"]
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": meta["namespace"]},
                 "involvedObject": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": meta["name"],
                                    "namespace": meta["namespace"], "uid": meta["uid"]},
                 "reason": "SuccessfulRescale", "message": message, "type": "Normal", "count": 1,
                 "firstTimestamp": _rfc3339(), "lastTimestamp": _rfc3339(), "source": {"component": "horizontal-pod-autoscaler"}}
        with self.k8s.api.transaction():
            self.k8s.api.create(self._rt("v1", "Event"), meta["namespace"], event, Options(manager=HPA_MANAGER))

    # -- ScaledJob ---------------------------------------------------------------------------------------

    def scaled_job(self, operator: dict[str, Any], sj: dict[str, Any]) -> None:
        meta, spec = sj["metadata"], sj.get("spec") or {}
        namespace, name = meta["namespace"], meta["name"]
        fields = {"type": "ScaledJob", "namespace": namespace, "name": name}
        rt = self._rt(GROUP_VERSION, "ScaledJob")
        state = self.state.setdefault(f"{meta['uid']}/{operator['metadata']['uid']}", {})
        status = copy.deepcopy(sj.get("status") or {})
        _conditions(status)
        triggers = spec.get("triggers") or []
        status["triggersTypes"] = ",".join(dict.fromkeys(t.get("type", "") for t in triggers))
        auth_names = ",".join(dict.fromkeys((t.get("authenticationRef") or {}).get("name") for t in triggers
                                            if (t.get("authenticationRef") or {}).get("name")))
        if auth_names:
            status["authenticationsTypes"] = auth_names
        try:
            scalers = self._build(operator, sj, fields)
        except azure.ScalerError as exc:
            self.event(operator, sj, "Warning", "KEDAScalerFailed", str(exc), "scale-handler")
            self.log(operator, "ERROR", "scale_handler", "error resolving auth params", dict(fields, triggerIndex=0, error=str(exc)))
            _set(status, "Ready", "False", "ScaledJobCheckFailed", "Failed to ensure ScaledJob is correctly created")
            _set(status, "Active", "Unknown", "UnknownState", "ScaledJob check failed")
            self._write(rt, namespace, name, status)
            return
        build_key = (meta.get("generation"), repr(triggers))
        if state.get("built") != build_key:
            if not state.get("watching"):
                self.event(operator, sj, "Normal", "KEDAScalersStarted", "Started scalers watch", "scale-handler",
                           action="ScalersWatchStarted")
                state["watching"] = True
            for scaler in scalers:
                self.event(operator, sj, "Normal", "KEDAScalersStarted", f"Scaler {scaler['type']} is built", "scale-handler",
                           action=f"Scaler {scaler['type']} is built")
            state["built"] = build_key
        if _get(status, "Ready") != "True":
            _set(status, "Ready", "True", "ScaledJobReady", SJ_READY_RECONCILE)
            self._write(rt, namespace, name, status)
            self.event(operator, sj, "Normal", "ScaledJobReady", "ScaledJob is ready for scaling",
                       action="ScaledJob is ready for scaling")

        results = self._poll(operator, sj, scalers, fields)
        max_replicas = int(spec.get("maxReplicaCount") if spec.get("maxReplicaCount") is not None else 100)
        min_replicas = int(spec.get("minReplicaCount") or 0)
        activity, queue_lengths, max_values = {}, [], []
        errors = []
        for scaler, value, error in results:
            if error is not None:
                errors.append(error)
                self.log(operator, "ERROR", "scale_handler", "Error getting scaler metrics and activity, but continue",
                         {"scaledJob.Name": name, "Scaler": f"*scalers.{scaler['go']}:", "error": error})
                self.event(operator, sj, "Warning", "KEDAScalerFailed", error, "scale-handler")
                continue
            is_active = value > scaler["meta"]["activation"]
            activity[scaler["metric"]] = {"isActive": is_active}
            if is_active:
                target = scaler["meta"]["target"] or 1
                queue_lengths.append(value)
                max_values.append(min(value / target, max_replicas))
        status["triggersActivity"] = activity
        # multipleScalersCalculation "max" (default): the largest of the active scalers.
        queue_length = max(queue_lengths) if queue_lengths else 0.0
        max_value = max(max_values) if max_values else 0.0
        is_active = bool(queue_lengths) or min_replicas > 0
        was_active = _get(status, "Active") == "True"
        if errors and not activity:
            _set(status, "Ready", "False", "TriggerError", "Triggers defined in ScaledJob are not working correctly")
        elif errors:
            _set(status, "Ready", "Unknown", "PartialTriggerError", "Some triggers defined in ScaledJob are not working correctly")
        else:
            _set(status, "Ready", "True", "ScaledJobReady", SJ_READY_POLL)
        _set(status, "Active", "True" if is_active else "False", "ScalerActive" if is_active else "ScalerNotActive",
             ACTIVE if is_active else NOT_ACTIVE)
        if is_active:
            status["lastActiveTime"] = _rfc3339()
        self._write(rt, namespace, name, status)
        if is_active != was_active and not (errors and not activity):
            self.event(operator, sj, "Normal", "ScaledJobActive" if is_active else "ScaledJobInactive",
                       ACTIVE if is_active else NOT_ACTIVE, "scale-handler")
        jobs = [j for j in self._list("batch/v1", "Job", namespace)
                if (j["metadata"].get("labels") or {}).get(SJ_LABEL) == name]
        running = [j for j in jobs if not any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                                              for c in (j.get("status") or {}).get("conditions") or [])]
        pods = self._list("v1", "Pod", namespace)
        pending = [j for j in running if not any(
            (p.get("status") or {}).get("phase") in ("Running", "Succeeded") for p in pods
            if any(r.get("uid") == j["metadata"]["uid"] for r in p["metadata"].get("ownerReferences") or []))]
        exec_fields = {"scaledJob.Name": name, "scaledJob.Namespace": namespace}
        self.log(operator, "INFO", "scaleexecutor", "Scaling Jobs", dict(exec_fields, **{"Number of running Jobs": len(running)}))
        self.log(operator, "INFO", "scaleexecutor", "Scaling Jobs", dict(exec_fields, **{"Number of pending Jobs": len(pending)}))
        if is_active:
            if len(running) < min_replicas:
                count = min_replicas - len(running)
            else:
                # Default scaling strategy (scale_jobs.go:458): effectiveMaxScale = maxScale - running.
                max_scale = math.ceil(min(max_value, max_replicas))
                scale_to = math.ceil(queue_length)
                effective = max_scale - len(running)
                self.log(operator, "INFO", "scaleexecutor", "Creating jobs", dict(exec_fields, **{"Effective number of max jobs": effective}))
                count = min(scale_to, effective) if effective > 0 else 0
            if count > 0:
                self.log(operator, "INFO", "scaleexecutor", "Creating jobs", dict(exec_fields, **{"Number of jobs": count}))
                self._create_jobs(operator, sj, count)
                self.log(operator, "INFO", "scaleexecutor", "Created jobs", dict(exec_fields, **{"Number of jobs": count}))
                self.event(operator, sj, "Normal", "KEDAJobsCreated", f"Created {count} jobs", "scale-handler")
        self._history(sj, jobs)

    def _create_jobs(self, operator: dict[str, Any], sj: dict[str, Any], count: int) -> None:
        meta, spec = sj["metadata"], sj.get("spec") or {}
        name = meta["name"]
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/version": ".".join(str(p) for p in version_of(operator)),
                  "app.kubernetes.io/part-of": name, "app.kubernetes.io/managed-by": "keda-operator", SJ_LABEL: name}
        labels.update(meta.get("labels") or {})
        annotations = {"scaledjob.keda.sh/generation": str(meta.get("generation", 1))}
        annotations.update({k: v for k, v in (meta.get("annotations") or {}).items()
                            if k != "kubectl.kubernetes.io/last-applied-configuration"})
        job_spec = copy.deepcopy(spec.get("jobTargetRef") or {})
        template = job_spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {})[SJ_LABEL] = name
        if not (template.setdefault("spec", {})).get("restartPolicy"):
            template["spec"]["restartPolicy"] = "OnFailure"
        owner = {"apiVersion": GROUP_VERSION, "kind": "ScaledJob", "name": name, "uid": meta["uid"],
                 "controller": True, "blockOwnerDeletion": True}
        rt = self._rt("batch/v1", "Job")
        for _index in range(count):
            body = {"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"generateName": f"{name}-", "namespace": meta["namespace"], "labels": labels,
                                 "annotations": annotations, "ownerReferences": [owner]},
                    "spec": copy.deepcopy(job_spec)}
            try:
                with self.k8s.api.transaction():
                    self.k8s.api.create(rt, meta["namespace"], body, Options(manager=OPERATOR_MANAGER))
            except k8s_errors.ApiError as exc:
                self.event(operator, sj, "Warning", "KEDAJobCreateFailed", f"Failed to create job {name}-: {exc.message}", "scale-handler")

    def _history(self, sj: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        spec = sj.get("spec") or {}
        limits = {"Complete": int(spec.get("successfulJobsHistoryLimit", 100)), "Failed": int(spec.get("failedJobsHistoryLimit", 100))}
        for ctype, limit in limits.items():
            finished = sorted((j for j in jobs if any(c.get("type") == ctype and c.get("status") == "True"
                                                      for c in (j.get("status") or {}).get("conditions") or [])),
                              key=lambda j: j["metadata"].get("creationTimestamp", ""))
            for job in finished[: max(0, len(finished) - limit)]:
                try:
                    with self.k8s.api.transaction():
                        self.k8s.api.delete(self._rt("batch/v1", "Job"), job["metadata"]["namespace"], job["metadata"]["name"],
                                            Options(manager=OPERATOR_MANAGER, propagation="Background"))
                except k8s_errors.ApiError:
                    continue
