"""The Prometheus HTTP API of an Azure Monitor workspace's query endpoint, after authentication and RBAC.

Azure Monitor serves the Prometheus query API at ``prometheusQueryEndpoint``
(https://learn.microsoft.com/azure/azure-monitor/metrics/prometheus-api-promql: ``query``, ``query_range``,
``series``, ``labels``, ``label/__name__/values``); shapes and errors as Prometheus documents them
(https://prometheus.io/docs/prometheus/latest/querying/api/): ``{"status": "success", "data": ...}``, and
``400 {"status": "error", "errorType": "bad_data", "error": ...}`` for a query that does not parse or a bad
parameter (texts from prometheus/prometheus web/api/v1/api.go). Result types: ``scalar`` (``[t, "v"]``),
``string``, ``vector``, ``matrix`` (range queries always answer ``matrix``). At most 11,000 points per series.

Values come from the lab's control API (monitor.py): the value set for the exact query text, else for
every query (``"*"``). A bare selector's series carries the selector's labels; a query whose value is unset
answers an empty vector; a query made of numbers only is computed. The ``labels`` and ``series`` APIs
answer from the series the configured queries name.
"""

from __future__ import annotations

import datetime
import math
import re
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from ..core import Request, Response
from . import promql

if TYPE_CHECKING:
    from .monitor import PrometheusService

MAX_POINTS = 11000
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def _bad(message: str) -> Response:
    return Response.json(400, {"status": "error", "errorType": "bad_data", "error": message})


def _ok(data: Any) -> Response:
    return Response.json(200, {"status": "success", "data": data})


def _sample(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _timestamp(raw: str | None, name: str, default: float | None = None) -> float:
    if raw is None or raw == "":
        if default is not None:
            return default
        raise ValueError(f'invalid parameter "{name}": cannot parse "" to a valid timestamp')
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ValueError(f'invalid parameter "{name}": cannot parse "{raw}" to a valid timestamp') from exc


def _step(raw: str | None) -> float:
    if raw:
        try:
            return float(raw)
        except ValueError:
            match = _DURATION.match(raw)
            if match and any(match.groups()):
                units = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
                return sum(int(g or 0) * u for g, u in zip(match.groups(), units))
    raise ValueError(f'invalid parameter "step": cannot parse "{raw or ""}" to a valid duration')


def _params(request: Request) -> dict[str, list[str]]:
    params = {k: list(v) for k, v in request.query.items()}
    if request.method == "POST" and (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        for key, values in urllib.parse.parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items():
            params.setdefault(key, []).extend(values)
    return params


def _parse(query: str) -> promql.Node:
    try:
        return promql.parse(query)
    except promql.ParseError as exc:
        raise ValueError(f'invalid parameter "query": {exc}') from exc


def _series(service: PrometheusService, query: str, node: promql.Node) -> list[tuple[dict[str, str], float]]:
    """The (labels, value) pairs an instant-vector query answers."""
    value = service.value(query)
    if value is None:
        return []
    labels = promql.series_of(node.children[0] if node.kind == "paren" else node) or {}
    return [(labels, value)]


def _scalar(service: PrometheusService, query: str, node: promql.Node) -> float:
    computed = promql.constant(node)
    if computed is not None:
        return computed
    value = service.value(query)
    return float("nan") if value is None else value


def instant(service: PrometheusService, params: dict[str, list[str]]) -> Response:
    query = (params.get("query") or [""])[-1]
    at = _timestamp((params.get("time") or [""])[-1], "time", round(time.time(), 3))
    node = _parse(query)
    if node.type == "scalar":
        return _ok({"resultType": "scalar", "result": [at, _sample(_scalar(service, query, node))]})
    if node.type == "string":
        return _ok({"resultType": "string", "result": [at, node.text]})
    series = _series(service, query, node)
    if node.type == "matrix":
        return _ok({"resultType": "matrix", "result": [{"metric": labels, "values": [[at, _sample(v)]]} for labels, v in series]})
    return _ok({"resultType": "vector", "result": [{"metric": labels, "value": [at, _sample(v)]} for labels, v in series]})


def ranged(service: PrometheusService, params: dict[str, list[str]]) -> Response:
    query = (params.get("query") or [""])[-1]
    start = _timestamp((params.get("start") or [""])[-1], "start")
    end = _timestamp((params.get("end") or [""])[-1], "end")
    if end < start:
        return _bad('invalid parameter "end": end timestamp must not be before start time')
    step = _step((params.get("step") or [""])[-1])
    if step <= 0:
        return _bad('invalid parameter "step": zero or negative query resolution step widths are not accepted. '
                    "Try a positive integer")
    if (end - start) / step > MAX_POINTS:
        return _bad("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                    "resolution (?step=XX)")
    node = _parse(query)
    if node.type not in ("scalar", "vector"):
        return _bad(f'invalid parameter "query": invalid expression type "{promql._type_name(node.type)}" for range '
                    "query, must be Scalar or instant Vector")
    times = [round(start + i * step, 3) for i in range(int((end - start) // step) + 1)]
    if node.type == "scalar":
        value = _scalar(service, query, node)
        return _ok({"resultType": "matrix", "result": [{"metric": {}, "values": [[t, _sample(value)] for t in times]}]})
    return _ok({"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, _sample(v)] for t in times]} for labels, v in _series(service, query, node)]})


def known_series(service: PrometheusService) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for query in service.queries():
        try:
            labels = promql.series_of(promql.parse(query))
        except promql.ParseError:
            continue
        if labels and labels not in found:
            found.append(labels)
    return found


def series(service: PrometheusService, params: dict[str, list[str]]) -> Response:
    selectors = params.get("match[]") or []
    if not selectors:
        return _bad("no match[] parameter provided")
    nodes = []
    for raw in selectors:
        try:
            node = promql.parse(raw)
        except promql.ParseError as exc:
            return _bad(f"invalid parameter \"match[]\": {exc}")
        if node.kind != "selector":
            return _bad('invalid parameter "match[]": 1:1: parse error: unexpected expression, expected a vector selector')
        nodes.append(node)
    return _ok([labels for labels in known_series(service) if any(promql.matches(n, labels) for n in nodes)])


def handle(service: PrometheusService, request: Request) -> Response | None:
    """The answer for an API path, or None for a path the API does not serve."""
    path = request.path.split("?")[0].rstrip("/")
    if request.method not in ("GET", "POST"):
        return None
    params = _params(request)
    try:
        if path == "/api/v1/query":
            return instant(service, params)
        if path == "/api/v1/query_range":
            return ranged(service, params)
        if path == "/api/v1/series":
            return series(service, params)
        if path == "/api/v1/labels":
            return _ok(sorted({name for labels in known_series(service) for name in labels}))
        match = re.fullmatch(r"/api/v1/label/([A-Za-z_][A-Za-z0-9_]*)/values", path)
        if match:
            return _ok(sorted({labels[match.group(1)] for labels in known_series(service) if match.group(1) in labels}))
    except ValueError as exc:
        return _bad(str(exc))
    return None
