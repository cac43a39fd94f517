# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Azure connection per module run: credential, cloud and clients, each built on first use
and shared (``AzureConnection``), all over one kept-alive requests session whose TLS context is
built once (``shared_session``), and ``ArmClient``, plain ARM REST over azure-mgmt-core's
pipeline for resources whose SDK package is too heavy to import."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import (
    AzureAuth,
    Cloud,
    build_credential,
    check_identifiers,
    resolve_cloud,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import (
    RETRY_METHODS,
    RETRY_SETTINGS,
    USER_AGENT,
    AzureError,
    azure_errors,
    error_body,
)
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import NIL_GUID

if TYPE_CHECKING:
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_token_cache import RunCache


class AzureConnection:
    """Credential, cloud and clients for one module run, each built on first use and shared."""

    def __init__(self, auth: AzureAuth, run: RunCache | None = None):
        self.auth = auth
        self.run = run
        self._cloud: Cloud | None = None
        self._credential: Any = None
        self._transport: Any = None
        self._clients: dict[str, Any] = {}
        # Writes ARM accepted (a PUT, PATCH, POST or DELETE answered below 400), by every client of the run:
        # a failure after one (a later item, a long-running create that timed out) is still a change.
        self.writes = 0

    @property
    def subscription_id(self) -> str:
        if not self.auth.subscription_id:
            raise OptionError("subscription_id: required (the option or AZURE_SUBSCRIPTION_ID)")
        return self.auth.subscription_id

    @property
    def transport(self) -> Any:
        # One requests session for every call of the run -- cloud discovery, Entra and ARM: one TLS
        # handshake per host, kept alive, and one TLS context for all of them (shared_session).
        # RequestsTransport trusts the environment, so REQUESTS_CA_BUNDLE and proxies apply.
        if self._transport is None:
            from azure.core.pipeline.transport import RequestsTransport

            connection = self

            class CountingTransport(RequestsTransport):  # type: ignore[misc]
                def send(self, request: Any, **kwargs: Any) -> Any:
                    response = super().send(request, **kwargs)
                    if written(request.method, request.url, response.status_code):
                        connection.writes += 1
                    return response

            self._transport = CountingTransport(session=shared_session(), session_owner=True)
        return self._transport

    def _credential_transport(self) -> Any:
        # The credential's pipeline on the same session; closing it must not close the session.
        from azure.core.pipeline.transport import RequestsTransport
        return RequestsTransport(session=self.transport.session, session_owner=False)

    @property
    def cloud(self) -> Cloud:
        if self._cloud is None:
            check_identifiers(self.auth)  # before the first request, cloud discovery included
            # With the controller shell's per-run cache, or the opt-in cache (_azure_token_cache), an ARM URL's
            # endpoints are read once per run.
            from ansible_collections.kedaops.aks.plugins.module_utils import _azure_token_cache as cache
            directory = self.run.directory if self.run is not None else cache.cache_dir()
            arm_url = self.auth.cloud_environment or ""
            key = f"{arm_url}|{self.auth.authority_host or ''}"
            stored = cache.load_cloud(directory, key) if directory and "://" in arm_url else None
            if stored is not None and set(stored) == {"name", "resource_manager", "scope", "authority_host"}:
                self._cloud = Cloud(**stored)
            else:
                self._cloud = resolve_cloud(self.auth, self.transport)
                if directory and "://" in arm_url:
                    cache.store_cloud(directory, key, dict(self._cloud.__dict__))
        return self._cloud

    @property
    def credential(self) -> Any:
        if self._credential is None:
            from ansible_collections.kedaops.aks.plugins.module_utils import _azure_token_cache as cache
            cloud = self.cloud
            credential = build_credential(self.auth, cloud, self._credential_transport())
            binding = f"{cloud.authority_host}|{self.auth.tenant}|{self.auth.client_id}"
            if self.run is not None:
                # The controller shell: every auth source, keyed by the run's own key (never on disk).
                self._credential = cache.CachedCredential(credential, self.run.directory, self.run.key,
                                                          f"{self.auth.effective_source()}|{binding}")
                return self._credential
            self._credential = cache.wrap(credential, self.auth.effective_source(), self.auth.secret,
                                          self.auth.federated_token_file, binding)
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
                self.credential, subscription_id or self.auth.subscription_id or NIL_GUID,
                **self.client_options())
        return self._clients[key]

    def arm(self) -> ArmClient:
        """Plain ARM requests (no SDK package): resource groups, managed clusters."""
        if "arm" not in self._clients:
            self._clients["arm"] = ArmClient(self)
        return self._clients["arm"]


def written(method: str, url: str, status: int) -> bool:
    """Whether ARM accepted a write: a PUT, PATCH, DELETE or POST answered below 400, except a DELETE's 204
    (nothing was there) and a POST action named ``list*`` (``listClusterUserCredential``: a read)."""
    if method in ("GET", "HEAD", "OPTIONS") or status >= 400 or (method == "DELETE" and status == 204):
        return False
    action = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return not (method == "POST" and action.lower().startswith("list"))


def adaptive_polling(polling_class: Any, ceiling: float, first: float = 1.0) -> Any:
    """An ARM poller that waits what the service asks (``Retry-After`` / ``x-ms-retry-after-ms``), and
    without that header 1 s, then 2, 4, ... up to ``ceiling`` instead of ``ceiling`` every time: an
    operation that is over in two seconds is seen after two, a long one is not polled more than
    ARM's request limits like (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations:
    "If no Retry-After header is returned, implement your own retry logic")."""

    class AdaptivePolling(polling_class):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._next_delay = min(first, ceiling)

        def _extract_delay(self) -> float:
            from azure.core.polling.base_polling import get_retry_after
            asked = get_retry_after(self._pipeline_response)
            if asked:
                return float(asked)
            delay, self._next_delay = self._next_delay, min(self._next_delay * 2, ceiling)
            return float(delay)

    return AdaptivePolling(ceiling)


# One TLS context per CA bundle file (path, size and modification time) in this process. The controller
# shell's plugin loads the default bundle's before the workers fork (``warm_tls_context``): a context holds
# no socket, and the workers only read it.
_TLS_CONTEXTS: dict[tuple[str, int, float], Any] = {}


def tls_context(path: Any) -> Any:
    """The default TLS context trusting bundle file ``path`` (None when ``path`` is not a file)."""
    import ssl

    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    info = os.stat(path)
    key = (path, info.st_size, info.st_mtime)
    if key not in _TLS_CONTEXTS:
        _TLS_CONTEXTS[key] = ssl.create_default_context(cafile=path)
    return _TLS_CONTEXTS[key]


def warm_tls_context() -> None:
    """Load the bundle requests would verify ARM and Entra with (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else
    certifi's), as ``shared_session`` would on first use."""
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    tls_context(os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH)


def shared_session() -> Any:
    """A requests session whose HTTPS connections share one TLS context per CA bundle.

    requests (2.32-2.34) hands urllib3 the bundle's path for every new connection, and urllib3 then
    builds a context and parses the bundle again: 25-50 ms each with certifi's ~150 roots (the
    system bundle, or REQUESTS_CA_BUNDLE) -- per host, per task. Here the bundle requests chose
    (``verify``: REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's) is loaded once into a default
    context (certificate and host name checked as before), and the pools get that context instead of
    the path. A ``verify`` that is not a bundle file (False, a directory) takes requests' own path.
    The contexts are kept per process (``tls_context``), so the controller shell loads the bundle once per run.
    """
    from requests import Session
    from requests.adapters import HTTPAdapter
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    class OneContextAdapter(HTTPAdapter):
        def __init__(self) -> None:
            self._contexts = _TLS_CONTEXTS
            super().__init__()

        def context_for(self, verify: Any) -> Any:
            return tls_context(DEFAULT_CA_BUNDLE_PATH if verify is True else verify)

        def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
            context = self.context_for(verify) if host_params.get("scheme") == "https" else None
            if context is not None:
                pool_kwargs.pop("ca_certs", None)
                pool_kwargs["ssl_context"] = context
            return host_params, pool_kwargs

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn, url, verify, cert)
            context = getattr(conn, "conn_kw", {}).get("ssl_context")
            if context is not None and context in self._contexts.values():
                conn.ca_certs = None  # the context already trusts the bundle; do not parse it again

    session = Session()
    adapter = OneContextAdapter()
    session.mount("https://", adapter)
    return session


class ArmClient:
    """Raw ARM REST over azure-mgmt-core's pipeline: the same authentication, retry policy and
    error translation as the SDK clients, for resources whose SDK is too heavy to import."""

    def __init__(self, connection: AzureConnection):
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import (
            ARMAutoResourceProviderRegistrationPolicy,
            ARMChallengeAuthenticationPolicy,
            ARMHttpLoggingPolicy,
        )

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

    @overload
    def get(self, path: str, api_version: str, action: str) -> dict[str, Any]: ...

    @overload
    def get(self, path: str, api_version: str, action: str, *, missing_ok: Literal[True]) -> dict[str, Any] | None: ...

    def get(self, path: str, api_version: str, action: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        """GET a resource; Azure's error as an ``AzureError``. ``missing_ok``: a 404 (the resource, or its
        parent, is absent) means "absent" and returns None -- declared at the call, not typed in a branch."""
        with azure_errors(action):
            response = self.pipeline_client.send_request(
                self._request("GET", path, api_version), retry_on_methods=RETRY_METHODS)
        if missing_ok and response.status_code == 404:
            return None
        self._raise_for(response, action)
        return response.json()

    def post_list(self, path: str, api_version: str, action: str) -> dict[str, Any]:
        """POST a resource action that changes nothing (``listClusterUserCredential``, ``listKeys``): without a
        body, and retried on 429/5xx as a GET is, since repeating it is harmless."""
        with azure_errors(action):
            response = self.pipeline_client.send_request(
                self._request("POST", path, api_version), retry_on_methods=RETRY_METHODS | {"POST"})
        self._raise_for(response, action)
        return response.json() if response.text() else {}

    def get_link(self, url: str, action: str) -> dict[str, Any]:
        """GET a list's ``nextLink`` (an absolute URL that already carries its api-version and skip token)."""
        from azure.core.rest import HttpRequest
        with azure_errors(action):
            response = self.pipeline_client.send_request(HttpRequest("GET", url), retry_on_methods=RETRY_METHODS)
        self._raise_for(response, action)
        return response.json()

    def list_names(self, path: str, api_version: str, action: str) -> list[str]:
        """The names of an ARM collection (``{"value": [...], "nextLink": ...}``), every page."""
        page = self.get(path, api_version, action)
        names = [str(item.get("name") or "") for item in page.get("value") or []]
        while page.get("nextLink"):
            page = self.get_link(page["nextLink"], action)
            names += [str(item.get("name") or "") for item in page.get("value") or []]
        return names

    def _long_running(self, method: str, path: str, api_version: str, body: dict[str, Any] | None, action: str,
                      timeout: float, polling_interval: float) -> Any:
        """Send ``method`` and wait for its long-running operation (ARM async pattern); the final body or None."""
        from azure.core.polling import LROPoller
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        with azure_errors(action):
            # The generated SDKs start an LRO the same way: run the request through the client's
            # pipeline to get the PipelineResponse the poller needs.
            pipeline_response = self.pipeline_client._pipeline.run(  # pylint: disable=protected-access
                self._request(method, path, api_version, body), retry_on_methods=RETRY_METHODS)
            self._raise_for(pipeline_response.http_response, action)
            if method == "DELETE" and pipeline_response.http_response.status_code != 202:
                return None  # 200 or 204: deleted (or already gone) at once
            final = (lambda pr: None) if method == "DELETE" else (
                lambda pr: pr.http_response.json() if pr.http_response.text() else None)
            poller = LROPoller(self.pipeline_client, pipeline_response, final,
                               adaptive_polling(ARMPolling, polling_interval))
            result = poller.result(timeout=timeout)
            if poller.status().lower() not in ("succeeded",):
                raise AzureError(f"Error {action}: operation still {poller.status()} after {timeout:.0f} s",
                                 code="OperationTimedOut", status=None)
        return result

    def put_and_wait(self, path: str, api_version: str, body: dict[str, Any], action: str,
                     timeout: float, polling_interval: float = 10.0) -> dict[str, Any]:
        """PUT a resource and wait for its long-running operation."""
        result = self._long_running("PUT", path, api_version, body, action, timeout, polling_interval)
        if result is None:
            result = self.get(path, api_version, action)
        return result or {}

    def delete_and_wait(self, path: str, api_version: str, action: str, timeout: float,
                        polling_interval: float = 10.0) -> None:
        """DELETE a resource and wait for its long-running operation (200, 202 + Location, or 204)."""
        self._long_running("DELETE", path, api_version, None, action, timeout, polling_interval)
