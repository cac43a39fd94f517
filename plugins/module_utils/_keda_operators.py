# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KEDA operators a cluster runs, and who deployed each (kedaops.aks.keda_operator_info).

One list request: Deployments labelled ``app.kubernetes.io/name=keda-operator``, the label the
kedacore/keda chart puts on its operator (``templates/manager/deployment.yaml`` of 2.19.0 and 2.20.2 in
../shared/charts) and the AKS add-on on its own. The chart also sets ``app.kubernetes.io/managed-by`` to
``customManagedBy`` or the release service, ``Helm`` (``templates/_helpers.tpl``), and Helm 3 annotates
what it installs with ``meta.helm.sh/release-name`` / ``release-namespace``. AKS-managed add-on objects
carry ``kubernetes.azure.com/managedby: aks`` (with ``addonmanager.kubernetes.io/mode: Reconcile``), which
is how the keda_addon role has always told the add-on's KEDA from another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import DEPLOYMENT
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_rollout import service_account_name

OPERATOR_SELECTOR = "app.kubernetes.io/name=keda-operator"
AKS_MANAGED = "kubernetes.azure.com/managedby"
MANAGED_BY = "app.kubernetes.io/managed-by"
VERSION = "app.kubernetes.io/version"
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"

ARGUMENT_SPEC: dict[str, Any] = {"namespace": {"type": "str"}}


@dataclass(frozen=True)
class OperatorsPlan:
    namespace: str | None  # None: every namespace


def build(params: dict[str, Any]) -> OperatorsPlan:
    namespace = params.get("namespace")
    return OperatorsPlan(validate.dns_label("namespace", namespace) if namespace is not None else None)


def _image_tag(image: str) -> str | None:
    """The tag of ``registry/path:tag`` (not of a registry port, not a digest)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def operator(deployment: dict[str, Any]) -> dict[str, Any]:
    """What a platform engineer asks of a KEDA operator Deployment: where, whose, which version, is it up."""
    metadata = deployment.get("metadata") or {}
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    containers = (((spec.get("template") or {}).get("spec")) or {}).get("containers") or []
    main = next((c for c in containers if c.get("name") == "keda-operator"), containers[0] if containers else {})
    image = main.get("image") or ""
    add_on = labels.get(AKS_MANAGED) == "aks"
    managed_by = "aks" if add_on else labels.get(MANAGED_BY)
    release = annotations.get(RELEASE_NAME)
    return {
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "add_on": add_on,
        "managed_by": managed_by,
        "helm_release": ({"name": release, "namespace": annotations.get(RELEASE_NAMESPACE) or metadata.get("namespace")}
                         if release else None),
        "version": labels.get(VERSION) or _image_tag(image),
        "image": image or None,
        "service_account": service_account_name(deployment),
        "replicas": spec.get("replicas", 1),
        "ready_replicas": status.get("readyReplicas") or 0,
    }


def apply(connection: Connection, plan: OperatorsPlan, check_mode: bool) -> Outcome:
    deployments = connection.k8s.list(DEPLOYMENT, plan.namespace, OPERATOR_SELECTOR)
    operators = sorted((operator(d) for d in deployments), key=lambda o: (o["namespace"] or "", o["name"] or ""))
    return Outcome(False, values={"operators": operators}, diffable=False)


RESOURCE = Resource("keda_operator_info", ARGUMENT_SPEC, build, apply, k8s=True)
