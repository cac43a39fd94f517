# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The federated credential budget of a fleet play, planned before any write.

Entra allows 20 federated identity credentials per user-assigned identity, and a credential is one
(issuer, subject) pair (facts 1.5: "A maximum of 20 federated identity credentials can be added to an
application or user-assigned managed identity"; issuer+subject unique per identity). Every cluster
has its own OIDC issuer, so one identity shared by the KEDA operators of N clusters needs N
credentials. ``plan`` counts, per identity, the distinct pairs every host of the play would put on it
plus the pairs already there, and refuses an identity that would go over the limit -- naming it, the
count and the fix -- before the first host writes anything. Pure: the callers read the identities.

A host whose issuer is not known yet (to be read from its cluster at apply time) counts as its
cluster's own issuer: one cluster, one issuer (AKS and the Arc-hosted issuer give every cluster a
new one).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic_rules import FIC_LIMIT
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

FIX = ("use an identity per cluster (the fleet default), or one per group of at most {limit} clusters "
       "(docs/fleet.md)")


def identity_key(resource_group: str, name: str) -> str:
    """Identities compared as Azure compares resource ids: case-insensitively."""
    return f"{resource_group}/{name}".lower()


def key_of_id(identity_id: str) -> str:
    """``identity_key`` of a user-assigned identity's resource id."""
    segments = [s for s in identity_id.split("/") if s]
    lowered = [s.lower() for s in segments]
    group = segments[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else ""
    return identity_key(group, segments[-1] if segments else "")


def _issuer_key(entry: dict[str, Any]) -> str:
    issuer = entry.get("issuer")
    if issuer:
        return str(issuer)
    cluster = entry.get("cluster")
    if not cluster:
        raise OptionError(f"credential plan of {entry.get('host') or 'a host'}: each entry needs an issuer or, "
                          "when the issuer is read from the cluster at apply time, the cluster")
    return "cluster:" + str(cluster).lower()


def plan(planned: list[dict[str, Any]], existing: dict[str, list[dict[str, Any]]] | None = None,
         limit: int = FIC_LIMIT) -> dict[str, Any]:
    """The credentials per identity after every host has run, and what goes over ``limit``.

    ``planned``: one entry per credential a host would ensure, ``{host, resource_group, identity,
    issuer (or null), cluster (when the issuer is null), subject}``. ``existing``: the credentials on
    each identity now (``managed_identity_info`` with ``credentials: true``), keyed by
    ``identity_key(resource_group, name)``; an identity not there yet has none.

    Returns ``{ok, identities: [{identity, resource_group, name, count, new, existing, hosts}],
    problems: [message]}``, identities in the order first planned.
    """
    existing = {k.lower(): v for k, v in (existing or {}).items()}
    identities: dict[str, dict[str, Any]] = {}
    for entry in planned:
        group, name, subject = entry.get("resource_group"), entry.get("identity"), entry.get("subject")
        if not group or not name or not subject:
            raise OptionError(f"credential plan of {entry.get('host') or 'a host'}: each entry needs resource_group, "
                              "identity and subject")
        key = identity_key(group, name)
        if key not in identities:
            now = {(str(c.get("issuer") or ""), str(c.get("subject") or "")) for c in existing.get(key) or []}
            identities[key] = {"identity": f"{group}/{name}", "resource_group": group, "name": name,
                               "pairs": set(now), "existing_pairs": now, "hosts": []}
        record = identities[key]
        record["pairs"].add((_issuer_key(entry), str(subject)))
        host = entry.get("host")
        if host and host not in record["hosts"]:
            record["hosts"].append(host)
    report, problems = [], []
    for record in identities.values():
        count = len(record["pairs"])
        report.append({"identity": record["identity"], "resource_group": record["resource_group"],
                       "name": record["name"], "count": count, "existing": len(record["existing_pairs"]),
                       "new": count - len(record["existing_pairs"]), "hosts": record["hosts"]})
        if count > limit:
            problems.append(
                f"identity {record['identity']} would need {count} federated credentials "
                f"({len(record['existing_pairs'])} already on it, {count - len(record['existing_pairs'])} new for "
                f"{len(record['hosts'])} hosts); Microsoft Entra allows {limit} per identity: "
                + FIX.format(limit=limit))
    return {"ok": not problems, "identities": report, "problems": problems}
