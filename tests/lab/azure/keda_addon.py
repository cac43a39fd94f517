"""What the AKS KEDA add-on puts into the cluster (facts 5), installed into the Kubernetes lab.

``workloadAutoScalerProfile.keda.enabled=true`` installs, in kube-system: the four keda.sh CRDs,
the ``keda-operator`` service account and the ``keda-operator``, ``keda-operator-metrics-apiserver``
and ``keda-admission-webhooks`` Deployments, the operator's pods labelled for workload identity.
The CRDs are the ones KEDA 2.20.2 ships (kedacore/keda config/crd/bases, in
``../shared/reference/keda`` or ``$KEDA_CRD_DIR``): full OpenAPI schemas, printer columns and
validation, so the lab refuses what AKS refuses, with the API server's messages.
"""

from __future__ import annotations

import copy
import functools
import os
from typing import Any

import yaml

from ..keda import metrics_api, webhooks
from ..testing import REPO_ROOT
from . import aks_versions

# The add-on on the lab's default cluster (1.35: KEDA 2.17.2, the version the lab KEDA emulates for it); the add-on follows the cluster's minor
# (aks_versions). The CRDs installed are KEDA 2.20.2's whatever the version (the lab has no other).
KEDA_VERSION = aks_versions.keda_version(aks_versions.DEFAULT_KUBERNETES_VERSION)
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


def crd_dir() -> str:
    return os.environ.get("KEDA_CRD_DIR") or os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda")


@functools.cache
def _shipped_crd(plural: str) -> dict[str, Any]:
    with open(os.path.join(crd_dir(), f"{GROUP}_{plural}.yaml"), encoding="utf-8") as f:
        crd: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return crd


def _labels(name: str, version: str = KEDA_VERSION) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": OPERATOR,
        "app.kubernetes.io/version": version,
        # AKS-managed add-on objects carry these two labels.
        "addonmanager.kubernetes.io/mode": "Reconcile",
        "kubernetes.azure.com/managedby": "aks",
    }


def crd(kind: str, plural: str, singular: str, short_names: list[str], scope: str,
        version: str = KEDA_VERSION) -> dict[str, Any]:
    """The shipped CRD of one kind, labelled as the add-on's objects are."""
    shipped = copy.deepcopy(_shipped_crd(plural))
    names = shipped["spec"]["names"]
    assert (names["kind"], names["singular"], names.get("shortNames"), shipped["spec"]["scope"]) == \
        (kind, singular, short_names, scope), f"{plural}: the shipped CRD disagrees with KINDS"
    shipped["metadata"].setdefault("labels", {}).update(_labels(OPERATOR, version))
    return shipped


def service_account(version: str = KEDA_VERSION) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": OPERATOR, "namespace": NAMESPACE, "labels": _labels(OPERATOR, version)},
    }


def _deployment(name: str, image: str, args: list[str], pod_labels: dict[str, str], port: int,
                version: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(_labels(name, version), app=name)},
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
                        "image": f"{IMAGE_REPOSITORY}/{image}:{version}",
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


def deployments(version: str = KEDA_VERSION) -> list[dict[str, Any]]:
    operator_pods = {
        "app": OPERATOR, "name": OPERATOR, "app.kubernetes.io/name": OPERATOR,
        "app.kubernetes.io/component": "operator", "app.kubernetes.io/part-of": OPERATOR,
        "app.kubernetes.io/version": version,
        # The add-on labels the operator's pods so the workload identity webhook mutates them (facts 5, 6).
        "azure.workload.identity/use": "true",
    }
    metrics = "keda-operator-metrics-apiserver"
    webhooks = "keda-admission-webhooks"
    return [
        _deployment(OPERATOR, "keda", ["--leader-elect", "--zap-log-level=info", "--zap-encoder=console"], operator_pods, 8080, version),
        _deployment(metrics, "keda-metrics-apiserver", ["--port=8080", "--secure-port=6443", "--v=0"],
                    {"app": metrics, "app.kubernetes.io/name": metrics, "app.kubernetes.io/part-of": OPERATOR,
                     "app.kubernetes.io/version": version}, 6443, version),
        _deployment(webhooks, "keda-admission-webhooks", ["--zap-log-level=info", "--cert-dir=/certs"],
                    {"app": webhooks, "name": webhooks, "app.kubernetes.io/name": webhooks, "app.kubernetes.io/part-of": OPERATOR,
                     "app.kubernetes.io/version": version}, 9443, version),
    ]


def admission() -> list[dict[str, Any]]:
    """The Services, the ``keda-admission`` ValidatingWebhookConfiguration and the external metrics
    APIService, as KEDA's chart renders them (the add-on runs the same images behind them)."""
    metrics = "keda-operator-metrics-apiserver"
    return [webhooks.service(NAMESPACE, _labels(webhooks.WEBHOOK_SERVICE)),
            webhooks.configuration(NAMESPACE, _labels(webhooks.WEBHOOK_SERVICE)),
            metrics_api.service(NAMESPACE, _labels(metrics)), metrics_api.apiservice(NAMESPACE, _labels(metrics))]


def manifests(version: str = KEDA_VERSION) -> list[dict[str, Any]]:
    return ([crd(*kind, version=version) for kind in KINDS] + [service_account(version)] + deployments(version)
            + admission())


def install(k8s: Any, kubernetes_version: str | None = None) -> None:
    """Apply every add-on object (CRDs first, so the kinds exist before anything names them), at the
    KEDA version the cluster's Kubernetes minor gets (aks_versions)."""
    if k8s is None:
        return
    for obj in manifests(aks_versions.keda_version(kubernetes_version)):
        k8s.apply_object(obj)


def uninstall(k8s: Any) -> None:
    """Remove the add-on: Deployments, service account, custom resources of the four kinds, then the CRDs."""
    if k8s is None:
        return
    for deployment in deployments():
        k8s.delete_object("apps/v1", "Deployment", NAMESPACE, deployment["metadata"]["name"])
    k8s.delete_object("v1", "ServiceAccount", NAMESPACE, OPERATOR)
    k8s.delete_object("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", None, "keda-admission")
    k8s.delete_object("v1", "Service", NAMESPACE, webhooks.WEBHOOK_SERVICE)
    k8s.delete_object("apiregistration.k8s.io/v1", "APIService", None, f"{metrics_api.VERSION}.{metrics_api.GROUP}")
    k8s.delete_object("v1", "Service", NAMESPACE, "keda-operator-metrics-apiserver")
    for kind, plural, _singular, _short, _scope in KINDS:
        for obj in k8s.list_objects(API_VERSION, kind):
            meta = obj.get("metadata", {})
            k8s.delete_object(API_VERSION, kind, meta.get("namespace"), meta.get("name"))
        k8s.delete_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, f"{plural}.{GROUP}")
