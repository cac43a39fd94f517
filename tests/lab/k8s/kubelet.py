"""The kubelet: binds pods to the node, reports them Running and Ready (or Succeeded for Job pods).

With ``pod_ready_seconds`` > 0 a pod turns Ready only after that delay (a timer), as a slow
kubelet would report it; pods the lab's sample app runs stay Running until it is done.
"""

from __future__ import annotations

from typing import Any

from .controller_base import KUBELET, ControllerBase, controller_of
from .store import now_rfc3339


class Kubelet(ControllerBase):
    """Pod status as the kubelet writes it."""

    def _kubelet(self, namespace: str, name: str) -> None:
        pod = self._get("", "Pod", namespace, name)
        if pod is None or (pod.get("status") or {}).get("phase") not in (None, "Pending"):
            return
        node = self.scheduler.place(pod)
        if node is None:
            return
        delay = float(self._setting("pod_ready_seconds") or 0)
        job_pod = (controller_of(pod) or {}).get("kind") == "Job"
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
        job_pod = (controller_of(pod) or {}).get("kind") == "Job"
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
