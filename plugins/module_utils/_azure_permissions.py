# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The caller's own Azure RBAC permissions at the scopes a run will write to, read before any write.

Source: the permissions API (Microsoft.Authorization, api-version 2022-04-01,
``Permissions_ListForResourceGroup`` / ``Permissions_ListForResource``): one entry per role assignment
that applies to the caller at the scope, each with ``actions`` / ``notActions``. Azure RBAC grants an
action when one entry's ``actions`` match it and the same entry's ``notActions`` do not; ``*`` matches
any characters, case-insensitively
(https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions and #notactions).

Cost: one read per resource group the checks name; a check on a resource whose group does not grant
everything gets one more read at the resource itself (a role can be assigned there). The groups are read
side by side, then the resources that need it (``_core.side_by_side``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
from ansible_collections.kedaops.aks.plugins.module_utils import _paths as paths
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource, side_by_side
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ModuleFailure, OptionError

API_VERSION = "2022-04-01"
_SCOPE = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)(/providers/[^/]+(?:/[^/]+/[^/]+)+)?$", re.IGNORECASE)
_ACTION = re.compile(r"^[A-Za-z0-9.]+(/[A-Za-z0-9.*_-]+)+$")
ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"

# The least-privileged built-in roles that grant an action (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
_FIXES = (
    ("microsoft.authorization/roleassignments/", "Role Based Access Control Administrator or User Access Administrator"),
    ("microsoft.managedidentity/", "Managed Identity Contributor"),
    ("microsoft.containerservice/", "Azure Kubernetes Service Contributor Role"),
    ("microsoft.kubernetes/", "Kubernetes Cluster - Azure Arc Onboarding"),
)


def fix_for(action: str) -> str:
    lowered = action.lower()
    return next((role for prefix, role in _FIXES if lowered.startswith(prefix)), "Contributor")


def build_checks(checks: list[dict[str, Any]], subscription_id: str) -> list[dict[str, Any]]:
    """Each check as ``{scope, group, actions}`` (group: the resource group id) with the percent-encoded paths
    it is read at (``scope_path``, ``group_path``; _paths), or an OptionError."""
    planned = []
    for index, check in enumerate(checks):
        where = f"checks[{index}]"
        scope, group_name = check.get("scope"), check.get("resource_group")
        if bool(scope) == bool(group_name):
            raise OptionError(f"{where}: give exactly one of scope and resource_group")
        if group_name:
            rules.guid("subscription_id", subscription_id)
            rules.resource_group(f"{where}.resource_group", group_name)
            scope = f"/subscriptions/{subscription_id}/resourceGroups/{group_name}"
        scope = str(scope).rstrip("/")
        segments = paths.resource_id_segments(f"{where}.scope", scope)
        match = _SCOPE.match(scope)
        if not match:
            raise OptionError(
                f"{where}.scope: {scope!r} must be a resource group or a resource id "
                "(/subscriptions/<id>/resourceGroups/<name>[/providers/...]); the permissions API answers for those only")
        actions = check.get("actions") or []
        if not actions:
            raise OptionError(f"{where}.actions: name at least one action, e.g. {ROLE_ASSIGNMENTS_WRITE}")
        for action in actions:
            if not isinstance(action, str) or not _ACTION.match(action):
                raise OptionError(f"{where}.actions: {action!r} is not an Azure action "
                                  "(<Namespace>/<resourceType>[/...]/<read|write|delete|action>)")
        group = f"/subscriptions/{match.group(1)}/resourceGroups/{match.group(2)}"
        planned.append({"scope": scope, "group": group, "actions": list(dict.fromkeys(actions)),
                        "scope_path": paths.resource_id(f"{where}.scope", scope),
                        "group_path": paths.resource_id(f"{where}.scope", "/" + "/".join(segments[:4]))})
    return planned


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, action, flags=re.IGNORECASE) is not None


def granted(entries: list[dict[str, Any]], action: str) -> bool:
    return any(any(_matches(p, action) for p in entry.get("actions") or [])
               and not any(_matches(p, action) for p in entry.get("notActions") or [])
               for entry in entries)


def _read(arm: Any, scope: str) -> list[dict[str, Any]] | None:
    """The caller's permission entries at ``scope``; None when the scope does not exist (404)."""
    answer = arm.get(f"{scope}/providers/Microsoft.Authorization/permissions", API_VERSION,
                     f"reading the caller's permissions at {scope}", missing_ok=True)
    return None if answer is None else list(answer.get("value") or [])


def _read_all(arm: Any, paths_by_key: dict[str, str], reads: dict[str, list[dict[str, Any]] | None]) -> None:
    """Read every scope of ``paths_by_key`` not read yet, side by side, into ``reads``."""
    todo = [(key, path) for key, path in paths_by_key.items() if key not in reads]
    if len(todo) > 1:
        arm.connection.credential.get_token(arm.connection.cloud.scope)  # one token, which the reads share
    answers = side_by_side(*(lambda path=path: _read(arm, path) for _key, path in todo))
    reads.update((key, answer) for (key, _path), answer in zip(todo, answers))


def evaluate(arm: Any, planned: list[dict[str, Any]]) -> dict[str, Any]:
    """Read (once per group, then once per resource whose group falls short) and judge every check;
    the result the module returns."""
    reads: dict[str, list[dict[str, Any]] | None] = {}
    _read_all(arm, {check["group"].lower(): check["group_path"] for check in planned}, reads)
    _read_all(arm, {check["scope"].lower(): check["scope_path"] for check in planned
                    if check["scope"].lower() != check["group"].lower() and reads[check["group"].lower()] is not None
                    and any(not granted(reads[check["group"].lower()] or [], a) for a in check["actions"])}, reads)
    results: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for check in planned:
        group_key = check["group"].lower()
        entries = reads[group_key]
        if entries is None:
            problem = f"resource group {check['group']} does not exist (or the caller cannot see it)"
            results.append({"scope": check["scope"], "read_at": check["group"], "granted": [],
                            "missing": list(check["actions"]), "problem": problem})
            missing.extend({"scope": check["scope"], "action": a, "fix": f"create {check['group']} first"}
                           for a in check["actions"])
            continue
        read_at = check["group"]
        lacking = [a for a in check["actions"] if not granted(entries, a)]
        if lacking and check["scope"].lower() != group_key:
            at_resource = reads[check["scope"].lower()]
            if at_resource is not None:
                read_at = check["scope"]
                lacking = [a for a in check["actions"] if not granted(at_resource, a)]
        results.append({"scope": check["scope"], "read_at": read_at,
                        "granted": [a for a in check["actions"] if a not in lacking], "missing": lacking})
        missing.extend({"scope": check["scope"], "action": a,
                        "fix": f"grant it {fix_for(a)} (or Owner) at {check['scope']} or above"} for a in lacking)
    return {"checks": results, "missing": missing, "ok": not missing, "reads": len(reads)}


class MissingRights(ModuleFailure):
    """The caller lacks rights the run needs: the message names each, the result keeps the report."""

    def __init__(self, result: dict[str, Any]):
        lines = [f"the caller lacks {m['action']} at {m['scope']}: {m['fix']}" for m in result["missing"]]
        super().__init__("; ".join(lines) + ". Nothing was changed.")
        self.result = result

    def failure_result(self) -> dict[str, Any]:
        return {"msg": str(self), **self.result}


ARGUMENT_SPEC: dict[str, Any] = {
    "checks": {"type": "list", "elements": "dict", "required": True, "options": {
        "scope": {"type": "str"},
        "resource_group": {"type": "str"},
        "actions": {"type": "list", "elements": "str", "required": True},
    }},
    "fail_on_missing": {"type": "bool", "default": True},
}


@dataclass(frozen=True)
class PermissionsPlan:
    checks: list[dict[str, Any]]
    fail_on_missing: bool


def build(params: dict[str, Any]) -> PermissionsPlan:
    """Every check resolved and checked before any read; a resource group needs the subscription."""
    subscription = ""
    if any(check.get("resource_group") for check in params["checks"]):
        subscription = params.get("subscription_id") or ""
        if not subscription:
            raise OptionError("subscription_id: required (the option or AZURE_SUBSCRIPTION_ID)")
    return PermissionsPlan(build_checks(params["checks"], subscription), params["fail_on_missing"])


def apply(connection: Connection, plan: PermissionsPlan, check_mode: bool) -> Outcome:
    report = evaluate(connection.azure.arm(), plan.checks)
    if report["missing"] and plan.fail_on_missing:
        raise MissingRights(report)
    return Outcome(False, values=report, diffable=False)


RESOURCE = Resource("caller_permissions_info", ARGUMENT_SPEC, build, apply, azure=True)
