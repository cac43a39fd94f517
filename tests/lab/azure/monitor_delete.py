"""DELETE of an Azure Monitor workspace (``Microsoft.Monitor/accounts``) and its operation, as Azure answers them.

Recorded (recordings README fact 20: azure-service-operator Test_Monitor_Account_CRUD.yaml #4-#8): 202 with an
empty body, ``Azure-AsyncOperation`` at ``/subscriptions/<s>/providers/Microsoft.Monitor/locations/<loc>/
operationResults/<id>`` and ``Location`` at ``.../locationOperationStatuses/<id>``; the Azure-AsyncOperation
URL answers 200 ``{"status":"InProgress"}`` and then ``{"status":"Succeeded"}``; the account GET is then 404
``ResourceNotFound``. The lab removes the account at once, so its operation has already succeeded. Azure also
sends ``Retry-After: 15``; the lab sends ``x-ms-retry-after-ms`` instead (azure-core reads Retry-After first
and would wait 15 s; docs/lab-fidelity.md). What the Location URL answers was not recorded: 204 once done, as
ARM's asynchronous-operation guidance has a finished delete's Location answer [inferred].
"""

from __future__ import annotations

import uuid

from .. import ids
from ..core import Response
from .context import ArmContext
from .errors import ArmError
from .store import Record

OPERATION_KIND = "microsoft.monitor/locations/operationresults"
LOCATION_KIND = "microsoft.monitor/locations/locationoperationstatuses"


def _operation_id(location: str, operation: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.Monitor/locations/{location}/operationResults/{operation}"


def delete_account(ctx: ArmContext, rid: str, version: str) -> Response:
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is None:
            return Response(204)
        location = record.body["location"]
        ctx.store.delete_tree(rid)
        operation = str(uuid.uuid4())
        ctx.store.put(Record(_operation_id(location, operation), OPERATION_KIND, {"status": "Succeeded"}))
    base = f"{ctx.service.url}/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.Monitor/locations/{location}"
    return Response(202, b"", {
        "Azure-AsyncOperation": f"{base}/operationResults/{operation}?api-version={version}",
        "Location": f"{base}/locationOperationStatuses/{operation}?api-version={version}",
        "x-ms-retry-after-ms": "100",
    })


def handle_operation(ctx: ArmContext) -> Response:
    """GET .../Microsoft.Monitor/locations/{loc}/operationResults/{id} or .../locationOperationStatuses/{id}."""
    path = ctx.path
    if ctx.method != "GET" or len(path.names) != 2 or path.resource_group:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    record = ctx.store.get(_operation_id(path.names[0].lower(), path.names[1]))
    if record is None:
        raise ArmError(404, "NotFound", f"The operation '{path.names[1]}' was not found.")
    if path.kind == LOCATION_KIND:
        return Response(204)
    return Response.json(200, dict(record.body))
