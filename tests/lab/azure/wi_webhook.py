"""What enabling workload identity on an AKS cluster puts into kube-system: the AKS-managed Azure
Workload Identity webhook (``securityProfile.workloadIdentity.enabled``; reference/azure-keda-facts.md §5-6).

Objects and fields as Azure/azure-workload-identity ``deploy/azure-wi-webhook.yaml`` (v1.x) names them,
in kube-system with AKS's managed-by labels: ConfigMap ``azure-wi-webhook-config`` (``AZURE_TENANT_ID``,
``AZURE_ENVIRONMENT``), ServiceAccount ``azure-wi-webhook-admin``, Service ``azure-wi-webhook-webhook-service``
(443 → 9443), Deployment ``azure-wi-webhook-controller-manager`` (2 replicas, image
``mcr.microsoft.com/oss/v2/azure/workload-identity/webhook:<version per minor>``), and the
MutatingWebhookConfiguration ``azure-wi-webhook-mutating-webhook-configuration`` whose webhook
``mutation.azure-workload-identity.io`` selects pods labelled ``azure.workload.identity/use: "true"``
(``failurePolicy: Fail``, ``reinvocationPolicy: IfNeeded``, CREATE of pods). The pod mutation itself is
the lab's (k8s/webhook.py); these objects are what ``kubectl get`` shows.
"""

from __future__ import annotations

from typing import Any

from .. import ids
from . import aks_versions

NAMESPACE = "kube-system"
PREFIX = "azure-wi-webhook"
LABELS = {"azure-workload-identity.io/system": "true", "kubernetes.azure.com/managedby": "aks",
          "addonmanager.kubernetes.io/mode": "Reconcile"}


def _meta(name: str, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespaced:
        meta["namespace"] = NAMESPACE
    return meta


def manifests(kubernetes_version: str | None) -> list[dict[str, Any]]:
    selector = {"azure-workload-identity.io/system": "true"}
    image = f"mcr.microsoft.com/oss/v2/azure/workload-identity/webhook:{aks_versions.webhook_version(kubernetes_version)}"
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{PREFIX}-config"),
         "data": {"AZURE_ENVIRONMENT": "AzurePublicCloud", "AZURE_TENANT_ID": ids.TENANT_ID}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(f"{PREFIX}-admin")},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(f"{PREFIX}-webhook-service"),
         "spec": {"ports": [{"port": 443, "targetPort": 9443}], "selector": dict(selector)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(f"{PREFIX}-controller-manager"),
         "spec": {"replicas": 2, "selector": {"matchLabels": dict(selector)}, "template": {
             "metadata": {"labels": dict(selector)},
             "spec": {"serviceAccountName": f"{PREFIX}-admin", "priorityClassName": "system-cluster-critical",
                      "nodeSelector": {"kubernetes.io/os": "linux"},
                      "containers": [{"name": "manager", "image": image, "command": ["/manager"],
                                      "args": ["--arc-cluster=false"],
                                      "envFrom": [{"configMapRef": {"name": f"{PREFIX}-config"}}],
                                      "ports": [{"containerPort": 9443, "name": "webhook-server", "protocol": "TCP"},
                                                {"containerPort": 8095, "name": "metrics", "protocol": "TCP"},
                                                {"containerPort": 9440, "name": "healthz", "protocol": "TCP"}]}]}}}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": _meta(f"{PREFIX}-mutating-webhook-configuration", namespaced=False),
         "webhooks": [{"name": "mutation.azure-workload-identity.io", "admissionReviewVersions": ["v1", "v1beta1"],
                       "clientConfig": {"service": {"name": f"{PREFIX}-webhook-service", "namespace": NAMESPACE,
                                                    "path": "/mutate-v1-pod"}},
                       "failurePolicy": "Fail", "matchPolicy": "Equivalent", "reinvocationPolicy": "IfNeeded",
                       "objectSelector": {"matchLabels": {"azure.workload.identity/use": "true"}},
                       "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
                       "sideEffects": "None", "timeoutSeconds": 10}]},
    ]


def install(k8s: Any, kubernetes_version: str | None) -> None:
    if k8s is None:
        return
    for obj in manifests(kubernetes_version):
        k8s.apply_object(obj)


def uninstall(k8s: Any) -> None:
    if k8s is None:
        return
    for obj in reversed(manifests(None)):
        meta = obj["metadata"]
        k8s.delete_object(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
