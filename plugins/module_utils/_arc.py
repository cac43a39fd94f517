# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Arc-enabled Kubernetes (Microsoft.Kubernetes/connectedClusters) over plain ARM REST.

The OIDC issuer and workload identity of a connected cluster are switched the way
``az connectedk8s update --enable-oidc-issuer --enable-workload-identity`` does it
(Azure/azure-cli-extensions PR #7785): GET the cluster, change the two profiles, PUT the whole
resource back and await the long-running operation. The PATCH body (``ConnectedClusterPatch``)
cannot carry these profiles, and the PUT requires ``identity`` and
``properties.agentPublicKeyCertificate``, so both are echoed from the GET
(azure-rest-api-specs specification/hybridkubernetes/.../stable/2026-05-01/connectedClusters.json).

``build`` checks the options once (no cluster needed), ``plan`` decides on the cluster as read (both pure,
table-tested); ``ensure`` is the small ARM layer around them, ``RESOURCE`` the module's core.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import CLUSTER_OPTIONS, cluster_name
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain_model import Check, Facts

API_VERSION = "2026-05-01"
CLUSTER_TYPE = "Microsoft.Kubernetes/connectedClusters"

# Read-only in the ConnectedCluster schema: never sent back.
READ_ONLY_TOP = ("id", "name", "type", "systemData")
READ_ONLY_PROPERTIES = ("provisioningState", "agentVersion", "kubernetesVersion", "totalNodeCount", "totalCoreCount",
                        "lastConnectivityTime", "managedIdentityCertificateExpirationTime", "connectivityStatus",
                        "offering", "miscellaneousProperties")

# The ProvisioningState enum of connectedClusters.json (definitions/ProvisioningState): Succeeded, Failed
# and Canceled end an operation; Provisioning, Updating, Deleting and Accepted mean one is running (the
# recordings show "Accepted" on the PUT's answer: azure-cli-extensions test_connectedk8s.yaml). The 409
# code Arc answers to a write while another operation runs is not published, so a conflict is waited
# out only when a re-read shows one of these states, never on its code alone.
BUSY_STATES = frozenset({"Provisioning", "Updating", "Deleting", "Accepted"})
DELETING = "Deleting"
BUSY_MAX_DELAY = 30.0

# azure-cli-extensions src/connectedk8s/azext_connectedk8s/_validators.py, word for word.
OIDC_CANNOT_BE_DISABLED = "Disabling OIDC issuer is not supported."
SELF_HOSTED_NEEDS_OIDC = "Cannot specify a value for --self-hosted-issuer without --enable-oidc-issuer."
WORKLOAD_IDENTITY_NEEDS_OIDC = ("Workload identity needs the OIDC issuer: set oidc_issuer: true "
                                "(az connectedk8s update --enable-oidc-issuer --enable-workload-identity).")


def cluster_path(subscription_id: str, resource_group: str, name: str) -> str:
    return arm_resource(subscription_id, resource_group, CLUSTER_TYPE, Segment("name", cluster_name("name", name, "connected cluster")))


def _profile(cluster: dict[str, Any], key: str) -> dict[str, Any]:
    value = (cluster.get("properties") or {}).get(key)
    return value if isinstance(value, dict) else {}


def features(cluster: dict[str, Any]) -> dict[str, Any]:
    oidc = _profile(cluster, "oidcIssuerProfile")
    security = _profile(cluster, "securityProfile")
    return {
        "oidc_issuer": bool(oidc.get("enabled")),
        "workload_identity": bool((security.get("workloadIdentity") or {}).get("enabled")),
        "self_hosted_issuer_url": oidc.get("selfHostedIssuerUrl") or "",
    }


def effective_issuer(cluster: dict[str, Any]) -> str | None:
    """The issuer a federated credential must carry: ``selfHostedIssuerUrl`` when set (clusters that
    publish their own OIDC documents), else the Arc-hosted ``issuerUrl`` (the same choice as the
    azure-iot-ops CLI extension's ``issuer_key``)."""
    oidc = _profile(cluster, "oidcIssuerProfile")
    if not oidc.get("enabled"):
        return None
    return oidc.get("selfHostedIssuerUrl") or oidc.get("issuerUrl") or None


def cluster_state(cluster: dict[str, Any]) -> dict[str, Any]:
    """The module's view of a connected cluster."""
    properties = cluster.get("properties") or {}
    flags = features(cluster)
    return {
        "id": cluster.get("id"),
        "name": cluster.get("name"),
        "location": cluster.get("location"),
        "distribution": properties.get("distribution"),
        "kubernetes_version": properties.get("kubernetesVersion"),
        "connectivity_status": properties.get("connectivityStatus"),
        "oidc_issuer": flags["oidc_issuer"],
        "issuer_url": effective_issuer(cluster),
        "arc_issuer_url": _profile(cluster, "oidcIssuerProfile").get("issuerUrl"),
        "self_hosted_issuer_url": flags["self_hosted_issuer_url"] or None,
        "workload_identity": flags["workload_identity"],
        "provisioning_state": properties.get("provisioningState"),
    }


REQUESTED = ("oidc_issuer", "workload_identity", "self_hosted_issuer_url")


@dataclass(frozen=True)
class ArcPlan:
    """What a connected_cluster task asks for: the cluster and the switches given (None: leave as it is)."""

    resource_group: str
    name: str
    requested: dict[str, Any]
    timeout: float


def validate(requested: dict[str, Any]) -> None:
    """Refusals that need no cluster (before any API call), named by option; ``build`` calls it, once."""
    if requested.get("oidc_issuer") is False:
        raise OptionError("oidc_issuer: " + OIDC_CANNOT_BE_DISABLED
                          + " (the OIDC issuer of a connected cluster cannot be disabled; omit oidc_issuer or set it to true)")
    if requested.get("self_hosted_issuer_url"):
        if requested.get("oidc_issuer") is not True:
            raise OptionError("self_hosted_issuer_url: " + SELF_HOSTED_NEEDS_OIDC + " (set oidc_issuer: true)")
        url = requested["self_hosted_issuer_url"]
        if not url.startswith("https://"):
            raise OptionError(f"self_hosted_issuer_url: must be an https URL, got {url!r}")
        if url.split() != [url]:
            # Entra compares the issuer exactly; the API server would sign with the white space too.
            raise OptionError(f"self_hosted_issuer_url: {url!r} holds white space (a trailing space or newline?); "
                              "an issuer URL has none")


def plan(current: dict[str, Any], requested: dict[str, Any]) -> dict[str, Any]:
    """The changes to make ({option: new value}) to ``current``, from requested switches ``build`` has
    checked; refuses what depends on the cluster (workload identity on a cluster without the issuer)."""
    wanted = {k: v for k, v in requested.items() if v is not None and v != current.get(k)}
    if requested.get("workload_identity") and not wanted.get("oidc_issuer", current["oidc_issuer"]):
        raise OptionError("workload_identity: " + WORKLOAD_IDENTITY_NEEDS_OIDC)
    return wanted


def update_body(cluster: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The PUT body: the cluster as read (identity and agentPublicKeyCertificate included, which the
    PUT requires), minus read-only fields, with the requested profiles changed."""
    body = copy.deepcopy(cluster)
    for key in READ_ONLY_TOP:
        body.pop(key, None)
    identity = body.get("identity")
    if isinstance(identity, dict):
        body["identity"] = {"type": identity.get("type") or "SystemAssigned"}
    properties = body.setdefault("properties", {})
    for key in READ_ONLY_PROPERTIES:
        properties.pop(key, None)
    oidc = dict(properties.get("oidcIssuerProfile") or {})
    oidc.pop("issuerUrl", None)
    if "oidc_issuer" in changes:
        oidc["enabled"] = changes["oidc_issuer"]
    if "self_hosted_issuer_url" in changes:
        oidc["selfHostedIssuerUrl"] = changes["self_hosted_issuer_url"]
    if oidc:
        properties["oidcIssuerProfile"] = oidc
    if "workload_identity" in changes:
        security = dict(properties.get("securityProfile") or {})
        security["workloadIdentity"] = {**(security.get("workloadIdentity") or {}), "enabled": changes["workload_identity"]}
        properties["securityProfile"] = security
    return body


def predict(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The state check mode reports: an Arc-hosted issuer not yet assigned is null."""
    predicted = {**before, **changes}
    if "self_hosted_issuer_url" in changes:
        predicted["issuer_url"] = changes["self_hosted_issuer_url"]
    elif changes.get("oidc_issuer") and not before["arc_issuer_url"]:
        predicted["issuer_url"] = None
    return predicted


def get_cluster(conn: AzureConnection, resource_group: str, name: str) -> dict[str, Any]:
    """The connected cluster as ARM answers it; a missing one is Azure's 404 error."""
    return conn.arm().get(cluster_path(conn.subscription_id, resource_group, name), API_VERSION,
                          f"reading connected cluster {name}")


class ClusterBusy(AzureError):
    """Another operation runs on the connected cluster (a non-terminal provisioningState): waited out."""


def _state(cluster: dict[str, Any]) -> str:
    return str((cluster.get("properties") or {}).get("provisioningState") or "")


def _refuse_deleting(cluster: dict[str, Any], name: str, err: AzureError | None = None) -> None:
    if _state(cluster) == DELETING:
        raise AzureError(f"Error updating connected cluster {name}: the cluster is being deleted (provisioningState "
                         "Deleting); nothing was changed. Connect it again (az connectedk8s connect) before enabling "
                         "its features.", code=err.code if err else None, message=err.message if err else None,
                         status=err.status if err else None)


def _busy(cluster: dict[str, Any], name: str, err: AzureError | None = None) -> ClusterBusy:
    what = f"({err.code}) " if err is not None and err.code else ""
    return ClusterBusy(f"Error updating connected cluster {name}: {what}another operation is in progress "
                       f"(provisioningState {_state(cluster)}) and did not finish within the timeout",
                       code=err.code if err else None, message=err.message if err else None,
                       status=err.status if err else None)


def ensure(conn: AzureConnection, wanted: ArcPlan, check_mode: bool,
           warn: Callable[[str], None] | None = None) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """Returns (changed, before, after) as cluster states; with nothing requested this is one GET.

    Before its write the module waits (within ``timeout``, the shared backoff of ``retry_on_codes``)
    while another operation runs on the cluster (``BUSY_STATES``), then decides again on the cluster
    as that operation left it (the retry's re-plan hook); a 409 to the PUT is waited out the same way
    only when a re-read shows such a state, and fails at once otherwise. A cluster being deleted fails at once. Check mode
    does not wait: it predicts, and ``warn`` says the cluster is busy."""
    resource_group, name, requested, timeout = wanted.resource_group, wanted.name, wanted.requested, wanted.timeout
    cluster = get_cluster(conn, resource_group, name)
    before = cluster_state(cluster)
    changes = plan(features(cluster), requested)
    if any(value is not None for value in requested.values()):
        _refuse_deleting(cluster, name)  # also when nothing would change: the cluster is going away
    if not changes:
        return False, before, before
    if check_mode:
        if _state(cluster) in BUSY_STATES and warn is not None:
            warn(f"connected cluster {name}: another operation is in progress (provisioningState {_state(cluster)}); "
                 "the run would wait for it to finish before writing")
        return True, before, predict(before, changes)
    deadline = time.monotonic() + timeout
    path = cluster_path(conn.subscription_id, resource_group, name)

    def put() -> tuple[bool, dict[str, Any]]:
        if _state(cluster) in BUSY_STATES:
            raise _busy(cluster, name)  # the first read: wait before writing
        try:
            return True, conn.arm().put_and_wait(
                path, API_VERSION, update_body(cluster, changes), f"updating connected cluster {name}",
                max(1.0, deadline - time.monotonic()))
        except AzureError as err:
            if err.status != 409:
                raise
            now = get_cluster(conn, resource_group, name)
            _refuse_deleting(now, name, err)
            if _state(now) in BUSY_STATES:
                raise _busy(now, name, err) from err
            raise

    def replan() -> tuple[bool, dict[str, Any]] | None:
        nonlocal cluster, changes
        cluster = get_cluster(conn, resource_group, name)
        _refuse_deleting(cluster, name)
        if _state(cluster) in BUSY_STATES:
            raise _busy(cluster, name)  # still busy: wait again
        changes = plan(features(cluster), requested)
        return None if changes else (False, cluster)  # nothing left: the other operation did it

    wrote, updated = retry_on_codes(put, frozenset(), timeout, max_delay=BUSY_MAX_DELAY,
                                    transient=lambda err: isinstance(err, ClusterBusy), replan=replan)
    if not wrote:
        return False, cluster_state(updated), cluster_state(updated)
    return True, before, cluster_state(updated)


ARGUMENT_SPEC: dict[str, Any] = {
    **CLUSTER_OPTIONS,
    "self_hosted_issuer_url": {"type": "str"},
    "timeout": {"type": "int", "default": 1800},
}


def build(params: dict[str, Any]) -> ArcPlan:
    """The task's plan; every refusal that needs no cluster, before anything is sent."""
    cluster_name("name", params["name"], "connected cluster")
    requested = {option: params[option] for option in REQUESTED}
    validate(requested)
    return ArcPlan(params["resource_group"], params["name"], requested, params["timeout"])


def apply(connection: Connection, wanted: ArcPlan, check_mode: bool) -> Outcome:
    warnings: list[str] = []
    changed, before, after = ensure(connection.azure, wanted, check_mode, warn=warnings.append)
    computed = ("issuer_url", "oidc_issuer_url") if check_mode else ()  # known after apply
    return Outcome(changed, before, after, warnings=warnings, computed=computed, values={"cluster": after})


RESOURCE = Resource("connected_cluster", ARGUMENT_SPEC, build, apply, azure=True)


# --- the connected cluster's links of the trust chain (``_trust_chain.evaluate`` asks for them) ---


def cluster_checks(facts: Facts) -> list[Check]:
    """A connected cluster: its two switches, and the Arc-only link, the API server signing service
    account tokens with the connected cluster's issuer (MicrosoftDocs azure-arc/kubernetes/
    workload-identity.md: kube-apiserver --service-account-issuer, for K3s in /etc/rancher/k3s/config.yaml)."""
    cluster = facts.cluster or {}
    update = f"az connectedk8s update {facts.cluster_ref}"
    checks = [
        Check("oidc_issuer", bool(cluster.get("oidc_issuer") and facts.issuer),
              f"OIDC issuer {'enabled: ' + facts.issuer if facts.issuer else 'disabled'}",
              f"kedaops.aks.connected_cluster with oidc_issuer: true ({update} --enable-oidc-issuer)"),
        Check("workload_identity", bool(cluster.get("workload_identity")),
              f"workload identity webhook {'enabled' if cluster.get('workload_identity') else 'disabled'}",
              f"kedaops.aks.connected_cluster with workload_identity: true ({update} --enable-workload-identity)"),
    ]
    if facts.token_issuer is not None and facts.issuer:
        ok = facts.token_issuer == facts.issuer
        detail = (f"the API server signs service account tokens with the connected cluster's issuer {facts.issuer}" if ok else
                  f"the API server signs service account tokens with iss {facts.token_issuer!r}, not the connected cluster's "
                  f"issuer {facts.issuer!r}: Entra matches no federated credential (AADSTS70021)")
        checks.append(Check("api_server_issuer", ok, detail, k3s_fix(facts.issuer)))
    return checks


def k3s_fix(issuer: str) -> str:
    return (f"on the cluster's server nodes, the kedaops.aks.k3s_issuer role with k3s_issuer_url={issuer} "
            f"(/etc/rancher/k3s/config.yaml: kube-apiserver-arg service-account-issuer={issuer} first, the previous issuer "
            "kept as a second service-account-issuer, service-account-max-token-expiration=24h; then systemctl restart k3s), "
            "and restart the KEDA operator so its token is reissued")
