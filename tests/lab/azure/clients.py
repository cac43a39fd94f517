"""Real Azure SDK clients pointed at the lab, for tests (imports the SDKs; the lab itself never does).

Everything is built from the lab's env (``.lab/env.sh`` or ``LabHandle.env``) so the same code works
against an in-process lab and one started with ``make lab-up``.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, Callable

from .. import ids

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.identity import ClientAssertionCredential, ClientSecretCredential
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.msi import ManagedServiceIdentityClient

ARM_SCOPE = "https://management.azure.com/.default"


def credential(env: dict[str, str], client_id: str | None = None, secret: str | None = None) -> ClientSecretCredential:
    from azure.identity import ClientSecretCredential
    return ClientSecretCredential(
        env["AZURE_TENANT_ID"], client_id or env["AZURE_CLIENT_ID"], secret or env["AZURE_CLIENT_SECRET"],
        authority=env["AZURE_AUTHORITY_HOST"], disable_instance_discovery=True, connection_verify=env["LAB_CA_FILE"],
    )


def assertion_credential(env: dict[str, str], client_id: str, assertion: Callable[[], str]) -> ClientAssertionCredential:
    from azure.identity import ClientAssertionCredential
    return ClientAssertionCredential(env["AZURE_TENANT_ID"], client_id, assertion, authority=env["AZURE_AUTHORITY_HOST"],
                                     connection_verify=env["LAB_CA_FILE"])


def _arm_kwargs(env: dict[str, str]) -> dict[str, Any]:
    return {"base_url": env["AZURE_CLOUD_ENVIRONMENT"], "credential_scopes": [ARM_SCOPE], "connection_verify": env["LAB_CA_FILE"]}


def msi_client(env: dict[str, str], cred: TokenCredential | None = None) -> ManagedServiceIdentityClient:
    from azure.mgmt.msi import ManagedServiceIdentityClient
    return ManagedServiceIdentityClient(cred or credential(env), env["AZURE_SUBSCRIPTION_ID"], **_arm_kwargs(env))


def authorization_client(env: dict[str, str], cred: TokenCredential | None = None) -> AuthorizationManagementClient:
    from azure.mgmt.authorization import AuthorizationManagementClient
    return AuthorizationManagementClient(cred or credential(env), env["AZURE_SUBSCRIPTION_ID"], **_arm_kwargs(env))


def containerservice_client(env: dict[str, str], cred: TokenCredential | None = None) -> ContainerServiceClient:
    from azure.mgmt.containerservice import ContainerServiceClient
    return ContainerServiceClient(cred or credential(env), env["AZURE_SUBSCRIPTION_ID"], **_arm_kwargs(env))


class RawResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    @property
    def error_code(self) -> str | None:
        payload = self.json()
        return payload.get("error", {}).get("code") if isinstance(payload, dict) else None


def http(env: dict[str, str], method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> RawResponse:
    """One HTTPS request trusting the lab CA; errors come back as responses, not exceptions."""
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    merged = {"Content-Type": "application/json"} if data is not None else {}
    merged.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=merged)
    context = ssl.create_default_context(cafile=env["LAB_CA_FILE"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return RawResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return RawResponse(exc.code, dict(exc.headers), exc.read())


def arm_token(env: dict[str, str], scope: str = ARM_SCOPE) -> str:
    token: str = credential(env).get_token(scope).token
    return token


def arm(env: dict[str, str], method: str, path: str, body: Any = None, api_version: str | None = "2024-11-30",
        token: str | None = None, headers: dict[str, str] | None = None) -> RawResponse:
    """A raw ARM call as the automation SP (``path`` may carry its own query)."""
    url = env["AZURE_CLOUD_ENVIRONMENT"] + path
    if api_version:
        url += ("&" if "?" in url else "?") + "api-version=" + api_version
    merged = {"Authorization": "Bearer " + (token or arm_token(env))}
    merged.update(headers or {})
    return http(env, method, url, body, merged)


def group_path(resource_group: str = ids.RESOURCE_GROUP) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{resource_group}"


def identity_path(name: str, resource_group: str = ids.RESOURCE_GROUP) -> str:
    return f"{group_path(resource_group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
