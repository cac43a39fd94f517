"""Server-side table rows for HorizontalPodAutoscalers and APIServices (``kubectl get hpa``, ``get apiservice``).

- HorizontalPodAutoscaler: kubernetes pkg/printers/internalversion/printers.go (v1.32)
  ``printHorizontalPodAutoscaler`` and ``formatHPAMetrics``: Reference ``<Kind>/<name>``, Targets
  ``<current>/<target> (avg)`` for AverageValue targets and ``<current>/<target>`` for Value targets
  (``<unknown>`` before the first reading; ``<resource>: `` before resource metrics; at most two,
  then ``+ N more...``; ``<none>`` without metrics), MinPods (``<unset>``), MaxPods, Replicas.
- APIService: kube-aggregator pkg/registry/apiservice/etcd ``ConvertToTable``: Service
  ``<namespace>/<name>`` or ``Local``, Available ``True`` or ``<status> (<reason>)``.
"""

from __future__ import annotations

from typing import Any

from . import tables


def _quantity(value: Any) -> str:
    return str(value) if value is not None else "<unknown>"


def _target(spec: dict[str, Any], status: dict[str, Any] | None) -> str:
    kind = spec.get("type", "")
    key = {"External": "external", "Object": "object", "Pods": "pods", "Resource": "resource",
           "ContainerResource": "containerResource"}.get(kind, "")
    source = spec.get(key) or {}
    target = source.get("target") or {}
    current = ((status or {}).get(key) or {}).get("current") or {}
    prefix = f"{source.get('name')}: " if kind in ("Resource", "ContainerResource") else ""
    if target.get("averageUtilization") is not None:
        value = current.get("averageUtilization")
        return f"{prefix}{'<unknown>' if value is None else f'{value}%'}/{target['averageUtilization']}%"
    if target.get("averageValue") is not None:
        return f"{prefix}{_quantity(current.get('averageValue'))}/{target['averageValue']}" + (
            " (avg)" if kind in ("External", "Object") else "")
    return f"{prefix}{_quantity(current.get('value'))}/{target.get('value')}"


def _hpa(obj: dict[str, Any]) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    metrics, current = spec.get("metrics") or [], status.get("currentMetrics") or []
    shown = [_target(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics[:2])]
    targets = ", ".join(shown) if shown else "<none>"
    if len(metrics) > 2:
        targets += f" + {len(metrics) - 2} more..."
    minimum = spec.get("minReplicas")
    return [f"{ref.get('kind', '')}/{ref.get('name', '')}", targets, "<unset>" if minimum is None else minimum,
            spec.get("maxReplicas", 0), status.get("currentReplicas", 0),
            tables._age(obj["metadata"].get("creationTimestamp"))]


def _apiservice(obj: dict[str, Any]) -> list[Any]:
    service = (obj.get("spec") or {}).get("service")
    where = f"{service.get('namespace', '')}/{service.get('name', '')}" if service else "Local"
    available = "Unknown"
    condition = next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Available"), None)
    if condition is not None:
        value, reason = condition.get("status", ""), condition.get("reason", "")
        available = value if value == "True" or not reason else f"{value} ({reason})"
    return [where, available, tables._age(obj["metadata"].get("creationTimestamp"))]


BUILTIN: dict[tuple[str, str], tuple[list[tables.Column], tables.Printer]] = {
    ("autoscaling", "HorizontalPodAutoscaler"): (
        [tables._NAME, ("Reference", "string", "", 0), ("Targets", "string", "", 0), ("MinPods", "string", "", 0),
         ("MaxPods", "integer", "", 0), ("Replicas", "integer", "", 0), tables._AGE], _hpa),
    ("apiregistration.k8s.io", "APIService"): (
        [tables._NAME, ("Service", "string", "", 0), ("Available", "string", "", 0), tables._AGE], _apiservice),
}
