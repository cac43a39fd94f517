# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust chain's data: what to inspect (``ChainPlan``, built from the options), the facts read once
and the checks made of them. Plain data, importable by every link's code (``_arc``'s cluster checks, the
probe, the reads, the checks, the chain) without importing the chain itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USE_LABEL = "azure.workload.identity/use"
INJECTED_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")
OPERATOR_DEPLOYMENT = "keda-operator"


@dataclass(frozen=True)
class ChainPlan:
    """What ``workload_identity_info`` inspects, from its checked options (``_trust_chain.build``)."""

    cluster_kind: str  # aks | arc
    cluster_resource_group: str | None
    cluster_name: str | None
    issuer_url: str | None
    identity_resource_group: str | None
    identity_name: str | None
    identity_client_id: str | None
    operator_namespace: str | None
    operator_service_account: str | None
    scalers: list[dict[str, str]] | None  # None: every scaler in the cluster
    trigger_auths: list[dict[str, str]]
    role_assignments: list[dict[str, str]]
    probe_token_exchange: bool
    wait_timeout: int
    fail_on_problems: bool


@dataclass
class Check:
    id: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "detail": self.detail, "fix": "" if self.ok else self.fix}


@dataclass
class Facts:
    """Everything the checks look at, read once."""

    cluster: dict[str, Any] | None = None  # the aks_cluster / connected_cluster view; None when an issuer URL was given
    cluster_kind: str = "aks"  # aks | arc (Azure Arc-enabled Kubernetes)
    token_issuer: str | None = None  # arc: the iss of a fresh operator token (what the API server signs with)
    cluster_ref: str = ""  # "-g RG -n NAME" for fixes
    issuer: str = ""
    identity: dict[str, Any] | None = None
    identity_ref: tuple[str, str] = ("", "")  # (resource group, name)
    credentials: list[dict[str, Any]] = field(default_factory=list)
    operator_namespace: str = ""
    operator_service_account: str = ""
    operator_mode: str = ""  # addon | helm | "" (given, or not found)
    operator_deployment: dict[str, Any] | None = None
    service_account: dict[str, Any] | None = None
    pods: list[dict[str, Any]] = field(default_factory=list)
    keda_installed: bool = True
    scalers: list[dict[str, Any]] = field(default_factory=list)  # ScaledObjects / ScaledJobs
    trigger_auths: dict[tuple[str, str, str], dict[str, Any] | None] = field(default_factory=dict)
    trigger_auths_elsewhere: dict[str, list[str]] = field(default_factory=dict)  # name -> namespaces
    explicit_trigger_auths: list[tuple[str, str, str]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)  # {scope, role, holds, detail}

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.operator_namespace}:{self.operator_service_account}"


def auth_refs(scaler: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of every authenticationRef in a ScaledObject / ScaledJob."""
    refs = []
    for trigger in (scaler.get("spec") or {}).get("triggers") or []:
        ref = trigger.get("authenticationRef") or {}
        if ref.get("name"):
            refs.append((ref.get("kind") or "TriggerAuthentication", ref["name"]))
    return refs
