# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure resources the collection may create and later delete (Service Bus namespaces and queues,
Azure Monitor workspaces): read-or-none, creation-only tags, the ownership test before a delete,
all over ``ArmClient`` (its long-running DELETE).

The one ownership rule (docs/ownership.md), for every resource the collection deletes: delete only
what carries our non-empty marker and holds nothing that is not ours; otherwise keep it and warn,
naming what was kept and why. The marker is a tag set at creation only (``creation_tags``, e.g.
``managed-by: kedaops.aks``): a resource the collection found never receives it. An empty marker is
refused (``ownership_tags``): it would match everything. What a resource holds (a
namespace's queues, an identity's federated credentials) is compared with what the caller says it
owns (``owned_queues``, ``owned_credentials``): anything else keeps the resource in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._core import Outcome
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

MANAGED_BY = {"managed-by": "kedaops.aks"}

# Azure's tag rules: at most 50 tags, names up to 512 characters without < > % & \ ? /, values up to 256
# characters (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations).
TAG_LIMIT, TAG_NAME_MAX, TAG_VALUE_MAX = 50, 512, 256
TAG_NAME_FORBIDDEN = set('<>%&\\?/')


def check_tags(option: str, tags: dict[str, Any] | None) -> dict[str, str]:
    """ARM's tag rules, before any call (the limits above); returns the tags as strings."""
    tags = tags or {}
    if len(tags) > TAG_LIMIT:
        raise OptionError(f"{option}: {len(tags)} tags; Azure allows at most {TAG_LIMIT} per resource")
    for key, value in tags.items():
        key = str(key)
        if not key or len(key) > TAG_NAME_MAX or TAG_NAME_FORBIDDEN & set(key):
            raise OptionError(f"{option}: tag name {key[:40]!r} must be 1-{TAG_NAME_MAX} characters without "
                              f"< > % & \\ ? /")
        if value is not None and len(str(value)) > TAG_VALUE_MAX:
            raise OptionError(f"{option}: the value of {key!r} is longer than {TAG_VALUE_MAX} characters")
    return {str(k): str(v) for k, v in tags.items()}


def ownership_tags(option: str, tags: dict[str, Any] | None) -> dict[str, str] | None:
    """The tags a delete requires (``require_tags``): None when not given; an empty set, or one with an
    empty name or value, is refused: it would match every resource, also those the collection only found."""
    if tags is None:
        return None
    if not tags:
        raise OptionError(f"{option}: an empty tag set would match every resource, also one the collection did "
                          "not create; give the tags set at creation (managed-by: kedaops.aks)")
    for key, value in tags.items():
        if not str(key).strip() or value is None or not str(value).strip():
            raise OptionError(f"{option}: tag {str(key)!r} has an empty name or value, which cannot mark what the "
                              "collection created; give the tags set at creation (managed-by: kedaops.aks)")
    return check_tags(option, tags)


def check_tag_options(requested: dict[str, Any]) -> None:
    """The three tag options of a resource the collection may create (``tags``, ``creation_tags``,
    ``require_tags``), checked before any call."""
    check_tags("tags", requested.get("tags"))
    check_tags("creation_tags", requested.get("creation_tags"))
    ownership_tags("require_tags", requested.get("require_tags"))


T = TypeVar("T")


def or_none(call: Callable[[], T]) -> T | None:
    """``call()``, or None when Azure answers 404 (the resource, or its parent, is absent): the one
    place "not found" means "none" -- every read-or-none of the collection's Azure resources goes here."""
    try:
        return call()
    except AzureError as err:
        if err.status == 404:
            return None
        raise


def read(conn: AzureConnection, path: str, api_version: str, action: str) -> dict[str, Any] | None:
    """The resource, or None when ARM answers 404 (the resource, or its parent, is absent)."""
    return or_none(lambda: conn.arm().get(path, api_version, action))


def carries(tags: dict[str, Any] | None, required: dict[str, str] | None) -> bool:
    """True when every required tag is on the resource with the same value (no requirement: True)."""
    have = tags or {}
    return all(have.get(key) == value for key, value in (required or {}).items())


def foreign(held: list[str], owned: list[str] | None) -> list[str]:
    """What ``held`` names that ``owned`` does not (ARM names compare case-insensitively)."""
    mine = {name.lower() for name in owned or []}
    return [name for name in held if name.lower() not in mine]


def kept_for(label: str, what: str, names: list[str]) -> str:
    """The warning for a resource kept because it holds another team's children."""
    return (f"{label} kept: it carries {what} this run does not own ({', '.join(names)}); deleting it would "
            f"delete them too. Remove them first to delete it.")


@dataclass(frozen=True)
class Owned:
    """One resource the collection may create and delete: where it is, how it is shown (``view``), the
    PUT body that brings it to what is requested (``plan``, None when nothing differs), what check mode
    reports instead of the PUT's answer (``predict``), what it holds that is not ours (``holds``, read
    only for a resource that is ours) and the service's "another operation is in progress" (``busy``)."""

    path: str
    api_version: str
    label: str
    key: str
    view: Callable[[dict[str, Any] | None], dict[str, Any] | None]
    plan: Callable[[dict[str, Any] | None, dict[str, Any], bool, str], dict[str, Any] | None]
    predict: Callable[[dict[str, Any] | None, dict[str, Any]], dict[str, Any]]
    holds: Callable[[], str | None] | None = None
    busy: Callable[[AzureError], bool] | None = None
    timeout: float = 600
    # create false and missing: an outcome with ``exists: false`` rather than the planner's refusal.
    missing_ok: bool = False


@dataclass(frozen=True)
class Wanted:
    """What the task asks of an owned resource."""

    requested: dict[str, Any]
    state: str = "present"
    create: bool = True


def absent(conn: AzureConnection, resource: Owned, current: dict[str, Any] | None,
           require_tags: dict[str, str] | None, check_mode: bool) -> tuple[bool, str | None]:
    """Delete ``current`` if it carries ``require_tags`` and ``holds`` says nothing; returns (changed,
    why it was left alone)."""
    if current is None:
        return False, None
    if not carries(current.get("tags"), require_tags):
        return False, (f"{resource.label} was left alone: it does not carry the tags {require_tags} "
                       "(the collection did not create it)")
    kept = resource.holds() if resource.holds else None
    if kept:
        return False, kept
    if not check_mode:
        write(lambda: conn.arm().delete_and_wait(resource.path, resource.api_version, f"deleting {resource.label}",
                                                 resource.timeout), resource.timeout, resource.busy)
    return True, None


def write(call: Callable[[], Any], timeout: float, busy: Callable[[AzureError], bool] | None) -> Any:
    """A write, with the service's "another operation is in progress" conflict (``busy``) waited out
    within ``timeout`` as AKS's is (the shared ``retry_on_codes``)."""
    if busy is None:
        return call()
    return retry_on_codes(call, frozenset(), timeout, max_delay=30.0, transient=busy)


def ensure(conn: AzureConnection, resource: Owned, wanted: Wanted, check_mode: bool) -> Outcome:
    """One owned resource: read it; absent deletes it only if it carries ``require_tags`` (and a warning
    says why it was left alone otherwise); present PUTs ``plan``'s body when something differs. The
    outcome's values: ``key`` (the resource as ``view`` shows it), ``created`` or ``left_alone``, and
    ``exists`` where a missing resource is an answer (``missing_ok``)."""
    current = read(conn, resource.path, resource.api_version, f"reading {resource.label}")
    before = resource.view(current)
    if wanted.state == "absent":
        changed, why = absent(conn, resource, current, wanted.requested.get("require_tags"), check_mode)
        after = None if changed else before
        return Outcome(changed, before, after, warnings=[why] if why else [],
                       values=_values(resource, after, left_alone=why))
    if current is None and not wanted.create and resource.missing_ok:
        return Outcome(False, None, None, values=_values(resource, None, created=False))
    body = resource.plan(current, wanted.requested, wanted.create, resource.label)
    if body is None:
        return Outcome(False, before, before, values=_values(resource, before, created=False))
    if check_mode:
        after = resource.view(resource.predict(current, body))
    else:
        after = resource.view(write(lambda: conn.arm().put_and_wait(resource.path, resource.api_version, body,
                                                                    f"writing {resource.label}", resource.timeout),
                                    resource.timeout, resource.busy))
    return Outcome(True, before, after, values=_values(resource, after, created=current is None))


def _values(resource: Owned, after: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """The module's own keys: the resource as shown, ``exists`` for one that may be read only, and ``extra``."""
    values = {resource.key: after, **extra}
    if resource.missing_ok:
        values["exists"] = after is not None
    return values


def creation_location(requested: dict[str, Any], create: bool, label: str) -> str:
    """Where a resource that is not there yet is created: refused without ``create`` or a ``location``."""
    if not create:
        raise OptionError(f"name: {label} does not exist and create is false (set create: true to create it)")
    if not requested.get("location"):
        raise OptionError(f"location: needed to create {label}")
    return str(requested["location"])
