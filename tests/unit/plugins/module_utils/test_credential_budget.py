# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's federated credential budget on plain data. Table-driven."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _credential_budget as budget
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

KEDA = "system:serviceaccount:keda:keda-operator"
ADDON = "system:serviceaccount:kube-system:keda-operator"


def issuer(n: int) -> str:
    return f"https://eastus.oic.prod-aks.azure.com/tenant/{n:04d}/"


def entry(host: int, identity: str = "id-shared", subject: str = KEDA, known: bool = True) -> dict:
    return {"host": f"aks-{host:02d}", "resource_group": "rg", "identity": identity, "subject": subject,
            "issuer": issuer(host) if known else None, "cluster": f"aks:rg/aks-{host:02d}"}


def existing(*hosts: int, subject: str = KEDA) -> list[dict]:
    return [{"name": f"c{h}", "issuer": issuer(h), "subject": subject} for h in hosts]


@pytest.mark.parametrize("planned, on_identity, counts, ok", [
    # 20 clusters sharing one identity: exactly the limit
    ([entry(h) for h in range(20)], {}, {"rg/id-shared": 20}, True),
    # the 21st cluster: over
    ([entry(h) for h in range(21)], {}, {"rg/id-shared": 21}, False),
    # an identity per cluster: one each
    ([entry(h, identity=f"id-{h}") for h in range(25)], {}, {f"rg/id-{h}": 1 for h in range(25)}, True),
    # a re-run: what is already there is the same pairs, not more
    ([entry(h) for h in range(20)], {"rg/id-shared": existing(*range(20))}, {"rg/id-shared": 20}, True),
    # credentials of clusters not in this play still take their places
    ([entry(h) for h in range(15)], {"RG/ID-SHARED": existing(*range(100, 106))}, {"rg/id-shared": 21}, False),
    # two subjects per cluster (the add-on's operator and a workload) count twice
    ([entry(h, subject=s) for h in range(10) for s in (KEDA, ADDON)], {}, {"rg/id-shared": 20}, True),
    ([entry(h, subject=s) for h in range(11) for s in (KEDA, ADDON)], {}, {"rg/id-shared": 22}, False),
    # two hosts on one cluster (one issuer) share the credential
    ([entry(1), dict(entry(1), host="again")], {}, {"rg/id-shared": 1}, True),
    # an issuer not known yet counts as its cluster's own, and equal clusters are one
    ([entry(h, known=False) for h in range(21)], {}, {"rg/id-shared": 21}, False),
    ([entry(1, known=False), dict(entry(1, known=False), host="again")], {}, {"rg/id-shared": 1}, True),
    # groups of at most 20: two identities
    ([entry(h, identity="id-a" if h < 20 else "id-b") for h in range(25)], {}, {"rg/id-a": 20, "rg/id-b": 5}, True),
])
def test_credentials_are_counted_per_identity_across_the_play(planned, on_identity, counts, ok):
    result = budget.plan(planned, on_identity)
    assert {i["identity"].lower(): i["count"] for i in result["identities"]} == counts
    assert result["ok"] is ok
    assert len(result["problems"]) == sum(1 for c in counts.values() if c > 20)


def test_the_refusal_names_the_identity_the_count_and_the_fix():
    result = budget.plan([entry(h) for h in range(18)], {"rg/id-shared": existing(*range(100, 104))})
    (message,) = result["problems"]
    assert message.startswith("identity rg/id-shared would need 22 federated credentials (4 already on it, 18 new for 18 hosts); "
                              "Microsoft Entra allows 20 per identity: ")
    assert "an identity per cluster" in message and "at most 20 clusters" in message
    (identity,) = result["identities"]
    assert (identity["existing"], identity["new"], len(identity["hosts"])) == (4, 18, 18)


@pytest.mark.parametrize("bad, message", [
    ({"resource_group": ""}, "each entry needs resource_group, identity and subject"),
    ({"subject": None}, "each entry needs resource_group, identity and subject"),
    ({"issuer": None, "cluster": None}, "each entry needs an issuer or"),
])
def test_an_incomplete_plan_is_refused(bad, message):
    with pytest.raises(OptionError, match=message):
        budget.plan([dict(entry(1), **bad)])


@pytest.mark.parametrize("identity_id, key", [
    ("/subscriptions/s/resourcegroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id-A", "rg/id-a"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a", "rg/id-a"),
])
def test_an_identity_id_keys_as_its_group_and_name(identity_id, key):
    assert budget.key_of_id(identity_id) == key
