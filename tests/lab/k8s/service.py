"""``KubernetesService``: the lab's Kubernetes API server, and its API for the Azure emulator."""

from __future__ import annotations

import base64
import os
import threading
from typing import Any

import yaml

from .. import ids
from .. import services as lab_services
from ..core import Fault, Request, Response, Service, StreamWriter
from . import errors
from .aggregation import Aggregator
from .api import Api
from .controller_base import NODE_NAME
from .controllers import Controllers
from .oidc import TokenIssuer
from .options import Options
from .resources import BUILTINS, ResourceType
from .routes import Router

SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# The manager name the Azure emulator's writes carry (an AKS add-on reconciles like this).
AZURE_MANAGER = "aks-addon-manager"
PUBLIC_AUTHORITY = "https://login.microsoftonline.com/"


def builtin_type(group: str, kind: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.group == group and rt.kind == kind)


class KubernetesService(Service):
    """An AKS-like cluster's API server on 127.0.0.1, with its OIDC issuer and controllers."""

    name = "k8s"

    def __init__(self, lab: Any):
        super().__init__(lab)
        # One signing key for the life of the process: tokens stay verifiable across reset().
        self.issuer = TokenIssuer()
        self.api = Api(self.issuer, lambda: self.token_issuers[0], ids.TENANT_ID, self._authority_host, self._ca_pem)
        self.api.accepted_issuers = lambda: self.token_issuers
        self.api.workload_identity_webhook = self._workload_identity_webhook
        self.controllers = Controllers(self.api, builtin_type, lab.setting)
        self.api.controllers = self.controllers
        # Extension API servers behind APIServices (the lab KEDA's metrics server registers there).
        self.aggregator = Aggregator(self.api)
        self.router = Router(self)
        self._ca_cache = ""
        # pods/log: lines the lab's processes (lab KEDA, the sample app) write for a pod.
        self._logs: dict[tuple[str, str], list[str]] = {}
        self._logs_lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------------

    @property
    def issuer_path(self) -> str:
        return f"/oidc/{ids.TENANT_ID}/{ids.AKS_ISSUER_GUID}/"

    @property
    def issuer_url(self) -> str:
        """The cluster's OIDC issuer, like AKS's oidcIssuerProfile.issuerURL (https, trailing '/')."""
        return self.url + self.issuer_path

    @property
    def token_issuers(self) -> list[str]:
        """kube-apiserver's --service-account-issuer values: the first signs new tokens, every one is
        accepted (kubernetes/kubernetes#101155). The lab setting ``service_account_issuers`` stands for
        K3s's ``kube-apiserver-arg`` in /etc/rancher/k3s/config.yaml; by default the cluster's own issuer."""
        configured = [str(i) for i in (self.lab.setting("service_account_issuers") or []) if i]
        return configured or [self.issuer_url]

    def kubernetes_version(self) -> str:
        """The API server's gitVersion: the backing cluster's Kubernetes version as ARM reports it (the AKS
        cluster's currentKubernetesVersion, or the connected cluster's distributionVersion), so both agree."""
        from ..azure import aks_versions, connectedclusters, seed
        arm = lab_services.arm(self.lab)
        version = None
        if arm is not None and self.lab.setting("k8s_cluster") == "arc":
            cluster = connectedclusters.backing_cluster(arm) or {}
            version = cluster.get("properties", {}).get("distributionVersion") or cluster.get("properties", {}).get("kubernetesVersion")
        elif arm is not None:
            record = arm.store.get(seed.aks_id())
            version = record.body["properties"].get("currentKubernetesVersion") if record is not None else None
        return "v" + str(version or aks_versions.DEFAULT_KUBERNETES_VERSION).lstrip("v")

    def _workload_identity_webhook(self) -> bool:
        from ..azure.connectedclusters import workload_identity_webhook
        return workload_identity_webhook(lab_services.arm(self.lab))

    @property
    def api_root_issuer(self) -> str:
        # kube-apiserver also serves discovery at its root; the issuer it names is the same.
        return self.issuer_url

    @property
    def kubeconfig_path(self) -> str:
        return os.path.join(self.lab.state_dir, "kubeconfig")

    def _authority_host(self) -> str:
        entra = lab_services.entra(self.lab)
        if entra is not None and entra.url:
            return entra.url.rstrip("/") + "/"
        return PUBLIC_AUTHORITY

    def _ca_pem(self) -> str:
        if not self._ca_cache and self.lab.pki.get("ca"):
            with open(self.lab.pki["ca"], encoding="utf-8") as f:
                self._ca_cache = f.read()
        return self._ca_cache

    # -- Service hooks ---------------------------------------------------------------------------

    def handle(self, request: Request, stream: StreamWriter) -> Response | None:
        return self.router.handle(request, stream)

    def fault_response(self, fault: Fault) -> Response:
        reason = fault.code or errors.REASONS.get(fault.status, "InternalError" if fault.status >= 500 else "Unknown")
        details: dict[str, Any] = {}
        if fault.retry_after is not None:
            details["retryAfterSeconds"] = int(float(fault.retry_after))
        error = errors.ApiError(fault.status, reason, fault.message, details or None)
        return Response.json(fault.status, error.status)

    def started(self) -> None:
        self._ca_cache = ""
        self.write_kubeconfig()
        self.controllers.start()
        self.reset()

    def stop(self) -> None:
        self.controllers.stop()

    def reset(self) -> None:
        with self.api.transaction():
            self.controllers.clear()
            for gr in self.api.store.group_resources():
                for obj in self.api.store.items(gr):
                    meta = obj["metadata"]
                    self.api.store.remove(gr, meta.get("namespace", ""), meta["name"])
            self.api.registry.clear_crds()
            self.api.ownership.clear()
            with self._logs_lock:
                self._logs.clear()
            self._seed()

    def append_log(self, namespace: str, name: str, line: str) -> None:
        with self._logs_lock:
            self._logs.setdefault((namespace, name), []).append(line)

    def pod_log(self, namespace: str, name: str) -> list[str]:
        with self._logs_lock:
            return list(self._logs.get((namespace, name), []))

    def _seed(self) -> None:
        opts = Options(manager="kube-apiserver")
        for namespace in SEED_NAMESPACES:
            self.api.create(builtin_type("", "Namespace"), None, {"metadata": {"name": namespace}}, opts)
        node = self.api.create(builtin_type("", "Node"), None, {"metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "Standard_D2s_v3", "topology.kubernetes.io/region": ids.LOCATION,
            "kubernetes.azure.com/cluster": ids.AKS_NAME}}, "spec": {"providerID": f"azure:///lab/{NODE_NAME}"}}, opts)

        def ready(obj: dict[str, Any]) -> None:
            obj["status"] = {
                "addresses": [{"type": "InternalIP", "address": "10.224.0.4"}, {"type": "Hostname", "address": NODE_NAME}],
                "allocatable": {"cpu": "1900m", "memory": "5200Mi", "pods": "110"},
                "capacity": {"cpu": "2", "memory": "8100Mi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status",
                                "lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                                "lastTransitionTime": node["metadata"]["creationTimestamp"]}],
                "nodeInfo": {"kubeletVersion": self.kubernetes_version(), "kubeProxyVersion": self.kubernetes_version(),
                             "operatingSystem": "linux",
                             "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.27",
                             "osImage": "Ubuntu 22.04.5 LTS", "kernelVersion": "5.15.0-1089-azure"},
            }
        self.api.system_write(builtin_type("", "Node"), "", NODE_NAME, ready, "kubelet")

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": self.kubeconfig_path, "LAB_OIDC_ISSUER": self.issuer_url, "LAB_KUBE_URL": self.url}

    def write_kubeconfig(self) -> str:
        with open(self.lab.pki["ca"], "rb") as f:
            ca_data = base64.b64encode(f.read()).decode("ascii")
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "lab", "cluster": {"server": self.url, "certificate-authority-data": ca_data}}],
            "users": [{"name": "lab-admin", "user": {"token": ids.KUBE_ADMIN_TOKEN}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab-admin"}}],
            "current-context": "lab",
        }
        path = self.kubeconfig_path
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    # -- API for the Azure emulator ------------------------------------------------------------

    def apply_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``, or replace the existing object keeping its uid and creationTimestamp.

        Goes through the API's create/update pipeline (admission, validation, controllers), so a
        CRD registers its kinds and a Deployment gets pods. The namespace must exist, except
        ``kube-system``, which is recreated if needed. Raises ``errors.ApiError`` like the API.
        """
        rt = self.api.resolve(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        meta = dict(obj.get("metadata") or {})
        namespace = (meta.get("namespace") or "default") if rt.namespaced else None
        name = meta.get("name", "")
        opts = Options(manager=AZURE_MANAGER)
        body = dict(obj)
        body["metadata"] = {k: v for k, v in meta.items() if k not in ("resourceVersion", "uid", "creationTimestamp",
                                                                       "managedFields", "generation", "selfLink")}
        with self.api.transaction():
            namespaces = builtin_type("", "Namespace")
            if namespace == "kube-system" and self.api.find(namespaces, None, namespace) is None:
                self.api.create(namespaces, None, {"metadata": {"name": namespace}}, opts)
            existing = self.api.find(rt, namespace, name)
            if existing is None:
                return self.api.create(rt, namespace, body, opts)
            # A replace of what is there now (custom resources and CRDs require the resourceVersion).
            body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            return self.api.update(rt, namespace, name, body, opts)

    def delete_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        """Delete (with background cascading); False if the kind or the object does not exist."""
        rt = self.api.registry.by_kind(api_version, kind)
        if rt is None:
            return False
        try:
            self.api.delete(rt, namespace, name, Options(manager=AZURE_MANAGER, propagation="Background"))
        except errors.ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def get_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        rt = self.api.registry.by_kind(api_version, kind)
        if rt is None:
            return None
        with self.api.lock:
            return self.api.find(rt, namespace, name)

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        rt = self.api.registry.by_kind(api_version, kind)
        if rt is None:
            return []
        return self.api.list(rt, namespace)[0]
