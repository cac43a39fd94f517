"""The lab's HTTP plumbing: HTTPS servers, the request log, fault injection, settings.

Each emulated service (Kubernetes API, ARM, Entra) is a ``Service`` bound to its own
127.0.0.1 port. The ``Lab`` owns what they share: the CA, the request log, the faults,
the tunable settings, and the control endpoint that exposes them to tests.
"""

from __future__ import annotations

import json
import os
import re
import select
import ssl
import threading
import time
import urllib.parse
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, cast

from . import tls
from .writes import is_write

DEFAULT_SETTINGS: dict[str, Any] = {
    # The latency model (issue 19): milliseconds added to every request of that service before it is
    # answered (LATENCY_SETTING maps services to these). 0 = loopback speed; docs/performance.md's
    # realistic profile is ARM 100, Entra 50, Kubernetes 5.
    "latency_ms_arm": 0, "latency_ms_entra": 0, "latency_ms_k8s": 0, "latency_ms_dataplane": 0,
    # Entra: seconds before a new federated credential is honoured by the token endpoint. "A few
    # seconds" as on Azure (AKS workload-identity-overview.md), so every run goes through the roles'
    # wait path; tests about other things set 0.
    "fic_propagation_seconds": 3.0,
    # Authorization: seconds during which a new principal is unknown (PrincipalNotFound).
    "principal_replication_seconds": 0.0,
    # ManagedIdentity: how long a federated credential write holds the identity; two writes
    # that overlap inside this window get the documented 409.
    "fic_write_seconds": 0.05,
    # ContainerService: how many polls a long-running managedClusters PUT stays InProgress.
    "aks_lro_polls": 1,
    # Kubernetes: seconds a Deployment controller waits before reporting pods ready.
    "pod_ready_seconds": 0.0,
    # Which ARM cluster the Kubernetes API stands for: "aks" or "arc" (the seeded connected cluster,
    # whose workload identity flag then switches the webhook; azure/connectedclusters.py).
    "k8s_cluster": "aks",
    # kube-apiserver --service-account-issuer values (first signs, all are accepted); empty = the
    # lab's own issuer. Setting it is the lab's "edit /etc/rancher/k3s/config.yaml and restart k3s".
    "service_account_issuers": [],
    # Microsoft.Kubernetes: how many polls a long-running connectedClusters PUT stays InProgress.
    "arc_lro_polls": 1,
    # ServiceBus: how many GETs a new namespace reads provisioningState Activating before Succeeded
    # (0: the create's 201 already reads Succeeded).
    "servicebus_lro_polls": 1,
    # Azure RBAC on the data planes: seconds before a new role assignment is honoured.
    "rbac_propagation_seconds": 0.0,
    # Lab KEDA: the longest a poll waits. KEDA polls every spec.pollingInterval (default 30 s); the lab
    # polls at min(pollingInterval, this) so tests and the demo do not wait 30 s. null = follow the spec.
    "keda_polling_cap_seconds": 1.0,
    # ARM: how many items a list answers per page before its nextLink (0 = all in one page). The
    # service picks its page size; tests set a small one to see clients follow nextLink (azure/fleet.py).
    "arm_list_page_size": 0,
}


# Which latency setting a service pays: ARM; Entra (tokens, discovery) and Microsoft Graph, the
# directory behind it; the cluster's API server; every other service is a data plane (the chart
# repository, the event sources). The control endpoint answers at once.
LATENCY_SETTING = {"arm": "latency_ms_arm", "entra": "latency_ms_entra", "graph": "latency_ms_entra",
                   "k8s": "latency_ms_k8s", "control": ""}


# Requests the lab's own in-cluster actors make (the lab KEDA, the sample app) carry this header; the
# request log keeps them but GET /requests shows them only when asked (?actor=<name> or ?actor=*),
# so tests that count what a module sent are not disturbed by KEDA polling in the background.
ACTOR_HEADER = "X-Lab-Actor"


class Request:
    """One parsed HTTP request as a service sees it."""

    def __init__(self, method: str, target: str, headers: Message, body: bytes) -> None:
        parsed = urllib.parse.urlsplit(target)
        self.method = method
        self.target = target
        self.path = urllib.parse.unquote(parsed.path)
        self.raw_path = parsed.path
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


class Response:
    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return cls(status, json.dumps(payload).encode("utf-8"), merged)


class Fault:
    """A rule that makes the next matching requests fail (``times`` of them)."""

    def __init__(self, spec: dict[str, Any]):
        self.service = spec.get("service")
        self.method = (spec.get("method") or "").upper() or None
        self.path = re.compile(spec.get("path") or ".*")
        self.status = int(spec.get("status", 500))
        self.code = spec.get("code") or spec.get("reason")
        self.message = spec.get("message") or "injected fault"
        self.times = int(spec.get("times", 1))
        self.retry_after = spec.get("retry_after")
        self.delay = float(spec.get("delay", 0))

    def matches(self, service: str, request: Request) -> bool:
        if self.service and self.service != service:
            return False
        if self.method and self.method != request.method:
            return False
        return bool(self.path.search(request.target))

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "method": self.method, "path": self.path.pattern,
            "status": self.status, "code": self.code, "message": self.message,
            "times": self.times, "retry_after": self.retry_after,
        }


class Service:
    """Base of an emulated service. Subclasses implement ``handle``."""

    name = "service"

    def __init__(self, lab: Lab):
        self.lab = lab
        self.url = ""  # https://127.0.0.1:PORT, set when the server is bound

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        """Answer one request. Return None only after answering through ``stream``."""
        raise NotImplementedError

    def fault_response(self, fault: Fault) -> Response:
        return Response.json(fault.status, {"code": fault.code, "message": fault.message})

    def started(self) -> None:
        """Called once every service has its URL (cross-service wiring goes here)."""

    def reset(self) -> None:
        """Forget everything and seed again."""

    def env(self) -> dict[str, str]:
        """Variables this service adds to .lab/env.sh."""
        return {}

    def stop(self) -> None:
        """Stop background threads."""


class StreamWriter:
    """Chunked responses for long-lived requests (Kubernetes watch)."""

    def __init__(self, handler: _Handler):
        self._handler = handler
        self.started = False
        self.status = 0

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.started = True
        self.status = status
        h = self._handler
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()

    def write(self, data: bytes) -> None:
        if not data:
            return
        w = self._handler.wfile
        w.write(b"%x\r\n%s\r\n" % (len(data), data))
        w.flush()

    def end(self) -> None:
        w = self._handler.wfile
        w.write(b"0\r\n\r\n")
        w.flush()

    @property
    def closed(self) -> bool:
        return self._handler.lab.stopping.is_set()

    @property
    def peer_closed(self) -> bool:
        """True once the client has hung up (a long watch should stop then, not at its timeout).

        While a response streams the client sends nothing, so a readable socket means EOF.
        """
        try:
            readable, _writable, _errored = select.select([self._handler.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this every response on a kept-alive connection waits ~40 ms (Nagle + delayed ACK).
    disable_nagle_algorithm = True
    service: Service
    lab: Lab

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body)
        self.lab.delay(self.service.name)
        stream = StreamWriter(self)
        response = self.lab.intercept(self.service, request)
        if response is None:
            try:
                response = self.service.handle(request, stream)
            except Exception as exc:  # pylint: disable=broad-except
                # A bug in the emulator must look like a server error, not a dropped socket.
                self.lab.record(self.service.name, request, 500, error=repr(exc))
                response = Response.json(500, {"error": "lab internal error", "detail": repr(exc)})
                self._send(response)
                raise
        status = stream.status if response is None else response.status
        self.lab.record(self.service.name, request, status)
        if response is not None:
            self._send(response)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: Response) -> None:
        body = b"" if self.command == "HEAD" else response.body
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Lab:
    """All services of the lab, their shared state, and the control endpoint."""

    def __init__(self, state_dir: str, service_factories: list[Callable[[Lab], Service]] | None = None,
                 extra_env: dict[str, str] | None = None):
        self.state_dir = os.path.abspath(state_dir)
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.extra_env = dict(extra_env or {})
        self.pki: dict[str, str] = {}
        self.services: dict[str, Service] = {}
        for factory in service_factories if service_factories is not None else default_services():
            service = factory(self)
            self.services[service.name] = service
        self.control = ControlService(self)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # -- shared state -------------------------------------------------------------------

    def record(self, service: str, request: Request, status: int, error: str | None = None) -> None:
        entry = {
            "service": service, "method": request.method, "path": request.target,
            "status": status, "time": time.time(),
        }
        actor = request.headers.get(ACTOR_HEADER)
        if actor:
            entry["actor"] = actor
        if error:
            entry["error"] = error
        with self.lock:
            self.requests.append(entry)

    def intercept(self, service: Service, request: Request) -> Response | None:
        """Apply the first matching fault, if any."""
        if service is self.control:
            return None
        with self.lock:
            fault = next((f for f in self.faults if f.matches(service.name, request)), None)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
        if fault.delay:
            time.sleep(fault.delay)
        response = service.fault_response(fault)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    def setting(self, name: str) -> Any:
        with self.lock:
            return self.settings[name]

    def service(self, name: str) -> Service:
        return self.services[name]

    def delay(self, service: str) -> None:
        """Sleep the latency the settings give ``service`` (per request, before it is answered)."""
        setting = LATENCY_SETTING.get(service, "latency_ms_dataplane")
        milliseconds = float(self.setting(setting) or 0) if setting else 0.0
        if milliseconds > 0:
            time.sleep(milliseconds / 1000.0)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Lab:
        self.pki = tls.create_pki(self.state_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki["cert"], self.pki["key"])
        for service in list(self.services.values()) + [self.control]:
            handler = type(f"{service.name}Handler", (_Handler,), {"service": service, "lab": self})
            server = _Server(("127.0.0.1", 0), handler)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            service.url = f"https://127.0.0.1:{server.server_address[1]}"
            thread = threading.Thread(target=server.serve_forever, name=f"lab-{service.name}", daemon=True)
            self._servers.append(server)
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        for service in self.services.values():
            service.started()
        self.write_env()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for service in self.services.values():
            service.stop()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.settings = dict(DEFAULT_SETTINGS)
        for service in self.services.values():
            service.reset()

    def env(self) -> dict[str, str]:
        variables = {
            "LAB_CONTROL_URL": self.control.url,
            "LAB_CA_FILE": self.pki["ca"],
            "REQUESTS_CA_BUNDLE": self.pki["bundle"],
            "SSL_CERT_FILE": self.pki["bundle"],
        }
        for service in self.services.values():
            variables.update(service.env())
        variables.update(self.extra_env)
        return variables

    def write_env(self) -> str:
        path = os.path.join(self.state_dir, "env.sh")
        lines = ["# Written by the kedaops lab at start; source it to talk to the lab."]
        for key, value in sorted(self.env().items()):
            lines.append(f"export {key}={_shell_quote(value)}")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
        return path


def _shell_quote(value: str) -> str:
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


class ControlService(Service):
    """LAB_CONTROL_URL: the request log, faults, settings and reset for tests."""

    name = "control"

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        lab = self.lab
        route = (request.method, request.path.rstrip("/") or "/")
        if route == ("GET", "/requests"):
            service = request.arg("service")
            since = float(request.arg("since", "0") or 0)
            writes = request.arg("writes", "") in ("1", "true")
            actor = request.arg("actor")
            with lab.lock:
                entries = [e for e in lab.requests
                           if (not service or e["service"] == service) and e["time"] >= since
                           and (not writes or is_write(e))
                           and (actor == "*" or e.get("actor") == actor)]
            return Response.json(200, entries)
        if route == ("DELETE", "/requests"):
            with lab.lock:
                lab.requests.clear()
            return Response(204)
        if route == ("POST", "/faults"):
            specs = request.json()
            specs = specs if isinstance(specs, list) else [specs]
            try:
                faults = [Fault(spec) for spec in specs]
            except (TypeError, ValueError, re.error) as exc:
                return Response.json(400, {"error": str(exc)})
            with lab.lock:
                lab.faults.extend(faults)
            return Response.json(201, [f.as_dict() for f in faults])
        if route == ("GET", "/faults"):
            with lab.lock:
                return Response.json(200, [f.as_dict() for f in lab.faults])
        if route == ("DELETE", "/faults"):
            with lab.lock:
                lab.faults.clear()
            return Response(204)
        if route == ("GET", "/settings"):
            with lab.lock:
                return Response.json(200, dict(lab.settings))
        if route in (("PUT", "/settings"), ("PATCH", "/settings")):
            update = request.json() or {}
            unknown = sorted(set(update) - set(DEFAULT_SETTINGS))
            if unknown:
                return Response.json(400, {"error": f"unknown settings: {', '.join(unknown)}"})
            with lab.lock:
                lab.settings.update(update)
                return Response.json(200, dict(lab.settings))
        if route == ("POST", "/reset"):
            lab.reset()
            return Response(204)
        if route == ("GET", "/healthz"):
            return Response(200, b"ok", {"Content-Type": "text/plain"})
        if route == ("GET", "/env"):
            return Response.json(200, lab.env())
        parts = [p for p in request.path.split("/") if p]
        control = getattr(lab.services.get(parts[1]), "control", None) if len(parts) >= 2 and parts[0] == "services" else None
        if control is not None:  # a service's own control routes (e.g. /services/prometheus/metrics)
            return cast("Response | None", control(request, parts[2:]))
        return Response.json(404, {"error": f"no control route {request.method} {request.path}"})


def default_services() -> list[Callable[[Lab], Service]]:
    """The full lab: Kubernetes API, then Azure (which links to Kubernetes at start), the chart repository."""
    from .azure import ArmService, EntraService, GraphService, PrometheusService, ServiceBusDataService
    from .chartrepo import ChartRepoService
    from .k8s import KubernetesService
    from .keda import KedaService
    return [KubernetesService, ArmService, EntraService, GraphService, ChartRepoService, ServiceBusDataService,
            PrometheusService, KedaService]
