# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a URL path is built from input, for ARM and for Kubernetes: a name addresses only what it names.

Each input value is one path segment, percent-encoded whole (``quote(value, safe="")``: a '/' in it is
``%2F``, never a separator); an empty segment, '.' or '..' -- also percent-encoded, once or more
(``%2e%2e``, ``%252e%252e``) -- is refused with an ``OptionError`` naming the option, before any request.
RFC 3986 section 5.2.4 lets a client remove dot segments ("remove_dot_segments"), and urllib3's
``parse_url`` does (requests calls it for every URL), so ``queues/a/../../x`` would reach ``x``; a path
built here has no dot segment left to remove. Constant parts (``providers``, a resource type) are written
in the code and taken as they are.

A value that is itself a path -- a role assignment's ``scope``, a role definition id, both ARM resource
ids -- is parsed and checked segment by segment (``resource_id``).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, unquote

from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError


class Segment(NamedTuple):
    """An input value that becomes one path segment, and the option it came from (for the message)."""

    option: str
    value: str


DOT_SEGMENTS = ("", ".", "..")
# Decoding more than this many times finds nothing new in any value a server would decode.
MAX_DECODINGS = 4
# Characters a resource id's segment never holds: white space, controls and the URL's own delimiters.
RESOURCE_ID_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f?#%\\]")
# A resource id's type segments (``subscriptions``, ``resourceGroups``, ``providers``, ``Microsoft.X``,
# ``namespaces``): the identifiers of the ARM resource id grammar
# (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules, "resource id").
TYPE_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")


def decodings(value: str) -> list[str]:
    """``value`` and what it becomes decoded once, twice, ... until decoding changes nothing."""
    seen = [value]
    while len(seen) <= MAX_DECODINGS:
        decoded = unquote(seen[-1])
        if decoded == seen[-1]:
            break
        seen.append(decoded)
    return seen


def check_segment(option: str, value: str) -> str:
    """``value`` when it can be one path segment; an ``OptionError`` naming ``option`` when it is empty, or
    '.' or '..' in any encoding, or holds one between slashes once decoded (``a%2F..%2Fb``)."""
    if not isinstance(value, str) or not value:
        raise OptionError(f"{option}: must not be empty (it names one resource, one segment of the URL)")
    for form in decodings(value):
        if any(part.strip() in DOT_SEGMENTS for part in re.split(r"[/\\]", form)):
            raise OptionError(f"{option}: {value[:80]!r} is or holds an empty, '.' or '..' path segment (also "
                              "percent-encoded); a name must address only the resource it names")
    return value


def build(*parts: str | Segment) -> str:
    """The percent-encoded path of ``parts``: each ``Segment`` checked and encoded whole, constants as written."""
    segments: list[str] = []
    for part in parts:
        if isinstance(part, Segment):
            segments.append(quote(check_segment(part.option, part.value), safe=""))
        else:
            segments.extend(piece for piece in part.split("/") if piece)
    return "/" + "/".join(segments)


def arm_resource(subscription_id: str, resource_group: str, resource_type: str, *names: str | Segment) -> str:
    """``/subscriptions/{s}/resourceGroups/{g}/providers/{type}/{name}[/{child type}/{child}]``: ``names``
    are the resource's name and, after a constant child type, a child's (``Segment`` each). The subscription
    id is a GUID and the resource group follows ARM's rule (``_option_rules``)."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
    rules.guid("subscription_id", subscription_id)
    rules.resource_group("resource_group", resource_group)
    return build("subscriptions", Segment("subscription_id", subscription_id), "resourceGroups",
                 Segment("resource_group", resource_group), "providers", resource_type, *names)


def resource_id_segments(option: str, value: str) -> list[str]:
    """An ARM resource id (a scope) split and checked segment by segment: it starts with '/', has no empty,
    '.' or '..' segment (in any encoding), no white space, control character, '?', '#', '%' or '\\', and
    alternates type and name (``/subscriptions/{id}/resourceGroups/{name}/providers/{ns}/{type}/{name}``), so
    it has an even number of segments. '/' alone (the root scope) is no segment at all."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise OptionError(f"{option}: {value!r} must be an Azure resource id starting with '/' "
                          "(for example /subscriptions/<id>/resourceGroups/<name>)")
    body = value.rstrip("/") if value.strip("/") else ""
    segments = body.split("/")[1:] if body else []
    for index, segment in enumerate(segments):
        where = f"{option}: segment {index + 1} ({segment[:40]!r}) of {value[:200]!r}"
        if segment in DOT_SEGMENTS:
            raise OptionError(f"{where} is empty, '.' or '..'; a resource id names each level once")
        if RESOURCE_ID_FORBIDDEN.search(segment):
            raise OptionError(f"{where} holds white space, a control character, '?', '#', '%' or '\\', which no "
                              "resource id has")
        check_segment(option, segment)
        if index % 2 == 0 and not TYPE_SEGMENT.match(segment):
            raise OptionError(f"{where} must be a type (subscriptions, resourceGroups, providers, a provider "
                              "namespace or a resource type)")
    if len(segments) % 2:
        raise OptionError(f"{option}: {value[:200]!r} is not a whole resource id: its segments must alternate type "
                          "and name (the last type has no name)")
    return segments


def resource_id(option: str, value: str) -> str:
    """The percent-encoded path of the resource id ``value`` (checked by ``resource_id_segments``)."""
    return build(*(Segment(option, segment) for segment in resource_id_segments(option, value)))
