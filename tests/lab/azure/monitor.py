"""Azure Monitor workspaces: ARM ``Microsoft.Monitor/accounts`` and the workspace's Prometheus query API.

ARM, from Azure/azure-rest-api-specs ``specification/monitor/resource-manager/Microsoft.Monitor/Accounts/
stable/2023-04-03/monitoringAccounts_API.json`` (``AzureMonitorWorkspaces_Create``: 200 update / 201 create;
``_Get`` 200 / 404 ``ResourceNotFound``; ``_ListByResourceGroup`` / ``_ListBySubscription``; ``_Delete``
200 / 204): ``properties.accountId``, ``properties.metrics.prometheusQueryEndpoint``
(``https://<name>-<suffix>.<location>.prometheus.monitor.azure.com``), ``internalId``,
``provisioningState``, ``defaultIngestionSettings``, ``publicNetworkAccess``.

Query API at ``prometheusQueryEndpoint`` (the lab serves every workspace on one port and picks it
by the ``Host`` header; ``LAB_PROMETHEUS_URL``): ``query`` (as KEDA's prometheus scaler calls it,
kedacore/keda ``pkg/scalers/prometheus_scaler.go`` ``ExecutePromQuery``), ``query_range``, ``labels``,
``label/<name>/values`` and ``series``, answered by prometheus_api.py with PromQL parsed by promql.py. It needs an
Entra token for ``https://prometheus.monitor.azure.com`` (https://learn.microsoft.com/azure/azure-monitor/
metrics/prometheus-api-promql) and the data action ``microsoft.monitor/accounts/data/metrics/read``
through a role assignment at the workspace or an ancestor scope (Monitoring Data Reader); without
it the answer is the 403 body the seeds quote (reference/azure-keda-facts.md §7).

Metric values come from the lab's control API: ``PUT $LAB_CONTROL_URL/services/prometheus/metrics``
with ``{"value": 150}`` (every query) or ``{"query": "<promql>", "value": 150}``; ``{"value": null}``
makes the result empty; ``DELETE`` forgets every value.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from .. import ids
from .. import services as lab_services
from ..core import Fault, Lab, Request, Response, Service, StreamWriter
from . import dataplane, errors, prometheus_api, versions
from .context import ArmContext, check_tags, normalize_location, paginate
from .store import Record

KIND = "microsoft.monitor/accounts"
HOST_SUFFIX = ".prometheus.monitor.azure.com"
AUDIENCES = ["https://prometheus.monitor.azure.com", "https://prometheus.monitor.azure.com/"]
METRICS_READ = "microsoft.monitor/accounts/data/metrics/read"


def query_endpoint(name: str, location: str) -> str:
    suffix = uuid.uuid5(uuid.NAMESPACE_URL, f"amw:{name.lower()}").hex[:4]
    return f"https://{name.lower()}-{suffix}.{normalize_location(location)}{HOST_SUFFIX}"


def account_id(resource_group: str, name: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{resource_group}/providers/Microsoft.Monitor/accounts/{name}"


def account_body(name: str, resource_group: str, location: str, tags: dict[str, str], endpoint: str | None = None) -> dict[str, Any]:
    location = normalize_location(location)
    managed = f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/MA_{name}_{location}_managed/providers/Microsoft.Insights"
    return {
        "id": account_id(resource_group, name), "name": name, "type": "Microsoft.Monitor/accounts",
        "location": location, "tags": tags, "etag": f'"{uuid.uuid4()}"',
        "properties": {
            "accountId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"amw-account:{name.lower()}")),
            "metrics": {"prometheusQueryEndpoint": endpoint or query_endpoint(name, location),
                        "internalId": "mac_" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"amw-internal:{name.lower()}"))},
            "provisioningState": "Succeeded", "publicNetworkAccess": "Enabled",
            "defaultIngestionSettings": {
                "dataCollectionRuleResourceId": f"{managed}/dataCollectionRules/{name}",
                "dataCollectionEndpointResourceId": f"{managed}/dataCollectionEndpoints/{name}",
            },
        },
    }


def handle_account(ctx: ArmContext) -> Response:
    version = versions.for_type(ctx, versions.MONITOR_ACCOUNTS, "accounts")
    path = ctx.path
    if path.is_collection:
        if ctx.method != "GET":
            raise errors.method_not_allowed(ctx.method, "Microsoft.Monitor/accounts")
        return paginate(ctx, [r.view() for r in ctx.store.find(KIND, "/" + "/".join(path.scope_segments))])
    group = ctx.resource_group_record()
    name = path.names[0]
    rid = account_id(group.body["name"], name)
    if ctx.method in ("GET", "HEAD"):
        record = ctx.store.get(rid)
        if record is None:
            raise errors.resource_not_found(f"Microsoft.Monitor/accounts/{name}", group.body["name"])
        return Response.json(200, record.view())
    if ctx.method == "DELETE":
        from .monitor_delete import delete_account  # pylint: disable=import-outside-toplevel
        return delete_account(ctx, rid, version)
    if ctx.method != "PUT":
        raise errors.method_not_allowed(ctx.method, "Microsoft.Monitor/accounts")
    body = ctx.body()
    location = body.get("location")
    if not location:
        raise errors.location_required()
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is None:
            record = ctx.store.put(Record(rid, KIND, account_body(name, group.body["name"], str(location), check_tags(body.get("tags")))))
            # A create answers 200, synchronous and already Succeeded (recordings README fact 20: azure-cli
            # test_monitor_account.yaml #1, ASO Test_Monitor_Account_CRUD.yaml #2), not the spec's 201.
            return Response.json(200, record.view())
        if normalize_location(str(location)) != record.body["location"]:
            raise errors.invalid_resource_location(name, record.body["location"], group.body["name"], str(location))
        record.body["tags"] = check_tags(body.get("tags"))
        record.body["etag"] = f'"{uuid.uuid4()}"'
        record.updated = time.time()
        return Response.json(200, record.view())


class PrometheusService(Service):
    """The Prometheus HTTP API of every Azure Monitor workspace ARM knows."""

    name = "prometheus"

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)
        self._lock = threading.RLock()
        self._values: dict[str, float | None] = {}

    def reset(self) -> None:
        with self._lock:
            self._values.clear()

    def env(self) -> dict[str, str]:
        return {"LAB_PROMETHEUS_URL": self.url, "LAB_PROMETHEUS_HOST_SUFFIX": HOST_SUFFIX}

    def fault_response(self, fault: Fault) -> Response:
        return Response.json(fault.status, {"status": "error", "errorType": fault.code or "server_error", "error": fault.message})

    # -- the control API -----------------------------------------------------------------------

    def set_value(self, value: float | None, query: str | None = None) -> None:
        with self._lock:
            self._values[query or "*"] = None if value is None else float(value)

    def queries(self) -> list[str]:
        """The query texts values were set for (the series the labels and series APIs know)."""
        with self._lock:
            return [q for q in self._values if q != "*"]

    def value(self, query: str) -> float | None:
        with self._lock:
            if query in self._values:
                return self._values[query]
            return self._values.get("*")

    def control(self, request: Request, rest: list[str]) -> Response:
        if rest != ["metrics"]:
            return Response.json(404, {"error": f"no control route {request.method} {request.path}"})
        if request.method == "GET":
            with self._lock:
                return Response.json(200, dict(self._values))
        if request.method == "DELETE":
            self.reset()
            return Response(204)
        if request.method in ("PUT", "POST"):
            spec = request.json() or {}
            if not isinstance(spec, dict) or "value" not in spec:
                return Response.json(400, {"error": "body must be {\"value\": <number|null>[, \"query\": <promql>]}"})
            try:
                self.set_value(spec["value"], spec.get("query"))
            except (TypeError, ValueError) as exc:
                return Response.json(400, {"error": str(exc)})
            with self._lock:
                return Response.json(200, dict(self._values))
        return Response.json(405, {"error": f"{request.method} not allowed"})

    # -- requests ----------------------------------------------------------------------------------

    def workspace(self, host: str) -> Record | None:
        host = host.split(":")[0].lower()
        arm = lab_services.arm(self.lab)
        if arm is None:
            return None
        for record in arm.store.find(KIND):
            endpoint = ((record.body.get("properties") or {}).get("metrics") or {}).get("prometheusQueryEndpoint", "")
            if endpoint.lower().split("://", 1)[-1].rstrip("/") == host:
                return record
        return None

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        record = self.workspace(request.headers.get("Host") or "")
        if record is None:
            return Response(404, b"404 page not found\n", {"Content-Type": "text/plain"})
        if not request.path.startswith("/api/v1/"):
            return Response(404, b"404 page not found\n", {"Content-Type": "text/plain"})
        claims, problem = dataplane.bearer_claims(self.lab, request.headers.get("Authorization"), AUDIENCES)
        if claims is None:
            # Derived: the workspace refuses an absent or foreign token with 401 before any RBAC check.
            return Response.json(401, {"status": "error", "errorType": "Unauthorized",
                                       "error": "Authentication failed: the bearer token is "
                                                + ("missing." if problem == "missing" else f"not valid ({problem}).")})
        oid = str(claims.get("oid", ""))
        if not dataplane.allowed(self.lab, oid, record.id, METRICS_READ):
            resource = record.id.lower()
            return Response.json(403, {"status": "error", "errorType": "Forbidden",
                                       "error": f"User '{oid}' does not have access to perform any of the following actions "
                                                f"'{METRICS_READ}' on resource '{resource}'."})
        answer = prometheus_api.handle(self, request)
        return answer or Response(404, b"404 page not found\n", {"Content-Type": "text/plain"})
