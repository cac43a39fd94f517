"""Another operation on a connected cluster, started by a test: the cluster reads a non-terminal
``provisioningState`` for the next N GETs, and a write meanwhile is refused with a 409, as ARM
refuses a second write while one runs.

The states are the ``ProvisioningState`` enum of Azure/azure-rest-api-specs
``specification/hybridkubernetes/resource-manager/Microsoft.Kubernetes/HybridKubernetes/stable/2026-05-01/
connectedClusters.json`` (Succeeded, Failed, Canceled end an operation; Provisioning, Updating,
Deleting, Accepted mean one runs); "Accepted" is what a running operation reads in the recordings
(azure-cli-extensions test_connectedk8s.yaml, the PUT's answer and the GET during connect). When the
other operation ends the cluster reads ``Succeeded`` again, or, for ``Deleting``, is gone (a GET
answers 404, as after ``az connectedk8s delete``).

Control: ``POST {LAB_CONTROL_URL}/services/arm/connected-clusters/operation`` with
``{"name": <cluster>, "resource_group": <group>, "state": "Updating", "reads": N, "after_reads": K}``:
the operation starts after K more GETs of the cluster (0: at once) and lasts N GETs.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .. import ids
from ..core import Request, Response
from .connectedclusters import cluster_id

if TYPE_CHECKING:
    from .arm import ArmService
    from .store import Record

# connectedClusters.json definitions/ProvisioningState: the states an operation runs in.
BUSY_STATES = ("Provisioning", "Updating", "Deleting", "Accepted")


def control(service: ArmService, request: Request, rest: list[str]) -> Response:
    if rest != ["operation"] or request.method != "POST":
        return Response.json(404, {"error": f"no control route {request.method} {request.path}"})
    spec = request.json() or {}
    if not isinstance(spec, dict):
        return Response.json(400, {"error": "body must be an object"})
    state = spec.get("state", "Updating")
    if state not in BUSY_STATES:
        return Response.json(400, {"error": f"state must be one of {', '.join(BUSY_STATES)}"})
    try:
        reads, after = int(spec.get("reads", 1)), int(spec.get("after_reads", 0))
    except (TypeError, ValueError) as exc:
        return Response.json(400, {"error": str(exc)})
    if reads < 1 or after < 0:
        return Response.json(400, {"error": "reads must be at least 1 and after_reads at least 0"})
    rid = cluster_id(spec.get("resource_group") or ids.RESOURCE_GROUP, spec.get("name") or "")
    with service.store.lock:
        record = service.store.get(rid)
        if record is None:
            return Response.json(404, {"error": f"no connected cluster {rid}"})
        record.meta["busy"] = {"state": state, "reads": reads, "after": after}
        if after == 0:
            _begin(record)
    return Response.json(201, {"id": rid, "state": state, "reads": reads, "after_reads": after})


def _begin(record: Record) -> None:
    busy = record.meta["busy"]
    record.body["properties"]["provisioningState"] = busy["state"]
    # What connectedclusters._put checks to refuse a second write while one runs.
    busy["operation"] = {"id": str(uuid.uuid4()), "status": "Deleting" if busy["state"] == "Deleting" else "Accepted"}
    record.meta["operation"] = busy["operation"]


def after_read(service: ArmService, record: Record) -> None:
    """Count a GET of the cluster (under the store lock): start or end the other operation."""
    busy: dict[str, Any] | None = record.meta.get("busy")
    if busy is None:
        return
    if "operation" not in busy:
        busy["after"] -= 1
        if busy["after"] <= 0:
            _begin(record)
        return
    busy["reads"] -= 1
    if busy["reads"] > 0:
        return
    record.meta["busy"] = None
    if record.meta.get("operation") is busy["operation"]:
        record.meta["operation"] = None
    if busy["state"] == "Deleting":
        service.store.delete(record.id)
    else:
        record.body["properties"]["provisioningState"] = "Succeeded"
