"""The lab as a fleet of clusters (issue 28): each fleet cluster in ARM backed by an API server of its own.

A *room* is one cluster's half of the lab: a ``KubernetesService`` on its own 127.0.0.1 port (own
objects, own OIDC issuer and signing key, own kubeconfig under ``<lab dir>/fleet/<name>/``) and a lab
KEDA that watches that API server. Rooms share the lab's ARM, Entra, data planes, CA, request log,
faults and settings. One thread ticks every room's KEDA and sample app (rather than a thread per
room, and only rooms with KEDA's CRDs), so 25 rooms cost 25 listening sockets, 25 kubelet timer
threads and 25 object stores: about 1 MB each (README, "The lab as a fleet").

What a room stands for follows its ARM record (read at every call, so ARM changes show at once):
- AKS: the issuer is the room's own URL (AKS ``oidcIssuerProfile.issuerURL`` is per cluster, facts
  1.4); the add-on manager installs KEDA and the workload identity webhook into the room as it does
  into the single-cluster lab (containerservice -> ``backing_k8s``).
- Arc: KEDA is the Helm path (the roles install it); the webhook runs while the connected cluster has
  workload identity on; the API server signs with the connected cluster's effective issuer once the
  OIDC issuer is on: a fleet's Arc clusters stand for clusters whose API-server issuer step
  (roles/k3s_issuer, docs/arc.md) is done.
- AKS with ``aadProfile.managed`` and ``disableLocalAccounts``: the API server takes Microsoft Entra
  tokens for the AKS server application only (``entra_only``). "With local accounts disabled ... the
  only way to access the cluster is through Microsoft Entra ID" and the server application id is
  ``6dae42f8-4368-4678-94ff-3960e28e3630`` (learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad,
  learn.microsoft.com/azure/aks/kubelogin-authentication "--server-id"). Service account tokens are
  not local accounts and still work (pods keep running). Any other bearer gets kube-apiserver's 401
  Status (``Unauthorized``; staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go).
"""

from __future__ import annotations

import os
import ssl
import threading
import traceback
import weakref
from typing import Any

from . import ids
from . import services as lab_services
from .core import Request, Response, StreamWriter, _Handler, _Server

AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
# kubelogin sends the v1 token's audience (the app id); Entra v2 tokens for the same app carry it too.
# learn.microsoft.com/azure/aks/kubelogin-authentication; learn.microsoft.com/entra/identity-platform/access-tokens#payload-claims
ENTRA_AUDIENCES = (AKS_SERVER_APP_ID, "6dae42f8-4368-4678-94ff-3960e28e3630/")
# The single-cluster lab ticks its KEDA every 0.1 s; a room ticks every 0.25 s (each tick lists the room's
# pods), which is still well inside the lab KEDA's poll (keda_polling_cap_seconds, 1 s by default).
TICK_SECONDS = 0.25

_ROOMS: weakref.WeakKeyDictionary[Any, dict[str, Room]] = weakref.WeakKeyDictionary()
_TICKERS: weakref.WeakKeyDictionary[Any, threading.Thread] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def rooms(lab: Any) -> list[Room]:
    with _LOCK:
        return list(_ROOMS.get(lab, {}).values())


def room_for(lab: Any, rid: str) -> Room | None:
    with _LOCK:
        return _ROOMS.get(lab, {}).get(rid.lower())


def backing_k8s(lab: Any, rid: str | None = None) -> Any:
    """The API server behind the ARM cluster ``rid``: its room, else the lab's own (the seeded cluster)."""
    room = room_for(lab, rid) if rid else None
    return room.k8s if room is not None else lab.services.get("k8s")


def entra_only(properties: dict[str, Any]) -> bool:
    """AKS-managed Microsoft Entra integration with local accounts disabled (ManagedClusterAADProfile.managed,
    ManagedClusterProperties.disableLocalAccounts; azure-rest-api-specs containerservice managedClusters.json)."""
    return bool((properties.get("aadProfile") or {}).get("managed")) and bool(properties.get("disableLocalAccounts"))


def kubelogin_user(tenant_id: str) -> dict[str, Any]:
    """The kubeconfig user AKS returns for an Entra-integrated cluster: a client-go exec plugin running
    kubelogin for the AKS server application (the ``exec`` format, the default of listClusterUserCredential's
    ``format`` since 2022; Azure/kubelogin docs/book/src/concepts/aks.md, learn.microsoft.com/azure/aks/kubelogin-authentication).
    The client id is the Azure CLI's public client AKS puts there."""
    return {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP_ID,
                 "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", tenant_id, "--login", "devicecode"],
        "command": "kubelogin", "env": None,
        "installHint": "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                       "To learn more, please go to https://aka.ms/aks/kubelogin\n",
        "provideClusterInfo": False,
    }}


class _ClusterLab:
    """The lab as a room's services see it: the room's API server and KEDA under "k8s" and "keda",
    the room's directory, its kind and issuers; everything else is the shared lab."""

    def __init__(self, lab: Any, room: Room):
        self._lab = lab
        self._room = room
        self.state_dir = room.directory
        self.services: dict[str, Any] = dict(lab.services)

    def setting(self, name: str) -> Any:
        if name == "k8s_cluster":
            return self._room.kind
        if name == "service_account_issuers":
            return self._room.signing_issuers()
        return self._lab.setting(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)


def _api_server_class() -> type:
    from .k8s import KubernetesService, errors, tokens  # pylint: disable=import-outside-toplevel

    class ClusterApiServer(KubernetesService):
        """A fleet cluster's API server: its issuer path, version and webhook follow its ARM record."""

        def __init__(self, lab: Any, room: Room):
            self.room = room
            super().__init__(lab)

        @property
        def issuer_path(self) -> str:
            return f"/oidc/{ids.TENANT_ID}/{self.room.guid}/"

        def kubernetes_version(self) -> str:
            properties = self.room.properties()
            version = (properties.get("currentKubernetesVersion") or properties.get("distributionVersion")
                       or properties.get("kubernetesVersion") or "1.32.6")
            return "v" + str(version).lstrip("v")

        def _workload_identity_webhook(self) -> bool:
            if self.room.kind == "aks":
                return True
            return bool(((self.room.properties().get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled"))

        def env(self) -> dict[str, str]:
            return {}

        def handle(self, request: Request, stream: StreamWriter) -> Response | None:
            if self.room.entra_only() and not self._public_path(request.path):
                refusal = self._entra_refusal(request)
                if refusal is not None:
                    return refusal
            return self.router.handle(request, stream)

        def _public_path(self, path: str) -> bool:
            # Discovery of the issuer and the health endpoints stay anonymous (system:public-info-viewer).
            return path in ("/version", "/healthz", "/livez", "/readyz") or "/.well-known/" in path or path.endswith("/openid/v1/jwks")

        def _entra_refusal(self, request: Request) -> Response | None:
            header = request.headers.get("Authorization") or ""
            scheme, _space, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and token != ids.KUBE_ADMIN_TOKEN:
                entra = lab_services.entra(self.lab)
                claims = entra.validate_access_token(token, list(ENTRA_AUDIENCES)) if entra is not None else None
                if claims is not None:
                    # An Entra user or application: the lab's cluster-admin stands for its Azure RBAC grant.
                    request.headers.replace_header("Authorization", f"Bearer {ids.KUBE_ADMIN_TOKEN}")
                    return None
                if tokens.authenticate(self.api, token) is not None:
                    return None  # a service account token
            error = errors.ApiError(401, "Unauthorized", "Unauthorized")
            return Response.json(401, error.status)

    return ClusterApiServer


class Room:
    """One fleet cluster's API server and lab KEDA."""

    def __init__(self, lab: Any, kind: str, rid: str, name: str, guid: str):
        self.lab = lab
        self.kind = kind
        self.rid = rid
        self.name = name
        self.guid = guid
        # <lab dir>/fleet/<resource group>/<name>/kubeconfig: a path an Arc host's vars can name.
        self.directory = os.path.join(lab.state_dir, "fleet", rid.split("/")[4].lower(), name)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.view = _ClusterLab(lab, self)
        self.k8s = _api_server_class()(self.view, self)
        self.view.services["k8s"] = self.k8s
        from .keda import KedaService  # pylint: disable=import-outside-toplevel
        self.keda = KedaService(self.view)
        self.view.services["keda"] = self.keda
        self._server: _Server | None = None

    # -- what ARM says about the cluster ---------------------------------------------------------

    def record(self) -> Any:
        arm = self.lab.services.get("arm")
        return arm.store.get(self.rid) if arm is not None else None

    def properties(self) -> dict[str, Any]:
        record = self.record()
        return dict(record.body.get("properties") or {}) if record is not None else {}

    def entra_only(self) -> bool:
        return entra_only(self.properties())

    def signing_issuers(self) -> list[str]:
        """AKS: the room's own issuer. Arc: the connected cluster's effective issuer once it is on (the
        self-hosted one when set, else the Arc-hosted one), followed by the room's own."""
        if self.kind != "arc":
            return []
        profile = self.properties().get("oidcIssuerProfile") or {}
        effective = profile.get("selfHostedIssuerUrl") or profile.get("issuerUrl") if profile.get("enabled") else None
        return [effective, self.k8s.issuer_url] if effective else []

    @property
    def kubeconfig_path(self) -> str:
        return str(self.k8s.kubeconfig_path)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> Room:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.lab.pki["cert"], self.lab.pki["key"])
        handler = type(f"fleet{self.name}Handler", (_Handler,), {"service": self.k8s, "lab": self.lab})
        server = _Server(("127.0.0.1", 0), handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.k8s.url = f"https://127.0.0.1:{server.server_address[1]}"
        self._server = server
        threading.Thread(target=server.serve_forever, name=f"lab-fleet-{self.name}", daemon=True).start()
        self.k8s.started()
        self._start_keda()
        return self

    def _start_keda(self) -> None:
        # KedaService.started() without its own thread: the fleet ticker runs every room's loop.
        from .keda.metrics_api import MetricsApi  # pylint: disable=import-outside-toplevel
        from .keda.sampleapp import is_sample  # pylint: disable=import-outside-toplevel
        from .keda.webhooks import KedaWebhooks  # pylint: disable=import-outside-toplevel
        self.k8s.controllers.hold_pod = is_sample
        KedaWebhooks(self.k8s).register()
        MetricsApi(self.keda.keda).register(self.k8s)

    def tick(self) -> None:
        # Without the KEDA CRDs (no add-on, no chart yet) neither KEDA nor the sample app has work.
        if self.k8s.api.registry.by_kind("keda.sh/v1alpha1", "ScaledObject") is None:
            return
        try:
            self.keda.app.tick()
            self.keda.keda.tick()
        except Exception:  # pylint: disable=broad-except
            self.keda.last_error = traceback.format_exc()

    def install_features(self) -> None:
        """What AKS's add-on manager has running for the record's features (as containerservice does on a PUT)."""
        if self.kind != "aks":
            return
        from .azure import keda_addon, wi_webhook  # pylint: disable=import-outside-toplevel
        properties = self.properties()
        version = properties.get("kubernetesVersion")
        if ((properties.get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled"):
            keda_addon.install(self.k8s, version)
        if ((properties.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled"):
            wi_webhook.install(self.k8s, version)

    def stop(self) -> None:
        self.k8s.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def open_room(lab: Any, kind: str, rid: str, name: str, guid: str) -> Room:
    """Start the API server (and lab KEDA) of ARM cluster ``rid``; its ARM record may follow."""
    existing = room_for(lab, rid)
    if existing is not None:
        return existing
    room = Room(lab, kind, rid, name, guid).start()
    with _LOCK:
        _ROOMS.setdefault(lab, {})[rid.lower()] = room
        ticker = _TICKERS.get(lab)
        if ticker is None or not ticker.is_alive():
            ticker = threading.Thread(target=_tick_rooms, args=(weakref.ref(lab),), name="lab-fleet-keda", daemon=True)
            _TICKERS[lab] = ticker
            ticker.start()
    return room


def close_rooms(lab: Any) -> None:
    """Stop every room (a lab reset or stop): fleet clusters leave ARM with everything else."""
    with _LOCK:
        closing = list(_ROOMS.pop(lab, {}).values())
    for room in closing:
        room.stop()


def _tick_rooms(lab_ref: weakref.ref[Any]) -> None:
    while True:
        lab = lab_ref()
        if lab is None or lab.stopping.is_set():
            return
        current = rooms(lab)
        stopping = lab.stopping
        del lab
        for room in current:
            room.tick()
        if stopping.wait(TICK_SECONDS):
            return
