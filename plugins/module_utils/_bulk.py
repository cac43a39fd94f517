# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to handle many items in one task: the child lists of a parent (an identity's federated
credentials, a namespace's queues) and the bulk modules (``keda_objects``, ``workload_bindings``).

Each item is validated with its own resource's argument spec -- the same ``ArgumentSpecValidator``
AnsibleModule uses, so defaults, types and choices behave as in the per-item module -- and then built
with that resource's ``build``; every refusal names the item's option path (``federated_credentials[2].
subject: ...``). ``apply_items`` applies the plans in order and folds their outcomes into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

Plan = TypeVar("Plan")


@dataclass
class Item(Generic[Plan]):
    """One item of a list option: where it sits (``queues[1]``), its validated options and its plan."""

    path: str
    params: dict[str, Any]
    plan: Plan


def given(raw: Any, spec: dict[str, Any]) -> Any:
    """What the user gave of an item: AnsibleModule (the parent's own suboptions) sets every option not given
    to None, which validating the item again would read as given (a None is no choice, and counts for
    mutually exclusive options)."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for key, value in raw.items():
        option = spec.get(key) or {}
        if value is None and key in spec:
            continue
        if option.get("options") and isinstance(value, list):
            value = [given(element, option["options"]) for element in value]
        elif option.get("options"):
            value = given(value, option["options"])
        out[key] = value
    return out


def validate_item(raw: Any, spec: dict[str, Any], path: str, rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """One item's options as its resource takes them (defaults filled, types converted), or an
    ``OptionError`` naming ``path``."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible.module_utils.errors import UnsupportedError

    if not isinstance(raw, dict):
        raise OptionError(f"{path}: must be a dictionary of options, got {type(raw).__name__}")
    validation = ArgumentSpecValidator(spec, **(rules or {})).validate(dict(raw))
    if validation.error_messages:
        # ArgumentSpecValidator's message for an unknown option is "colour. Supported parameters include: ...".
        unsupported = isinstance(validation.errors[0], UnsupportedError)
        raise OptionError(f"{path}: {'unsupported parameter ' if unsupported else ''}{validation.errors.msg}")
    return dict(validation.validated_parameters)


def build_items(raw_items: list[Any] | None, option: str, spec: dict[str, Any],
                build: Callable[[dict[str, Any]], Plan], *, rules: dict[str, Any] | None = None,
                inherit: dict[str, Any] | None = None) -> list[Item[Plan]]:
    """Every item of list option ``option`` validated and built, before anything is sent; ``inherit``:
    options of the parent each item takes unless it states its own (a queue's namespace)."""
    items: list[Item[Plan]] = []
    for index, raw in enumerate(raw_items or []):
        path = f"{option}[{index}]"
        merged = {**(inherit or {}), **given(raw, spec)} if isinstance(raw, dict) else raw
        params = validate_item(merged, spec, path, rules)
        try:
            plan = build(params)
        except OptionError as error:
            raise error.at(path) from None
        items.append(Item(path, params, plan))
    return items


def apply_items(items: list[Item[Plan]], apply: Callable[[Item[Plan]], Outcome], key: str) -> Outcome:
    """Apply each item in order; one outcome: changed when any changed, ``before`` / ``after`` keyed by
    the item's path, every warning, and the items' own values listed under ``key``."""
    outcomes = [(item, apply(item)) for item in items]
    return Outcome(
        changed=any(outcome.changed for _item, outcome in outcomes),
        before={item.path: outcome.before for item, outcome in outcomes},
        after={item.path: outcome.after for item, outcome in outcomes},
        warnings=[warning for _item, outcome in outcomes for warning in outcome.warnings],
        values={key: [outcome.values for _item, outcome in outcomes]},
    )
