"""Server-side printing: ``meta.k8s.io/v1`` Table responses for ``kubectl get`` (and helm's status).

Clients that accept ``application/json;as=Table;v=v1;g=meta.k8s.io`` get rows computed by the
server, as kube-apiserver does with pkg/printers/internalversion (built-ins) and the CRD's
``additionalPrinterColumns`` (custom resources). Only the common kinds have their own columns;
every other built-in prints Name and Age, as the default table convertor does.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Callable

from . import events_api
from .resources import ResourceType

Column = tuple[str, str, str, int]  # name, type, format, priority
Printer = Callable[[dict[str, Any]], list[Any]]

_NAME: Column = ("Name", "string", "name", 0)
_AGE: Column = ("Age", "string", "", 0)
_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. Is required when creating resources, although some resources may "
            "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
            "for creation idempotence and configuration definition. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was created.",
}


def wants_table(accept: str) -> bool:
    for item in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in item.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
    return False


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years, days = hours // 24 // 365, hours // 24 % 365
    if years < 8:
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{years}y"


def _age(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _pod_status(pod: dict[str, Any]) -> str:
    if _get(pod, "metadata", "deletionTimestamp"):
        return "Terminating"
    reason = _get(pod, "status", "reason") or _get(pod, "status", "phase") or "Unknown"
    for container in _get(pod, "status", "containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Completed"
    return reason


def _pod(pod: dict[str, Any]) -> list[Any]:
    statuses = _get(pod, "status", "containerStatuses") or []
    total = len(_get(pod, "spec", "containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    return [f"{ready}/{total}", _pod_status(pod), restarts, _age(_get(pod, "metadata", "creationTimestamp")),
            _get(pod, "status", "podIP") or "<none>", _get(pod, "spec", "nodeName") or "<none>"]


def _deployment(obj: dict[str, Any]) -> list[Any]:
    status = obj.get("status") or {}
    containers = _get(obj, "spec", "template", "spec", "containers") or []
    selector = _get(obj, "spec", "selector", "matchLabels") or {}
    return [f"{status.get('readyReplicas', 0)}/{_get(obj, 'spec', 'replicas') or 0}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), _age(_get(obj, "metadata", "creationTimestamp")),
            ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            ",".join(f"{k}={v}" for k, v in selector.items())]


def _service(obj: dict[str, Any]) -> list[Any]:
    spec = obj.get("spec") or {}
    ingress = _get(obj, "status", "loadBalancer", "ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or spec.get("externalName") or (
        "<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    ports = ",".join(f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
                     for p in spec.get("ports") or []) or "<none>"
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external, ports,
            _age(_get(obj, "metadata", "creationTimestamp"))]


def _job(obj: dict[str, Any]) -> list[Any]:
    status = obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = "Complete" if conditions.get("Complete") == "True" else "Failed" if conditions.get("Failed") == "True" else (
        "Suspended" if _get(obj, "spec", "suspend") else "Running")
    completions = _get(obj, "spec", "completions")
    duration = ""
    if status.get("startTime"):
        start = datetime.datetime.strptime(status["startTime"], "%Y-%m-%dT%H:%M:%SZ")
        end = datetime.datetime.strptime(status["completionTime"], "%Y-%m-%dT%H:%M:%SZ") if status.get("completionTime") \
            else datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        duration = human_duration((end - start).total_seconds())
    return [state, f"{status.get('succeeded', 0)}/{completions if completions is not None else 1}", duration,
            _age(_get(obj, "metadata", "creationTimestamp"))]


def _with_age(*fields: Callable[[dict[str, Any]], Any]) -> Printer:
    return lambda obj: [f(obj) for f in fields] + [_age(_get(obj, "metadata", "creationTimestamp"))]


def _event_v1(obj: dict[str, Any]) -> list[Any]:
    """An events.k8s.io/v1 Event prints as the internal Event it is (printEvent)."""
    return _event(events_api.to_core(obj))


def _event(obj: dict[str, Any]) -> list[Any]:
    """kubernetes pkg/printers/internalversion/printers.go printEvent (the name is the last, wide column)."""
    first = _age(obj.get("firstTimestamp") or obj.get("eventTime"))
    last = _age(obj.get("lastTimestamp")) if obj.get("lastTimestamp") else first
    count = int(obj.get("count") or 0) or 1
    involved = obj.get("involvedObject") or {}
    target = f"{str(involved.get('kind', '')).lower()}/{involved.get('name')}" if involved.get("name") else str(involved.get("kind", "")).lower()
    source = (obj.get("source") or {}).get("component") or obj.get("reportingComponent") or ""
    return [last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""), source,
            str(obj.get("message", "")).strip(), first, count, obj["metadata"].get("name", "")]


_BUILTIN: dict[tuple[str, str], tuple[list[Column], Printer]] = {
    ("", "Namespace"): ([_NAME, ("Status", "string", "", 0), _AGE], _with_age(lambda o: _get(o, "status", "phase") or "")),
    ("", "Pod"): ([_NAME, ("Ready", "string", "", 0), ("Status", "string", "", 0), ("Restarts", "string", "", 0), _AGE,
                   ("IP", "string", "", 1), ("Node", "string", "", 1)], _pod),
    ("", "ServiceAccount"): ([_NAME, ("Secrets", "string", "", 0), _AGE], _with_age(lambda o: len(o.get("secrets") or []))),
    ("", "Secret"): ([_NAME, ("Type", "string", "", 0), ("Data", "string", "", 0), _AGE],
                     _with_age(lambda o: o.get("type", ""), lambda o: len(o.get("data") or {}))),
    ("", "ConfigMap"): ([_NAME, ("Data", "string", "", 0), _AGE],
                        _with_age(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    ("", "Service"): ([_NAME, ("Type", "string", "", 0), ("Cluster-IP", "string", "", 0), ("External-IP", "string", "", 0),
                       ("Port(s)", "string", "", 0), _AGE], _service),
    ("", "Node"): ([_NAME, ("Status", "string", "", 0), ("Roles", "string", "", 0), _AGE, ("Version", "string", "", 0)],
                   lambda o: ["Ready", "<none>", _age(_get(o, "metadata", "creationTimestamp")),
                              _get(o, "status", "nodeInfo", "kubeletVersion") or ""]),
    ("apps", "Deployment"): ([_NAME, ("Ready", "string", "", 0), ("Up-to-date", "string", "", 0),
                              ("Available", "string", "", 0), _AGE, ("Containers", "string", "", 1),
                              ("Images", "string", "", 1), ("Selector", "string", "", 1)], _deployment),
    ("apps", "ReplicaSet"): ([_NAME, ("Desired", "integer", "", 0), ("Current", "integer", "", 0),
                              ("Ready", "integer", "", 0), _AGE],
                             _with_age(lambda o: _get(o, "spec", "replicas") or 0, lambda o: _get(o, "status", "replicas") or 0,
                                       lambda o: _get(o, "status", "readyReplicas") or 0)),
    ("apps", "StatefulSet"): ([_NAME, ("Ready", "string", "", 0), _AGE],
                              _with_age(lambda o: f"{_get(o, 'status', 'readyReplicas') or 0}/{_get(o, 'spec', 'replicas') or 0}")),
    ("apps", "DaemonSet"): ([_NAME, ("Desired", "integer", "", 0), ("Current", "integer", "", 0), ("Ready", "integer", "", 0),
                             ("Up-to-date", "integer", "", 0), ("Available", "integer", "", 0),
                             ("Node Selector", "string", "", 0), _AGE],
                            _with_age(*(lambda o, f=f: _get(o, "status", f) or 0 for f in (
                                "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                                "numberAvailable")), lambda o: ",".join(
                                f"{k}={v}" for k, v in (_get(o, "spec", "template", "spec", "nodeSelector") or {}).items())
                                or "<none>")),
    ("batch", "Job"): ([_NAME, ("Status", "string", "", 0), ("Completions", "string", "", 0), ("Duration", "string", "", 0),
                        _AGE], _job),
    ("", "Event"): ([("Last Seen", "string", "", 0), ("Type", "string", "", 0), ("Reason", "string", "", 0),
                     ("Object", "string", "", 0), ("Subobject", "string", "", 1), ("Source", "string", "", 1),
                     ("Message", "string", "", 0), ("First Seen", "string", "", 1), ("Count", "integer", "", 1),
                     ("Name", "string", "", 1)], _event),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (
        [_NAME, ("Created At", "date", "", 0)], lambda o: [_get(o, "metadata", "creationTimestamp")]),
}


# JSONPath for additionalPrinterColumns: .a.b, .a[0], .a[*].b and .a[?(@.k=="v")].b
_STEP = re.compile(r'\.([A-Za-z0-9_\-$]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_\-]+)\s*==\s*["\']([^"\']*)["\']\)\]')


def json_path(obj: Any, path: str) -> list[Any]:
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    current = [obj]
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if not match:
            return []
        position = match.end()
        field, index, key, value = match.groups()
        found: list[Any] = []
        for item in current:
            if field is not None and isinstance(item, dict) and field in item:
                found.append(item[field])
            elif index is not None and isinstance(item, list):
                found.extend(item if index == "*" else item[int(index):int(index) + 1])
            elif key is not None and isinstance(item, list):
                found.extend(i for i in item if isinstance(i, dict) and str(i.get(key)) == value)
        current = found
    return current


def _custom(rt: ResourceType) -> tuple[list[Column], Printer]:
    specs = list(rt.printer_columns) or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    columns: list[Column] = [_NAME] + [(c.get("name", ""), c.get("type", "string"), c.get("format", ""),
                                       int(c.get("priority", 0))) for c in specs]

    def printer(obj: dict[str, Any]) -> list[Any]:
        cells: list[Any] = []
        for spec in specs:
            values = json_path(obj, spec.get("jsonPath", ""))
            if not values:
                cells.append(None)
            elif spec.get("type") == "date":
                cells.append(_age(values[0]) if isinstance(values[0], str) else None)
            elif spec.get("type") == "string" and not isinstance(values[0], str):
                cells.append(str(values[0]).lower() if isinstance(values[0], bool) else str(values[0]))
            else:
                cells.append(values[0])
        return cells
    return columns, printer


def table(rt: ResourceType, items: list[dict[str, Any]], resource_version: str, include: str) -> dict[str, Any]:
    # Built-ins without a printer use rest.NewDefaultTableConvertor: Name and "Created At".
    default: tuple[list[Column], Printer] = ([_NAME, ("Created At", "date", "", 0)],
                                             lambda o: [_get(o, "metadata", "creationTimestamp")])
    columns, printer = _BUILTIN.get((rt.group, rt.kind)) or (_custom(rt) if not rt.builtin else default)
    if events_api.applies(rt):
        # events.k8s.io/v1 Events print as the internal Event they are (printEvent).
        columns, printer = _BUILTIN[("", "Event")][0], _event_v1
    rows = []
    for obj in items:
        # Events print their name as the last (wide) column, not the first.
        cells = printer(obj) if rt.kind == "Event" and rt.group in ("", events_api.GROUP) else [obj["metadata"].get("name", "")] + printer(obj)
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append(row)
    definitions = [{"name": name, "type": ctype, "format": fmt, "description": _DESCRIPTIONS.get(name, name),
                    "priority": priority} for name, ctype, fmt, priority in columns]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": definitions, "rows": rows}


# More kinds' printers live in their own file.
from . import printers  # noqa: E402  (it uses the helpers above)

_BUILTIN.update(printers.BUILTIN)
