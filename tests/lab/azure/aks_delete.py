"""DELETE of a managed cluster, as AKS answers it.

Managed Clusters - Delete (azure-rest-api-specs containerservice managedClusters.json: 202, 204) and the
recorded answer (recordings README fact 10: azure-cli test_aks_update_with_keda.yaml #34; ASO
Test_AKS_ManagedCluster_20251002preview_CRUD.yaml): 202 with an empty body, ``Azure-AsyncOperation`` at
``locations/<loc>/operations/<id>`` and ``Location`` at ``locations/<loc>/operationresults/<id>``; the
operation then reads ``Succeeded`` and the cluster GET answers 404 ``ResourceNotFound``. A cluster that
does not exist answers 204 (ARM's DELETE is idempotent). The lab removes the cluster at once.
"""

from __future__ import annotations

import time
import uuid

from .. import fleetk8s, ids
from ..core import Response
from . import keda_addon
from .containerservice import Operation, cluster_id
from .context import ArmContext


def delete_cluster(ctx: ArmContext, rg_name: str, name: str, version: str) -> Response:
    service = ctx.service
    rid = cluster_id(rg_name, name)
    with ctx.store.lock:
        record = ctx.store.get(rid)
        if record is None:
            return Response(204)
        location = record.body["location"]
        had_keda = bool(((record.body.get("properties") or {}).get("workloadAutoScalerProfile") or {}).get("keda", {}).get("enabled"))
        ctx.store.delete_tree(record.id)
        operation = Operation(str(uuid.uuid4()), record.id, location, 0, status="Succeeded", ended=time.time())
        service.operations.add(operation)
    if had_keda:
        keda_addon.uninstall(fleetk8s.backing_k8s(service.lab, rid))
    base = f"{service.url}/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.ContainerService/locations/{location}"
    return Response(202, b"", {
        "Azure-AsyncOperation": f"{base}/operations/{operation.id}?api-version={version}",
        "Location": f"{base}/operationresults/{operation.id}?api-version={version}",
        "x-ms-retry-after-ms": "100",
    })
