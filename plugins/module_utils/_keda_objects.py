# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keda_objects' core: service accounts, TriggerAuthentications, ScaledObjects and ScaledJobs in one task.

Each item is the per-item module's own (``_bulk.build_items`` with that module's spec and build), so the
rules, owned fields and refusals are theirs. Before the first write the ScaledObjects are checked against
each other (``build``) and against the cluster (``apply``, KEDA's webhook rules, ``_keda_conflicts``); the
objects are read side by side with that check (``_k8s_listed.PrefetchedApi``), then written in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, NamedTuple

from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_workload_sa as sa
from ansible_collections.kedaops.aks.plugins.module_utils import _keda as keda
from ansible_collections.kedaops.aks.plugins.module_utils import _keda_conflicts as conflicts
from ansible_collections.kedaops.aks.plugins.module_utils._bulk import Item, apply_items, build_items
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource, side_by_side
from ansible_collections.kedaops.aks.plugins.module_utils._diff import diff
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import ObjectStore
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_listed import PrefetchedApi
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import clean, viewed


class Kind(NamedTuple):
    """What the per-item module brings: its core, the runner-level ensure, the item's result key and view,
    and the kind in diff headers."""

    resource: Resource[Any]
    ensure: Callable[[ObjectStore, Any, bool], Outcome]
    key: str
    view: Callable[[dict | None], Any]
    title: str

    @property
    def spec(self) -> dict[str, Any]:
        """The per-item module's options (without the auth options, which the task gives once)."""
        return self.resource.argument_spec


KINDS: dict[str, Kind] = {
    "service_accounts": Kind(sa.RESOURCE, sa.ensure, "service_account", sa.summary, "ServiceAccount"),
    "trigger_auths": Kind(keda.TRIGGER_AUTH_RESOURCE, keda.ensure, "trigger_auth", clean, "TriggerAuthentication"),
    "scaled_objects": Kind(keda.SCALED_OBJECT_RESOURCE, keda.ensure, "scaled_object", clean, "ScaledObject"),
    "scaled_jobs": Kind(keda.SCALED_JOB_RESOURCE, keda.ensure, "scaled_job", clean, "ScaledJob"),
}


@dataclass
class ObjectsPlan:
    """Every item of every list, built, in the order they are written; the ScaledObjects the webhook rules
    check against the cluster before the first write."""

    items: list[tuple[str, list[Item[Any]]]]
    scaled_objects: list[tuple[str, keda.KedaPlan]]


@dataclass
class ItemsOutcome(Outcome):
    """The task's outcome: one diff per changed object, headed by it (``Kind ns/name``)."""

    diffs: list[dict[str, Any]] = field(default_factory=list)

    def diff_result(self) -> Any:
        return self.diffs


def build(params: dict[str, Any]) -> ObjectsPlan:
    """Every item validated by its module's argument spec and built by its build, before anything is sent."""
    items = [(option, build_items(params[option], option, kind.spec, kind.resource.build))
             for option, kind in KINDS.items()]
    seen: dict[tuple[str, str, str], str] = {}
    for _option, built in items:
        for item in built:
            definition = item.plan.definition
            # One object, one item: the same object twice would be written twice (last wins), or created
            # and deleted in one run (present and absent). Kubernetes names are case-sensitive.
            key = (definition.resource.kind, definition.namespace or "", definition.name)
            if key in seen:
                where = f"{key[1]}/{key[2]}" if key[1] else key[2]
                raise OptionError(f"{item.path}: {key[0]} {where} is listed twice (also as {seen[key]}); give each "
                                  "object once (one state: present or absent)")
            seen[key] = item.path
    # KEDA's webhook rules among the task's own ScaledObjects: no two for one workload or one HPA name.
    scaled_objects = [(item.path, item.plan) for option, built in items if option == "scaled_objects"
                      for item in built if item.plan.scaled_object_item is not None]
    conflicts.check_unique_targets([(where,) + plan.scaled_object_item[1:] for where, plan in scaled_objects])
    for _where, plan in scaled_objects:
        plan.conflicts_checked = True  # against the cluster once for the task, in apply
    return ObjectsPlan(items, scaled_objects)


def _header(kind: Kind, params: dict[str, Any]) -> str:
    return f"{kind.title} {params.get('namespace') or '(cluster)'}/{params['name']}"


def apply(connection: Connection, plan: ObjectsPlan, check_mode: bool) -> Outcome:
    api = connection.k8s
    store = PrefetchedApi(api)
    reads = store.reads([(item.plan.definition.resource, item.plan.definition.name, item.plan.definition.namespace)
                         for _option, built in plan.items for item in built])

    def check_cluster() -> None:
        # Against the ScaledObjects and HPAs of their namespaces (a workload an HPA KEDA does not own scales).
        if plan.scaled_objects:
            conflicts.check_written(api, plan.scaled_objects)

    side_by_side(check_cluster, *reads)

    def apply_one(kind: Kind, item: Item[Any]) -> Outcome:
        outcome = viewed(kind.ensure(store, item.plan, check_mode), kind.key, kind.view)
        return replace(outcome, warnings=[f"{item.path}: {warning}" for warning in outcome.warnings],
                       values={"changed": outcome.changed, **outcome.values})

    values: dict[str, Any] = {}
    warnings: list[str] = []
    diffs: list[dict[str, Any]] = []
    for option, built in plan.items:
        kind = KINDS[option]
        done = apply_items(built, partial(apply_one, kind), option)
        values.update(done.values)
        warnings.extend(done.warnings)
        for item, item_values in zip(built, done.values[option]):
            if item_values["changed"]:
                header = _header(kind, item.params)
                diffs.append(dict(diff(done.before[item.path], done.after[item.path]),
                                  before_header=header, after_header=header))
    changed = any(item_values["changed"] for option_values in values.values() for item_values in option_values)
    return ItemsOutcome(changed, warnings=warnings, values=values, diffs=diffs)


ARGUMENT_SPEC: dict[str, Any] = {option: {"type": "list", "elements": "dict", "default": []} for option in KINDS}

KEDA_OBJECTS_RESOURCE = Resource("keda_objects", ARGUMENT_SPEC, build, apply, k8s=True)
