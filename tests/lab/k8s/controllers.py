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

Rooms: controller_base.py (state, timers, helpers), workloads.py, kubelet.py, housekeeping.py;
this file holds the intake (which write queues which key) and the drain loop.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .controller_base import controller_of
from .housekeeping import Housekeeping
from .kubelet import Kubelet
from .resources import ResourceType
from .workloads import Workloads


class Controllers(Workloads, Kubelet, Housekeeping):
    """The controller manager and kubelet: queue intake and the drain loop (the rooms hold the reconcilers)."""

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
        owner = controller_of(obj)
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
