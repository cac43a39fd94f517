"""The lab's KEDA operator and the seed's sample app, running beside the emulated cluster.

``KedaService`` owns one background thread that, every ~0.1 s, runs the servicebusdemo pods that
have started (``sampleapp``) and, while a keda-operator pod runs (add-on or Helm chart), polls every
ScaledObject and ScaledJob as KEDA does (``controller``). ``GET /state`` on its port (LAB_KEDA_URL)
shows the last error of the loop, for debugging the lab itself. On the lab's control endpoint,
``POST /services/keda/clock {"advance": <seconds>}`` moves the KEDA controller's clock forward
(cooldowns without waiting, clock.py) and answers the offset.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

from .. import services as lab_services
from ..core import Request, Response, Service, StreamWriter
from .controller import Keda
from .metrics_api import MetricsApi
from .sampleapp import SampleApp, is_sample
from .webhooks import KedaWebhooks

TICK_SECONDS = 0.1


class KedaService(Service):
    name = "keda"

    def __init__(self, lab: Any):
        super().__init__(lab)
        self.keda = Keda(lab)
        self.app = SampleApp(lab)
        self.last_error = ""
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def started(self) -> None:
        k8s = lab_services.k8s(self.lab)
        if k8s is None:
            return
        # Job pods of the sample app stay Running until the app has done its work.
        k8s.controllers.hold_pod = is_sample
        # The keda-admission-webhooks container: answers the API server's calls while its pod runs.
        KedaWebhooks(k8s).register()
        # keda-operator-metrics-apiserver: external.metrics.k8s.io/v1beta1 through the aggregator.
        MetricsApi(self.keda).register(k8s)
        self._thread = threading.Thread(target=self._run, name="lab-keda", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        self.keda.reset()
        self.app.reset()
        self.last_error = ""

    def env(self) -> dict[str, str]:
        return {"LAB_KEDA_URL": self.url}

    def _run(self) -> None:
        while not self.lab.stopping.is_set() and not self._wake.wait(TICK_SECONDS):
            try:
                self.app.tick()
                self.keda.tick()
            except Exception:  # pylint: disable=broad-except
                # The loop must survive a lab bug; the trace is visible at GET /state.
                self.last_error = traceback.format_exc()

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        if request.method == "GET" and request.path.rstrip("/") == "/state":
            return Response.json(200, {"last_error": self.last_error})
        return Response.json(404, {"error": f"no route {request.method} {request.path}"})

    def control(self, request: Request, rest: list[str]) -> Response:
        if request.method == "POST" and rest == ["clock"]:
            body = request.json() or {}
            try:
                seconds = float(body.get("advance", 0))
            except (TypeError, ValueError, AttributeError):
                return Response.json(400, {"error": "advance must be a number of seconds"})
            return Response.json(200, {"offset": self.keda.clock.advance(seconds)})
        return Response.json(404, {"error": f"no keda control route {request.method} /{'/'.join(rest)}"})
