"""What the lab KEDA (and the sample app) do on the wire: resolve Azure host names to the lab's
data planes, exchange a service account token at Entra as azidentity does, and query the two
event sources as KEDA's scalers do. Error texts are KEDA's / azidentity's / azcore's, from
reference/keda-behaviour.md §4-§6 (kedacore/keda v2.20.2 ``pkg/scalers/prometheus_scaler.go``,
``pkg/scalers/azure_servicebus_scaler.go``, ``pkg/scalers/azure/azure_azidentity_chain.go``;
Azure/azure-sdk-for-go ``sdk/azidentity/errors.go``, ``sdk/azcore/internal/exported/response_error.go``).
"""

from __future__ import annotations

import datetime
import http
import http.client
import json
import math
import re
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..core import ACTOR_HEADER

EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
SERVICEBUS_SCOPE = "https://servicebus.azure.net//.default"  # azservicebus sbauth/token_provider.go:99 (double slash)
PROMETHEUS_SCOPE = "https://prometheus.monitor.azure.com/.default"
_DASHES = "-" * 80
TROUBLESHOOT = "To troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#workload"
NO_CREDENTIAL = "sources must contain at least one TokenCredential"


class NetError(Exception):
    """A transport failure, worded as Go's net/http prints it."""


class ScalerError(Exception):
    """A scaler's error, its text exactly what KEDA logs and puts in KEDAScalerFailed."""


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _target(lab: Any, host: str) -> str | None:
    """The lab URL that serves ``host``, or None when DNS would not resolve it."""
    host = host.lower()
    if host in ("127.0.0.1", "localhost"):
        return ""
    services = lab.services
    servicebus = services.get("servicebus")
    if servicebus is not None and servicebus.namespace_record(host) is not None:
        url: str = servicebus.url
        return url
    prometheus = services.get("prometheus")
    if prometheus is not None and prometheus.workspace(host) is not None:
        url = prometheus.url
        return url
    return None


def request(lab: Any, method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None,
            timeout: float = 5.0, actor: str = "keda-operator") -> HttpAnswer:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    target = _target(lab, host)
    if target is None:
        # Go: dial tcp: lookup <host> on <dns>:53: no such host (the lab has no resolver address).
        raise NetError(f'{method.title()} "{url}": dial tcp: lookup {host}: no such host')
    if target:
        lab_parts = urllib.parse.urlsplit(target)
        connect_host, connect_port = lab_parts.hostname or "127.0.0.1", lab_parts.port
    else:
        connect_host, connect_port = host, parts.port or 443
    context = ssl.create_default_context(cafile=lab.pki.get("ca"))
    connection = http.client.HTTPSConnection(connect_host, connect_port, timeout=timeout, context=context)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    all_headers = {"Host": parts.netloc.split(":")[0] if target else parts.netloc, ACTOR_HEADER: actor}
    all_headers.update(headers or {})
    try:
        connection.request(method, path, body=body, headers=all_headers)
        answer = connection.getresponse()
        return HttpAnswer(answer.status, dict(answer.getheaders()), answer.read())
    except OSError as exc:
        raise NetError(f'{method.title()} "{url}": {exc}') from exc
    finally:
        connection.close()


# -- azidentity WorkloadIdentityCredential ---------------------------------------------------------------


@dataclass
class WorkloadCredential:
    client_id: str
    tenant_id: str
    token_file: str
    authority_host: str


def credential_from_env(env: dict[str, str], identity_id: str | None, identity_tenant_id: str | None
                        ) -> tuple[WorkloadCredential | None, str | None]:
    """KEDA's NewChainedCredential: TriggerAuthentication values override the pod's env (os.LookupEnv).

    A missing value fails the WorkloadIdentityCredential constructor with azidentity's message; KEDA
    logs it and the chain stays empty (the returned error is that constructor message).
    """
    client_id = identity_id or env.get("AZURE_CLIENT_ID", "")
    tenant_id = identity_tenant_id or env.get("AZURE_TENANT_ID", "")
    token_file = env.get("AZURE_FEDERATED_TOKEN_FILE", "")
    # azidentity reads AZURE_AUTHORITY_HOST; identityAuthorityHost is ignored on this path (§6).
    authority = env.get("AZURE_AUTHORITY_HOST", "") or "https://login.microsoftonline.com/"
    if not client_id:
        return None, "no client ID specified. Check pod configuration or set ClientID in the options"
    if not token_file:
        return None, "no token file specified. Check pod configuration or set TokenFilePath in the options"
    if not tenant_id:
        return None, "no tenant ID specified. Check pod configuration or set TenantID in the options"
    return WorkloadCredential(client_id, tenant_id, token_file, authority), None


def get_token(lab: Any, credential: WorkloadCredential, assertion: str, scope: str, actor: str = "keda-operator") -> str:
    """POST <authority>/<tenant>/oauth2/v2.0/token; raises ScalerError with the chained-credential text."""
    url = credential.authority_host.rstrip("/") + f"/{credential.tenant_id}/oauth2/v2.0/token"
    form = urllib.parse.urlencode({
        "client_id": credential.client_id, "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "grant_type": "client_credentials", "scope": scope,
    }).encode()
    try:
        answer = request(lab, "POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, form, actor=actor)
    except NetError as exc:
        raise ScalerError(chain_error(f"WorkloadIdentityCredential: {exc}")) from exc
    if answer.status == 200:
        token: str = json.loads(answer.body)["access_token"]
        return token
    try:
        pretty = json.dumps(json.loads(answer.body), indent=2)
    except ValueError:
        pretty = answer.text()
    inner = "\n".join([
        "WorkloadIdentityCredential authentication failed. ",
        f"POST {url}", _DASHES, f"RESPONSE {answer.status}: {answer.status} {_reason(answer.status)}", _DASHES,
        pretty, _DASHES, TROUBLESHOOT])
    raise ScalerError(chain_error(inner))


def chain_error(inner: str) -> str:
    """azidentity chained_token_credential.go: each inner line indented by one more tab."""
    body = inner.replace("\n", "\n\t\t")
    return f"ChainedTokenCredential: failed to acquire a token.\nAttempted credentials:\n\t{body}"


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def response_error(method: str, url: str, answer: HttpAnswer) -> str:
    """azcore ResponseError.Error(): the request line, the status, the error code, the body."""
    code = re.search(r"<Code>([^<]*)</Code>", answer.text())
    lines = [f"{method} {url.split('?')[0]}", _DASHES, f"RESPONSE {answer.status}: {answer.status} {_reason(answer.status)}",
             f"ERROR CODE: {code.group(1) if code else 'UNAVAILABLE'}", _DASHES, answer.text(), _DASHES]
    return "\n".join(lines) + "\n"


# -- the scalers --------------------------------------------------------------------------------------------


def metric_name_servicebus(metadata: dict[str, Any], index: int) -> str:
    entity = metadata.get("queueName") or metadata.get("topicName") or ""
    # NormalizeString replaces / . : % ( ) with '-' (kedacore/keda pkg/util/normalize_string.go).
    return f"s{index}-azure-servicebus-" + re.sub(r"[/.:%()]", "-", entity)


def milli(value: float) -> str:
    """A value as the HPA sees it: a resource.Quantity, milli-units when not whole (scaler.go quantityFromFloat64)."""
    if value < 0:
        value = 0.0
    thousandths = round(value * 1000)
    return str(thousandths // 1000) if thousandths % 1000 == 0 else f"{thousandths}m"


def servicebus_metadata(metadata: dict[str, Any], provider: str) -> dict[str, Any]:
    """parseAzureServiceBusMetadata (azure_servicebus_scaler.go): the build-time errors, wrapped as KEDA does."""
    def fail(text: str) -> ScalerError:
        return ScalerError(f"error parsing azure service bus metadata: {text}")
    queue, topic, sub = metadata.get("queueName"), metadata.get("topicName"), metadata.get("subscriptionName")
    if queue and topic:
        raise fail("both topic and queue name metadata provided")
    if queue and sub:
        raise fail("subscription name provided with queue name")
    if topic and not sub:
        raise fail("no subscription name provided with topic name")
    if not queue and not topic:
        raise fail("no service bus entity type set")
    if provider in ("", "none"):
        if not metadata.get("connectionFromEnv") and not metadata.get("connection"):
            raise fail("no connection setting given")
    elif provider != "azure-workload":
        raise fail(f"azure service bus doesn't support pod identity {provider}")
    elif not metadata.get("namespace"):
        raise fail("namespace are required when using pod identity")
    try:
        message_count = float(metadata.get("messageCount", "5"))
        activation = float(metadata.get("activationMessageCount", "0"))
    except (TypeError, ValueError) as exc:
        raise fail(f"error parsing azure servicebus metadata messageCount: {exc}") from exc
    return {"queue": queue, "topic": topic, "subscription": sub, "namespace": metadata.get("namespace"),
            "target": message_count, "activation": activation}


def servicebus_count(lab: Any, meta: dict[str, Any], token: str) -> int:
    host = f"{meta['namespace']}.servicebus.windows.net"
    path = f"/{meta['queue']}" if meta["queue"] else f"/{meta['topic']}/Subscriptions/{meta['subscription']}"
    url = f"https://{host}{path}?api-version=2021-05"
    try:
        # The admin client sends the token without "Bearer " (internal/atom/per_retry_auth_policy.go).
        answer = request(lab, "GET", url, {"Authorization": token, "User-Agent": "azsdk-go-azsbadmin/v1.10.0 (go1.24; linux)"})
    except NetError as exc:
        raise ScalerError(str(exc)) from exc
    if answer.status >= 400:
        raise ScalerError(response_error("GET", url, answer))
    text = answer.text()
    if "<entry" not in text:
        raise ScalerError(f"queue {meta['queue']} doesn't exist" if meta["queue"]
                          else f"subscription {meta['subscription']} doesn't exist in topic {meta['topic']}")
    found = re.search(r"<d2p1:ActiveMessageCount>(\d+)</d2p1:ActiveMessageCount>", text)
    if not found:
        raise ScalerError("invalid queue runtime properties: no CountDetails element")
    return int(found.group(1))


def prometheus_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    for required in ("serverAddress", "query", "threshold"):
        if not metadata.get(required):
            raise ScalerError(f"error parsing prometheus metadata: missing required parameter \"{required}\"")
    try:
        threshold = float(metadata["threshold"])
        activation = float(metadata.get("activationThreshold", "0"))
    except (TypeError, ValueError) as exc:
        raise ScalerError(f"error parsing prometheus metadata: {exc}") from exc
    ignore_null = str(metadata.get("ignoreNullValues", "true")).lower() != "false"
    return {"server": metadata["serverAddress"].rstrip("/"), "query": metadata["query"], "target": threshold,
            "activation": activation, "ignore_null": ignore_null}


def prometheus_url(meta: dict[str, Any]) -> str:
    """The query URL: query escaped with url.QueryEscape, time = now in RFC3339 UTC (prometheus_scaler.go:204)."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{meta['server']}/api/v1/query?query={urllib.parse.quote_plus(meta['query'])}&time={urllib.parse.quote_plus(now)}"


def prometheus_value(lab: Any, meta: dict[str, Any], token: str | None, with_body: bool, url: str | None = None) -> float:
    """ExecutePromQuery (prometheus_scaler.go:204-320)."""
    url = url or prometheus_url(meta)
    headers = {"User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = request(lab, "GET", url, headers)
    except NetError as exc:
        raise ScalerError(str(exc)) from exc
    if not 200 <= answer.status < 300:
        # v2.20 drops the body (#7469); <= v2.19 appended " response: <body>".
        suffix = f" response: {answer.text()}" if with_body else ""
        raise ScalerError(f"prometheus query api returned error. status: {answer.status}{suffix}")
    try:
        result = json.loads(answer.body)["data"]["result"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ScalerError(f"invalid character looking for beginning of value: {exc}") from exc
    if not result:
        if meta["ignore_null"]:
            return 0.0
        raise ScalerError("prometheus metrics 'prometheus' target may be lost, the result is empty")
    if len(result) > 1:
        raise ScalerError(f"prometheus query {meta['query']} returned multiple elements")
    value = float(result[0]["value"][1])
    if math.isnan(value) or math.isinf(value):
        if meta["ignore_null"]:
            return 0.0
        raise ScalerError(f"prometheus query returns {value:f}")
    return max(value, 0.0)
