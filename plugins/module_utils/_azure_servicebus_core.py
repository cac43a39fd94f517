# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cores of ``kedaops.aks.servicebus_namespace`` (``NAMESPACE_RESOURCE``) and
``kedaops.aks.servicebus_queue`` (``QUEUE_RESOURCE``) over ``_azure_servicebus``. A namespace's
``queues`` are the queue core item by item (``_bulk``): each item is validated with servicebus_queue's
spec and built with its ``build``, taking the namespace and resource group from the parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_owned as owned
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_servicebus as sb
from ansible_collections.kedaops.aks.plugins.module_utils._bulk import Item, apply_items, build_items
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import state_only

# -- servicebus_queue ----------------------------------------------------------------------------------------

QUEUE_REQUESTED = ("max_delivery_count", "lock_duration", "max_size_in_megabytes", "default_message_time_to_live")
QUEUE_ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "max_delivery_count": {"type": "int"},
    "lock_duration": {"type": "str"},
    "max_size_in_megabytes": {"type": "int"},
    "default_message_time_to_live": {"type": "str"},
    "create": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
# What an item of servicebus_namespace's queues states (the namespace and its group come from the parent).
QUEUE_ITEM_OPTIONS = ("name", *QUEUE_REQUESTED, "create", "state")


@dataclass(frozen=True)
class QueueTask:
    target: sb.Target
    wanted: owned.Wanted


def queue_build(params: dict[str, Any]) -> QueueTask:
    requested = {option: params[option] for option in QUEUE_REQUESTED}
    if params["state"] == "absent":  # a queue to delete is found by its name; its properties would be ignored
        state_only("absent", requested, dict.fromkeys(QUEUE_REQUESTED, "a queue with state: absent is found by its name"))
    sb.validate_queue(params["namespace"], params["name"], requested)
    return QueueTask(sb.Target(params["resource_group"], params["namespace"], params["name"]),
                     owned.Wanted(requested, params["state"], params["create"]))


def queue_apply(connection: Connection, task: QueueTask, check_mode: bool) -> Outcome:
    return sb.ensure_queue(connection.azure, task.target, task.wanted, check_mode)


QUEUE_RESOURCE = Resource("servicebus_queue", QUEUE_ARGUMENT_SPEC, queue_build, queue_apply, azure=True)

# -- servicebus_namespace ------------------------------------------------------------------------------------

REQUESTED = ("location", "sku", "disable_local_auth", "tags", "creation_tags", "require_tags", "owned_queues")
PRESENT_ONLY = ("location", "sku", "disable_local_auth", "tags", "creation_tags", "queues")
ABSENT_ONLY = ("require_tags", "owned_queues")
NAMESPACE_ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "location": {"type": "str"},
    "sku": {"type": "str", "choices": list(sb.SKUS)},
    "disable_local_auth": {"type": "bool"},
    "tags": {"type": "dict"},
    "creation_tags": {"type": "dict"},
    "require_tags": {"type": "dict"},
    "owned_queues": {"type": "list", "elements": "str"},
    "create": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "timeout": {"type": "int", "default": 900},
    "queues": {"type": "list", "elements": "dict", "default": [],
               "options": {option: QUEUE_ARGUMENT_SPEC[option] for option in QUEUE_ITEM_OPTIONS}},
}


@dataclass(frozen=True)
class NamespaceTask:
    target: sb.Target
    wanted: owned.Wanted
    queues: list[Item[QueueTask]] = field(default_factory=list)


def namespace_build(params: dict[str, Any]) -> NamespaceTask:
    """Children never act on the parent: what only means something while the namespace stays (its queues,
    its properties) is refused with state absent, and the ownership options with state present."""
    if params["state"] == "absent":
        state_only("absent", {option: params[option] for option in PRESENT_ONLY},
                   {"queues": "remove a queue with its item's state: absent (and state: present), or with "
                              "kedaops.aks.servicebus_queue state: absent; name the queues this run created in "
                              "owned_queues"})
    else:
        state_only("present", {option: params[option] for option in ABSENT_ONLY})
    requested = {option: params[option] for option in REQUESTED}
    sb.validate_namespace(params["name"], requested)
    queues = build_items(params["queues"], "queues", QUEUE_ARGUMENT_SPEC, queue_build,
                         inherit={"resource_group": params["resource_group"], "namespace": params["name"]})
    seen: set[str] = set()
    for item in queues:
        name = str(item.plan.target.queue)
        if name.lower() in seen:
            raise OptionError(f"{item.path}.name: {name!r} is listed twice (names are unique in a namespace, "
                              "case-insensitively)")
        seen.add(name.lower())
    return NamespaceTask(sb.Target(params["resource_group"], params["name"], timeout=params["timeout"]),
                         owned.Wanted(requested, params["state"], params["create"]), queues)


def namespace_apply(connection: Connection, task: NamespaceTask, check_mode: bool) -> Outcome:
    conn = connection.azure
    outcome = sb.ensure_namespace(conn, task.target, task.wanted, check_mode)
    if task.wanted.state == "absent":
        return outcome
    if not task.queues:
        outcome.values["queues"] = []
        return outcome
    if not outcome.values["exists"]:
        raise OptionError(f"queues: Service Bus namespace {task.target.namespace} does not exist and create is false, "
                          "so its queues cannot be ensured")
    folded = apply_items(task.queues, lambda item: sb.ensure_queue(conn, item.plan.target, item.plan.wanted,
                                                                   check_mode, parent_read=True), "queues")
    queues = [dict(values["queue"] or {}, created=values["created"])
              for item, values in zip(task.queues, folded.values["queues"]) if item.plan.wanted.state == "present"]
    return Outcome(outcome.changed or folded.changed,
                   dict(outcome.before or {}, queues=[b for b in folded.before.values() if b]),
                   dict(outcome.after or {}, queues=queues), warnings=[*outcome.warnings, *folded.warnings],
                   values={**outcome.values, "queues": queues})


NAMESPACE_RESOURCE = Resource("servicebus_namespace", NAMESPACE_ARGUMENT_SPEC, namespace_build, namespace_apply,
                              azure=True)
