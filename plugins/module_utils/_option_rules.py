# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input rules checked before any API call, for every module; each failure names the option and the rule.

The name rules are Kubernetes' own (apimachinery ``validation.IsDNS1123Subdomain`` /
``IsDNS1123Label`` / ``IsQualifiedName`` / ``IsValidLabelValue``), so a value that passes here
is not rejected by the API server for its shape.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# The one GUID rule (Entra object, client and tenant ids, role definition names): 8-4-4-4-12 hex digits.
# The nil GUID stands in for an id not known yet (validation before reads, check mode).
NIL_GUID = "00000000-0000-0000-0000-000000000000"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Every name rule is matched whole (``fullmatch``): ``$`` alone also matches before a final newline, so
# ``re.match(r"^[a-z]+$", "name\n")`` accepts a name no service does.


def dns_label(option: str, value: str) -> str:
    if not value or len(value) > 63 or not DNS1123_LABEL.fullmatch(value):
        raise OptionError(f"{option}: '{value}' is not a valid DNS-1123 label (at most 63 lower-case "
                          "alphanumerics or '-', starting and ending with an alphanumeric)")
    return value


def dns_subdomain(option: str, value: str, max_length: int = 253) -> str:
    if not value or len(value) > max_length or not DNS1123_SUBDOMAIN.fullmatch(value):
        raise OptionError(f"{option}: '{value}' is not a valid Kubernetes object name (DNS-1123 subdomain: "
                          f"at most {max_length} lower-case alphanumerics, '-' or '.', starting and ending "
                          "with an alphanumeric)")
    return value


def is_guid(value: str | None) -> bool:
    return bool(GUID.fullmatch(value or ""))


def guid(option: str, value: str) -> str:
    if not is_guid(value):
        raise OptionError(f"{option}: '{value}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return value


def https_url(option: str, value: str) -> str:
    if not re.fullmatch(r"https://[^\s/]+(/\S*)?", value or ""):
        raise OptionError(f"{option}: '{value}' is not an https:// URL")
    return value


def int_range(option: str, value: int, low: int | None = None, high: int | None = None) -> int:
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise OptionError(f"{option}: {value} must be {bounds}")
    return value


def qualified_key(option: str, key: str) -> str:
    """A label or annotation key: optional DNS subdomain prefix, '/', name of at most 63."""
    prefix, _slash, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        raise OptionError(f"{option}: key '{key}' has an invalid prefix (must be a DNS-1123 subdomain)")
    if not name or len(name) > 63 or not QUALIFIED_NAME.fullmatch(name):
        raise OptionError(f"{option}: key '{key}' is not a valid qualified name (at most 63 alphanumerics, "
                          "'-', '_' or '.', starting and ending with an alphanumeric, optional 'prefix/')")
    return key


def string_value(value: Any) -> str:
    """How a YAML scalar is written as a Kubernetes string: booleans lower-case like Go."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def labels(option: str, value: dict[str, Any] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, raw in (value or {}).items():
        qualified_key(option, str(key))
        if raw is None or isinstance(raw, (dict, list)):
            raise OptionError(f"{option}: value of '{key}' must be a string")
        text = string_value(raw)
        if len(text) > 63 or not LABEL_VALUE.fullmatch(text):
            raise OptionError(f"{option}: value '{text}' of '{key}' is not a valid label value (at most 63 "
                              "alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)")
        result[str(key)] = text
    return result


SERVICEBUS_HOST_SUFFIX = ".servicebus.windows.net"


def servicebus_namespace_host_error(value: str) -> str | None:
    """Why ``value``, given where a Service Bus namespace *name* belongs, is a host name or URL (None when it
    is not): KEDA's azure-servicebus scaler builds the fully qualified namespace as ``namespace`` + the cloud's
    ``EndpointSuffix`` (kedacore/keda pkg/scalers/azure_servicebus_scaler.go, ``parseAzureServiceBusMetadata``
    and ``getClient``: ``fmt.Sprintf("%s.%s", meta.namespace, meta.endpointSuffix)``), so a host name becomes
    ``x.servicebus.windows.net.servicebus.windows.net`` and never resolves."""
    if "." not in value and "/" not in value:
        return None
    short = value.split("://", 1)[-1].split(".", 1)[0].split(":", 1)[0]
    return (f"{value!r} is a host name or URL; give the namespace name alone ({short!r}): KEDA and Azure append "
            f"the suffix ({SERVICEBUS_HOST_SUFFIX}) themselves")


# Azure's rule for a user-assigned identity's name: 3-128 characters, letters, digits, '-' and '_', starting
# with a letter or digit
# (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftmanagedidentity).
# The tag rules live beside the ownership code (``_azure_owned``), the identity's beside it (``_azure_identity``).
IDENTITY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


def identity_name(option: str, name: str) -> str:
    if not isinstance(name, str) or not IDENTITY_NAME_RE.fullmatch(name):
        raise OptionError(
            f"{option}: {str(name)[:100]!r} is not a valid managed identity name: 3-128 characters, ASCII letters, "
            f"digits, '-' and '_', starting with a letter or digit")
    return name


# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources
# (resourcegroups): 1-90 characters, underscores, hyphens, periods, parentheses and letters or digits (Unicode
# ones included), not ending with a period.
RESOURCE_GROUP_NAME = re.compile(r"[-\w.()]{0,89}[-\w()]")
# ...#microsoftcontainerservice (managedClusters) and #microsoftkubernetes (connectedClusters): 1-63
# characters, alphanumerics, underscores and hyphens, starting and ending with an alphanumeric.
CLUSTER_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")


def resource_group(option: str, value: str) -> str:
    if not isinstance(value, str) or not RESOURCE_GROUP_NAME.fullmatch(value) or not value.isprintable():
        raise OptionError(f"{option}: {str(value)[:100]!r} is not a resource group name: 1-90 letters, digits, "
                          "'_', '-', '.', '(' or ')', not ending with '.'")
    return value


def cluster_name(option: str, value: str, kind: str) -> str:
    """An AKS managed cluster's or an Arc connected cluster's name (``kind`` says which, for the message)."""
    if not isinstance(value, str) or not CLUSTER_NAME.fullmatch(value):
        raise OptionError(f"{option}: {str(value)[:100]!r} is not a valid {kind} name: 1-63 ASCII letters, digits, "
                          "'_' or '-', starting and ending with a letter or digit")
    return value


def check_items(option: str, items: list[dict[str, Any]], check: Callable[[dict[str, Any]], None],
                unique_within: str) -> list[dict[str, Any]]:
    """Every item of a list option checked before the first call, a failure named by its place
    (``queues[1].lock_duration: ...``), and no ``name`` twice (ARM names are case-insensitive)."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            check(item)
        except OptionError as err:
            raise err.at(f"{option}[{index}]") from None
        if item["name"].lower() in seen:
            raise OptionError(f"{option}[{index}].name: {item['name']!r} is listed twice (names are unique "
                              f"{unique_within}, case-insensitively)")
        seen.add(item["name"].lower())
    return items


def _given(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def state_only(state: str, given: dict[str, Any], how: dict[str, str] | None = None) -> None:
    """Options that mean something with one ``state`` only, refused with the other before any call:
    with ``state: absent`` a child option (``queues``, ``federated_credentials``) or a property would be
    ignored while the parent is deleted, and an ownership option (``require_tags``, ``owned_*``) means
    nothing with ``state: present``. ``given`` maps each option to its value when the option belongs to
    the *other* state (``{"present": {...}, "absent": {...}}`` flattened by the caller); ``how`` says,
    per option, what to do instead."""
    other = "present" if state == "absent" else "absent"
    for option, value in given.items():
        if _given(value):
            hint = f"; {how[option]}" if how and option in how else ""
            raise OptionError(f"{option}: only means something with state: {other}, and this task has "
                              f"state: {state}{hint}. Nothing was sent.")


NAMING_OPTIONS = ("name", "namespace", "kind", "state")


def absent_ignores(params: dict[str, Any], spec: dict[str, Any], names: tuple[str, ...] = NAMING_OPTIONS) -> None:
    """With ``state: absent`` an object is found by what names it (``names``); every other option of its
    module's ``spec`` would be ignored, so one given (not at its default) is refused before any call."""
    if params.get("state") != "absent":
        return
    given = {option: params.get(option) for option, rule in spec.items()
             if option not in names and params.get(option) is not None and params.get(option) != rule.get("default")}
    state_only("absent", given, {option: "an object with state: absent is found by its name" for option in given})


# The options both cluster modules (aks_cluster, connected_cluster) take: the cluster, and its two switches
# of the workload identity chain.
CLUSTER_OPTIONS: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "oidc_issuer": {"type": "bool"},
    "workload_identity": {"type": "bool"},
}
