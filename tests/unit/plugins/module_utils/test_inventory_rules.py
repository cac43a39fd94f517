# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clusters inventory's rules on plain data: options, host vars, filters, host names. Table-driven."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_inventory as fleet
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
OTHER_SUB = "11111111-2222-3333-4444-555555555555"
AKS_ISSUER = "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/"
ARC_ISSUER = "https://northamerica.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/51a4c04d-a876-5216-9d47-6b57e4d7566c/"
SELF_HOSTED = "https://storage.example.com/k3s-issuer/"


def aks(name="aks-1", group="rg-a", oidc=True, keda=False, sub=SUB, tags=None, location="eastus"):
    return {
        "id": f"/subscriptions/{sub}/resourcegroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}",
        "name": name, "location": location, "tags": tags or {},
        "properties": {
            "provisioningState": "Succeeded", "kubernetesVersion": "1.31", "currentKubernetesVersion": "1.31.9",
            "oidcIssuerProfile": {"enabled": oidc, **({"issuerURL": AKS_ISSUER} if oidc else {})},
            "securityProfile": {"workloadIdentity": {"enabled": oidc}},
            "workloadAutoScalerProfile": {"keda": {"enabled": keda}} if keda else {},
        },
    }


def arc(name="arc-1", group="rg-a", oidc=True, self_hosted="", sub=SUB, tags=None):
    profile = {"enabled": oidc, **({"issuerUrl": ARC_ISSUER} if oidc else {})}
    if self_hosted:
        profile["selfHostedIssuerUrl"] = self_hosted
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Kubernetes/connectedClusters/{name}",
        "name": name, "location": "westeurope", "tags": tags or {},
        "properties": {"provisioningState": "Updating", "kubernetesVersion": "1.32.6",
                       "oidcIssuerProfile": profile, "securityProfile": {"workloadIdentity": {"enabled": False}}},
    }


@pytest.mark.parametrize("kind, resource, expected", [
    ("aks", aks(keda=True), {"cluster_kind": "aks", "cluster_resource_group": "rg-a", "cluster_subscription_id": SUB,
                             "cluster_kubernetes_version": "1.31.9", "cluster_oidc_issuer_url": AKS_ISSUER,
                             "cluster_oidc_issuer": True, "cluster_workload_identity": True, "cluster_keda": True,
                             "cluster_provisioning_state": "Succeeded"}),
    ("aks", aks(oidc=False), {"cluster_oidc_issuer": False, "cluster_oidc_issuer_url": None, "cluster_keda": False,
                              "cluster_workload_identity": False}),
    ("arc", arc(), {"cluster_kind": "arc", "cluster_oidc_issuer_url": ARC_ISSUER, "cluster_keda": None,
                    "cluster_kubernetes_version": "1.32.6", "cluster_provisioning_state": "Updating",
                    "cluster_location": "westeurope"}),
    # the issuer a credential must carry: the self-hosted one when the cluster publishes its own
    ("arc", arc(self_hosted=SELF_HOSTED), {"cluster_oidc_issuer_url": SELF_HOSTED}),
    ("arc", arc(oidc=False), {"cluster_oidc_issuer": False, "cluster_oidc_issuer_url": None}),
])
def test_cluster_host_carries_what_the_roles_need(kind, resource, expected):
    host = fleet.cluster_host(kind, resource)
    assert {k: host[k] for k in expected} == expected
    assert host["cluster_id"] == resource["id"] and host["cluster_name"] == resource["name"]


def options(**values):
    return fleet.InventoryOptions.from_options(values.get)


@pytest.mark.parametrize("filters, kept", [
    ({}, ["aks-1", "aks-2", "arc-1", "aks-prod"]),
    ({"resource_groups": ["RG-B"]}, ["aks-2", "aks-prod"]),
    ({"locations": ["West Europe"]}, ["arc-1"]),
    ({"include_tags": {"env": "prod"}}, ["aks-prod"]),
    ({"include_tags": {"ENV": None}}, ["aks-2", "aks-prod"]),  # tag names case-insensitive, any value
    ({"include_tags": {"env": "PROD"}}, []),  # values exact
    ({"exclude_tags": {"env": ""}}, ["aks-1", "arc-1"]),
    ({"exclude_tags": {"env": "prod"}}, ["aks-1", "aks-2", "arc-1"]),
    ({"include_tags": {"env": None}, "exclude_tags": {"env": "prod"}}, ["aks-2"]),
    ({"name_pattern": "aks-?"}, ["aks-1", "aks-2"]),
    ({"name_pattern": "AKS-*"}, []),
])
def test_filters_keep_what_they_name(filters, kept):
    hosts = [fleet.cluster_host("aks", aks("aks-1")), fleet.cluster_host("aks", aks("aks-2", "rg-b", tags={"env": "dev"})),
             fleet.cluster_host("arc", arc("arc-1")),
             fleet.cluster_host("aks", aks("aks-prod", "rg-B", tags={"Env": "prod"}))]
    assert [h["cluster_name"] for h in hosts if fleet.keep(h, options(**filters))] == kept


@pytest.mark.parametrize("values, message", [
    ({"subscriptions": ["not-a-guid"]}, "subscriptions: 'not-a-guid' is not a subscription id (a GUID)"),
    ({"subscriptions": "0b1f6471-1bf0-4dda-aec3-cb9272f09590"}, "subscriptions: must be a list of strings"),
    ({"kinds": ["aks", "eks"]}, "kinds: 'eks' is not one of aks, arc"),
    ({"resource_groups": ["rg", " "]}, "resource_groups: every item must be a non-empty string"),
    ({"include_tags": ["env"]}, "include_tags: must be a mapping"),
    ({"exclude_tags": {"env": ["a"]}}, "exclude_tags.env: the value must be a string, or null for any value"),
    ({"name_pattern": ""}, "name_pattern: must be a non-empty glob"),
])
def test_bad_options_are_refused_by_name(values, message):
    with pytest.raises(OptionError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        options(**values)


def test_options_default_to_both_kinds_and_dedupe_subscriptions():
    parsed = options(subscriptions=[SUB.upper(), SUB])
    assert parsed.subscriptions == [SUB] and parsed.kinds == ["aks", "arc"]


@pytest.mark.parametrize("clusters, names", [
    ([aks("a"), aks("b")], ["a", "b"]),
    # the same name in two resource groups: both qualified by group, the unique one left alone
    ([aks("a", "rg-a"), aks("a", "RG-B"), aks("b")], ["a.rg-a", "a.rg-b", "b"]),
    # an AKS and an Arc cluster of one name in one group: the kind tells them apart
    ([aks("a", "rg-a"), arc("a", "rg-a")], ["a.rg-a.aks", "a.rg-a.arc"]),
    # one group name and kind in two subscriptions: the subscription id
    ([aks("a", "rg-a"), aks("a", "rg-a", sub=OTHER_SUB)], [f"a.rg-a.aks.{SUB}", f"a.rg-a.aks.{OTHER_SUB}"]),
    # three of a name: each takes the shortest form no other shares
    ([aks("a", "rg-a"), aks("a", "rg-b"), arc("a", "rg-b")], ["a.rg-a", "a.rg-b.aks", "a.rg-b.arc"]),
])
def test_host_names_are_the_cluster_names_made_unique(clusters, names):
    hosts = [fleet.cluster_host("arc" if "connectedClusters" in c["id"] else "aks", c) for c in clusters]
    assert fleet.host_names(hosts) == names
    assert len(set(fleet.host_names(hosts))) == len(hosts)
