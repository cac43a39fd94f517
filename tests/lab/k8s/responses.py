"""The apiserver's response envelope: JSON with its headers, Status errors, the mux's plain 404."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..core import Response
from . import errors

JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    result = {"Content-Type": JSON, "Cache-Control": "no-cache, private", "Audit-Id": str(uuid.uuid4())}
    result.update(extra or {})
    return result


def json_response(code: int, payload: Any, extra: dict[str, str] | None = None) -> Response:
    return Response(code, json.dumps(payload).encode(), headers(extra))


def status_response(error: errors.ApiError) -> Response:
    return Response(error.code, json.dumps(error.status).encode(), headers())


def text_404() -> Response:
    return Response(404, b"404 page not found\n", {"Content-Type": "text/plain; charset=utf-8",
                                                   "X-Content-Type-Options": "nosniff"})


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")
