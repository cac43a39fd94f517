"""The lab KEDA: what the keda-operator does for ScaledObjects and ScaledJobs whose triggers use
``azure-servicebus`` or ``prometheus`` with ``podIdentity.provider: azure-workload``, as the version
the operator pod runs does (2.17.2 for the AKS add-on, 2.20.2 from the chart; ``version_of``).

Behaviour, texts and numbers follow reference/keda-behaviour.md and kedacore/keda's source at those
tags (file cited where each rule lives): this file holds the loop, the scalers (credentials from the
operator pod's env, §6), events and bookkeeping (finalizer, label, deletion); scaledobject.py the
ScaledObject reconcile, scale loop (activation, cooldown) and the HPA controller's part; scaledjob.py
the ScaledJob strategies; pause.py, fallback.py, events.py (client-go's correlation per version) and
clock.py (the KEDA clock tests can advance) the rest.

Timing: each object is polled every ``spec.pollingInterval`` seconds (default 30), capped by the lab
setting ``keda_polling_cap_seconds`` (default 1 s; null follows the spec exactly). Not modelled:
scalingModifiers, the paused-scale-in/out and force-activation annotations, the finalizer's blocking of
a delete (the lab's API server removes objects at once, so removing KEDA before its objects never
leaves them stuck), other trigger types (reported as ``no scaler found for type: <type>``).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, NamedTuple

from ..k8s import errors as k8s_errors
from . import azure, oplog
from .clock import Clock
from .events import Recorder
from .scaledjob import ScaledJobLoop
from .scaledobject import ScaledObjectLoop
from .status import GROUP_VERSION, init_conditions, version_of

OPERATOR_MANAGER = "keda-operator"
DEFAULT_POLLING = 30
FINALIZER = "finalizer.keda.sh"


def signing_issuer(k8s: Any) -> str:
    """The issuer kube-apiserver signs new service account tokens with (the first --service-account-issuer)."""
    issuers = getattr(k8s, "token_issuers", None)
    issuer: str = issuers[0] if issuers else k8s.issuer_url
    return issuer


def _rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Pass(NamedTuple):
    """What one reconcile pass of a ScaledObject or ScaledJob starts from."""

    meta: dict[str, Any]
    spec: dict[str, Any]
    namespace: str
    name: str
    version: tuple[int, ...]
    fields: dict[str, Any]  # the structured log's object fields
    rt: Any  # the kind's ResourceType
    state: dict[str, Any]  # what the loop keeps for this object under this operator
    status: dict[str, Any]  # a copy of the status, conditions initialised


class Keda(ScaledObjectLoop, ScaledJobLoop):
    """One lab KEDA for the cluster; ``tick()`` is called by the service's thread."""

    def __init__(self, lab: Any):
        self.lab = lab
        self.lock = threading.RLock()
        self.clock = Clock()
        self.recorder = Recorder(self)
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.RLock()):
            self.next_poll: dict[str, float] = {}
            self.state: dict[str, dict[str, Any]] = {}
            self.known: dict[str, tuple[str, dict[str, Any], str]] = {}
            self.clock.reset()
            self.recorder.reset()
            self.tokens: dict[tuple[Any, ...], tuple[str, float]] = {}
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
        items: list[dict[str, Any]] = self.k8s.api.list(rt, namespace)[0]
        return items

    def _find(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        rt = self._rt(api_version, kind)
        if rt is None:
            return None
        with self.k8s.api.lock:
            found: dict[str, Any] | None = self.k8s.api.find(rt, namespace, name)
            return found

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
        """One event through the version's client-go (events.py). ``action`` (2.20): the EventEmitter's
        events carry their message as action (eventemitter.go:332), direct recorder calls their reason,
        "Started scalers watch" ScalersWatchStarted."""
        with self.lock:
            self.recorder.emit(operator, obj, etype, reason, message, component, action or reason,
                               version_of(operator) >= (2, 20))

    def begin(self, operator: dict[str, Any], obj: dict[str, Any], labels: dict[str, str] | None = None) -> Pass:
        """The start of a reconcile pass: the object's parts, its state, a status copy; then bookkeeping."""
        meta, kind = obj["metadata"], obj["kind"]
        status = copy.deepcopy(obj.get("status") or {})
        init_conditions(status)
        # The status' trigger and authentication summaries (scaledobject_controller.go / scaledjob_controller.go).
        triggers = (obj.get("spec") or {}).get("triggers") or []
        status["triggersTypes"] = ",".join(dict.fromkeys(t.get("type", "") for t in triggers))
        auth_names = ",".join(dict.fromkeys(str((t.get("authenticationRef") or {}).get("name")) for t in triggers
                                            if (t.get("authenticationRef") or {}).get("name")))
        if auth_names:
            status["authenticationsTypes"] = auth_names
        begun = Pass(meta, obj.get("spec") or {}, meta["namespace"], meta["name"], version_of(operator),
                     {"type": kind, "namespace": meta["namespace"], "name": meta["name"]}, self._rt(GROUP_VERSION, kind),
                     self.state.setdefault(f"{meta['uid']}/{operator['metadata']['uid']}", {}), status)
        self.bookkeeping(operator, obj, labels)
        return begun

    # -- bookkeeping -----------------------------------------------------------------------------------

    def bookkeeping(self, operator: dict[str, Any], obj: dict[str, Any], labels: dict[str, str] | None = None) -> None:
        """``finalizer.keda.sh`` (controllers/keda/scaledobject_finalizer.go :35, scaledjob_finalizer.go) and, for a
        ScaledObject, the ``scaledobject.keda.sh/name`` label (``ensureScaledObjectLabel``), each added with a
        plain update when missing. Remembers the object so its removal is seen (``deleted``)."""
        meta = obj["metadata"]
        self.known[meta["uid"]] = (obj["kind"], copy.deepcopy(obj), operator["metadata"]["uid"])
        missing_label = any((meta.get("labels") or {}).get(k) != v for k, v in (labels or {}).items())
        if FINALIZER in (meta.get("finalizers") or []) and not missing_label:
            return

        def mutate(current: dict[str, Any]) -> None:
            cmeta = current["metadata"]
            if FINALIZER not in (cmeta.get("finalizers") or []):
                cmeta["finalizers"] = list(cmeta.get("finalizers") or []) + [FINALIZER]
            if labels:
                cmeta["labels"] = dict(cmeta.get("labels") or {}, **labels)
        self.k8s.api.system_write(self._rt(GROUP_VERSION, obj["kind"]), meta["namespace"], meta["name"], mutate,
                                  OPERATOR_MANAGER)

    def deleted(self, operator: dict[str, Any], present: set[str]) -> None:
        """The finalizer's pass for objects that are gone (scaledobject_finalizer.go ``finalizeScaledObject``,
        scaledjob_finalizer.go): the scale loop stopped (``KEDAScalersStopped`` "Stopped scalers watch",
        scale_handler.go :171) and ``ScaledObjectDeleted`` / ``ScaledJobDeleted`` (Warning). The lab's API
        server removes an object at once, so this runs after the removal instead of before it."""
        for uid, (kind, obj, operator_uid) in list(self.known.items()):
            if uid in present or operator_uid != operator["metadata"]["uid"]:
                continue
            del self.known[uid]
            state = self.state.pop(f"{uid}/{operator_uid}", {})
            if state.get("watching"):
                self.event(operator, obj, "Normal", "KEDAScalersStopped", "Stopped scalers watch",
                           "scale-handler" if kind == "ScaledJob" else "keda-operator")
            message = f"{kind} was deleted"
            self.event(operator, obj, "Warning", f"{kind}Deleted", message, action=message)

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
        present: set[str] = set()
        for kind in ("ScaledObject", "ScaledJob"):
            for obj in self._list(GROUP_VERSION, kind):
                meta = obj["metadata"]
                present.add(meta["uid"])
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
        self.deleted(operator, present)

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
        token: str | None = None
        if scaler["type"] == "azure-servicebus":
            try:
                token = self._token(operator, obj, auth, azure.SERVICEBUS_SCOPE, scaler["logger"], fields)
                return float(azure.servicebus_count(self.lab, meta, token))
            except azure.ScalerError as exc:
                self.log(operator, "ERROR", scaler["logger"], "error getting service bus entity length", dict(fields, error=str(exc)))
                raise
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
        results: list[tuple[dict[str, Any], float | None, str | None]] = []
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

    def _write(self, rt: Any, namespace: str, name: str, status: dict[str, Any]) -> None:
        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = status
        self.k8s.api.system_write(rt, namespace, name, mutate, OPERATOR_MANAGER)
