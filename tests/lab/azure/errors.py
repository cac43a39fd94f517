"""ARM's error envelope and the standard error texts the front door and resource providers answer with.

Every ARM error is ``{"error": {"code": ..., "message": ...}}`` (common-types v2 ``ErrorResponse``);
azure-mgmt-core's ``ARMErrorFormat`` reads exactly these two fields into ``HttpResponseError.error``.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..core import Response

# Default codes for a bare status (fault injection without a code). 429 is what ARM's
# throttling answers with (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
DEFAULT_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

RESOURCE_NOT_FOUND_HINT = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


class ArmError(Exception):
    """An ARM error answer; raised anywhere below the router, rendered once by it."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 target: str | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.target = target

    def response(self) -> Response:
        return arm_error_response(self.status, self.code, self.message, self.headers, self.target)


def arm_error_response(status: int, code: str | None, message: str, headers: dict[str, str] | None = None,
                       target: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code or DEFAULT_CODES.get(status, "Error"), "message": message}
    if target:
        error["target"] = target
    merged = {"x-ms-request-id": str(uuid.uuid4())}
    merged.update(headers or {})
    return Response.json(status, {"error": error}, merged)


# -- the front door ---------------------------------------------------------------------------


def missing_api_version() -> ArmError:
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.")


def invalid_api_version(version: str, supported: list[str]) -> ArmError:
    return ArmError(400, "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. The supported versions are '{','.join(supported)}'.")


def subscription_not_found(subscription: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")


def resource_group_not_found(resource_group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found.")


def resource_not_found(type_and_name: str, resource_group: str) -> ArmError:
    """``type_and_name`` is ``Namespace/type/name[/childType/childName]`` as ARM prints it."""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{type_and_name}' under resource group '{resource_group}' was not found. "
                    + RESOURCE_NOT_FOUND_HINT)


def invalid_request_content(detail: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent",
                    f"The request content was invalid and could not be deserialized: '{detail}'.")


def location_required() -> ArmError:
    return ArmError(400, "LocationRequired", "The location property is required for this definition.")


def invalid_resource_location(name: str, existing: str, resource_group: str, requested: str) -> ArmError:
    return ArmError(409, "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{existing}' in resource group '{resource_group}'. "
                    f"A resource with the same name cannot be created in location '{requested}'. Please select a new resource name.")


def method_not_allowed(method: str, resource_type: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed",
                    f"The requested method '{method}' is not allowed on resource type '{resource_type}'.")


def no_registered_provider(resource_type: str, version: str, location: str = "eastus",
                           supported: list[str] | None = None, locations: list[str] | None = None) -> ArmError:
    """ARM's refusal of a version the type's provider never registered (wording: versions.py's docstring)."""
    message = f"No registered resource provider found for location '{location}' and API version '{version}' for type '{resource_type}'."
    if supported:
        message += f" The supported api-versions are '{', '.join(supported)}'."
    if locations:
        message += f" The supported locations are '{', '.join(locations)}'."
    return ArmError(400, "NoRegisteredProviderFound", message)
