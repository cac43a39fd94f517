# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's summary of a fleet (doctor.yml over the ``kedaops.aks.clusters`` inventory): one table of
clusters by links, the healthy count, and for each broken cluster its first failing link and the fix.

Plain text lines (no colour, no box drawing) so that a terminal, ``ansible-playbook``'s callback and AWX's
job output show the same table. Pure.
"""

from __future__ import annotations

from typing import Any

OK, BROKEN, ABSENT = "ok", "XX", "-"


def summarize(reports: list[dict[str, Any] | None], hosts: list[str] | None = None) -> dict[str, Any]:
    """``reports``: per host ``{host, ok, checks: [{id, ok, detail, fix}], error}`` (``error`` when the doctor
    could not check the host at all; None when the host left the play). ``hosts`` names the None ones."""
    rows: list[dict[str, Any]] = []
    for index, report in enumerate(reports):
        if not isinstance(report, dict):
            name = hosts[index] if hosts and index < len(hosts) else f"host {index + 1}"
            report = {"host": name, "checks": [], "error": "the host left the play before the doctor checked it"}
        rows.append(report)
    links: list[str] = []
    for report in rows:
        for check in report.get("checks") or []:
            if check.get("id") not in links:
                links.append(str(check.get("id")))
    broken: list[dict[str, str]] = []
    table: list[list[str]] = []
    for report in rows:
        host = str(report.get("host"))
        by_id = {str(c.get("id")): c for c in report.get("checks") or []}
        cells = [(OK if by_id[link].get("ok") else BROKEN) if link in by_id else ABSENT for link in links]
        first = next((c for c in report.get("checks") or [] if not c.get("ok")), None)
        if report.get("error"):
            broken.append({"host": host, "link": "access", "detail": str(report["error"]),
                           "fix": "check the cluster's Kubernetes access (cluster_access) and the doctor's rights"})
            state = "ERROR"
        elif first is not None:
            broken.append({"host": host, "link": str(first.get("id")), "detail": str(first.get("detail") or ""),
                           "fix": str(first.get("fix") or "")})
            state = "BROKEN"
        else:
            state = "healthy"
        table.append([host, state] + cells)
    healthy = sum(1 for row in table if row[1] == "healthy")
    header = ["cluster", "state"] + [str(i + 1) for i in range(len(links))]
    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    lines = [f"{healthy} of {len(table)} clusters healthy"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header] + table]
    lines += [f"link {i + 1}: {link}" for i, link in enumerate(links)]
    for item in broken:
        lines.append(f"{item['host']}: first failing link {item['link']}: {item['detail']}")
        lines.append(f"{item['host']}: fix: {item['fix']}")
    return {"healthy": healthy, "total": len(table), "links": links, "broken": broken, "lines": lines}
