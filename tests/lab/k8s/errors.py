"""Kubernetes ``Status`` failures, built the way k8s.io/apimachinery/pkg/api/errors builds them.

Every API failure the emulator produces is an ``ApiError`` carrying a ``metav1.Status``. The
messages, reasons and ``details`` mirror ``errors.NewNotFound``, ``NewAlreadyExists``,
``NewConflict``, ``NewInvalid`` and friends, because clients branch on them (kubectl and the
Python client read ``reason``; Ansible modules surface ``message``).
"""

from __future__ import annotations

import json
from typing import Any

# The reason a Status carries for a bare HTTP code (metav1.StatusReason*).
REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

CONFLICT_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    """A failed API call: an HTTP code and the Status body the real apiserver would send."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    @property
    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


def _qualified(resource: str, group: str) -> str:
    # schema.GroupResource.String(): "deployments.apps", or just "secrets" for the core group.
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({k: v for k, v in extra.items() if v})
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    # errors.NewNotFound: details.kind carries the *resource* (plural), not the Kind.
    return ApiError(404, "NotFound", f"{_qualified(resource, group)} {json.dumps(name)} not found",
                    _details(name, group, resource))


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f"{_qualified(resource, group)} {json.dumps(name)} already exists",
                    _details(name, group, resource))


def conflict(resource: str, group: str, name: str, why: str = CONFLICT_MODIFIED) -> ApiError:
    return ApiError(409, "Conflict",
                    f"Operation cannot be fulfilled on {_qualified(resource, group)} {json.dumps(name)}: {why}",
                    _details(name, group, resource))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(resource: str, group: str, name: str, why: str) -> ApiError:
    # errors.NewForbidden: `<resource> "<name>" is forbidden: <why>`.
    target = f"{_qualified(resource, group)} {json.dumps(name)}" if name else _qualified(resource, group)
    return ApiError(403, "Forbidden", f"{target} is forbidden: {why}", _details(name, group, resource))


def unsupported_media_type(accepted: list[str]) -> ApiError:
    # negotiation.NewUnsupportedMediaTypeError: no details.
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def not_acceptable(accepted: list[str]) -> ApiError:
    return ApiError(406, "NotAcceptable",
                    "only the following media types are accepted: " + ", ".join(accepted))


def resource_not_found() -> ApiError:
    # An unknown resource inside a served group/version: errors.NewNotFound with an empty
    # GroupResource renders as "the server could not find the requested resource", details {}.
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed(verb: str, resource: str, group: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed",
                    f"{verb} is not supported on resources of kind {json.dumps(_qualified(resource, group))}",
                    _details("", group, resource))


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


class FieldError:
    """One field.Error: rendered as "<field>: <detail>" in the Invalid message."""

    def __init__(self, field: str, cause: str, detail: str):
        self.field = field
        self.cause = cause  # FieldValueRequired, FieldValueInvalid, ...
        self.detail = detail

    def render(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def as_cause(self) -> dict[str, str]:
        return {"reason": self.cause, "message": self.detail, "field": self.field}


def _go_value(value: Any) -> str:
    # field.Invalid prints strings quoted and numbers/bools bare (%#v for scalars).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True)


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, "FieldValueInvalid", f"Invalid value: {_go_value(value)}" + (f": {detail}" if detail else ""))


def not_supported(field: str, value: Any, valid: list[Any]) -> FieldError:
    supported = ", ".join(_go_value(v) for v in valid)
    return FieldError(field, "FieldValueNotSupported", f"Unsupported value: {_go_value(value)}: supported values: {supported}")


def forbidden_field(field: str, detail: str) -> FieldError:
    return FieldError(field, "FieldValueForbidden", f"Forbidden: {detail}")


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, "FieldValueDuplicate", f"Duplicate value: {_go_value(value)}")


def too_long(field: str, value: Any, limit: int) -> FieldError:
    return FieldError(field, "FieldValueTooLong", f"Too long: may not be more than {limit} bytes")


def invalid_object(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """errors.NewInvalid: `<Kind>[.<group>] "<name>" is invalid: <errs>` with causes."""
    qualified_kind = f"{kind}.{group}" if group else kind
    if len(errors) == 1:
        rendered = errors[0].render()
    else:
        rendered = "[" + ", ".join(e.render() for e in errors) + "]"
    details: dict[str, Any] = _details(name, group, kind)
    details["causes"] = [e.as_cause() for e in errors]
    return ApiError(422, "Invalid", f"{qualified_kind} {json.dumps(name)} is invalid: {rendered}", details)
