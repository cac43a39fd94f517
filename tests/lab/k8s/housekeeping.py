"""Cluster housekeeping: each namespace's default ServiceAccount and root CA ConfigMap; CRD and APIService conditions."""

from __future__ import annotations

import copy

from .controller_base import MANAGER, ControllerBase, pod_ready, set_condition
from .options import Options

CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                  "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                  "distributions of Kubernetes clusters.")


class Housekeeping(ControllerBase):
    """The namespace, CRD and APIService controllers."""

    def _namespace(self, _cluster_scope: str, name: str) -> None:
        if self._get("", "Namespace", "", name) is None:
            return
        opts = Options(manager=MANAGER)
        if self._get("", "ServiceAccount", name, "default") is None:
            self.api.create(self._type("", "ServiceAccount"), name, {"metadata": {"name": "default"}}, opts)
        if self._get("", "ConfigMap", name, "kube-root-ca.crt") is None:
            self.api.create(self._type("", "ConfigMap"), name, {"metadata": {
                "name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": CA_DESCRIPTION}},
                "data": {"ca.crt": self.api.ca_pem()}}, opts)

    def _crd(self, _cluster_scope: str, name: str) -> None:
        crd = self._get("apiextensions.k8s.io", "CustomResourceDefinition", "", name)
        if crd is None:
            return
        spec = crd["spec"]
        status = copy.deepcopy(crd.get("status") or {})
        set_condition(status, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
        set_condition(status, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted")
        names = spec.get("names") or {}
        status["acceptedNames"] = {k: names[k] for k in ("plural", "singular", "shortNames", "kind", "listKind", "categories")
                                   if k in names}
        stored = list(status.get("storedVersions") or [])
        for version in spec.get("versions") or []:
            if version.get("storage") and version.get("name") not in stored:
                stored.append(version["name"])
        status["storedVersions"] = stored
        self._write_status("apiextensions.k8s.io", "CustomResourceDefinition", "", name, status)

    def _apiservice(self, _cluster_scope: str, name: str) -> None:
        """The Available condition as kube-aggregator's availability controllers set it.

        Reasons and messages: kubernetes/staging/src/k8s.io/kube-aggregator/pkg/controllers/status
        (local_available_controller.go, remote/remote_available_controller.go). The lab has no
        network to probe, so a service whose selected pods are Ready "passes" the discovery check.
        """
        apiservice = self._get("apiregistration.k8s.io", "APIService", "", name)
        if apiservice is None:
            return
        ref = (apiservice.get("spec") or {}).get("service")
        if not ref:
            value, reason, message = "True", "Local", "Local APIServices are always available"
        else:
            namespace, service_name = ref.get("namespace", ""), ref.get("name", "")
            service = self._get("", "Service", namespace, service_name)
            selector = ((service or {}).get("spec") or {}).get("selector") or {}
            port = ref.get("port", 443)
            port_names = [p.get("name", "") for p in ((service or {}).get("spec") or {}).get("ports") or []
                          if p.get("port") == port]
            if service is None:
                value, reason, message = "False", "ServiceNotFound", f'service/{service_name} in "{namespace}" is not present'
            elif not port_names:
                value, reason, message = ("False", "ServicePortError",
                                          f'service/{service_name} in "{namespace}" is not listening on port {port}')
            elif not selector or not any(
                    pod_ready(pod) and all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                    for pod in self.api.store.items(self._type("", "Pod").group_resource, namespace)):
                value, reason, message = ("False", "MissingEndpoints",
                                          f'endpoints for service/{service_name} in "{namespace}" have no addresses '
                                          f'with port name "{port_names[0]}"')
            else:
                value, reason, message = "True", "Passed", "all checks passed"
        status = copy.deepcopy(apiservice.get("status") or {})
        set_condition(status, "Available", value, reason, message)
        self._write_status("apiregistration.k8s.io", "APIService", "", name, status)
