"""What every ARM handler gets: the parsed path, the caller, the body, paging, and shared validators."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .. import ids
from ..core import Request, Response
from . import errors
from .errors import ArmError
from .store import ArmStore, Record

if TYPE_CHECKING:
    from .arm import ArmService


@dataclass
class ArmPath:
    """A request path split the way ARM routes it.

    ``scope`` is everything before the last ``/providers/{namespace}``; for a tracked resource that is
    the subscription or resource group, for an extension resource (role assignments) any resource id.
    """

    segments: list[str]
    scope: str = ""
    scope_segments: list[str] = field(default_factory=list)
    namespace: str | None = None
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, path: str) -> ArmPath:
        segments = [s for s in path.split("/") if s]
        parsed = cls(segments)
        last = max((i for i, s in enumerate(segments) if s.lower() == "providers"), default=None)
        if last is None or last + 1 >= len(segments):
            parsed.scope_segments = segments
        else:
            parsed.scope_segments = segments[:last]
            parsed.namespace = segments[last + 1]
            tail = segments[last + 2:]
            parsed.types = tail[0::2]
            parsed.names = tail[1::2]
        parsed.scope = "/" + "/".join(parsed.scope_segments)
        return parsed

    @property
    def subscription(self) -> str | None:
        s = self.scope_segments
        return s[1] if len(s) >= 2 and s[0].lower() == "subscriptions" else None

    @property
    def resource_group(self) -> str | None:
        s = self.scope_segments
        return s[3] if len(s) >= 4 and s[2].lower() == "resourcegroups" else None

    @property
    def kind(self) -> str:
        """Lower-cased full resource type, e.g. ``microsoft.managedidentity/userassignedidentities``."""
        if not self.namespace:
            return ""
        return "/".join([self.namespace] + self.types).lower()

    @property
    def is_collection(self) -> bool:
        return len(self.types) > len(self.names)

    @property
    def scope_is_group_or_subscription(self) -> bool:
        return len(self.scope_segments) in (2, 4)


@dataclass
class ArmContext:
    """One ARM request after the front door: who is calling, where, with which api-version."""

    service: ArmService
    request: Request
    path: ArmPath
    caller: dict[str, Any]

    @property
    def store(self) -> ArmStore:
        return self.service.store

    @property
    def api_version(self) -> str | None:
        return self.arg("api-version")

    @property
    def method(self) -> str:
        return self.request.method

    def arg(self, name: str) -> str | None:
        """Query parameters compared case-insensitively ($skipToken / $skiptoken both occur)."""
        wanted = name.lower()
        for key, values in self.request.query.items():
            if key.lower() == wanted and values:
                return values[-1]
        return None

    def setting(self, name: str) -> Any:
        return self.service.lab.setting(name)

    def body(self) -> dict[str, Any]:
        """The JSON object body, or the 400 ARM answers a malformed or non-object body with."""
        raw = self.request.body
        if not raw or not raw.strip():
            raise errors.invalid_request_content("The request body is empty.")
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise errors.invalid_request_content(f"{exc.__class__.__name__}: {exc}") from exc
        if not isinstance(parsed, dict):
            raise errors.invalid_request_content(f"Unexpected JSON token when reading the body: {type(parsed).__name__}. Path ''")
        return parsed

    def resource_group_record(self) -> Record:
        rg = self.path.resource_group
        record = self.store.get(resource_group_id(rg or ""))
        if record is None:
            raise errors.resource_group_not_found(rg or "")
        return record

    def next_link(self, path: str, **query: str) -> str:
        params = {"api-version": self.api_version or ""}
        params.update(query)
        return self.service.url + path + "?" + urllib.parse.urlencode(params, safe="$'")


def resource_group_id(name: str) -> str:
    return f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{name}"


def normalize_location(location: str) -> str:
    """ARM stores ``East US`` as ``eastus`` (lower case, no spaces)."""
    return location.replace(" ", "").lower()


# Azure's tag limits: 50 tags, names up to 512 characters without < > % & \ ? / , values up to 256
# (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations).
# Codes and wording as ARM answers them (InvalidTagNameCharacters, InvalidTagNameLength,
# InvalidTagValueLength) [inferred from ARM error reports; the limits themselves are documented].
TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise errors.invalid_request_content("Error converting value to type 'Dictionary`2[String,String]'. Path 'tags'")
    if len(tags) > 50:
        raise ArmError(400, "InvalidTag", "The number of tags on a resource cannot exceed 50.")
    for key, value in tags.items():
        if TAG_NAME_FORBIDDEN & set(key) or any(ord(c) < 32 for c in key):
            raise ArmError(400, "InvalidTagNameCharacters",
                           f"The tag names '{key}' have reserved characters '<,>,%,&,\\,?,/' or control characters.")
        if len(key) > 512:
            raise ArmError(400, "InvalidTagNameLength",
                           f"The tag name '{key}' exceeds the maximum length of '512' characters.")
        if len(value) > 256:
            raise ArmError(400, "InvalidTagValueLength",
                           f"The tag value '{value}' exceeds the maximum length of '256' characters.")
    return dict(tags)


def flag(profile: Any, path: str) -> bool | None:
    """``enabled`` of a profile dict (None when absent); wrong types are the 400 ARM gives for them."""
    if profile is None:
        return None
    if not isinstance(profile, dict):
        raise errors.invalid_request_content(f"Error converting value to type 'Object'. Path '{path}'")
    value = profile.get("enabled")
    if value is not None and not isinstance(value, bool):
        raise errors.invalid_request_content(f"Could not convert '{value}' to Boolean. Path '{path}.enabled'")
    return value


def required_location(body: dict[str, Any]) -> str:
    """The body's ``location`` as sent: LocationRequired when missing or empty, a 400 when not a string."""
    location = body.get("location")
    if location is None or location == "":
        raise errors.location_required()
    if not isinstance(location, str):
        raise errors.invalid_request_content("Error converting value to type 'String'. Path 'location'")
    return location


# Public Azure regions (`az account list-locations --query "[].name"`, physical regions).
REGIONS = frozenset("""
eastus eastus2 southcentralus westus2 westus3 australiaeast southeastasia northeurope swedencentral uksouth
westeurope centralus southafricanorth centralindia eastasia japaneast koreacentral newzealandnorth canadacentral
francecentral germanywestcentral italynorth norwayeast polandcentral spaincentral switzerlandnorth mexicocentral
uaenorth brazilsouth israelcentral qatarcentral northcentralus westus japanwest australiacentral australiasoutheast
brazilsoutheast canadaeast francesouth germanynorth jioindiawest koreasouth norwaywest southafricawest
southindia switzerlandwest uaecentral ukwest westcentralus westindia australiacentral2 jioindiacentral
swedensouth austriaeast belgiumcentral chilecentral indonesiacentral malaysiawest
eastus2euap centraluseuap
""".split())
# The two canary (EUAP) regions are not in a normal subscription's list but resource providers accept them:
# azure-cli's identity tests create there (recordings: azure-cli test_federated_identity_credential.yaml #1, 201).


def check_location(location: str, resource_type: str) -> None:
    """ARM's answer for a location the resource type is not offered in (LocationNotAvailableForResourceType)."""
    if normalize_location(location) not in REGIONS:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for resource type '{resource_type}'. "
                       f"List of available regions for the resource type is '{','.join(sorted(REGIONS))}'.")


def paginate(ctx: ArmContext, items: list[dict[str, Any]], default_top: int | None = None) -> Response:
    """A page of ``items`` honouring ``$top`` / ``$skipToken`` and the ``nextLink`` ARM list responses carry.

    Without ``$top`` the page size is the service's (lab setting ``arm_list_page_size``, 0 = one page).
    """
    try:
        top = int(ctx.arg("$top") or default_top or ctx.setting("arm_list_page_size") or 0)
        skip = int((ctx.arg("$skipToken") or "0").strip("X'") or 0)
    except ValueError as exc:
        raise ArmError(400, "InvalidQueryParameterValue", f"Invalid paging parameter: {exc}") from exc
    if top < 0:
        raise ArmError(400, "InvalidQueryParameterValue", "The value of query parameter '$top' must be positive.")
    page = items[skip:skip + top] if top else items[skip:]
    payload: dict[str, Any] = {"value": page}
    if top and skip + top < len(items):
        payload["nextLink"] = ctx.next_link(ctx.request.raw_path, **{"$top": str(top), "$skipToken": f"X'{skip + top}'"})
    return Response.json(200, payload)


def list_or_target(ctx: ArmContext, resource_type: str, kind: str, view: Callable[[Record], dict[str, Any]],
                   default_top: int | None = None) -> Response | Record:
    """A top-level resource type's route: the list answer for a collection, else the resource group addressed.

    Only GET lists (405 otherwise); a named resource outside a resource group, or a path of nested
    types, is the 404 ARM gives for a path that does not exist.
    """
    path = ctx.path
    if not path.scope_is_group_or_subscription or len(path.types) != 1:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    if path.is_collection:
        if ctx.method != "GET":
            raise errors.method_not_allowed(ctx.method, resource_type)
        under = ctx.resource_group_record().body["id"] if path.resource_group else f"/subscriptions/{ids.SUBSCRIPTION_ID}"
        return paginate(ctx, [view(r) for r in ctx.store.find(kind, under)], default_top=default_top)
    if not path.resource_group:
        raise ArmError(404, "NotFound", f"The requested path '{ctx.request.path}' does not exist.")
    return ctx.resource_group_record()
