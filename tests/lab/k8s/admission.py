"""Validating admission webhooks: the API server calls what ValidatingWebhookConfigurations register.

What kube-apiserver does (k8s.io/apiserver pkg/admission/plugin/webhook, v1.33):
- ``generic/webhook.go`` ShouldCallHook: a webhook is called when one of its ``rules`` matches the
  request (operation, apiGroups, apiVersions, resources with ``*`` and ``resource/subresource``,
  scope), its ``namespaceSelector`` matches the labels of the object's namespace (cluster-scoped
  objects other than Namespaces always match) and its ``objectSelector`` matches the new or the old
  object's labels.
- ``validating/dispatcher.go``: the request is an ``admission.k8s.io/v1`` AdmissionReview (object,
  oldObject, operation, dryRun, options); a webhook with ``sideEffects: None`` is called for dry-run
  requests too. It runs after the object passed the registry's own validation and before it is
  stored (``registry/generic/registry/store.go`` createValidation / updateValidation), so a no-op
  update is still admitted first.
- A denial becomes ``errors.ToStatusErr`` (``pkg/admission/plugin/webhook/errors/statuserror.go``):
  the webhook's status with its code (raised to 400 when lower), its reason, and the message
  ``admission webhook "<name>" denied the request: <message>``, no details. controller-runtime's
  validators deny with 403 Forbidden (sigs.k8s.io/controller-runtime pkg/webhook/admission/response.go
  ValidationResponse). Warnings a webhook returns reach the client as ``Warning`` headers.
- A webhook that cannot be reached follows ``failurePolicy``: ``Ignore`` admits, ``Fail`` answers 500
  ``Internal error occurred: failed calling webhook "<name>": failed to call webhook: Post "<url>":
  <why>`` (``webhook/errors.go`` ErrCallingWebhook; the service resolver's ``no endpoints available
  for service "<name>"``, pkg/util/proxy/proxy.go ResolveEndpoint).

The lab calls the server in process: the service of ``clientConfig.service`` must exist and select
a Running pod, and a server registered for the webhook's path (``register``) answers the review with
that pod, the way the container behind the service would.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable

from . import errors
from .selectors import label_selector_matches

if TYPE_CHECKING:
    from .api import Api
    from .options import Options
    from .resources import ResourceType

# A webhook server: (the pod behind the service, the AdmissionReview request) -> the AdmissionResponse.
Server = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

CONFIGURATIONS = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")
OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}


class Unreachable(Exception):
    """The webhook's service has no endpoint (or nothing answers on the path)."""


def _matches(values: list[str] | None, value: str) -> bool:
    return any(v in ("*", value) for v in values or [])


def _rule_matches(rule: dict[str, Any], rt: ResourceType, operation: str, subresource: str) -> bool:
    if not (_matches(rule.get("operations"), operation) and _matches(rule.get("apiGroups"), rt.group)
            and _matches(rule.get("apiVersions"), rt.version)):
        return False
    scope = rule.get("scope") or "*"
    if scope != "*" and scope != ("Namespaced" if rt.namespaced else "Cluster"):
        return False
    wanted = f"{rt.plural}/{subresource}" if subresource else rt.plural
    for resource in rule.get("resources") or []:
        if resource in ("*/*", wanted) or (resource == "*" and not subresource):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
        if not subresource and resource == f"{rt.plural}/*":
            return False
    return False


def _labels(obj: dict[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


class ValidatingAdmission:
    """The validating webhook dispatcher of one API server."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.servers: dict[str, Server] = {}

    def register(self, path: str, server: Server) -> None:
        """A container that serves ``path`` (e.g. KEDA's admission webhooks image)."""
        self.servers[path] = server

    def validate(self, rt: ResourceType, operation: str, obj: dict[str, Any], old: dict[str, Any] | None,
                 opts: Options, subresource: str = "") -> None:
        configurations = self.api.store.items(CONFIGURATIONS)
        if not configurations:
            return
        namespace = obj["metadata"].get("namespace") or ""
        for configuration in sorted(configurations, key=lambda c: c["metadata"]["name"]):
            for hook in configuration.get("webhooks") or []:
                if not self._should_call(hook, rt, operation, obj, old, namespace, subresource):
                    continue
                self._call(hook, rt, operation, obj, old, opts, subresource)

    def _should_call(self, hook: dict[str, Any], rt: ResourceType, operation: str, obj: dict[str, Any],
                     old: dict[str, Any] | None, namespace: str, subresource: str) -> bool:
        if not any(_rule_matches(rule, rt, operation, subresource) for rule in hook.get("rules") or []):
            return False
        object_selector = hook.get("objectSelector")
        if object_selector and not (label_selector_matches(object_selector, _labels(obj))
                                    or (old is not None and label_selector_matches(object_selector, _labels(old)))):
            return False
        namespace_selector = hook.get("namespaceSelector")
        if namespace_selector and rt.namespaced:
            ns = self.api.store.get(("", "namespaces"), "", namespace)
            if not label_selector_matches(namespace_selector, _labels(ns)):
                return False
        return True

    def _endpoint(self, service: dict[str, Any]) -> dict[str, Any]:
        namespace, name = service.get("namespace") or "default", service.get("name") or ""
        found = self.api.store.get(("", "services"), namespace, name)
        if found is None:
            raise Unreachable(f'service "{name}" not found')
        selector = (found.get("spec") or {}).get("selector") or {}
        pods = [p for p in self.api.store.items(("", "pods"))
                if p["metadata"].get("namespace") == namespace and selector
                and label_selector_matches({"matchLabels": selector}, _labels(p))
                and (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        if not pods:
            raise Unreachable(f'no endpoints available for service "{name}"')
        return max(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""))

    def _call(self, hook: dict[str, Any], rt: ResourceType, operation: str, obj: dict[str, Any],
              old: dict[str, Any] | None, opts: Options, subresource: str) -> None:
        name = hook.get("name", "")
        client = hook.get("clientConfig") or {}
        service = client.get("service") or {}
        path = service.get("path") or client.get("url") or ""
        url = client.get("url") or (f"https://{service.get('name')}.{service.get('namespace')}.svc:"
                                    f"{service.get('port', 443)}{path}")
        url += f"?timeout={int(hook.get('timeoutSeconds') or 10)}s"
        review = self._request(rt, operation, obj, old, opts, subresource)
        try:
            pod = self._endpoint(service) if service else None
            server = self.servers.get(path)
            if pod is None or server is None:
                raise Unreachable(f"dial tcp {service.get('name', '')}: connect: connection refused")
            response = server(pod, review)
        except Unreachable as exc:
            if (hook.get("failurePolicy") or "Fail") == "Ignore":
                return
            raise errors.internal(f'failed calling webhook "{name}": failed to call webhook: Post "{url}": {exc}') from exc
        opts.warnings.extend(response.get("warnings") or [])
        if response.get("allowed"):
            return
        status = dict(response.get("status") or {})
        code = int(status.get("code") or 0)
        code = code if code >= 400 else 400
        denied = f'admission webhook "{name}" denied the request'
        if status.get("message"):
            message = f"{denied}: {status['message']}"
        elif status.get("reason"):
            message = f"{denied}: {status['reason']}"
        else:
            message = f"{denied} without explanation"
        raise errors.ApiError(code, str(status.get("reason") or ""), message, status.get("details"))

    @staticmethod
    def _request(rt: ResourceType, operation: str, obj: dict[str, Any], old: dict[str, Any] | None, opts: Options,
                 subresource: str) -> dict[str, Any]:
        kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        resource = {"group": rt.group, "version": rt.version, "resource": rt.plural}
        request: dict[str, Any] = {
            "uid": str(uuid.uuid4()), "kind": kind, "resource": resource, "requestKind": kind,
            "requestResource": resource, "name": obj["metadata"].get("name", ""),
            "operation": operation, "object": obj, "oldObject": old, "dryRun": bool(opts.dry_run),
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": OPTIONS_KIND.get(operation, "CreateOptions"),
                        **({"fieldManager": opts.manager} if opts.manager else {}),
                        **({"dryRun": ["All"]} if opts.dry_run else {})},
        }
        if subresource:
            request["subResource"] = subresource
        if obj["metadata"].get("namespace"):
            request["namespace"] = obj["metadata"]["namespace"]
        return request
