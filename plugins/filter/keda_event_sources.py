# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' event sources: what each source derives (role assignments, trigger metadata), and the
triggers of scaled objects and jobs that name a source with ``event_source``."""

from __future__ import annotations

import copy
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import SERVICEBUS_HOST_SUFFIX as HOST_SUFFIX

# The built-in roles KEDA needs on each source type: Service Bus runtime properties need the Manage
# claim, which among the data roles only Data Owner carries (kedacore/keda
# pkg/scalers/azure_servicebus_scaler.go reads them through the admin client); a prometheus query on
# an Azure Monitor workspace needs microsoft.monitor/accounts/data/metrics/read (Monitoring Data Reader).
ROLES = {"servicebus": "Azure Service Bus Data Owner", "prometheus": "Monitoring Data Reader"}


def event_source_facts(entries: list[dict[str, Any]], resources: list[dict[str, Any]],
                       queues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{name: {type, id, role, metadata, host, queue, server_address, exists}}`` from the sources and the
    registered loop results of servicebus_namespace / monitor_workspace (``resources``) and servicebus_queue.
    ``exists``: what the read answered (false for a source that does not exist, e.g. after teardown); null
    for a source not read."""
    by_item: dict[str, dict[str, Any]] = {}
    found: dict[str, bool | None] = {}
    for result in resources or []:
        if result.get("skipped"):
            continue
        source = str((result.get("item") or {}).get("name"))
        by_item[source] = result.get("namespace") or result.get("workspace") or {}
        found[source] = result.get("exists")
    facts: dict[str, Any] = {}
    for entry in entries or []:
        name, kind = entry.get("name"), entry.get("type")
        if not name or not isinstance(name, str):
            raise AnsibleFilterError(f"keda_scaling_event_sources: every source needs a name, got {name!r}")
        if name in facts:
            # Triggers name a source; two with one name would be two sources (two namespaces) behind one name.
            raise AnsibleFilterError(f"keda_scaling_event_sources: the name {name!r} is given to two sources; "
                                     "names are unique (triggers refer to a source by it)")
        if kind not in ROLES:
            raise AnsibleFilterError(f"event source {name!r}: type must be servicebus or prometheus, got {kind!r}")
        resource = by_item.get(name) or {}
        fact: dict[str, Any] = {"type": kind, "id": resource.get("id"), "role": ROLES[kind],
                                "workload_principal_id": entry.get("workload_principal_id"),
                                "exists": found.get(name)}
        if kind == "servicebus":
            # Until the namespace is read (argument validation, check mode before creation), its name and
            # public-cloud host follow from the entry; the namespace's own answer replaces them.
            namespace = resource.get("name") or entry.get("namespace")
            host = resource.get("host") or (f"{namespace}{HOST_SUFFIX}" if namespace else None)
            fact.update({"namespace": namespace, "host": host, "queue": entry.get("queue"),
                         "metadata": {"namespace": namespace}})
            if entry.get("queue"):
                fact["metadata"]["queueName"] = entry["queue"]
        else:
            endpoint = resource.get("prometheus_query_endpoint")
            fact.update({"server_address": endpoint, "metadata": {"serverAddress": endpoint}})
        facts[name] = fact
    return facts


def event_source_roles(facts: dict[str, Any], workload: bool = True) -> list[dict[str, Any]]:
    """The role assignments the sources derive, as ``keda_scaling_role_assignments`` entries: KEDA's identity
    on every source, and (``workload``) a workload's own identity (``workload_principal_id``) where the workload
    talks to it."""
    roles = []
    for _name, fact in sorted((facts or {}).items()):
        if not fact.get("id"):
            continue
        roles.append({"scope": fact["id"], "role": fact["role"]})
        if workload and fact.get("workload_principal_id"):
            roles.append({"scope": fact["id"], "role": fact["role"], "principal_id": fact["workload_principal_id"]})
    return roles


def event_source_triggers(scalers: list[dict[str, Any]], facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The scalers with every ``event_source: <name>`` trigger resolved into the source's metadata. A key the
    trigger states itself must agree with the source's."""
    resolved = []
    for scaler in scalers or []:
        scaler = copy.deepcopy(scaler)
        for index, trigger in enumerate(scaler.get("triggers") or []):
            name = trigger.pop("event_source", None)
            if name is None:
                continue
            where = f"{scaler.get('name')}.triggers[{index}].event_source"
            if name not in (facts or {}):
                raise AnsibleFilterError(f"{where}: no event source named {name!r} in keda_event_sources "
                                         f"(known: {', '.join(sorted(facts or {})) or 'none'})")
            fact = facts[name]
            wanted_type = {"servicebus": "azure-servicebus", "prometheus": "prometheus"}[fact["type"]]
            trigger.setdefault("type", wanted_type)
            if trigger["type"] != wanted_type:
                raise AnsibleFilterError(f"{where}: source {name!r} is a {fact['type']} source; the trigger type "
                                         f"must be {wanted_type}, got {trigger['type']!r}")
            metadata = dict(trigger.get("metadata") or {})
            for key, value in fact["metadata"].items():
                if key in metadata and metadata[key] != value:
                    raise AnsibleFilterError(f"{where}: metadata.{key} is {metadata[key]!r} but source {name!r} "
                                             f"gives {value!r}; drop metadata.{key}")
                metadata[key] = value
            trigger["metadata"] = metadata
        resolved.append(scaler)
    return resolved


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"event_source_facts": event_source_facts, "event_source_roles": event_source_roles,
                "event_source_triggers": event_source_triggers}
