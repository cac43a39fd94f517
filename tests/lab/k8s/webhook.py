"""Pod admission: the ServiceAccount admission plugin, then the Azure Workload Identity webhook.

Both run only when a pod is created (admission on CREATE), so a pod never changes after the fact:
annotating a service account affects only pods created later, which is why a rollout restart is
needed.

ServiceAccount plugin (plugin/pkg/admission/serviceaccount): defaults ``serviceAccountName`` to
``default``, rejects pods whose service account does not exist (403, the message ReplicaSets
report as FailedCreate), and mounts the ``kube-api-access-*`` projected token volume.

Workload identity webhook (Azure/azure-workload-identity pkg/webhook, objectSelector
``azure.workload.identity/use: "true"`` on the *pod*): for every container and init container not
listed in ``azure.workload.identity/skip-containers`` it appends, each only when not already set
and not empty, AZURE_CLIENT_ID (SA annotation ``.../client-id``), AZURE_TENANT_ID (SA annotation
``.../tenant-id``, else the cluster's tenant), AZURE_FEDERATED_TOKEN_FILE and
AZURE_AUTHORITY_HOST, mounts the projected ``azure-identity-token`` volume (audience
api://AzureADTokenExchange, expiry from the pod or SA annotation, default 3600 s).
"""

from __future__ import annotations

from typing import Any, Callable

from . import errors
from .store import random_suffix

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID = "azure.workload.identity/client-id"
TENANT_ID = "azure.workload.identity/tenant-id"
TOKEN_EXPIRATION = "azure.workload.identity/service-account-token-expiration"
SKIP_CONTAINERS = "azure.workload.identity/skip-containers"

TOKEN_MOUNT_PATH = "/var/run/secrets/azure/tokens"
TOKEN_FILE_NAME = "azure-identity-token"
TOKEN_VOLUME = "azure-identity-token"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
MIN_EXPIRATION, MAX_EXPIRATION, DEFAULT_EXPIRATION = 3600, 86400, 3600
WEBHOOK_NAME = "mutation.azure-workload-identity.io"


def service_account_admission(pod: dict[str, Any], namespace: str,
                              get_sa: Callable[[str, str], dict[str, Any] | None]) -> dict[str, Any]:
    """Returns the service account; mutates pod. Raises 403 if the account does not exist."""
    spec = pod.setdefault("spec", {})
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name
    account = get_sa(namespace, name)
    if account is None:
        meta = pod.get("metadata") or {}
        pod_name = meta.get("name") or meta.get("generateName") or ""
        raise errors.forbidden("pods", "", pod_name,
                               f"error looking up service account {namespace}/{name}: serviceaccount \"{name}\" not found")
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = account.get("automountServiceAccountToken", True)
    volumes = spec.setdefault("volumes", [])
    if automount is not False and not any(str(v.get("name", "")).startswith("kube-api-access-") for v in volumes):
        volume_name = f"kube-api-access-{random_suffix()}"
        volumes.append({"name": volume_name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "metadata.namespace"}}]}},
        ]}})
        for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
            mounts = container.setdefault("volumeMounts", [])
            if not any(m.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount" for m in mounts):
                mounts.append({"name": volume_name, "readOnly": True,
                               "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    if not volumes:
        spec.pop("volumes")
    return account


def _expiration(pod: dict[str, Any], account: dict[str, Any]) -> int:
    pod_annotations = (pod.get("metadata") or {}).get("annotations") or {}
    sa_annotations = (account.get("metadata") or {}).get("annotations") or {}
    raw = pod_annotations.get(TOKEN_EXPIRATION) or sa_annotations.get(TOKEN_EXPIRATION)
    if not raw:
        return DEFAULT_EXPIRATION
    try:
        value = int(raw)
    except ValueError as exc:
        raise errors.bad_request(f'admission webhook "{WEBHOOK_NAME}" denied the request: '
                                 f'strconv.ParseInt: parsing "{raw}": invalid syntax') from exc
    if not MIN_EXPIRATION <= value <= MAX_EXPIRATION:
        raise errors.bad_request(f'admission webhook "{WEBHOOK_NAME}" denied the request: token expiration {value} not '
                                 f"valid. Expected value to be between {MIN_EXPIRATION} and {MAX_EXPIRATION}")
    return value


def workload_identity_mutation(pod: dict[str, Any], account: dict[str, Any], default_tenant: str,
                               authority_host: str) -> None:
    """Mutate pod in place, as the webhook would at pod creation."""
    meta = pod.get("metadata") or {}
    if (meta.get("labels") or {}).get(USE_LABEL) != "true":
        return
    sa_annotations = (account.get("metadata") or {}).get("annotations") or {}
    client_id = sa_annotations.get(CLIENT_ID, "")
    tenant_id = sa_annotations.get(TENANT_ID) or default_tenant
    expiration = _expiration(pod, account)
    skip = {c.strip() for c in ((meta.get("annotations") or {}).get(SKIP_CONTAINERS) or "").split(";") if c.strip()}
    spec = pod.setdefault("spec", {})
    token_file = f"{TOKEN_MOUNT_PATH}/{TOKEN_FILE_NAME}"
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if container.get("name") in skip:
                continue
            env = container.setdefault("env", [])
            present = {item.get("name") for item in env}
            for name, value in (("AZURE_CLIENT_ID", client_id), ("AZURE_TENANT_ID", tenant_id),
                                ("AZURE_FEDERATED_TOKEN_FILE", token_file), ("AZURE_AUTHORITY_HOST", authority_host)):
                if name not in present and value:
                    env.append({"name": name, "value": value})
            mounts = container.setdefault("volumeMounts", [])
            if not any(m.get("name") == TOKEN_VOLUME for m in mounts):
                mounts.append({"name": TOKEN_VOLUME, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH})
    volumes = spec.setdefault("volumes", [])
    if not any(v.get("name") == TOKEN_VOLUME for v in volumes):
        volumes.append({"name": TOKEN_VOLUME, "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
            "audience": EXCHANGE_AUDIENCE, "expirationSeconds": expiration, "path": TOKEN_FILE_NAME}}]}})
