# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TriggerAuthentications a run ensures (keda_trigger_auth arguments), as the references
``workload_identity_info``'s ``trigger_auths`` takes: the kind the user chose, the name and the namespace."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

# workload_identity_info's trigger_auths suboptions; the rest of a keda_trigger_auth item (identity_id,
# provider, state, ...) says what the object should hold, which the info module reads from the cluster.
REFERENCE_KEYS = ("kind", "name", "namespace")


def trigger_auth_refs(trigger_auths: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each item reduced to ``kind`` (when given), ``name`` and ``namespace`` (when given)."""
    refs: list[dict[str, Any]] = []
    for index, item in enumerate(trigger_auths or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise AnsibleFilterError(f"trigger_auth_refs: item {index} needs a name (keda_trigger_auth arguments), "
                                     f"got {item!r}")
        refs.append({key: item[key] for key in REFERENCE_KEYS if item.get(key) is not None})
    return refs


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"trigger_auth_refs": trigger_auth_refs}
