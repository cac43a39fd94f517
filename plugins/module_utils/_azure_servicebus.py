# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Service Bus namespaces and queues over plain ARM REST (api-version 2021-11-01).

From Azure/azure-rest-api-specs ``specification/servicebus/resource-manager/Microsoft.ServiceBus/stable/
2021-11-01/{namespace-preview.json,Queue.json}``: ``Namespaces_CreateOrUpdate`` is long-running (200/201/202,
``provisioningState`` ``Created`` / ``Activating`` until ``Succeeded``), ``Queues_CreateOrUpdate`` answers 200
for both create and update and replaces the queue's properties, so an update sends the writable properties as
read with the requested ones changed. ``disableLocalAuth: true`` is what ``az servicebus namespace create
--disable-local-auth`` sets (seed 001): only Entra tokens reach the namespace, as KEDA's workload identity needs.

The planners (``plan_namespace``, ``plan_queue``) are pure; ``ensure_*`` are the small ARM layer around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_owned as owned
from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as validate
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import SERVICEBUS_HOST_SUFFIX as HOST_SUFFIX
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource

API_VERSION = "2021-11-01"
NAMESPACE_TYPE = "Microsoft.ServiceBus/namespaces"
SKUS = ("Basic", "Standard", "Premium")

# https://learn.microsoft.com/rest/api/servicebus/controlplane-stable/namespaces/create-or-update (name):
# 6-50 characters, letters, numbers and hyphens, starting with a letter and ending with a letter or number.
NAMESPACE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$")
# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus
# (namespaces/queues): 1-260 characters, alphanumerics, periods, hyphens, underscores and slashes,
# starting and ending with an alphanumeric.
QUEUE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,258}[A-Za-z0-9])?$")
# ISO 8601 durations as Queue.json's ``format: duration`` (PT1M, P14D, PT30S ...).
DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")

# Queue.json (2021-11-01), SBQueueProperties.lockDuration: "The maximum value for LockDuration is 5 minutes;
# the default value is 1 minute."
LOCK_DURATION_MAX = 300.0
# Seconds per ISO 8601 designator; a year and a month only ever compare against minutes here.
DURATION_UNITS = {"Y": 365 * 86400, "M": 30 * 86400, "W": 7 * 86400, "D": 86400}
TIME_UNITS = {"H": 3600, "M": 60, "S": 1}


def duration_seconds(value: str) -> float:
    """The length of an ISO 8601 duration that matched ``DURATION``, in seconds."""
    date, _t, time = value[1:].partition("T")
    total = 0.0
    for part, units in ((date, DURATION_UNITS), (time, TIME_UNITS)):
        for amount, unit in re.findall(r"(\d+(?:\.\d+)?)([A-Z])", part):
            total += float(amount) * units[unit]
    return total


# SBQueueProperties (Queue.json) that a PUT may carry; the rest (counts, timestamps) are read-only.
QUEUE_WRITABLE = ("lockDuration", "maxSizeInMegabytes", "maxMessageSizeInKilobytes", "requiresDuplicateDetection",
                  "requiresSession", "defaultMessageTimeToLive", "deadLetteringOnMessageExpiration",
                  "duplicateDetectionHistoryTimeWindow", "maxDeliveryCount", "status", "enableBatchedOperations",
                  "autoDeleteOnIdle", "enablePartitioning", "enableExpress", "forwardTo", "forwardDeadLetteredMessagesTo")
# module option -> SBQueueProperties field: what a KEDA user tunes; everything else is left as it is.
QUEUE_OPTIONS = {"max_delivery_count": "maxDeliveryCount", "lock_duration": "lockDuration",
                 "max_size_in_megabytes": "maxSizeInMegabytes", "default_message_time_to_live": "defaultMessageTimeToLive"}


# https://learn.microsoft.com/azure/service-bus-messaging/service-bus-resource-manager-exceptions: a write
# while another runs on the namespace or entity is refused with 409 Conflict, SubCode 40901 ("Another
# conflicting operation is in progress"); it is waited out like AKS's OperationNotAllowed. Other
# Conflicts (a name taken) fail at once.
IN_PROGRESS_SUBCODE = "40901"


def operation_in_progress(err: AzureError) -> bool:
    message = (err.message or "").lower()
    return err.status == 409 and err.code == "Conflict" and (
        IN_PROGRESS_SUBCODE in message or "conflicting operation is in progress" in message)


def namespace_path(subscription_id: str, resource_group: str, name: str) -> str:
    return arm_resource(subscription_id, resource_group, NAMESPACE_TYPE, Segment("name", name))


def queue_path(subscription_id: str, resource_group: str, namespace: str, name: str) -> str:
    return arm_resource(subscription_id, resource_group, NAMESPACE_TYPE, Segment("namespace", namespace),
                        "queues", Segment("name", name))


def namespace_name_error(value: str) -> str | None:
    """Why ``value`` is not a Service Bus namespace name (None when it is one); a host name is refused with
    the reason (``_option_rules.servicebus_namespace_host_error``)."""
    host = validate.servicebus_namespace_host_error(value)
    if host:
        return host
    if not NAMESPACE_NAME.fullmatch(value):
        return (f"{value!r} is not a Service Bus namespace name: 6-50 letters, numbers and hyphens, starting with a "
                "letter and ending with a letter or number")
    if value.lower().endswith(("-sb", "-mgmt")):
        return f"{value!r} is not a Service Bus namespace name: it cannot end with -sb or -mgmt"
    return None


def validate_namespace(name: str, requested: dict[str, Any]) -> None:
    """Refusals that need no Azure (before any API call), named by option."""
    problem = namespace_name_error(name)
    if problem:
        raise OptionError(f"name: {problem}")
    if requested.get("sku") is not None and requested["sku"] not in SKUS:
        raise OptionError(f"sku: must be one of {', '.join(SKUS)}, got {requested['sku']!r}")
    owned.check_tag_options(requested)


def namespace_state(namespace: dict[str, Any] | None) -> dict[str, Any] | None:
    """The module's view of a namespace (None when absent)."""
    if namespace is None:
        return None
    properties = namespace.get("properties") or {}
    name = namespace.get("name") or ""
    return {
        "id": namespace.get("id"),
        "name": name,
        "location": namespace.get("location"),
        "sku": (namespace.get("sku") or {}).get("name"),
        "disable_local_auth": bool(properties.get("disableLocalAuth")),
        "endpoint": properties.get("serviceBusEndpoint"),
        "host": f"{name}{HOST_SUFFIX}" if name else None,
        "tags": dict(namespace.get("tags") or {}),
        "provisioning_state": properties.get("provisioningState"),
        "status": properties.get("status"),
    }


def _location_key(location: str | None) -> str:
    return (location or "").replace(" ", "").lower()


def plan_namespace(current: dict[str, Any] | None, requested: dict[str, Any], create: bool,
                   label: str) -> dict[str, Any] | None:
    """The PUT body that brings ``current`` (the ARM resource, or None) to ``requested``; None when nothing
    differs. A new namespace gets sku Standard and local auth disabled unless told otherwise, and
    ``creation_tags``; an existing one changes only in what is requested."""
    tags = dict(requested.get("tags") or {})
    if current is None:
        sku = requested.get("sku") or "Standard"
        return {"location": owned.creation_location(requested, create, label), "sku": {"name": sku, "tier": sku},
                "tags": {**(requested.get("creation_tags") or {}), **tags},
                "properties": {"disableLocalAuth": requested.get("disable_local_auth") is not False}}
    if requested.get("location") and _location_key(requested["location"]) != _location_key(current.get("location")):
        raise OptionError(f"location: {label} is in {current.get('location')!r}; a namespace cannot move to "
                          f"{requested['location']!r}")
    properties = current.get("properties") or {}
    sku = (current.get("sku") or {}).get("name")
    have_tags = dict(current.get("tags") or {})
    wanted_sku = requested.get("sku") or sku
    wanted_auth = bool(properties.get("disableLocalAuth")) if requested.get("disable_local_auth") is None \
        else requested["disable_local_auth"]
    wanted_tags = {**have_tags, **tags}
    if wanted_sku == sku and wanted_auth == bool(properties.get("disableLocalAuth")) and wanted_tags == have_tags:
        return None
    return {"location": current.get("location"), "sku": {"name": wanted_sku, "tier": wanted_sku}, "tags": wanted_tags,
            "properties": {"disableLocalAuth": wanted_auth}}


def predict_namespace(name: str, path: str, current: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
    """The namespace check mode reports: ``current`` with the PUT body applied (a new one's endpoint
    is the one Azure assigns, ``https://<name>.servicebus.windows.net:443/``)."""
    resource = dict(current or {"id": path, "name": name,
                                "properties": {"serviceBusEndpoint": f"https://{name}{HOST_SUFFIX}:443/"}})
    resource.update({k: body[k] for k in ("location", "sku", "tags")})
    resource["properties"] = {**(resource.get("properties") or {}), **body["properties"]}
    return resource


@dataclass(frozen=True)
class Target:
    """What a task names: a namespace (``queue`` None) or a queue in it, and how long a write may take."""

    resource_group: str
    namespace: str
    queue: str | None = None
    timeout: float = 600


def ensure_namespace(conn: AzureConnection, target: Target, wanted: owned.Wanted, check_mode: bool) -> Outcome:
    """The namespace's outcome: values ``namespace``, ``exists``, ``created`` or ``left_alone``. A namespace
    that holds a queue not in ``owned_queues`` is not deleted (deleting it would delete the queue): the
    ownership rule of ``_azure_owned``. A missing one with create false is ``exists: false``."""
    name = target.namespace
    path = namespace_path(conn.subscription_id, target.resource_group, name)
    label = f"Service Bus namespace {name} (resource group {target.resource_group})"

    warnings: list[str] = []

    def plan(current: dict[str, Any] | None, requested: dict[str, Any], create_it: bool,
             label: str) -> dict[str, Any] | None:
        # Local auth turned back on, on a namespace the collection created (it carries creation_tags), is
        # reported and repaired unless disable_local_auth says otherwise: KEDA's identity needs nothing else,
        # and SAS keys on it are a door nobody asked for.
        properties = (current or {}).get("properties") or {}
        if (current is not None and requested.get("disable_local_auth") is None and requested.get("creation_tags")
                and owned.carries(current.get("tags"), requested["creation_tags"])
                and not properties.get("disableLocalAuth")):
            warnings.append(f"{label} was created by this collection with local (SAS) authentication off, and it "
                            "is on now; turning it off again (set disable_local_auth: false to keep it on)")
            requested = {**requested, "disable_local_auth": True}
        return plan_namespace(current, requested, create_it, label)

    def holds() -> str | None:
        # Queues_ListByNamespace (Queue.json): queues carry no tags, so what is ours is what the caller names.
        queues = conn.arm().list_names(f"{path}/queues", API_VERSION, f"listing the queues of {label}")
        others = owned.foreign(queues, wanted.requested.get("owned_queues"))
        return owned.kept_for(label, "queues", others) if others else None

    resource = owned.Owned(path, API_VERSION, label, "namespace", namespace_state, plan,
                           lambda current, body: predict_namespace(name, path, current, body), holds=holds,
                           busy=operation_in_progress, timeout=target.timeout, missing_ok=True)
    outcome = owned.ensure(conn, resource, wanted, check_mode)
    outcome.warnings = [*warnings, *outcome.warnings]
    return outcome


# -- queues ------------------------------------------------------------------------------------------


def validate_queue(namespace: str, name: str, requested: dict[str, Any]) -> None:
    problem = namespace_name_error(namespace)
    if problem:
        raise OptionError(f"namespace: {problem}")
    if not QUEUE_NAME.fullmatch(name):
        raise OptionError(f"name: {name!r} is not a queue name: 1-260 letters, numbers, periods, hyphens, underscores "
                          "and slashes, starting and ending with a letter or number")
    for option in ("lock_duration", "default_message_time_to_live"):
        value = requested.get(option)
        if value is not None and not DURATION.fullmatch(value):
            raise OptionError(f"{option}: {value!r} is not an ISO 8601 duration (e.g. PT1M, P14D)")
    lock = requested.get("lock_duration")
    if lock is not None and duration_seconds(lock) > LOCK_DURATION_MAX:
        raise OptionError(f"lock_duration: {lock!r} is longer than Service Bus's maximum of 5 minutes (PT5M)")
    count = requested.get("max_delivery_count")
    if count is not None and count < 1:
        raise OptionError(f"max_delivery_count: must be at least 1, got {count}")


def queue_state(queue: dict[str, Any] | None) -> dict[str, Any] | None:
    if queue is None:
        return None
    properties = queue.get("properties") or {}
    state: dict[str, Any] = {"id": queue.get("id"), "name": queue.get("name")}
    state.update({option: properties.get(field) for option, field in QUEUE_OPTIONS.items()})
    state["status"] = properties.get("status")
    return state


def plan_queue(current: dict[str, Any] | None, requested: dict[str, Any], create: bool,
               label: str) -> dict[str, Any] | None:
    """The PUT body (the writable properties as read, the requested ones changed); None when nothing differs."""
    wanted = {field: requested[option] for option, field in QUEUE_OPTIONS.items() if requested.get(option) is not None}
    if current is None:
        if not create:
            raise OptionError(f"name: {label} does not exist and create is false (set create: true to create it)")
        return {"properties": wanted}
    properties = current.get("properties") or {}
    if all(properties.get(field) == value for field, value in wanted.items()):
        return None
    body = {field: properties[field] for field in QUEUE_WRITABLE if properties.get(field) is not None}
    return {"properties": {**body, **wanted}}


def predict_queue(name: str, path: str, current: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
    predicted = {"id": path, "name": name, **(current or {})}
    predicted["properties"] = {**(predicted.get("properties") or {}), **body["properties"]}
    return predicted


def ensure_queue(conn: AzureConnection, target: Target, wanted: owned.Wanted, check_mode: bool,
                 parent_read: bool = False) -> Outcome:
    """The queue's outcome: values ``queue`` and (present) ``created``. Queues carry no tags: absent deletes
    the queue named. A queue to create is written only in a namespace that exists: the namespace is read
    first (unless the caller just did, ``parent_read``), so a missing one fails naming the option rather
    than with the PUT's 404."""
    group, namespace, name = target.resource_group, target.namespace, str(target.queue)
    path = queue_path(conn.subscription_id, group, namespace, name)
    warnings: list[str] = []

    def plan(current: dict[str, Any] | None, requested: dict[str, Any], create_it: bool,
             label: str) -> dict[str, Any] | None:
        if current is None and not parent_read:
            parent = namespace_path(conn.subscription_id, group, namespace)
            if owned.read(conn, parent, API_VERSION, f"reading Service Bus namespace {namespace}") is None:
                missing = (f"namespace: Service Bus namespace {namespace} (resource group {group}) does not "
                           f"exist, so queue {name} cannot be created in it")
                if not check_mode:
                    raise OptionError(f"{missing} (create the namespace first, e.g. with "
                                      "kedaops.aks.servicebus_namespace)")
                warnings.append(f"{missing} yet (check mode: an earlier task may create it); predicting the queue")
        return plan_queue(current, requested, create_it, label)

    resource = owned.Owned(path, API_VERSION, f"queue {name} of Service Bus namespace {namespace}", "queue",
                           queue_state, plan, lambda current, body: predict_queue(name, path, current, body),
                           busy=operation_in_progress, timeout=target.timeout)
    # Queues carry no tags: nothing is required of one to delete.
    untagged = owned.Wanted({**wanted.requested, "require_tags": None}, wanted.state, wanted.create)
    outcome = owned.ensure(conn, resource, untagged, check_mode)
    outcome.values.pop("left_alone", None)
    outcome.warnings = [*warnings, *outcome.warnings]
    return outcome
