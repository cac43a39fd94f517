"""The client of the lab's control endpoint (LAB_CONTROL_URL), shared by the tests and the benchmark.

The request log, faults, settings and reset, over HTTPS with the lab's CA. What counts as a write
is the lab's rule (``lab.core.is_write``), served as ``GET /requests?writes=1``.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.parse
import urllib.request
from typing import Any


class LabControl:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.control_url = env["LAB_CONTROL_URL"]
        self.ca_file = env["LAB_CA_FILE"]
        self._context = ssl.create_default_context(cafile=self.ca_file)

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.control_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self._context) as response:  # nosec - the lab on 127.0.0.1
            body = response.read()
        return json.loads(body) if body else None

    def requests(self, service: str | None = None, *, writes: bool = False) -> list[dict[str, Any]]:
        """The request log since the last clear (the control endpoint's own calls included unless ``writes``)."""
        query = {k: v for k, v in (("service", service), ("writes", "1" if writes else None)) if v}
        logged: list[dict[str, Any]] = self.control("GET", "/requests" + ("?" + urllib.parse.urlencode(query) if query else ""))
        return logged

    def writes(self, service: str | None = None) -> list[dict[str, Any]]:
        """Calls that change something: not Kubernetes dry runs, not token requests at Entra."""
        return self.requests(service, writes=True)

    def clear_requests(self) -> None:
        self.control("DELETE", "/requests")

    def fault(self, **spec: Any) -> None:
        self.control("POST", "/faults", spec)

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def settings(self, **values: Any) -> dict[str, Any]:
        settings: dict[str, Any] = self.control("PUT", "/settings", values)
        return settings

    def reset(self) -> None:
        self.control("POST", "/reset")

    def fleet(self, aks: int = 1, arc: int = 1, clusters: list[dict[str, Any]] | None = None,
              api_servers: bool = True) -> list[str]:
        """Stand up a fleet (lab/azure/fleet.py): the standard one of ``aks`` AKS and ``arc`` Arc clusters, or
        ``clusters``; with ``api_servers`` each one backed by its own API server. The ARM ids, in order."""
        body: dict[str, Any] = {"clusters": clusters} if clusters is not None else {"aks": aks, "arc": arc}
        body["api_servers"] = api_servers
        return [str(rid) for rid in self.control("POST", "/services/arm/fleet", body)]

    def fleet_kubeconfig(self, resource_group: str, name: str) -> str:
        """The kubeconfig (admin token) of a fleet cluster's API server: an Arc host's kubeconfig path."""
        return os.path.join(os.path.dirname(self.ca_file), "fleet", resource_group.lower(), name, "kubeconfig")
