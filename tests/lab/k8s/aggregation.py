"""API aggregation: group versions an APIService hands to an extension API server.

What kube-aggregator does (k8s.io/kube-aggregator pkg/apiserver, v1.32):
- every APIService names a group version; one with ``spec.service`` is served by that service,
  and its group appears in ``/apis`` (apis.go, the discovery of aggregated groups) whether the
  service is up or not;
- a request under ``/apis/<group>/<version>`` is proxied while the APIService's ``Available``
  condition is True (handler_proxy.go); otherwise the answer is ``503 service unavailable``
  (plain text, ``proxyError``). ``Available`` is kept by the lab's APIService controller
  (controllers.py, from the aggregator's availability checks).

The lab runs the extension servers in process: ``register`` binds a group version to a handler
(the lab KEDA's metrics server answers external.metrics.k8s.io/v1beta1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..core import Request, Response

if TYPE_CHECKING:
    from .api import Api

APISERVICES = ("apiregistration.k8s.io", "apiservices")
# (request, the path parts after /apis/<group>/<version>, the authenticated user) -> Response
Backend = Callable[[Request, list[str], dict[str, Any]], Response]


def _available(apiservice: dict[str, Any]) -> bool:
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (apiservice.get("status") or {}).get("conditions") or [])


class Aggregator:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.backends: dict[tuple[str, str], Backend] = {}

    def register(self, group: str, version: str, backend: Backend) -> None:
        self.backends[(group, version)] = backend

    def _apiservices(self) -> list[dict[str, Any]]:
        return [s for s in self.api.store.items(APISERVICES) if (s.get("spec") or {}).get("service")]

    def groups(self) -> list[dict[str, Any]]:
        """Aggregated groups for ``/apis`` (APIGroup entries without kind/apiVersion)."""
        versions: dict[str, list[str]] = {}
        for service in sorted(self._apiservices(), key=lambda s: -int((s.get("spec") or {}).get("groupPriorityMinimum") or 0)):
            spec = service["spec"]
            versions.setdefault(spec.get("group", ""), []).append(spec.get("version", ""))
        out = []
        for group, listed in versions.items():
            entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in listed]
            out.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
        return out

    def group(self, name: str) -> dict[str, Any] | None:
        entry = next((g for g in self.groups() if g["name"] == name), None)
        return None if entry is None else {"kind": "APIGroup", "apiVersion": "v1", **entry}

    def serve(self, request: Request, group: str, version: str, rest: list[str], user: dict[str, Any]) -> Response | None:
        """The proxied answer for /apis/<group>/<version>/..., or None when no APIService claims it."""
        service = next((s for s in self._apiservices()
                        if s["spec"].get("group") == group and s["spec"].get("version") == version), None)
        if service is None:
            return None
        backend = self.backends.get((group, version))
        if not _available(service) or backend is None:
            return Response(503, b"service unavailable\n", {"Content-Type": "text/plain; charset=utf-8",
                                                            "X-Content-Type-Options": "nosniff"})
        return backend(request, rest, user)
