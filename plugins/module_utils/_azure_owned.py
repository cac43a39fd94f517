# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure resources the collection may create and later delete (Service Bus namespaces and queues,
Azure Monitor workspaces): read-or-none, creation-only tags, the ownership test before a delete,
all over ``ArmClient`` (its long-running DELETE).

The one ownership rule (docs/ownership.md), for every resource the collection deletes: delete only
what carries our non-empty marker and holds nothing that is not ours; otherwise keep it and warn,
naming what was kept and why. The marker is a tag set at creation only (``creation_tags``, e.g.
``managed-by: kedaops.aks``): a resource the collection found never receives it. An empty marker is
refused (``_option_rules.ownership_tags``): it would match everything. What a resource holds (a
namespace's queues, an identity's federated credentials) is compared with what the caller says it
owns (``owned_queues``, ``owned_credentials``): anything else keeps the resource in place.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._diff import diff

MANAGED_BY = {"managed-by": "kedaops.aks"}


def read(conn: AzureConnection, path: str, api_version: str, action: str) -> dict[str, Any] | None:
    """The resource, or None when ARM answers 404 (the resource, or its parent, is absent)."""
    try:
        return conn.arm().get(path, api_version, action)
    except AzureError as err:
        if err.status == 404:
            return None
        raise


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


def absent(conn: AzureConnection, path: str, api_version: str, label: str, current: dict[str, Any] | None,
           require_tags: dict[str, str] | None, check_mode: bool, timeout: float,
           holds: Callable[[], str | None] | None = None,
           busy: Callable[[AzureError], bool] | None = None) -> tuple[bool, str | None]:
    """Delete ``current`` if it carries ``require_tags`` and ``holds`` (what it holds that is not ours,
    read only for a resource that is ours) says nothing; returns (changed, why it was left alone)."""
    if current is None:
        return False, None
    if not carries(current.get("tags"), require_tags):
        return False, (f"{label} was left alone: it does not carry the tags {require_tags} "
                       "(the collection did not create it)")
    kept = holds() if holds else None
    if kept:
        return False, kept
    if not check_mode:
        write(lambda: conn.arm().delete_and_wait(path, api_version, f"deleting {label}", timeout), timeout, busy)
    return True, None


def write(call: Callable[[], Any], timeout: float, busy: Callable[[AzureError], bool] | None) -> Any:
    """A write, with the service's "another operation is in progress" conflict (``busy``) waited out
    within ``timeout`` as AKS's is (the shared ``retry_on_codes``)."""
    if busy is None:
        return call()
    return retry_on_codes(call, frozenset(), timeout, max_delay=30.0, transient=busy)


def ensure(conn: AzureConnection, path: str, api_version: str, label: str, key: str, requested: dict[str, Any],
           state: str, create: bool, check_mode: bool, timeout: float, *,
           view: Callable[[dict[str, Any] | None], dict[str, Any] | None],
           plan: Callable[[dict[str, Any] | None, dict[str, Any], bool, str], dict[str, Any] | None],
           predict: Callable[[dict[str, Any] | None, dict[str, Any]], dict[str, Any]],
           holds: Callable[[], str | None] | None = None,
           busy: Callable[[AzureError], bool] | None = None) -> dict[str, Any]:
    """One owned resource: read it; absent deletes it only if it carries ``require_tags``; present PUTs
    ``plan``'s body when something differs (``predict`` says what check mode reports instead). The
    result holds ``key`` (the resource as ``view`` shows it), diff as (before, after), ``created`` or
    ``left_alone``."""
    current = read(conn, path, api_version, f"reading {label}")
    before = view(current)
    if state == "absent":
        changed, why = absent(conn, path, api_version, label, current, requested.get("require_tags"),
                              check_mode, timeout, holds, busy)
        after = None if changed else before
        return {"changed": changed, key: after, "diff": (before, after), "left_alone": why}
    body = plan(current, requested, create, label)
    if body is None:
        return {"changed": False, key: before, "diff": (before, before), "created": False}
    after = view(predict(current, body) if check_mode
                 else write(lambda: conn.arm().put_and_wait(path, api_version, body, f"writing {label}", timeout),
                            timeout, busy))
    return {"changed": True, key: after, "diff": (before, after), "created": current is None}


def module_result(result: dict[str, Any]) -> dict[str, Any]:
    """``ensure``'s result as a module returns it: the diff as Ansible renders it, a warning for what
    was left alone."""
    result["diff"] = diff(*result["diff"])
    if result.get("left_alone"):
        result["warnings"] = [*result.get("warnings", []), result["left_alone"]]
    return result
