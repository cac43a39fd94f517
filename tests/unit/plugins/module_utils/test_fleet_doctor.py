"""The doctor's fleet summary (module_utils/_fleet_doctor.py): a table of clusters by links, the healthy count,
each broken cluster's first failing link and fix, on plain data."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._fleet_doctor import summarize


def check(link: str, ok: bool = True) -> dict:
    return {"id": link, "ok": ok, "detail": f"{link} detail", "fix": "" if ok else f"mend {link}"}


HEALTHY = [check("oidc_issuer"), check("credential_issuer"), check("service_account_annotation")]


@pytest.mark.parametrize("reports, healthy, broken", [
    ([{"host": "a", "checks": HEALTHY}, {"host": "b", "checks": HEALTHY}], 2, []),
    # The first failing link in the chain's order, not the last.
    ([{"host": "a", "checks": [check("oidc_issuer"), check("credential_issuer", False), check("service_account_annotation", False)]},
      {"host": "b", "checks": HEALTHY}], 1, [("a", "credential_issuer", "mend credential_issuer")]),
    # A cluster the doctor could not reach is broken at its access, with the error it met.
    ([{"host": "a", "checks": [], "error": "401 Unauthorized"}, {"host": "b", "checks": HEALTHY}], 1,
     [("a", "access", "check the cluster's Kubernetes access (cluster_access) and the doctor's rights")]),
    # A host that left the play (None) is named from the host list.
    ([None, {"host": "b", "checks": HEALTHY}], 1,
     [("gone", "access", "check the cluster's Kubernetes access (cluster_access) and the doctor's rights")]),
])
def test_summary_counts_healthy_clusters_and_names_each_first_failing_link(reports, healthy, broken):
    summary = summarize(reports, ["gone", "b"])
    assert (summary["healthy"], summary["total"]) == (healthy, len(reports))
    assert [(b["host"], b["link"], b["fix"]) for b in summary["broken"]] == broken
    assert summary["lines"][0] == f"{healthy} of {len(reports)} clusters healthy"


def test_table_columns_are_the_union_of_links_numbered_with_a_legend():
    reports = [{"host": "aks-1", "checks": HEALTHY},
               {"host": "arc-1", "checks": [check("oidc_issuer"), check("trigger_auth:default/x", False)]}]
    lines = summarize(reports)["lines"]
    assert lines[1].split() == ["cluster", "state", "1", "2", "3", "4"]
    assert lines[2].split() == ["aks-1", "healthy", "ok", "ok", "ok", "-"]
    assert lines[3].split() == ["arc-1", "BROKEN", "ok", "-", "-", "XX"]
    assert lines[4:8] == ["link 1: oidc_issuer", "link 2: credential_issuer", "link 3: service_account_annotation",
                          "link 4: trigger_auth:default/x"]
    assert lines[8:] == ["arc-1: first failing link trigger_auth:default/x: trigger_auth:default/x detail",
                         "arc-1: fix: mend trigger_auth:default/x"]
    assert all(line.isascii() for line in lines)  # plain text: a terminal and AWX's job output alike
