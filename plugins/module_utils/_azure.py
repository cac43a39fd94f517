# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one small Azure layer: who we are (credential), where Azure is (cloud
endpoints and token scope), how we talk to it (clients sharing one retry policy), and what a
failure looks like (``AzureError``, keeping Azure's error code and message).

Nothing here imports Ansible, and every Azure SDK import is late: a module that runs pays only
for the credential class and the client it actually uses (start-up time is most of a no-op run).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")

USER_AGENT = "kedaops.aks"

# The collection's one retry policy for transient failures (azure-core's RetryPolicy, used by
# every client and the credential): 429 and 408/500/502/503/504 are retried with exponential
# backoff, and any error response carrying Retry-After waits exactly that long. Bounded: six
# attempts, no single wait over 60 s. Conflicts (409) are deliberately not in the list -- they
# mean different things per API (RoleAssignmentExists is a 409 too) and are handled by code
# below, in ``retry_on_codes``, only where a specific code is known to be transient.
RETRY_SETTINGS: dict[str, Any] = {
    "retry_total": 5,
    "retry_connect": 3,
    "retry_read": 3,
    "retry_status": 5,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 60,
}
# azure-core retries only idempotent methods on 5xx without Retry-After; PATCH of tags is
# idempotent too (it states the whole tag map), POST is not used for writes here.
RETRY_METHODS = frozenset(["HEAD", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])

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


class AzureError(Exception):
    """A failed Azure call (or a refused request), with Azure's error code, message and HTTP status."""

    def __init__(self, msg: str, code: str | None = None, message: str | None = None,
                 status: int | None = None):
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.message = message if message is not None else msg
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "status": self.status}


class AzureValidationError(ValueError):
    """Input that cannot work, found before any call to Azure. The message names the option and the rule."""


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
    def from_params(cls, params: dict[str, Any], environ: dict[str, str] | None = None) -> "AzureAuth":
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
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "AzureAuth":
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
        raise AzureValidationError(
            f"cloud_environment: {value!r} is not AzureCloud, AzureChinaCloud, AzureUSGovernment or an ARM URL")
    if auth.authority_host:
        cloud = Cloud(cloud.name, cloud.resource_manager, cloud.scope, _strip_slash(auth.authority_host))
    return cloud


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


def build_credential(auth: AzureAuth, cloud: Cloud) -> Any:
    """The azure-identity credential for ``auth`` (only that class is imported)."""
    source = auth.effective_source()
    gaps = auth.missing()
    if gaps:
        raise AzureValidationError(f"auth_source {source} needs {', '.join(gaps)} (options or AZURE_* environment variables)")
    common: dict[str, Any] = dict(RETRY_SETTINGS)
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
    raise AzureValidationError(f"auth_source: {source!r} is not one of {', '.join(AUTH_SOURCES)}")


# --- errors ----------------------------------------------------------------------------------


def error_body(response: Any) -> tuple[str | None, str | None]:
    """(code, message) from an ARM error body: ``{"error": {"code", "message"}}`` or the bare pair."""
    try:
        body = response.json()
    except Exception:  # pylint: disable=broad-except
        try:
            text = response.text()
        except Exception:  # pylint: disable=broad-except
            text = None
        return None, text or None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return inner.get("code"), inner.get("message")
    return None, None


def translate(exc: BaseException, action: str) -> AzureError:
    """An azure-core / azure-identity exception as an ``AzureError`` naming what we were doing."""
    if isinstance(exc, AzureError):
        return exc
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, HttpResponseError):
        code = message = None
        error = getattr(exc, "error", None)
        if error is not None:
            code, message = getattr(error, "code", None), getattr(error, "message", None)
        if code is None and exc.response is not None:
            code, message = error_body(exc.response)
        status = exc.status_code if exc.status_code is not None else getattr(exc.response, "status_code", None)
        message = message or exc.message or str(exc)
        if isinstance(exc, ClientAuthenticationError) and status is None:
            code = code or "AuthenticationFailed"
        label = f"({code}) " if code else ""
        return AzureError(f"Error {action}: {label}{message}", code=code, message=message, status=status)
    return AzureError(f"Error {action}: {exc}", code=type(exc).__name__, message=str(exc))


@contextlib.contextmanager
def azure_errors(action: str) -> Iterator[None]:
    """Turn any Azure SDK failure inside the block into an ``AzureError`` (code and message kept)."""
    try:
        yield
    except AzureError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        if type(exc).__module__.startswith(("azure.", "msal", "requests", "urllib3")):
            raise translate(exc, action) from exc
        raise


def retry_on_codes(call: Callable[[], T], codes: set[str] | frozenset[str], timeout: float, *,
                   first_delay: float = 1.0, max_delay: float = 15.0,
                   on_retry: Callable[[AzureError, float], None] | None = None) -> T:
    """Call ``call`` again while it fails with one of ``codes``, for at most ``timeout`` seconds.

    Only for errors known to be transient for *this* operation (a concurrent-write 409, a principal
    not yet replicated); the transport-level retry policy has already had its turn at each attempt.
    Waits grow exponentially with "equal jitter" (half fixed, half random) so that forks that
    collided do not collide again in step.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            return call()
        except AzureError as err:
            remaining = deadline - time.monotonic()
            if err.code not in codes or remaining <= 0:
                raise
            ceiling = min(max_delay, first_delay * (2 ** attempt))
            delay = min(remaining, ceiling / 2 + random.uniform(0, ceiling / 2))
            if on_retry:
                on_retry(err, delay)
            time.sleep(delay)
            attempt += 1


# --- connection ------------------------------------------------------------------------------


class AzureConnection:
    """Credential, cloud and clients for one module run, each built on first use and shared."""

    def __init__(self, auth: AzureAuth):
        self.auth = auth
        self._cloud: Cloud | None = None
        self._credential: Any = None
        self._transport: Any = None
        self._clients: dict[str, Any] = {}

    @property
    def subscription_id(self) -> str:
        if not self.auth.subscription_id:
            raise AzureValidationError("subscription_id is required (option or AZURE_SUBSCRIPTION_ID)")
        return self.auth.subscription_id

    @property
    def transport(self) -> Any:
        # One requests session for every ARM call of the run: one TLS handshake, kept alive.
        # RequestsTransport trusts the environment, so REQUESTS_CA_BUNDLE and proxies apply.
        if self._transport is None:
            from azure.core.pipeline.transport import RequestsTransport
            self._transport = RequestsTransport()
        return self._transport

    @property
    def cloud(self) -> Cloud:
        if self._cloud is None:
            self._cloud = resolve_cloud(self.auth, self.transport)
        return self._cloud

    @property
    def credential(self) -> Any:
        if self._credential is None:
            self._credential = build_credential(self.auth, self.cloud)
        return self._credential

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every management client gets: endpoint, scope, transport, retry policy."""
        options: dict[str, Any] = dict(RETRY_SETTINGS)
        options.update(base_url=self.cloud.resource_manager, credential_scopes=[self.cloud.scope],
                       transport=self.transport, user_agent=USER_AGENT)
        return options

    def msi(self) -> Any:
        """ManagedServiceIdentityClient pinned to api-version 2024-11-30 (stable, with federated credentials)."""
        if "msi" not in self._clients:
            from azure.mgmt.msi.v2024_11_30 import ManagedServiceIdentityClient
            self._clients["msi"] = ManagedServiceIdentityClient(self.credential, self.subscription_id,
                                                                **self.client_options())
        return self._clients["msi"]

    def authorization(self, subscription_id: str | None = None) -> Any:
        """AuthorizationManagementClient pinned to api-version 2022-04-01 (role assignments and definitions)."""
        key = "authorization:" + (subscription_id or "")
        if key not in self._clients:
            from azure.mgmt.authorization.v2022_04_01 import AuthorizationManagementClient
            self._clients[key] = AuthorizationManagementClient(
                self.credential, subscription_id or self.auth.subscription_id or "00000000-0000-0000-0000-000000000000",
                **self.client_options())
        return self._clients[key]

    def arm(self) -> "ArmClient":
        """Plain ARM requests (no SDK package): resource groups, managed clusters."""
        if "arm" not in self._clients:
            self._clients["arm"] = ArmClient(self)
        return self._clients["arm"]


class ArmClient:
    """Raw ARM REST over azure-mgmt-core's pipeline: the same authentication, retry policy and
    error translation as the SDK clients, for resources whose SDK is too heavy to import."""

    def __init__(self, connection: AzureConnection):
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import (ARMAutoResourceProviderRegistrationPolicy,
                                              ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy)

        self.connection = connection
        cloud = connection.cloud
        # The policies, in order, of every generated management client (the same retry policy too).
        self.pipeline_client = ARMPipelineClient(base_url=cloud.resource_manager, transport=connection.transport, policies=[
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(sdk_moniker=USER_AGENT),
            policies.ProxyPolicy(),
            policies.ContentDecodePolicy(),
            ARMAutoResourceProviderRegistrationPolicy(),
            policies.RedirectPolicy(),
            policies.RetryPolicy(**RETRY_SETTINGS),
            ARMChallengeAuthenticationPolicy(connection.credential, cloud.scope),
            policies.SensitiveHeaderCleanupPolicy(),
            ARMHttpLoggingPolicy(),
        ])

    def _request(self, method: str, path: str, api_version: str, body: Any = None) -> Any:
        from azure.core.rest import HttpRequest
        kwargs: dict[str, Any] = {"params": {"api-version": api_version}}
        if body is not None:
            kwargs["json"] = body
        return HttpRequest(method, self.pipeline_client.format_url(path), **kwargs)

    def _raise_for(self, response: Any, action: str) -> None:
        if response.status_code < 400:
            return
        code, message = error_body(response)
        message = message or f"HTTP {response.status_code}"
        label = f"({code}) " if code else ""
        raise AzureError(f"Error {action}: {label}{message}", code=code, message=message,
                         status=response.status_code)

    def get(self, path: str, api_version: str, action: str, missing_ok: bool = False) -> dict[str, Any] | None:
        """GET a resource; with ``missing_ok`` None when it does not exist (404), else Azure's error."""
        with azure_errors(action):
            response = self.pipeline_client.send_request(
                self._request("GET", path, api_version), retry_on_methods=RETRY_METHODS)
        if response.status_code == 404 and missing_ok:
            return None
        self._raise_for(response, action)
        return response.json()

    def put_and_wait(self, path: str, api_version: str, body: dict[str, Any], action: str,
                     timeout: float, polling_interval: float = 10.0) -> dict[str, Any]:
        """PUT a resource and wait for its long-running operation (ARM async pattern)."""
        from azure.core.polling import LROPoller
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        with azure_errors(action):
            # The generated SDKs start an LRO the same way: run the request through the client's
            # pipeline to get the PipelineResponse the poller needs.
            pipeline_response = self.pipeline_client._pipeline.run(  # pylint: disable=protected-access
                self._request("PUT", path, api_version, body), retry_on_methods=RETRY_METHODS)
            self._raise_for(pipeline_response.http_response, action)
            poller = LROPoller(self.pipeline_client, pipeline_response,
                               lambda pr: pr.http_response.json() if pr.http_response.text() else None,
                               ARMPolling(polling_interval))
            result = poller.result(timeout=timeout)
            if poller.status().lower() not in ("succeeded",):
                raise AzureError(f"Error {action}: operation still {poller.status()} after {timeout:.0f} s",
                                 code="OperationTimedOut", status=None)
        if result is None:
            result = self.get(path, api_version, action)
        return result or {}
