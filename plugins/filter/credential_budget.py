# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The federated credential budget of a play (module_utils/_credential_budget.py), as a filter."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError


def credential_budget(planned: list[dict[str, Any]], identities: list[dict[str, Any]] | None = None,
                      limit: int | None = None) -> dict[str, Any]:
    """``planned`` credentials of every host; ``identities`` the registered results of managed_identity_info
    (``credentials: true``) for the play's identities (skipped ones and missing identities hold none)."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _credential_budget as budget
    from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

    existing: dict[str, list[dict[str, Any]]] = {}
    for result in identities or []:
        identity = (result or {}).get("identity") or {}
        if result.get("exists") and identity.get("id"):
            existing[budget.key_of_id(identity["id"])] = result.get("credentials") or []
    try:
        if limit is None:
            report = budget.plan(list(planned or []), existing)
        else:
            report = budget.plan(list(planned or []), existing, int(limit))
    except OptionError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    # One sentence per identity, for the role's report of a budget within the limit.
    report["summary"] = [f"{identity['identity']}: {identity['count']} federated credentials ({identity['new']} new) "
                         f"for {len(identity['hosts'])} hosts." for identity in report["identities"]]
    return report


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"credential_budget": credential_budget}
