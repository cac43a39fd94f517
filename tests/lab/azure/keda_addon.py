"""What the AKS KEDA add-on puts into the cluster (facts 5), installed into the Kubernetes lab.

``workloadAutoScalerProfile.keda.enabled=true`` installs, in kube-system: the four keda.sh CRDs,
the ``keda-operator`` service account and the ``keda-operator``, ``keda-operator-metrics-apiserver``
and ``keda-admission-webhooks`` Deployments, the operator's pods labelled for workload identity.
The CRDs are minimal (permissive schemas): the lab checks what Kubernetes checks about kinds,
scope and names, not KEDA's admission rules.
"""

from __future__ import annotations

from typing import Any

KEDA_VERSION = "2.17.2"
NAMESPACE = "kube-system"
OPERATOR = "keda-operator"
GROUP = "keda.sh"
API_VERSION = "keda.sh/v1alpha1"
IMAGE_REPOSITORY = "mcr.microsoft.com/oss/v2/kedacore"

# kind, plural, singular, short names, scope (kedacore/keda config/crd/bases, facts 3.1)
KINDS: list[tuple[str, str, str, list[str], str]] = [
    ("ScaledObject", "scaledobjects", "scaledobject", ["so"], "Namespaced"),
    ("ScaledJob", "scaledjobs", "scaledjob", ["sj"], "Namespaced"),
    ("TriggerAuthentication", "triggerauthentications", "triggerauthentication", ["ta", "triggerauth"], "Namespaced"),
    ("ClusterTriggerAuthentication", "clustertriggerauthentications", "clustertriggerauthentication",
     ["cta", "clustertriggerauth"], "Cluster"),
]

_PRINTER_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "ScaledObject": [
        {"name": "ScaleTargetKind", "type": "string", "jsonPath": ".status.scaleTargetKind"},
        {"name": "ScaleTargetName", "type": "string", "jsonPath": ".spec.scaleTargetRef.name"},
        {"name": "Min", "type": "integer", "jsonPath": ".spec.minReplicaCount"},
        {"name": "Max", "type": "integer", "jsonPath": ".spec.maxReplicaCount"},
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
        {"name": "Active", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Active\")].status"},
    ],
    "ScaledJob": [
        {"name": "Min", "type": "integer", "jsonPath": ".spec.minReplicaCount"},
        {"name": "Max", "type": "integer", "jsonPath": ".spec.maxReplicaCount"},
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
        {"name": "Active", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Active\")].status"},
    ],
    "TriggerAuthentication": [
        {"name": "PodIdentity", "type": "string", "jsonPath": ".spec.podIdentity.provider"},
    ],
    "ClusterTriggerAuthentication": [
        {"name": "PodIdentity", "type": "string", "jsonPath": ".spec.podIdentity.provider"},
    ],
}


def _labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": OPERATOR,
        "app.kubernetes.io/version": KEDA_VERSION,
        # AKS-managed add-on objects carry these two labels.
        "addonmanager.kubernetes.io/mode": "Reconcile",
        "kubernetes.azure.com/managedby": "aks",
    }


def crd(kind: str, plural: str, singular: str, short_names: list[str], scope: str) -> dict[str, Any]:
    preserve = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    columns = _PRINTER_COLUMNS.get(kind, []) + [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": _labels(OPERATOR),
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.5"},
        },
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": singular,
                      "shortNames": list(short_names)},
            "scope": scope,
            "versions": [{
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": dict(preserve),
                        "status": dict(preserve),
                    },
                }},
            }],
        },
    }


def service_account() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": OPERATOR, "namespace": NAMESPACE, "labels": _labels(OPERATOR)},
    }


def _deployment(name: str, image: str, args: list[str], pod_labels: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(_labels(name), app=name)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": OPERATOR,
                    "automountServiceAccountToken": True,
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [{
                        "name": name,
                        "image": f"{IMAGE_REPOSITORY}/{image}:{KEDA_VERSION}",
                        "imagePullPolicy": "IfNotPresent",
                        "args": list(args),
                        "env": [
                            {"name": "WATCH_NAMESPACE", "value": ""},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            {"name": "KEDA_HTTP_DEFAULT_TIMEOUT", "value": "3000"},
                        ],
                        "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "100Mi"},
                                      "limits": {"cpu": "1", "memory": "1000Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }


def deployments() -> list[dict[str, Any]]:
    operator_pods = {
        "app": OPERATOR, "name": OPERATOR, "app.kubernetes.io/name": OPERATOR,
        "app.kubernetes.io/component": "operator", "app.kubernetes.io/part-of": OPERATOR,
        "app.kubernetes.io/version": KEDA_VERSION,
        # The add-on labels the operator's pods so the workload identity webhook mutates them (facts 5, 6).
        "azure.workload.identity/use": "true",
    }
    metrics = "keda-operator-metrics-apiserver"
    webhooks = "keda-admission-webhooks"
    return [
        _deployment(OPERATOR, "keda", ["--leader-elect", "--zap-log-level=info", "--zap-encoder=console"], operator_pods, 8080),
        _deployment(metrics, "keda-metrics-apiserver", ["--port=8080", "--secure-port=6443", "--v=0"],
                    {"app": metrics, "app.kubernetes.io/name": metrics, "app.kubernetes.io/part-of": OPERATOR,
                     "app.kubernetes.io/version": KEDA_VERSION}, 6443),
        _deployment(webhooks, "keda-admission-webhooks", ["--zap-log-level=info", "--cert-dir=/certs"],
                    {"app": webhooks, "name": webhooks, "app.kubernetes.io/name": webhooks, "app.kubernetes.io/part-of": OPERATOR,
                     "app.kubernetes.io/version": KEDA_VERSION}, 9443),
    ]


def manifests() -> list[dict[str, Any]]:
    return [crd(*kind) for kind in KINDS] + [service_account()] + deployments()


def install(k8s: Any) -> None:
    """Apply every add-on object (CRDs first, so the kinds exist before anything names them)."""
    if k8s is None:
        return
    for obj in manifests():
        k8s.apply_object(obj)


def uninstall(k8s: Any) -> None:
    """Remove the add-on: Deployments, service account, custom resources of the four kinds, then the CRDs."""
    if k8s is None:
        return
    for deployment in deployments():
        k8s.delete_object("apps/v1", "Deployment", NAMESPACE, deployment["metadata"]["name"])
    k8s.delete_object("v1", "ServiceAccount", NAMESPACE, OPERATOR)
    for kind, plural, _singular, _short, _scope in KINDS:
        for obj in k8s.list_objects(API_VERSION, kind):
            meta = obj.get("metadata", {})
            k8s.delete_object(API_VERSION, kind, meta.get("namespace"), meta.get("name"))
        k8s.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, f"{plural}.{GROUP}")
