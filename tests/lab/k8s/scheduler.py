"""The scheduler's placement and the pod lifecycle events of the scheduler and the kubelet.

kube-scheduler (pkg/scheduler, v1.32): a pod without ``spec.nodeName`` goes to a Ready node that
passes the NodeAffinity filter - every ``nodeSelector`` label, and one of the
``requiredDuringSchedulingIgnoredDuringExecution`` node selector terms (matchExpressions In, NotIn,
Exists, DoesNotExist, Gt, Lt on labels; matchFields on ``metadata.name``)
(plugins/nodeaffinity, component-helpers/scheduling/corev1/nodeaffinity). When no node fits the
pod stays Pending with ``PodScheduled=False`` reason ``Unschedulable`` and a Warning
``FailedScheduling`` event whose note is the FitError text (framework/types.go FitError.Error,
with the preemption diagnosis: ``0/1 nodes are available: 1 node(s) didn't match Pod's node
affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for
scheduling.``); a placed pod gets ``Scheduled`` (``Successfully assigned <ns>/<pod> to <node>``,
action Binding). The scheduler records through the events.k8s.io API (reportingController
``default-scheduler``, eventTime set, no source or count).

The kubelet (pkg/kubelet/images/image_manager.go, kuberuntime/kuberuntime_container.go) records,
through the core/v1 recorder (source kubelet and the node, count 1, fieldPath
``spec.containers{<name>}``): ``Pulled`` ``Container image "<image>" already present on machine``
(pull policy IfNotPresent or Never; the lab has every image) or ``Pulling`` ``Pulling image
"<image>"`` then ``Pulled`` ``Successfully pulled image "<image>" in 0s (0s including waiting).
Image size: 0 bytes.`` (policy Always: the lab pulls nothing, so no time and no bytes), then
``Created`` ``Created container: <name>`` and ``Started`` ``Started container <name>``.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from .options import Options
from .store import now_rfc3339

if TYPE_CHECKING:
    from .api import Api

SCHEDULER = "default-scheduler"
NODES = ("", "nodes")


def _micro() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    expressions = term.get("matchExpressions") or []
    field_expressions = term.get("matchFields") or []
    if not expressions and not field_expressions:
        return False  # an empty term matches no objects
    return all(_expression_matches(e, labels) for e in expressions) and \
        all(_expression_matches(e, fields) for e in field_expressions)


def node_fits(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    return terms is None or any(_term_matches(t, node) for t in terms)


def _ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


class Scheduler:
    """Placement and lifecycle events for one cluster; the controllers' kubelet step calls it."""

    def __init__(self, api: Api, types: Any):
        self.api = api
        self.event_type = types("", "Event")

    def place(self, pod: dict[str, Any]) -> str | None:
        """The node for ``pod`` (its own nodeName if set), or None after recording why not."""
        if (pod.get("spec") or {}).get("nodeName"):
            return str(pod["spec"]["nodeName"])
        nodes = [n for n in self.api.store.items(NODES) if _ready(n)]
        fitting = [n for n in nodes if node_fits(pod, n)]
        if fitting:
            node = sorted(fitting, key=lambda n: n["metadata"]["name"])[0]["metadata"]["name"]
            self._scheduler_event(pod, "Normal", "Scheduled", "Binding",
                                  f"Successfully assigned {pod['metadata']['namespace']}/{pod['metadata']['name']} to {node}")
            return str(node)
        total = len(nodes)
        reasons = f" {total} node(s) didn't match Pod's node affinity/selector." if total else ""
        message = (f"0/{total} nodes are available:{reasons} preemption: 0/{total} nodes are available:"
                   f"{f' {total} Preemption is not helpful for scheduling.' if total else ''}")
        self._unschedulable(pod, message)
        return None

    def _unschedulable(self, pod: dict[str, Any], message: str) -> None:
        conditions = (pod.get("status") or {}).get("conditions") or []
        known = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if known and known.get("reason") == "Unschedulable" and known.get("message") == message:
            return  # already reported; the scheduler retries only when the cluster changes

        def mutate(obj: dict[str, Any]) -> None:
            status = obj.setdefault("status", {})
            status["phase"] = "Pending"
            rest = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"] = rest + [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                            "lastTransitionTime": now_rfc3339(), "reason": "Unschedulable",
                                            "message": message}]
        self.api.system_write(self._pods(), pod["metadata"]["namespace"], pod["metadata"]["name"], mutate, SCHEDULER)
        self._scheduler_event(pod, "Warning", "FailedScheduling", "Scheduling", message)

    def started(self, pod: dict[str, Any], node: str) -> None:
        """The kubelet's events for a pod it starts on ``node``."""
        for container in (pod.get("spec") or {}).get("initContainers") or []:
            self._containers_events(pod, node, container, "initContainers")
        for container in (pod.get("spec") or {}).get("containers") or []:
            self._containers_events(pod, node, container, "containers")

    def _containers_events(self, pod: dict[str, Any], node: str, container: dict[str, Any], key: str) -> None:
        name, image = container.get("name", ""), container.get("image", "")
        path = f"spec.{key}{{{name}}}"
        if container.get("imagePullPolicy") == "Always":
            self._kubelet_event(pod, node, path, "Pulling", f'Pulling image "{image}"')
            self._kubelet_event(pod, node, path, "Pulled", f'Successfully pulled image "{image}" in 0s '
                                                           "(0s including waiting). Image size: 0 bytes.")
        else:
            self._kubelet_event(pod, node, path, "Pulled", f'Container image "{image}" already present on machine')
        self._kubelet_event(pod, node, path, "Created", f"Created container: {name}")
        self._kubelet_event(pod, node, path, "Started", f"Started container {name}")

    # -- events ----------------------------------------------------------------------------------

    def _pods(self) -> Any:
        return self.api.registry.by_kind("v1", "Pod")

    @staticmethod
    def _involved(pod: dict[str, Any], field_path: str = "") -> dict[str, Any]:
        meta = pod["metadata"]
        involved = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta.get("uid"),
                    "apiVersion": "v1", "resourceVersion": meta.get("resourceVersion")}
        if field_path:
            involved["fieldPath"] = field_path
        return involved

    def _create(self, pod: dict[str, Any], event: dict[str, Any]) -> None:
        namespace = pod["metadata"]["namespace"]
        # client-go's recorder: <object name>.<unix nanoseconds in hex>.
        event["metadata"] = {"name": f"{pod['metadata']['name']}.{time.time_ns():x}", "namespace": namespace}
        self.api.create(self.event_type, namespace, event, Options(manager=event["reportingComponent"]))

    def _scheduler_event(self, pod: dict[str, Any], etype: str, reason: str, action: str, note: str) -> None:
        self._create(pod, {"involvedObject": self._involved(pod), "reason": reason, "message": note, "source": {},
                           "firstTimestamp": None, "lastTimestamp": None, "type": etype, "eventTime": _micro(),
                           "action": action, "reportingComponent": SCHEDULER,
                           "reportingInstance": f"{SCHEDULER}-{self._host()}"})

    def _kubelet_event(self, pod: dict[str, Any], node: str, field_path: str, reason: str, message: str) -> None:
        now = now_rfc3339()
        self._create(pod, {"involvedObject": self._involved(pod, field_path), "reason": reason, "message": message,
                           "source": {"component": "kubelet", "host": node}, "firstTimestamp": now, "lastTimestamp": now,
                           "count": 1, "type": "Normal", "eventTime": None, "reportingComponent": "kubelet",
                           "reportingInstance": node})

    def _host(self) -> str:
        nodes = self.api.store.items(NODES)
        return str(nodes[0]["metadata"]["name"]) if nodes else "control-plane"
