# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who we are to Azure and where Azure is: the shared auth options (``AzureAuth``, read from
module options or ``AZURE_*`` variables), the cloud's endpoints and token scope (``Cloud``), and
the azure-identity credential for the chosen auth source (only that class is imported)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import RETRY_SETTINGS, USER_AGENT, translate
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

# Environment variables read for each auth option, first match wins. The Ansible argspec's
# env fallbacks and ``AzureAuth.from_env`` both read this one table.
AUTH_ENV: dict[str, tuple[str, ...]] = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "auth_source": ("ANSIBLE_AZURE_AUTH_SOURCE",),
    "tenant": ("AZURE_TENANT_ID", "AZURE_TENANT"),
    "client_id": ("AZURE_CLIENT_ID",),
    "secret": ("AZURE_CLIENT_SECRET", "AZURE_SECRET"),
    "cloud_environment": ("AZURE_CLOUD_ENVIRONMENT",),
    "authority_host": ("AZURE_AUTHORITY_HOST",),
}
AUTH_SOURCES = ("auto", "env", "cli", "msi", "workload_identity")
FEDERATED_TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE"


# --- clouds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cloud:
    name: str
    resource_manager: str  # ARM base URL, with a trailing slash
    scope: str  # the token scope for ARM
    authority_host: str  # Entra login endpoint


KNOWN_CLOUDS = {
    "azurecloud": Cloud("AzureCloud", "https://management.azure.com/",
                        "https://management.azure.com/.default", "https://login.microsoftonline.com"),
    "azurechinacloud": Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn/",
                             "https://management.chinacloudapi.cn/.default", "https://login.chinacloudapi.cn"),
    "azureusgovernment": Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net/",
                               "https://management.core.usgovcloudapi.net/.default", "https://login.microsoftonline.us"),
}  # the scopes azure-mgmt-core's get_arm_endpoints() uses for the same clouds
# The names azure.azcollection and the Go/Python SDKs also use for the same clouds.
CLOUD_ALIASES = {"azurepubliccloud": "azurecloud", "azureusgovernmentcloud": "azureusgovernment",
                 "public": "azurecloud"}
PUBLIC_AUTHORITY_HOSTS = frozenset(c.authority_host for c in KNOWN_CLOUDS.values())
METADATA_API_VERSION = "2022-09-01"


def _strip_slash(url: str) -> str:
    return url.rstrip("/")


def cloud_from_metadata(arm_url: str, metadata: Any) -> Cloud:
    """The Cloud described by an ARM ``/metadata/endpoints`` document.

    Both shapes in use are read: a list of clouds (each with ``resourceManager`` and
    ``authentication``), and one cloud object (Azure Stack Hub, go-azure-sdk's 2022-09-01 reading)
    whose ``authentication`` describes the ARM that was asked. The ARM audience is the one naming
    the ARM host, else the first (what ``az cloud register`` uses).
    """
    entries = metadata if isinstance(metadata, list) else [metadata]
    entries = [e for e in entries if isinstance(e, dict)]
    if not entries:
        raise ValueError("no cloud in the metadata document")
    wanted = _strip_slash(arm_url).lower()
    entry = next((e for e in entries if _strip_slash(str(e.get("resourceManager", ""))).lower() == wanted), entries[0])
    auth = entry.get("authentication") or {}
    audiences = [a for a in auth.get("audiences") or [] if isinstance(a, str) and a]
    if not audiences:
        raise ValueError("the metadata document names no ARM audience")
    host = wanted.split("://", 1)[-1].split("/", 1)[0]
    audience = next((a for a in audiences if host and host in a.lower()), audiences[0])
    login = auth.get("loginEndpoint") or KNOWN_CLOUDS["azurecloud"].authority_host
    return Cloud(str(entry.get("name") or "custom"), _strip_slash(arm_url) + "/",
                 _strip_slash(audience) + "/.default", _strip_slash(login))


# --- auth ------------------------------------------------------------------------------------


@dataclass
class AzureAuth:
    """Who to authenticate as and against which cloud: the shared auth options of every Azure module."""

    subscription_id: str | None = None
    auth_source: str = "auto"
    tenant: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    cloud_environment: str | None = None
    authority_host: str | None = None
    federated_token_file: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any], environ: Mapping[str, str] | None = None) -> AzureAuth:
        environ = os.environ if environ is None else environ
        return cls(
            subscription_id=params.get("subscription_id"),
            auth_source=params.get("auth_source") or "auto",
            tenant=params.get("tenant"),
            client_id=params.get("client_id"),
            secret=params.get("secret"),
            cloud_environment=params.get("cloud_environment"),
            authority_host=params.get("authority_host"),
            federated_token_file=environ.get(FEDERATED_TOKEN_FILE_ENV) or None,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AzureAuth:
        """Auth options as the modules would read them from ``environ`` alone (tests, scripts)."""
        environ = os.environ if environ is None else environ
        params = {}
        for option, names in AUTH_ENV.items():
            params[option] = next((environ[n] for n in names if environ.get(n)), None)
        params.update(overrides)
        return cls.from_params(params, environ)

    def effective_source(self) -> str:
        """``auth_source: auto`` made concrete.

        Explicit service principal credentials win; then a federated token file (workload identity,
        e.g. AWX on AKS, where the webhook injects AZURE_FEDERATED_TOKEN_FILE); then a managed
        identity endpoint advertised in the environment (App Service, Arc, Cloud Shell); then the
        Azure CLI's login if ``az`` is installed; else the VM's managed identity (IMDS).
        """
        if self.auth_source != "auto":
            return self.auth_source
        if self.secret:
            return "env"
        if self.federated_token_file:
            return "workload_identity"
        if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
            return "msi"
        if shutil.which("az"):
            return "cli"
        return "msi"

    def missing(self) -> list[str]:
        """Options the chosen auth source needs but did not get (checked before any call)."""
        source = self.effective_source()
        needed = {"env": ("tenant", "client_id", "secret"),
                  "workload_identity": ("tenant", "client_id")}.get(source, ())
        gaps = [name for name in needed if not getattr(self, name)]
        if source == "workload_identity" and not self.federated_token_file:
            gaps.append(FEDERATED_TOKEN_FILE_ENV + " (environment)")
        return gaps


def resolve_cloud(auth: AzureAuth, transport: Any = None) -> Cloud:
    """Known cloud names map to fixed endpoints (no request). An ARM base URL is asked for its own
    endpoints at ``{arm}/metadata/endpoints`` -- the documented way to learn a custom cloud's
    token audience and login endpoint (Azure Stack Hub, ``az cloud register``). It costs one
    unauthenticated round trip per task on the connection the ARM calls then reuse (measured 3 ms
    against the lab; the TLS handshake is paid by the first ARM call either way). If the ARM does
    not serve the document, the scope falls back to the public ``https://management.azure.com/.default``,
    the default of every Azure SDK.
    """
    value = (auth.cloud_environment or "AzureCloud").strip()
    key = CLOUD_ALIASES.get(value.lower(), value.lower())
    if key in KNOWN_CLOUDS:
        cloud = KNOWN_CLOUDS[key]
    elif value.lower().startswith(("https://", "http://")):
        cloud = _discover_cloud(value, transport)
    else:
        raise OptionError(
            f"cloud_environment: {value!r} is not AzureCloud, AzureChinaCloud, AzureUSGovernment or an ARM URL")
    if auth.authority_host:
        from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import https_url
        cloud = Cloud(cloud.name, cloud.resource_manager, cloud.scope,
                      _strip_slash(https_url("authority_host", auth.authority_host)))
    return cloud


# A tenant is named by its id or one of its verified domains (contoso.onmicrosoft.com); the token URL is
# ``{authority}/{tenant}/oauth2/v2.0/token`` (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
TENANT_DOMAIN = re.compile(r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def check_identifiers(auth: AzureAuth) -> None:
    """The tenant and client id that go into Entra's URLs and requests, checked before any call."""
    from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import guid, is_guid
    if auth.tenant is not None and not (is_guid(auth.tenant) or TENANT_DOMAIN.fullmatch(auth.tenant)):
        raise OptionError(f"tenant: {auth.tenant[:100]!r} is not a tenant id (a GUID) or a tenant domain name "
                          "(contoso.onmicrosoft.com)")
    if auth.client_id is not None:
        guid("client_id", auth.client_id)


def _discover_cloud(arm_url: str, transport: Any = None) -> Cloud:
    from azure.core import PipelineClient
    from azure.core.pipeline import policies
    from azure.core.rest import HttpRequest

    client = PipelineClient(_strip_slash(arm_url), policies=[
        policies.HeadersPolicy(), policies.UserAgentPolicy(sdk_moniker=USER_AGENT),
        policies.RetryPolicy(**RETRY_SETTINGS)], transport=transport)
    fallback = Cloud("custom", _strip_slash(arm_url) + "/", KNOWN_CLOUDS["azurecloud"].scope,
                     KNOWN_CLOUDS["azurecloud"].authority_host)
    try:
        response = client.send_request(HttpRequest(
            "GET", _strip_slash(arm_url) + "/metadata/endpoints", params={"api-version": METADATA_API_VERSION}))
        if response.status_code != 200:
            return fallback
        return cloud_from_metadata(arm_url, response.json())
    except ValueError:
        return fallback
    except Exception as exc:  # pylint: disable=broad-except
        raise translate(exc, f"reading the cloud endpoints of {arm_url}") from exc


def build_credential(auth: AzureAuth, cloud: Cloud, transport: Any = None) -> Any:
    """The azure-identity credential for ``auth`` (only that class is imported); ``transport`` is the
    connection's (one session and TLS context for Entra and ARM)."""
    source = auth.effective_source()
    gaps = auth.missing()
    if gaps:
        raise OptionError(f"auth_source: {source} needs {', '.join(gaps)} (options or AZURE_* environment variables)")
    check_identifiers(auth)
    common: dict[str, Any] = dict(RETRY_SETTINGS)
    if transport is not None:
        common["transport"] = transport
    authority = cloud.authority_host
    if source == "env":
        from azure.identity import ClientSecretCredential
        # MSAL validates authorities it knows; a private cloud's (or the lab's) is not among them.
        return ClientSecretCredential(auth.tenant, auth.client_id, auth.secret, authority=authority,
                                      disable_instance_discovery=authority not in PUBLIC_AUTHORITY_HOSTS, **common)
    if source == "workload_identity":
        from azure.identity import WorkloadIdentityCredential
        return WorkloadIdentityCredential(tenant_id=auth.tenant, client_id=auth.client_id,
                                          token_file_path=auth.federated_token_file, authority=authority, **common)
    if source == "msi":
        from azure.identity import ManagedIdentityCredential
        return ManagedIdentityCredential(client_id=auth.client_id, **common) if auth.client_id \
            else ManagedIdentityCredential(**common)
    if source == "cli":
        from azure.identity import AzureCliCredential
        return AzureCliCredential(tenant_id=auth.tenant or "")
    raise OptionError(f"auth_source: {source!r} is not one of {', '.join(AUTH_SOURCES)}")


def azure_auth_argspec() -> dict[str, Any]:
    """The shared Azure auth options (the ``kedaops.aks.azure_auth`` doc fragment), each falling back to
    its ``AZURE_*`` variable."""
    from ansible.module_utils.common.parameters import env_fallback

    def env(option: str) -> tuple[Any, list[str]]:
        return (env_fallback, list(AUTH_ENV[option]))

    return {
        "subscription_id": {"type": "str", "fallback": env("subscription_id")},
        "auth_source": {"type": "str", "default": "auto", "choices": list(AUTH_SOURCES),
                        "fallback": env("auth_source")},
        "tenant": {"type": "str", "fallback": env("tenant")},
        "client_id": {"type": "str", "fallback": env("client_id")},
        "secret": {"type": "str", "no_log": True, "fallback": env("secret")},
        "cloud_environment": {"type": "str", "default": "AzureCloud", "fallback": env("cloud_environment")},
        "authority_host": {"type": "str", "fallback": env("authority_host")},
    }
