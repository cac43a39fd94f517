"""The lab KEDA's metrics server (keda-operator-metrics-apiserver) behind ``v1beta1.external.metrics.k8s.io``.

What ``kubectl get --raw /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=
scaledobject.keda.sh/name=<so>`` gets (keda-docs "Troubleshooting": the documented way to see
what the HPA sees), from kedacore/keda v2.20.2:
- discovery of the group version: one namespaced resource ``externalmetrics`` of kind
  ExternalMetricValueList, verb ``get`` (sigs.k8s.io/custom-metrics-apiserver
  pkg/apiserver/installer, external metrics);
- ``pkg/provider/provider.go`` GetExternalMetric: the ScaledObject's name from the label selector
  (else ``scaledObject name is not specified``), then the operator's gRPC metrics service
  (``timeout while waiting to establish gRPC connection to KEDA Metrics Service server`` when no
  operator runs);
- ``pkg/metricsservice/server.go`` GetMetrics wraps errors as ``error when getting metric values
  <err>``, and ``pkg/scaling/scale_handler.go`` GetScaledObjectMetrics answers ``metric:<name>
  encountered error`` for a failing scaler and ``no matching metrics found for <name>`` for a name
  none of the triggers has; the error crosses gRPC (``rpc error: code = Unknown desc = ...``) and
  the metrics server answers it as a 500 Status.
- a value is a resource.Quantity (milli-units when not whole, ``scaler.go`` quantityFromFloat64).
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..core import Request, Response
from ..k8s import errors as k8s_errors
from . import azure

GROUP, VERSION = "external.metrics.k8s.io", "v1beta1"
SO_LABEL = "scaledobject.keda.sh/name"
GRPC_TIMEOUT = "timeout while waiting to establish gRPC connection to KEDA Metrics Service server"


def _json(code: int, payload: Any) -> Response:
    return Response(code, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _error(error: k8s_errors.ApiError) -> Response:
    return _json(error.code, error.status)


class MetricsApi:
    """Registered on the cluster's aggregator for external.metrics.k8s.io/v1beta1."""

    def __init__(self, keda: Any):
        self.keda = keda

    def register(self, k8s: Any) -> None:
        k8s.aggregator.register(GROUP, VERSION, self.serve)

    def serve(self, request: Request, rest: list[str], _user: dict[str, Any]) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _error(k8s_errors.ApiError(405, "MethodNotAllowed",
                                              "the server does not allow this method on the requested resource"))
        if not rest:
            return _json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/{VERSION}",
                               "resources": [{"name": "externalmetrics", "singularName": "", "namespaced": True,
                                              "kind": "ExternalMetricValueList", "verbs": ["get"]}]})
        if len(rest) != 3 or rest[0] != "namespaces":
            return _error(k8s_errors.resource_not_found())
        namespace, metric = rest[1], rest[2]
        # labels.ConvertSelectorToLabelsMap: "k=v" (or "k==v") pairs.
        pairs = [p.replace("==", "=").partition("=") for p in (request.arg("labelSelector") or "").split(",")]
        name = next((v.strip() for k, _eq, v in pairs if k.strip() == SO_LABEL), "")
        try:
            items = self._metrics(namespace, name, metric)
        except k8s_errors.ApiError as exc:
            return _error(exc)
        return _json(200, {"kind": "ExternalMetricValueList", "apiVersion": f"{GROUP}/{VERSION}", "metadata": {},
                           "items": items})

    def _metrics(self, namespace: str, name: str, metric: str) -> list[dict[str, Any]]:
        if not name:
            raise k8s_errors.internal("scaledObject name is not specified")
        keda = self.keda
        operator = keda.operator_pod()
        if operator is None:
            raise k8s_errors.internal(GRPC_TIMEOUT)
        wrap = "rpc error: code = Unknown desc = error when getting metric values "
        so = keda._find("keda.sh/v1alpha1", "ScaledObject", namespace, name)
        if so is None:
            raise k8s_errors.internal(f'{wrap}error getting scalers scaledobjects.keda.sh "{name}" not found')
        fields = {"type": "ScaledObject", "namespace": namespace, "name": name}
        try:
            scalers = keda._build(operator, so, fields)
        except azure.ScalerError as exc:
            raise k8s_errors.internal(f"{wrap}error getting scalers {exc}") from exc
        scaler = next((s for s in scalers if s["metric"] == metric), None)
        if scaler is None:
            raise k8s_errors.internal(f"{wrap}no matching metrics found for {metric}")
        try:
            value = keda._measure(operator, so, scaler, fields)
        except azure.ScalerError as exc:
            raise k8s_errors.internal(f"{wrap}metric:{metric} encountered error") from exc
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return [{"metricName": metric, "metricLabels": None, "timestamp": stamp, "value": azure.milli(value)}]


def service(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """The metrics server's Service (kedacore/charts keda/templates/metrics-server/service.yaml@v2.20.2)."""
    name = "keda-operator-metrics-apiserver"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels, **{"app.kubernetes.io/name": name})},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443, "protocol": "TCP", "appProtocol": "https"}],
                     "selector": {"app": name}}}


def apiservice(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    """``v1beta1.external.metrics.k8s.io`` (kedacore/charts keda/templates/metrics-server/apiservice.yaml@v2.20.2)."""
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": f"{VERSION}.{GROUP}", "labels": dict(labels, **{"app.kubernetes.io/name": f"{VERSION}.{GROUP}"})},
            "spec": {"service": {"name": "keda-operator-metrics-apiserver", "namespace": namespace, "port": 443},
                     "group": GROUP, "version": VERSION, "insecureSkipTLSVerify": True,
                     "groupPriorityMinimum": 100, "versionPriority": 100}}
