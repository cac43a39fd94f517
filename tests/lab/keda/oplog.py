"""The keda-operator's log as ``kubectl logs`` shows it: zap console lines (reference/keda-behaviour.md §7,
kedacore/keda ``cmd/operator/main.go`` with the chart's ``--zap-encoder=console --zap-time-encoding=rfc3339``):
``<RFC3339>\\t<LEVEL>\\t<logger>\\t<message>\\t<JSON fields>``; an ERROR line is followed by a Go stack trace
(``--zap-devel`` false → stack traces from level error). Reconciler lines carry no logger name.
"""

from __future__ import annotations

import json
import time
from typing import Any

# Where the lines of each ERROR's stack trace point (function, file:line at v2.20.2).
_STACKS = {
    "scale_handler": ("github.com/kedacore/keda/v2/pkg/scaling.(*scaleHandler).getScaledObjectState",
                      "/workspace/pkg/scaling/scale_handler.go:1019"),
    "prometheus_scaler": ("github.com/kedacore/keda/v2/pkg/scalers.(*prometheusScaler).GetMetricsAndActivity",
                          "/workspace/pkg/scalers/prometheus_scaler.go:313"),
    "azure_servicebus_scaler": ("github.com/kedacore/keda/v2/pkg/scalers.(*azureServiceBusScaler).GetMetricsAndActivity",
                                "/workspace/pkg/scalers/azure_servicebus_scaler.go:283"),
    "": ("sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller).reconcileHandler",
         "/workspace/vendor/sigs.k8s.io/controller-runtime/pkg/internal/controller/controller.go:353"),
}


def line(level: str, logger: str, message: str, fields: dict[str, Any] | None = None) -> list[str]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    parts = [stamp, level]
    if logger:
        parts.append(logger)
    parts.append(message)
    if fields:
        parts.append(json.dumps(fields))
    lines = ["\t".join(parts)]
    if level == "ERROR":
        function, where = _STACKS.get(logger, _STACKS[""])
        lines.extend([function, "\t" + where])
    return lines
