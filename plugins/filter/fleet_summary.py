# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's fleet summary (module_utils/_fleet_doctor.py), as a filter."""

from __future__ import annotations

from typing import Any


def fleet_summary(reports: list[Any], hosts: list[str] | None = None) -> dict[str, Any]:
    from ansible_collections.kedaops.aks.plugins.module_utils._fleet_doctor import summarize

    return summarize([r if isinstance(r, dict) else None for r in reports or []], list(hosts or []))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"fleet_summary": fleet_summary}
