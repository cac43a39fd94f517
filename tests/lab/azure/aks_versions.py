"""Which versions an AKS cluster runs: its Kubernetes version (the API server's /version says the same),
and the managed add-ons' versions per Kubernetes minor.

From azure-aks-docs ``articles/aks/supported-kubernetes-versions.md`` "AKS managed add-ons"
(reference/azure-keda-facts.md §5): KEDA 1.29/1.30 → 2.11.2, 1.31/1.32 → 2.14.1, 1.33 → 2.16.1,
1.35 → 2.17.2, 1.36 → 2.19.0; the workload identity webhook 1.29/1.30 → v1.2.0, 1.31/1.32 → v1.3.0,
1.33 → v1.5.0, 1.35/1.36 → v1.5.1. The table lists no 1.34 row: the lab assumes 1.33's versions there.
A test chooses the version through ARM, as on AKS: create or upgrade the cluster with
``properties.kubernetesVersion``; the add-ons follow the new minor.
"""

from __future__ import annotations

DEFAULT_KUBERNETES_VERSION = "1.35.2"
_ADDONS = {29: ("2.11.2", "v1.2.0"), 30: ("2.11.2", "v1.2.0"), 31: ("2.14.1", "v1.3.0"), 32: ("2.14.1", "v1.3.0"),
           33: ("2.16.1", "v1.5.0"), 34: ("2.16.1", "v1.5.0"), 35: ("2.17.2", "v1.5.1"), 36: ("2.19.0", "v1.5.1")}


def minor_of(version: str | None) -> int:
    parts = (version or DEFAULT_KUBERNETES_VERSION).lstrip("v").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 35


def _addons(version: str | None) -> tuple[str, str]:
    minor = minor_of(version)
    return _ADDONS.get(minor) or (_ADDONS[min(_ADDONS)] if minor < min(_ADDONS) else _ADDONS[max(_ADDONS)])


def keda_version(kubernetes_version: str | None) -> str:
    return _addons(kubernetes_version)[0]


def webhook_version(kubernetes_version: str | None) -> str:
    return _addons(kubernetes_version)[1]
