"""The workload controllers of kube-controller-manager: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job.

See controllers.py for what each models (pkg/controller/deployment, replicaset, statefulset,
daemon, job in kubernetes/kubernetes).
"""

from __future__ import annotations

import copy
from typing import Any

from . import errors
from .controller_base import (
    HASH_LABEL,
    MANAGER,
    REVISION,
    ControllerBase,
    condition,
    drop_condition,
    owner_ref,
    percent,
    pod_ready,
    set_condition,
    template_hash,
    without_hash,
)
from .options import Options
from .store import now_rfc3339


class Workloads(ControllerBase):
    """Pods and ReplicaSets from their owners' specs, and the owners' status."""

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
        new = next((rs for rs in sets if without_hash(rs["spec"]["template"]) == template), None)
        strategy = spec.get("strategy") or {}
        surge = percent((strategy.get("rollingUpdate") or {}).get("maxSurge", "25%"), replicas, True)
        unavailable = percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"), replicas, False)
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
                budget = max(0, replicas - sum(1 for p in new_pods if pod_ready(p)))
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
                         "ownerReferences": [owner_ref(deploy)]},
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
        ready = sum(1 for p in pods if pod_ready(p))
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
            set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", True)
        else:
            set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", True)
        rs_name = new["metadata"]["name"]
        failure = condition(new.get("status") or {}, "ReplicaFailure")
        if failure:
            set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure.get("message", ""), True)
        else:
            drop_condition(status, "ReplicaFailure")
        if len(new_pods) == replicas and len(pods) == replicas and ready == replicas:
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{rs_name}" has successfully progressed.', True)
        elif created_new:
            set_condition(status, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', True)
        else:
            set_condition(status, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', True)
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
            victims = sorted(pods, key=lambda p: (pod_ready(p), p["metadata"]["creationTimestamp"],
                                                  p["metadata"]["name"]), reverse=False)
            # Unready first, then the newest (controller.ActivePods ordering).
            victims = [p for p in victims if not pod_ready(p)] + sorted(
                (p for p in victims if pod_ready(p)), key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            for pod in victims[:len(pods) - want]:
                self._delete("", "Pod", namespace, pod["metadata"]["name"])
        return self._owned("", "Pod", namespace, owner["metadata"]["uid"]), failure

    def _replicaset(self, namespace: str, name: str) -> None:
        rs = self._get("apps", "ReplicaSet", namespace, name)
        if rs is None:
            return
        pods, failure = self._reconcile_pods(rs, int(rs["spec"].get("replicas", 1)))
        ready = sum(1 for p in pods if pod_ready(p))
        status = copy.deepcopy(rs.get("status") or {})
        status.update({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                       "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)})
        self._write_replica_status("ReplicaSet", namespace, name, status, failure,
                                   ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"))

    def _write_replica_status(self, kind: str, namespace: str, name: str, status: dict[str, Any], failure: str | None,
                              optional: tuple[str, ...] = ()) -> None:
        """Write an apps/v1 workload's status: zero counts left out (omitempty), ReplicaFailure set or cleared."""
        for field in optional:
            if not status[field]:
                del status[field]
        if failure:
            set_condition(status, "ReplicaFailure", "True", "FailedCreate", failure)
        else:
            drop_condition(status, "ReplicaFailure")
        self._write_status("apps", kind, namespace, name, status)

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
        ready = sum(1 for p in pods.values() if pod_ready(p))
        status = copy.deepcopy(sts.get("status") or {})
        current = status.get("currentRevision") or revision
        if len(updated) == replicas == len(pods):
            current = revision
        status.update({"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                       "readyReplicas": ready, "currentReplicas": len(pods) if current == revision else len(pods) - len(updated),
                       "updatedReplicas": len(updated), "availableReplicas": ready, "currentRevision": current,
                       "updateRevision": revision, "collisionCount": 0})
        self._write_replica_status("StatefulSet", namespace, name, status, failure,
                                   ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"))

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
        ready = sum(1 for p in pods if pod_ready(p))
        status: dict[str, Any] = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": 1,
                                  "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                                  "observedGeneration": generation, "updatedNumberScheduled": len(pods)}
        if not ready:
            del status["numberAvailable"]
            status["numberUnavailable"] = 1
        self._write_replica_status("DaemonSet", namespace, name, status, failure)

    def _job(self, namespace: str, name: str) -> None:
        job = self._get("batch", "Job", namespace, name)
        if job is None:
            return
        spec = job["spec"]
        status = copy.deepcopy(job.get("status") or {})
        if condition(status, "Complete") or condition(status, "Failed"):
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
            set_condition(status, "FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            set_condition(status, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
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
        status.update({"ready": sum(1 for p in active if pod_ready(p)), "terminating": 0, "uncountedTerminatedPods": {}})
        for field, value in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
            if value:
                status[field] = value
            else:
                status.pop(field, None)
        if succeeded >= target and not active:
            set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods")
            set_condition(status, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")
            for cond in status["conditions"]:
                cond.setdefault("lastProbeTime", now)
            status["completionTime"] = now
        if failure:
            set_condition(status, "FailedCreate", "True", "FailedCreate", failure)
        self._write_status("batch", "Job", namespace, name, status)
