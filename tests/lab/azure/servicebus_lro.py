"""Service Bus namespace create and delete as long-running operations, by api-version, as Azure answers them.

Recorded (recordings README fact 19):
- 2024-01-01 (azure-service-operator Test_ServiceBus_Namespace_Standard_v1api20240101_CRUD.yaml #2, #3, #33-#36):
  a create answers 201 and a delete 202, both with ``Azure-AsyncOperation`` and ``Location`` at the same
  ``/subscriptions/<s>/providers/Microsoft.ServiceBus/locations/<loc>/namespaceOperationResults/<id>``, which
  answers 200 ``{"name": <id>, "status": "Running"}`` and then ``"Succeeded"``.
- 2022-10-01-preview (azure-cli test_sb_namespace.yaml #4, #45-#47): a create answers 200 with no async header
  (``provisioningState`` Created, then Activating / Succeeded on later GETs); a delete answers 202 with only a
  ``Location`` at ``/subscriptions/<s>/resourcegroups/<rg>/providers/Microsoft.ServiceBus/locations/<loc>/
  operationStatus/<name>?...&resourceType=Namespace``, which answers 202 while deleting and then 204.
Which api-version between the two switched is not recorded: the lab takes 2024-01-01 [inferred]. The lab
deletes at once, so a delete's operation has already finished.
"""

from __future__ import annotations

import uuid

from .. import ids
from ..core import Response
from . import versions
from .context import ArmContext
from .errors import ArmError
from .store import Record

ASYNC_SINCE = "2024-01-01"
RESULT_KIND = "microsoft.servicebus/locations/namespaceoperationresults"
STATUS_KIND = "microsoft.servicebus/locations/operationstatus"


def _result_id(location: str, operation: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.ServiceBus/locations/{location}/namespaceOperationResults/{operation}"


def _status_id(resource_group: str, location: str, name: str) -> str:
    return (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{resource_group.lower()}/providers/Microsoft.ServiceBus"
            f"/locations/{location}/operationStatus/{name.lower()}")


def _async_headers(ctx: ArmContext, location: str, namespace: str | None, version: str) -> dict[str, str]:
    operation = str(uuid.uuid4())
    ctx.store.put(Record(_result_id(location, operation), RESULT_KIND, {"name": operation, "namespace": namespace}))
    url = f"{ctx.service.url}{_result_id(location, operation)}?api-version={version}"
    return {"Azure-AsyncOperation": url, "Location": url, "x-ms-retry-after-ms": "100"}


def created(ctx: ArmContext, record: Record, version: str) -> Response:
    if not versions.at_least(version, ASYNC_SINCE):
        return Response.json(200, record.view())
    return Response.json(201, record.view(), _async_headers(ctx, record.body["location"], record.id, version))


def deleted(ctx: ArmContext, record: Record, version: str) -> Response:
    location = record.body["location"]
    if versions.at_least(version, ASYNC_SINCE):
        return Response(202, b"", _async_headers(ctx, location, None, version))
    group = record.id.split("/")[4]
    status_id = _status_id(group, location, record.body["name"])
    ctx.store.put(Record(status_id, STATUS_KIND, {}))
    return Response(202, b"", {"Location": f"{ctx.service.url}{status_id}?api-version={version}&resourceType=Namespace",
                               "x-ms-retry-after-ms": "100"})


def handle_result(ctx: ArmContext) -> Response:
    """GET .../locations/{loc}/namespaceOperationResults/{id}: Running while the namespace provisions, then Succeeded."""
    from .servicebus import namespace_view_polled  # pylint: disable=import-outside-toplevel
    path = ctx.path
    record = ctx.store.get(_result_id(path.names[0].lower(), path.names[-1])) if ctx.method == "GET" else None
    if record is None or path.resource_group:
        raise ArmError(404, "NotFound", f"The operation '{path.names[-1]}' was not found.")
    namespace = ctx.store.get(record.body["namespace"]) if record.body.get("namespace") else None
    running = namespace is not None and namespace_view_polled(ctx, namespace)["properties"]["provisioningState"] != "Succeeded"
    return Response.json(200, {"name": record.body["name"], "status": "Running" if running else "Succeeded"})


def handle_status(ctx: ArmContext) -> Response:
    """GET .../resourcegroups/{rg}/providers/Microsoft.ServiceBus/locations/{loc}/operationStatus/{name}: 204 once deleted."""
    path = ctx.path
    if ctx.method != "GET" or not path.resource_group or ctx.store.get(
            _status_id(path.resource_group, path.names[0].lower(), path.names[-1])) is None:
        raise ArmError(404, "NotFound", f"The operation '{path.names[-1]}' was not found.")
    return Response(204)
