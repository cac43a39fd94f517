# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an Azure failure looks like and what to do about it: ``AzureError`` (keeping Azure's
error code, message and HTTP status), the translation of azure-core / azure-identity exceptions
into it, the one transport retry policy every client and credential shares, and the retry of the
few error codes known to be transient for one operation. No Azure SDK import at load time."""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any, Callable, Iterator, TypeVar

from ansible_collections.kedaops.aks.plugins.module_utils._errors import KedaopsError

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


class AzureError(KedaopsError):
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

    def failure_result(self) -> dict[str, Any]:
        return {"msg": self.msg, "error": self.as_dict()}


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
        inner = body["error"] if isinstance(body.get("error"), dict) else body
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
                   on_retry: Callable[[AzureError, float], None] | None = None,
                   transient: Callable[[AzureError], bool] | None = None,
                   replan: Callable[[], T | None] | None = None) -> T:
    """Call ``call`` again while it fails with a transient error, for at most ``timeout`` seconds.

    Transient: one of ``codes``, or what the predicate ``transient`` recognises (what a code alone
    cannot tell: a code that means a wait only with one wording). Only for errors known to be transient
    for *this* operation (a concurrent-write 409, a principal not yet replicated, another operation on
    the resource); the transport-level retry policy has already had its turn at each attempt.
    Waits grow exponentially with "equal jitter" (half fixed, half random) so that forks that
    collided do not collide again in step. ``replan``, after each wait and before the next attempt:
    re-read and decide again (what ``call`` uses next); its answer, when not None, is the result and
    ends the retry (nothing is left to do: another operation did it); a transient error it raises (the
    re-read shows the resource still busy) is waited out like one of ``call``.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        try:
            if attempt and replan is not None:
                done = replan()
                if done is not None:
                    return done
            return call()
        except AzureError as err:
            remaining = deadline - time.monotonic()
            if not (err.code in codes or (transient is not None and transient(err))) or remaining <= 0:
                raise
            ceiling = min(max_delay, first_delay * (2 ** attempt))
            delay = min(remaining, ceiling / 2 + random.uniform(0, ceiling / 2))
            if on_retry:
                on_retry(err, delay)
            time.sleep(delay)
            attempt += 1
