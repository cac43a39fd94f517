# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes REST verbs over known paths, and one error type that keeps the server's Status.

No discovery: every kind our modules touch has a fixed path (``Resource``), so a call is one
HTTP request. The transport (auth, TLS) comes from ``_k8s_connection.connect``; this module only
speaks the API conventions: Status bodies, ``dryRun=All``, merge patches, 404 semantics, and the
Kubernetes side's one retry policy (``RetryPolicy``), which every call goes through.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from typing import Any, Callable, NamedTuple, Protocol

from ansible_collections.kedaops.aks.plugins.module_utils._errors import KedaopsError
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, build

MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"


class Transport(Protocol):
    def request(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
                body: Any = None, content_type: str | None = None) -> tuple[int, dict[str, str], bytes]:
        ...


class ObjectStore(Protocol):
    """What the desired-state runner reads and writes through: ``Api`` itself, or a read cache in
    front of it (``_k8s_listed.ListedApi``)."""

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        ...

    def create(self, resource: Resource, body: dict, namespace: str | None = None, dry_run: bool = False) -> dict:
        ...

    def patch(self, resource: Resource, name: str, patch: dict, namespace: str | None = None,
              dry_run: bool = False) -> dict:
        ...

    def delete(self, resource: Resource, name: str, namespace: str | None = None, dry_run: bool = False) -> Any:
        ...


class Resource(NamedTuple):
    """A kind and where it lives in the REST tree."""

    api_version: str  # "v1" or "group/version"
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    def path(self, namespace: str | None = None, name: str | None = None, *subresource: str) -> str:
        """The object's (or the collection's) percent-encoded path; a namespace or name that is empty once
        given, '.' or '..' is refused (``_paths``), so no path reaches another object."""
        root = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        parts: list[str | Segment] = [root]
        # No namespace lists across all of them; an object named in an empty namespace is refused.
        if self.namespaced and (namespace or (namespace is not None and name is not None)):
            parts += ["namespaces", Segment("namespace", namespace)]
        parts.append(self.plural)
        if name is not None:
            parts.append(Segment("name", name))
        return build(*parts, *subresource)

    def ref(self, name: str, namespace: str | None = None) -> str:
        """How messages name an object: ``Kind ns/name`` or ``Kind name``."""
        return f"{self.kind} {namespace}/{name}" if self.namespaced and namespace else f"{self.kind} {name}"


NAMESPACE = Resource("v1", "Namespace", "namespaces", False)
SERVICE_ACCOUNT = Resource("v1", "ServiceAccount", "serviceaccounts", True)
POD = Resource("v1", "Pod", "pods", True)
DEPLOYMENT = Resource("apps/v1", "Deployment", "deployments", True)
STATEFUL_SET = Resource("apps/v1", "StatefulSet", "statefulsets", True)
DAEMON_SET = Resource("apps/v1", "DaemonSet", "daemonsets", True)
TRIGGER_AUTHENTICATION = Resource("keda.sh/v1alpha1", "TriggerAuthentication", "triggerauthentications", True)
CLUSTER_TRIGGER_AUTHENTICATION = Resource("keda.sh/v1alpha1", "ClusterTriggerAuthentication",
                                          "clustertriggerauthentications", False)
SCALED_OBJECT = Resource("keda.sh/v1alpha1", "ScaledObject", "scaledobjects", True)
SCALED_JOB = Resource("keda.sh/v1alpha1", "ScaledJob", "scaledjobs", True)
HORIZONTAL_POD_AUTOSCALER = Resource("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True)

WORKLOADS = {r.kind: r for r in (DEPLOYMENT, STATEFUL_SET, DAEMON_SET)}


class K8sError(KedaopsError):
    """A failed call, with the server's Status (reason, code, message, details) kept."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}
        # Set by ``Api.call``: this answer came after a transient failure of the same request, so a
        # write may have been applied by the attempt whose answer was lost.
        self.after_transient = False

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"reason": self.reason, "code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return error

    def failure_result(self) -> dict[str, Any]:
        return {"msg": f"{self.reason} ({self.code}): {self.message}", "error": self.as_dict()}

    @classmethod
    def from_response(cls, status: int, data: bytes) -> K8sError:
        status_body = _json_or_none(data)
        if isinstance(status_body, dict) and status_body.get("kind") == "Status":
            return cls(int(status_body.get("code") or status), status_body.get("reason") or _reason(status),
                       status_body.get("message") or "", status_body.get("details"))
        text = data.decode("utf-8", "replace").strip()
        return cls(status, _reason(status), text or f"HTTP {status}")

    @property
    def object_not_found(self) -> bool:
        """A 404 about one object (its Status names it), not about the kind or the group."""
        return self.code == 404 and bool(self.details.get("name") or self.details.get("kind"))


class ResourceNotServed(K8sError):
    """The server has no such kind: the group is unknown or its CRD is not installed."""

    def __init__(self, resource: Resource, cause: K8sError):
        if resource.group == "keda.sh":
            message = f"KEDA is not installed (CRD {resource.crd_name} missing)"
        else:
            message = f"the API server does not serve {resource.kind} ({resource.api_version})"
        super().__init__(404, "NotFound", message, cause.details)
        self.resource = resource

    def failure_result(self) -> dict[str, Any]:
        return {"msg": self.message, "error": self.as_dict()}


def _reason(status: int) -> str:
    return {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType",
            422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}.get(status, "Unknown")


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


# What the API server asks a client to retry: 429 (API Priority and Fairness, the max-in-flight
# filter; it sends Retry-After, client-go and kubectl honour it), 500/502/503/504 (an overloaded or
# restarting server, a load balancer in front of it) and a connection that failed or was reset
# (code 0). Anything else is permanent and raised at once with the server's code.
# https://kubernetes.io/docs/concepts/cluster-administration/flow-control/ ("429 Too Many Requests")
# https://github.com/kubernetes/client-go/blob/master/rest/request.go (checkWait, Retry-After)
RETRIABLE_CODES = frozenset({0, 429, 500, 502, 503, 504})


class RetryPolicy(NamedTuple):
    """The Kubernetes side's one retry policy, the counterpart of ``_azure_errors.RETRY_SETTINGS``:
    at most ``attempts`` tries; waits grow exponentially from ``first_delay`` with "equal jitter"
    (half fixed, half random, so forked runs that collided do not collide again in step), none over
    ``max_delay``; a server's Retry-After is waited exactly, up to ``max_retry_after``."""

    attempts: int = 6
    first_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.first_delay * (2 ** attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


RETRY = RetryPolicy()


def retry_after(headers: dict[str, str], error: K8sError) -> float | None:
    """Seconds the server asked us to wait: the Retry-After header (seconds or an HTTP date, RFC 9110
    section 10.2.3), else the Status' ``details.retryAfterSeconds``."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value:
        try:
            return float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    seconds = error.details.get("retryAfterSeconds")
    return float(seconds) if isinstance(seconds, (int, float)) else None


class Api:
    """The verbs, each one request (retried per ``RetryPolicy``). ``dry_run`` turns a write into
    ``dryRun=All``. ``on_retry`` hears of every retry (the error and the wait)."""

    def __init__(self, transport: Transport, retry: RetryPolicy = RETRY,
                 on_retry: Callable[[str, K8sError, float], None] | None = None):
        self.transport = transport
        self.retry = retry
        self.on_retry = on_retry
        self.retries = 0
        # Writes the server accepted (not dry runs, not a TokenRequest): a failure after one is a change.
        self.writes = 0

    def call(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
             body: Any = None, content_type: str | None = None) -> Any:
        attempt = 0
        while True:
            headers: dict[str, str] = {}
            try:
                status, headers, data = self.transport.request(method, path, query, body, content_type)
                if 200 <= status < 300:
                    if method != "GET" and not path.endswith("/token") and ("dryRun", "All") not in (query or []):
                        self.writes += 1
                    return _json_or_none(data)
                error = K8sError.from_response(status, data)
            except K8sError as e:  # the transport's connection failures (code 0)
                error = e
            error.after_transient = attempt > 0
            attempt += 1
            if error.code not in RETRIABLE_CODES or attempt >= self.retry.attempts:
                raise error
            wait = self.retry.delay(attempt - 1, retry_after(headers, error))
            self.retries += 1
            if self.on_retry:
                self.on_retry(f"{method} {path}", error, wait)
            time.sleep(wait)

    def _call_on(self, resource: Resource, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.call(method, path, **kwargs)
        except K8sError as e:
            if e.code == 404 and not e.object_not_found:
                raise ResourceNotServed(resource, e) from e
            raise

    def _call_on_object(self, resource: Resource, method: str, path: str, **kwargs: Any) -> Any:
        """Like ``_call_on``, but None when the object itself does not exist (a missing kind still raises)."""
        try:
            return self._call_on(resource, method, path, **kwargs)
        except ResourceNotServed:
            raise
        except K8sError as e:
            if e.object_not_found:
                return None
            raise

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when it does not exist."""
        return self._call_on_object(resource, "GET", resource.path(namespace, name))

    def list(self, resource: Resource, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict]:
        query = [("labelSelector", label_selector)] if label_selector else None
        result = self._call_on(resource, "GET", resource.path(namespace), query=query)
        return list((result or {}).get("items") or [])

    def create(self, resource: Resource, body: dict, namespace: str | None = None,
               dry_run: bool = False) -> dict:
        try:
            return self._call_on(resource, "POST", resource.path(namespace), query=_dry(dry_run),
                                 body=body, content_type=JSON)
        except K8sError as e:
            # A retried create whose first attempt was applied but answered 5xx (or lost): the object
            # is ours, read it back rather than fail on our own AlreadyExists.
            name = (body.get("metadata") or {}).get("name")
            if e.code == 409 and e.reason == "AlreadyExists" and e.after_transient and name:
                existing = self.get(resource, name, namespace)
                if existing is not None:
                    return existing
            raise

    def patch(self, resource: Resource, name: str, patch: dict, namespace: str | None = None,
              dry_run: bool = False) -> dict:
        """JSON merge patch (RFC 7386): works on built-in kinds and custom resources alike."""
        return self._call_on(resource, "PATCH", resource.path(namespace, name), query=_dry(dry_run),
                             body=patch, content_type=MERGE_PATCH)

    def delete(self, resource: Resource, name: str, namespace: str | None = None,
               dry_run: bool = False) -> dict | None:
        """Delete; None when the object was already gone (deletes are idempotent)."""
        return self._call_on_object(resource, "DELETE", resource.path(namespace, name), query=_dry(dry_run))


def _dry(dry_run: bool) -> list[tuple[str, str]] | None:
    return [("dryRun", "All")] if dry_run else None
