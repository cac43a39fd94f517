"""The controllers and kubelet of the emulated cluster, run synchronously after each write.

Writes queue reconcile keys; ``Api.transaction`` drains the queue before the response is sent,
so a Deployment has its ReplicaSet and Ready pods (with ``pod_ready_seconds`` = 0) by the time a
client sees the create answered. With ``pod_ready_seconds`` > 0 a timer thread flips pods to
Ready later and the owners re-reconcile, as a slow kubelet would make them.

Modelled on kube-controller-manager:
- Deployment (pkg/controller/deployment): one ReplicaSet per pod template, named
  ``<deployment>-<pod-template-hash>``, revision annotations, RollingUpdate scaling old ReplicaSets
  down as new pods become available (Recreate: old first), revisionHistoryLimit cleanup, status
  and the Available / Progressing / ReplicaFailure conditions ``kubectl rollout status`` reads.
- ReplicaSet: pods ``<rs>-<5 chars>`` from the template through normal admission (so a missing
  service account is a FailedCreate and the workload identity webhook runs), scale-down of
  unready/newest pods first, status and ReplicaFailure.
- StatefulSet: pods ``<sts>-<ordinal>``, replaced when the template revision changes.
- DaemonSet: one pod on the one node. Job: pods until ``completions`` succeeded, then Complete.
- Namespace: the ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap in every namespace.
- CRDs: NamesAccepted / Established conditions. Kubelet: binds pods to the node, reports Running
  (or Succeeded for Job pods) and Ready.
Not modelled: Events, ControllerRevisions, CronJob schedules, minReadySeconds, progress deadlines.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from . import errors
from .api import Options
from .resources import ResourceType
from .scheduler import Scheduler
from .store import now_rfc3339

if TYPE_CHECKING:
    from .api import Api

NODE_NAME = "lab-node"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
MANAGER = "kube-controller-manager"
KUBELET = "kubelet"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                  "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                  "distributions of Kubernetes clusters.")


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict[str, Any]) -> str:
    """controller.ComputeHash: fnv32a of the template, rendered with rand.SafeEncodeString."""
    digest = _fnv32a(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in str(digest))


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return template


def _owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def _set_condition(status: dict[str, Any], ctype: str, value: str, reason: str, message: str,
                   update_time: bool = False) -> None:
    """Set a condition, keeping its timestamps when nothing about it changed."""
    conditions = status.setdefault("conditions", [])
    now = now_rfc3339()
    current = _condition(status, ctype)
    if current is None:
        entry: dict[str, Any] = {"type": ctype, "status": value}
        if update_time:
            entry["lastUpdateTime"] = now
        entry.update({"lastTransitionTime": now, "reason": reason, "message": message})
        conditions.append(entry)
        return
    if current.get("status") != value:
        current["status"] = value
        current["lastTransitionTime"] = now
        if update_time:
            current["lastUpdateTime"] = now
    if (current.get("reason"), current.get("message")) != (reason, message):
        current["reason"], current["message"] = reason, message
        if update_time:
            current["lastUpdateTime"] = now


def _drop_condition(status: dict[str, Any], ctype: str) -> None:
    if "conditions" in status:
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != ctype]
        if not status["conditions"]:
            del status["conditions"]


def _pod_ready(pod: dict[str, Any]) -> bool:
    ready = _condition(pod.get("status") or {}, "Ready")
    return bool(ready) and ready.get("status") == "True"


def _percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        amount = total * int(value[:-1]) / 100
        return int(-(-amount // 1)) if round_up else int(amount // 1)
    return int(value or 0)


class Controllers:
    def __init__(self, api: Api, types: Callable[[str, str], ResourceType], setting: Callable[[str], Any]):
        self.api = api
        self._type = types
        self._setting = setting
        self.scheduler = Scheduler(api, types)  # placement and pod lifecycle events (scheduler.py)
        self._queue: dict[tuple[str, str, str], None] = {}
        self._timers: list[tuple[float, int, tuple[str, str, str]]] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        # Pods whose containers do their own work (the lab's sample app) stay Running until it is done.
        self.hold_pod: Callable[[dict[str, Any]], bool] = lambda pod: False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_timers, name="lab-k8s-kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def clear(self) -> None:
        self._queue.clear()
        with self._wake:
            self._timers.clear()

    def _run_timers(self) -> None:
        while not self._stopped.is_set():
            with self._wake:
                if not self._timers:
                    self._wake.wait(1.0)
                    continue
                due, _sequence, key = self._timers[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(min(delay, 1.0))
                    continue
                heapq.heappop(self._timers)
            with self.api.transaction():
                self._queue[key] = None

    def _after(self, seconds: float, key: tuple[str, str, str]) -> None:
        with self._wake:
            heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._sequence), key))
            self._wake.notify_all()

    # -- event intake ------------------------------------------------------------------------

    def observe(self, rt: ResourceType, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Called under the store lock after every committed write."""
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        key = (rt.group, rt.kind)
        if key in (("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
                   ("batch", "Job")):
            if event != "DELETED":
                self._queue[(rt.kind, namespace, name)] = None
        elif key == ("", "Pod"):
            if event == "ADDED":
                self._queue[("kubelet", namespace, name)] = None
        elif key == ("", "Namespace") and event == "ADDED":
            self._queue[("Namespace", "", name)] = None
        elif key == ("", "ServiceAccount") and event != "DELETED":
            # Pod creation that failed on a missing service account is retried.
            for kind in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
                for item in self.api.store.raw_items(self._type("apps" if kind != "Job" else "batch", kind).group_resource):
                    if item["metadata"].get("namespace") == namespace:
                        self._queue[(kind, namespace, item["metadata"]["name"])] = None
        elif key == ("apiregistration.k8s.io", "APIService") and event != "DELETED":
            self._queue[("APIService", "", name)] = None
        if key in (("", "Service"), ("", "Pod")):
            # Availability follows the backing service and the readiness of its pods.
            for item in self.api.store.raw_items(self._type("apiregistration.k8s.io", "APIService").group_resource):
                if ((item.get("spec") or {}).get("service") or {}).get("namespace") == namespace:
                    self._queue[("APIService", "", item["metadata"]["name"])] = None
        if key == ("apiextensions.k8s.io", "CustomResourceDefinition") and event != "DELETED":
            self.api.register_crd(obj)
            self._queue[("CustomResourceDefinition", "", name)] = None
        owner = _controller_of(obj)
        if owner is not None and owner.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
            self._queue[(owner["kind"], namespace, owner["name"])] = None

    def drain(self) -> None:
        handlers = {
            "Deployment": self._deployment, "ReplicaSet": self._replicaset, "StatefulSet": self._statefulset,
            "DaemonSet": self._daemonset, "Job": self._job, "kubelet": self._kubelet, "ready": self._ready,
            "Namespace": self._namespace, "CustomResourceDefinition": self._crd, "APIService": self._apiservice,
        }
        for _round in range(100000):
            if not self._queue:
                return
            key = next(iter(self._queue))
            del self._queue[key]
            try:
                handlers[key[0]](key[1], key[2])
            except errors.ApiError:
                # A controller that loses a race simply reconciles again on the next event.
                continue

    # -- helpers -----------------------------------------------------------------------------

    def _get(self, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        rt = self._type(group, kind)
        obj = self.api.store.get(rt.group_resource, namespace, name)
        return self.api.present(rt, obj) if obj is not None else None

    def _owned(self, group: str, kind: str, namespace: str, uid: str) -> list[dict[str, Any]]:
        rt = self._type(group, kind)
        return [self.api.present(rt, o) for o in self.api.store.items(rt.group_resource, namespace)
                if (_controller_of(o) or {}).get("uid") == uid]

    def _write_status(self, group: str, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        def mutate(obj: dict[str, Any]) -> None:
            obj["status"] = status
        self.api.system_write(self._type(group, kind), namespace, name, mutate, MANAGER)

    def _create_pod(self, namespace: str, owner: dict[str, Any], template: dict[str, Any], name: str | None = None,
                    extra_labels: dict[str, str] | None = None, spec_extra: dict[str, Any] | None = None) -> None:
        meta = template.get("metadata") or {}
        pod_meta: dict[str, Any] = {"namespace": namespace, "ownerReferences": [_owner_ref(owner)]}
        if name:
            pod_meta["name"] = name
        else:
            pod_meta["generateName"] = owner["metadata"]["name"] + "-"
        labels = dict(meta.get("labels") or {})
        labels.update(extra_labels or {})
        if labels:
            pod_meta["labels"] = labels
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        spec = copy.deepcopy(template.get("spec") or {})
        spec.update(spec_extra or {})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
        self.api.create(self._type("", "Pod"), namespace, pod, Options(manager=MANAGER))

    def _delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        try:
            self.api.delete(self._type(group, kind), namespace, name, Options(manager=MANAGER, propagation="Background"))
        except errors.ApiError:
            pass

    # -- kubelet -----------------------------------------------------------------------------

    def _kubelet(self, namespace: str, name: str) -> None:
        pod = self._get("", "Pod", namespace, name)
        if pod is None or (pod.get("status") or {}).get("phase") not in (None, "Pending"):
            return
        node = self.scheduler.place(pod)
        if node is None:
            return
        delay = float(self._setting("pod_ready_seconds") or 0)
        job_pod = (_controller_of(pod) or {}).get("kind") == "Job"
        now = now_rfc3339()
        index = int(pod["metadata"]["uid"].replace("-", "")[:6], 16) % 250 + 2

        def mutate(obj: dict[str, Any]) -> None:
            obj["spec"]["nodeName"] = node
            status = obj.setdefault("status", {})
            status.update({"phase": "Running", "hostIP": "10.224.0.4", "hostIPs": [{"ip": "10.224.0.4"}],
                           "podIP": f"10.244.0.{index}", "podIPs": [{"ip": f"10.244.0.{index}"}], "startTime": now})
            for ctype in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
                status.setdefault("conditions", []).append(
                    {"type": ctype, "status": "True", "lastProbeTime": None, "lastTransitionTime": now})
            status["containerStatuses"] = [{
                "name": c.get("name"), "state": {"running": {"startedAt": now}}, "lastState": {}, "ready": True,
                "restartCount": 0, "image": c.get("image"), "imageID": f"{c.get('image')}@sha256:{'0' * 64}",
                "containerID": f"containerd://{obj['metadata']['uid'].replace('-', '')}{i}", "started": True,
            } for i, c in enumerate(obj["spec"].get("containers") or [])]
            if job_pod and delay <= 0 and not self.hold_pod(obj):
                self._finish(obj)
            elif delay > 0:
                self._set_ready(obj, False)
        self.api.system_write(self._type("", "Pod"), namespace, name, mutate, KUBELET)
        self.scheduler.started(pod, node)
        if delay > 0:
            self._after(delay, ("ready", namespace, name))

    def _ready(self, namespace: str, name: str) -> None:
        pod = self._get("", "Pod", namespace, name)
        if pod is None or (pod.get("status") or {}).get("phase") != "Running":
            return
        job_pod = (_controller_of(pod) or {}).get("kind") == "Job"
        finish = job_pod and not self.hold_pod(pod)
        self.api.system_write(self._type("", "Pod"), namespace, name,
                              self._finish if finish else (lambda obj: self._set_ready(obj, True)), KUBELET)

    @staticmethod
    def _set_ready(pod: dict[str, Any], ready: bool) -> None:
        status = pod["status"]
        names = [c.get("name") for c in pod["spec"].get("containers") or []]
        for ctype in ("Ready", "ContainersReady"):
            reason = None if ready else "ContainersNotReady"
            message = None if ready else f"containers with unready status: [{' '.join(names)}]"
            for cond in status.get("conditions") or []:
                if cond["type"] == ctype:
                    cond["status"] = "True" if ready else "False"
                    cond["lastTransitionTime"] = now_rfc3339()
                    for field, value in (("reason", reason), ("message", message)):
                        if value is None:
                            cond.pop(field, None)
                        else:
                            cond[field] = value
        for container in status.get("containerStatuses") or []:
            container["ready"] = ready

    @staticmethod
    def _finish(pod: dict[str, Any]) -> None:
        status = pod["status"]
        now = now_rfc3339()
        status["phase"] = "Succeeded"
        for cond in status.get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady", "PodReadyToStartContainers"):
                cond.update({"status": "False", "reason": "PodCompleted", "lastTransitionTime": now})
            if cond["type"] == "Initialized":
                cond["reason"] = "PodCompleted"
        for container in status.get("containerStatuses") or []:
            started = (container.get("state") or {}).get("running", {}).get("startedAt", now)
            container.update({"ready": False, "started": False, "state": {"terminated": {
                "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": now,
                "containerID": container.get("containerID")}}})

    # -- workloads ---------------------------------------------------------------------------

    def _deployment(self, namespace: str, name: str) -> None:
        deploy = self._get("apps", "Deployment", namespace, name)
        if deploy is None:
            return
        spec = deploy["spec"]
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        sets = self._owned("apps", "ReplicaSet", namespace, deploy["metadata"]["uid"])
        revisions = [int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0) for rs in sets]
        max_revision = max(revisions, default=0)
        new = next((rs for rs in sets if _without_hash(rs["spec"]["template"]) == template), None)
        strategy = spec.get("strategy") or {}
        surge = _percent((strategy.get("rollingUpdate") or {}).get("maxSurge", "25%"), replicas, True)
        unavailable = _percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"), replicas, False)
        created_new = False
        if spec.get("paused"):
            pass
        elif new is None:
            new = self._create_replicaset(deploy, template, replicas, surge, max_revision + 1)
            created_new = new is not None
        elif int((new["metadata"].get("annotations") or {}).get(REVISION, "0") or 0) < max_revision:
            self._annotate(new, {REVISION: str(max_revision + 1)})
        if new is None:
            return
        new_name = new["metadata"]["name"]
        olds = sorted((rs for rs in sets if rs["metadata"]["name"] != new_name),
                      key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0))
        if not spec.get("paused"):
            self._scale(new, replicas, replicas, surge)
            if strategy.get("type") == "Recreate":
                budget = 0
            else:
                new_pods = self._owned("", "Pod", namespace, new["metadata"]["uid"])
                budget = max(0, replicas - sum(1 for p in new_pods if _pod_ready(p)))
            for rs in reversed(olds):
                keep = min(int(rs["spec"].get("replicas", 0)), budget)
                budget -= keep
                self._scale(rs, keep, replicas, surge)
            self._cleanup(olds, spec.get("revisionHistoryLimit", 10))
        revision = (new["metadata"].get("annotations") or {}).get(REVISION)
        if revision and (deploy["metadata"].get("annotations") or {}).get(REVISION) != revision:
            self._annotate(deploy, {REVISION: revision})
        self._deployment_status(deploy, new, replicas, unavailable, created_new)

    def _create_replicaset(self, deploy: dict[str, Any], template: dict[str, Any], replicas: int, surge: int,
                           revision: int) -> dict[str, Any] | None:
        digest = template_hash(template)
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = copy.deepcopy(deploy["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
        annotations = {k: v for k, v in (deploy["metadata"].get("annotations") or {}).items()
                       if k not in ("kubectl.kubernetes.io/last-applied-configuration", REVISION)}
        annotations.update({"deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + surge), REVISION: str(revision)})
        body = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{deploy['metadata']['name']}-{digest}", "namespace": deploy["metadata"]["namespace"],
                         "labels": dict(rs_template["metadata"]["labels"]), "annotations": annotations,
                         "ownerReferences": [_owner_ref(deploy)]},
            "spec": {"replicas": 0, "minReadySeconds": deploy["spec"].get("minReadySeconds", 0), "selector": selector,
                     "template": rs_template},
        }
        return self.api.create(self._type("apps", "ReplicaSet"), deploy["metadata"]["namespace"], body,
                               Options(manager=MANAGER))

    def _annotate(self, obj: dict[str, Any], annotations: dict[str, str]) -> None:
        def mutate(target: dict[str, Any]) -> None:
            target["metadata"].setdefault("annotations", {}).update(annotations)
        group = obj["apiVersion"].rpartition("/")[0]
        self.api.system_write(self._type(group, obj["kind"]), obj["metadata"].get("namespace", ""),
                              obj["metadata"]["name"], mutate, MANAGER)

    def _scale(self, rs: dict[str, Any], replicas: int, desired: int, surge: int) -> None:
        def mutate(target: dict[str, Any]) -> None:
            target["spec"]["replicas"] = replicas
            annotations = target["metadata"].setdefault("annotations", {})
            annotations["deployment.kubernetes.io/desired-replicas"] = str(desired)
            annotations["deployment.kubernetes.io/max-replicas"] = str(desired + surge)
        self.api.system_write(self._type("apps", "ReplicaSet"), rs["metadata"]["namespace"], rs["metadata"]["name"],
                              mutate, MANAGER)

    def _cleanup(self, olds: list[dict[str, Any]], limit: int) -> None:
        idle = [rs for rs in olds if not rs["spec"].get("replicas") and not (rs.get("status") or {}).get("replicas")]
        for rs in idle[:max(0, len(idle) - int(limit))]:
            self._delete("apps", "ReplicaSet", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _deployment_status(self, deploy: dict[str, Any], new: dict[str, Any], replicas: int, unavailable: int,
                           created_new: bool) -> None:
        namespace = deploy["metadata"]["namespace"]
        sets = self._owned("apps", "ReplicaSet", namespace, deploy["metadata"]["uid"])
        pods: list[dict[str, Any]] = []
        new_pods: list[dict[str, Any]] = []
        for rs in sets:
            owned = self._owned("", "Pod", namespace, rs["metadata"]["uid"])
            pods += owned
            if rs["metadata"]["uid"] == new["metadata"]["uid"]:
                new_pods = owned
        ready = sum(1 for p in pods if _pod_ready(p))
        status = copy.deepcopy(deploy.get("status") or {})
        status.update({"observedGeneration": deploy["metadata"].get("generation", 1), "replicas": len(pods),
                       "updatedReplicas": len(new_pods), "readyReplicas": ready, "availableReplicas": ready})
        missing = max(0, replicas - ready)
        if missing:
            status["unavailableReplicas"] = missing
        else:
            status.pop("unavailableReplicas", None)
        for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if not status[field]:
                del status[field]
        if ready >= replicas - unavailable:
            _set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", True)
        else:
            _set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                           "Deployment does not have minimum availability.", True)
        rs_name = new["metadata"]["name"]
        failure = _condition(new.get("status") or {}, "ReplicaFailure")
        if failure:
            _set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure.get("message", ""), True)
        else:
            _drop_condition(status, "ReplicaFailure")
        if len(new_pods) == replicas and len(pods) == replicas and ready == replicas:
            _set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                           f'ReplicaSet "{rs_name}" has successfully progressed.', True)
        elif created_new:
            _set_condition(status, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', True)
        else:
            _set_condition(status, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', True)
        self._write_status("apps", "Deployment", namespace, deploy["metadata"]["name"], status)

    def _reconcile_pods(self, owner: dict[str, Any], want: int) -> tuple[list[dict[str, Any]], str | None]:
        """Create or delete pods of owner (a ReplicaSet) towards ``want``; returns (pods, failure)."""
        namespace = owner["metadata"]["namespace"]
        pods = self._owned("", "Pod", namespace, owner["metadata"]["uid"])
        failure = None
        if len(pods) < want:
            for _missing in range(want - len(pods)):
                try:
                    self._create_pod(namespace, owner, owner["spec"].get("template") or {})
                except errors.ApiError as exc:
                    failure = exc.message
                    break
        elif len(pods) > want:
            victims = sorted(pods, key=lambda p: (_pod_ready(p), p["metadata"]["creationTimestamp"],
                                                  p["metadata"]["name"]), reverse=False)
            # Unready first, then the newest (controller.ActivePods ordering).
            victims = [p for p in victims if not _pod_ready(p)] + sorted(
                (p for p in victims if _pod_ready(p)), key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            for pod in victims[:len(pods) - want]:
                self._delete("", "Pod", namespace, pod["metadata"]["name"])
        return self._owned("", "Pod", namespace, owner["metadata"]["uid"]), failure

    def _replicaset(self, namespace: str, name: str) -> None:
        rs = self._get("apps", "ReplicaSet", namespace, name)
        if rs is None:
            return
        pods, failure = self._reconcile_pods(rs, int(rs["spec"].get("replicas", 1)))
        ready = sum(1 for p in pods if _pod_ready(p))
        status = copy.deepcopy(rs.get("status") or {})
        status.update({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                       "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)})
        for field in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if not status[field]:
                del status[field]
        if failure:
            _set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure)
        else:
            _drop_condition(status, "ReplicaFailure")
        self._write_status("apps", "ReplicaSet", namespace, name, status)

    def _statefulset(self, namespace: str, name: str) -> None:
        sts = self._get("apps", "StatefulSet", namespace, name)
        if sts is None:
            return
        spec = sts["spec"]
        replicas = int(spec.get("replicas", 1))
        revision = f"{name}-{template_hash(spec.get('template') or {})[:10]}"
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        pods = {p["metadata"]["name"]: p for p in self._owned("", "Pod", namespace, sts["metadata"]["uid"])}
        failure = None
        for pod_name, pod in sorted(pods.items()):
            ordinal = int(pod_name.rsplit("-", 1)[-1]) if pod_name.rsplit("-", 1)[-1].isdigit() else replicas
            outdated = (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
            if ordinal >= replicas or (outdated and not on_delete):
                self._delete("", "Pod", namespace, pod_name)
        pods = {p["metadata"]["name"]: p for p in self._owned("", "Pod", namespace, sts["metadata"]["uid"])}
        for ordinal in range(replicas):
            pod_name = f"{name}-{ordinal}"
            if pod_name in pods:
                continue
            try:
                self._create_pod(namespace, sts, spec.get("template") or {}, name=pod_name, extra_labels={
                    "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(ordinal)},
                    spec_extra={"hostname": pod_name, **({"subdomain": spec["serviceName"]} if spec.get("serviceName") else {})})
            except errors.ApiError as exc:
                failure = exc.message
                break
        pods = {p["metadata"]["name"]: p for p in self._owned("", "Pod", namespace, sts["metadata"]["uid"])}
        updated = [p for p in pods.values() if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision]
        ready = sum(1 for p in pods.values() if _pod_ready(p))
        status = copy.deepcopy(sts.get("status") or {})
        current = status.get("currentRevision") or revision
        if len(updated) == replicas == len(pods):
            current = revision
        status.update({"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                       "readyReplicas": ready, "currentReplicas": len(pods) if current == revision else len(pods) - len(updated),
                       "updatedReplicas": len(updated), "availableReplicas": ready, "currentRevision": current,
                       "updateRevision": revision, "collisionCount": 0})
        for field in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
            if not status[field]:
                del status[field]
        if failure:
            _set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure)
        else:
            _drop_condition(status, "ReplicaFailure")
        self._write_status("apps", "StatefulSet", namespace, name, status)

    def _daemonset(self, namespace: str, name: str) -> None:
        ds = self._get("apps", "DaemonSet", namespace, name)
        if ds is None:
            return
        generation = ds["metadata"].get("generation", 1)
        digest = template_hash(ds["spec"].get("template") or {})[:10]
        pods = self._owned("", "Pod", namespace, ds["metadata"]["uid"])
        for pod in pods:
            if (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != digest:
                self._delete("", "Pod", namespace, pod["metadata"]["name"])
        failure = None
        if not self._owned("", "Pod", namespace, ds["metadata"]["uid"]):
            try:
                self._create_pod(namespace, ds, ds["spec"].get("template") or {}, extra_labels={
                    "controller-revision-hash": digest, "pod-template-generation": str(generation)})
            except errors.ApiError as exc:
                failure = exc.message
        pods = self._owned("", "Pod", namespace, ds["metadata"]["uid"])
        ready = sum(1 for p in pods if _pod_ready(p))
        status: dict[str, Any] = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": 1,
                                  "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                                  "observedGeneration": generation, "updatedNumberScheduled": len(pods)}
        if not ready:
            del status["numberAvailable"]
            status["numberUnavailable"] = 1
        if failure:
            _set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure)
        self._write_status("apps", "DaemonSet", namespace, name, status)

    def _job(self, namespace: str, name: str) -> None:
        job = self._get("batch", "Job", namespace, name)
        if job is None:
            return
        spec = job["spec"]
        status = copy.deepcopy(job.get("status") or {})
        if _condition(status, "Complete") or _condition(status, "Failed"):
            return
        pods = self._owned("", "Pod", namespace, job["metadata"]["uid"])
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        completions = spec.get("completions")
        target = int(completions if completions is not None else 1)
        failure = None
        if failed > int(spec.get("backoffLimit", 6)) and not active:
            # pkg/controller/job: more failed pods than backoffLimit (default 6) fails the Job.
            status["failed"] = failed
            _set_condition(status, "FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            _set_condition(status, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            self._write_status("batch", "Job", namespace, name, status)
            return
        if spec.get("suspend"):
            for pod in active:
                self._delete("", "Pod", namespace, pod["metadata"]["name"])
        elif succeeded < target:
            wanted = min(int(spec.get("parallelism", 1)), target - succeeded) - len(active)
            for _missing in range(max(0, wanted)):
                try:
                    self._create_pod(namespace, job, spec.get("template") or {})
                except errors.ApiError as exc:
                    failure = exc.message
                    break
        pods = self._owned("", "Pod", namespace, job["metadata"]["uid"])
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        now = now_rfc3339()
        status.setdefault("startTime", now)
        status.update({"ready": sum(1 for p in active if _pod_ready(p)), "terminating": 0, "uncountedTerminatedPods": {}})
        for field, value in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
            if value:
                status[field] = value
            else:
                status.pop(field, None)
        if succeeded >= target and not active:
            _set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods")
            _set_condition(status, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")
            for cond in status["conditions"]:
                cond.setdefault("lastProbeTime", now)
            status["completionTime"] = now
        if failure:
            _set_condition(status, "FailedCreate", "True", "FailedCreate", failure)
        self._write_status("batch", "Job", namespace, name, status)

    # -- cluster housekeeping ----------------------------------------------------------------

    def _namespace(self, _cluster_scope: str, name: str) -> None:
        if self._get("", "Namespace", "", name) is None:
            return
        opts = Options(manager=MANAGER)
        if self._get("", "ServiceAccount", name, "default") is None:
            self.api.create(self._type("", "ServiceAccount"), name, {"metadata": {"name": "default"}}, opts)
        if self._get("", "ConfigMap", name, "kube-root-ca.crt") is None:
            self.api.create(self._type("", "ConfigMap"), name, {"metadata": {
                "name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": CA_DESCRIPTION}},
                "data": {"ca.crt": self.api.ca_pem()}}, opts)

    def _crd(self, _cluster_scope: str, name: str) -> None:
        crd = self._get("apiextensions.k8s.io", "CustomResourceDefinition", "", name)
        if crd is None:
            return
        spec = crd["spec"]
        status = copy.deepcopy(crd.get("status") or {})
        _set_condition(status, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
        _set_condition(status, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted")
        names = spec.get("names") or {}
        status["acceptedNames"] = {k: names[k] for k in ("plural", "singular", "shortNames", "kind", "listKind", "categories")
                                   if k in names}
        stored = list(status.get("storedVersions") or [])
        for version in spec.get("versions") or []:
            if version.get("storage") and version.get("name") not in stored:
                stored.append(version["name"])
        status["storedVersions"] = stored
        self._write_status("apiextensions.k8s.io", "CustomResourceDefinition", "", name, status)

    def _apiservice(self, _cluster_scope: str, name: str) -> None:
        """The Available condition as kube-aggregator's availability controllers set it.

        Reasons and messages: kubernetes/staging/src/k8s.io/kube-aggregator/pkg/controllers/status
        (local_available_controller.go, remote/remote_available_controller.go). The lab has no
        network to probe, so a service whose selected pods are Ready "passes" the discovery check.
        """
        apiservice = self._get("apiregistration.k8s.io", "APIService", "", name)
        if apiservice is None:
            return
        ref = (apiservice.get("spec") or {}).get("service")
        if not ref:
            value, reason, message = "True", "Local", "Local APIServices are always available"
        else:
            namespace, service_name = ref.get("namespace", ""), ref.get("name", "")
            service = self._get("", "Service", namespace, service_name)
            selector = ((service or {}).get("spec") or {}).get("selector") or {}
            port = ref.get("port", 443)
            port_names = [p.get("name", "") for p in ((service or {}).get("spec") or {}).get("ports") or []
                          if p.get("port") == port]
            if service is None:
                value, reason, message = "False", "ServiceNotFound", f'service/{service_name} in "{namespace}" is not present'
            elif not port_names:
                value, reason, message = ("False", "ServicePortError",
                                          f'service/{service_name} in "{namespace}" is not listening on port {port}')
            elif not selector or not any(
                    _pod_ready(pod) and all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                    for pod in self.api.store.items(self._type("", "Pod").group_resource, namespace)):
                value, reason, message = ("False", "MissingEndpoints",
                                          f'endpoints for service/{service_name} in "{namespace}" have no addresses '
                                          f'with port name "{port_names[0]}"')
            else:
                value, reason, message = "True", "Passed", "all checks passed"
        status = copy.deepcopy(apiservice.get("status") or {})
        _set_condition(status, "Available", value, reason, message)
        self._write_status("apiregistration.k8s.io", "APIService", "", name, status)
