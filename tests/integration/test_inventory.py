"""The ``kedaops.aks.clusters`` inventory plugin through the real ``ansible-inventory`` against the lab's ARM
holding a fleet of 25 clusters (20 AKS, 5 Arc, in two resource groups, some tagged; lab/azure/fleet.py),
listed in pages of 10 (issue 28).

Each test reads the lab's request log: the inventory is built from one subscription-level list per
kind plus its further pages, with no per-cluster read, no credential and no write.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from lab import ids
from lab.azure import aks_versions
from lab.azure.fleet import SECOND_GROUP, standard_fleet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "playbooks", "inventory", "fleet.kedaops_aks.yml")
AKS, ARC = 20, 5
PAGE = 10
LIST_PATH = re.compile(r"^/subscriptions/[^/]+/providers/(Microsoft\.ContainerService/managedClusters|"
                       r"Microsoft\.Kubernetes/connectedClusters)\?")


def _fleet_names() -> dict[str, dict]:
    """Every cluster the lab then holds, by name: the seeded pair and the standard fleet."""
    fleet = {c["name"]: dict(c, keda=c["keda"] if c["kind"] == "aks" else None) for c in standard_fleet(AKS, ARC)}
    fleet[ids.AKS_NAME] = {"kind": "aks", "name": ids.AKS_NAME, "resource_group": ids.RESOURCE_GROUP,
                           "location": ids.LOCATION, "tags": {}, "oidc_issuer": False, "workload_identity": False,
                           "keda": False}
    fleet["arc-cluster-name"] = {"kind": "arc", "name": "arc-cluster-name", "resource_group": ids.RESOURCE_GROUP,
                                 "location": ids.LOCATION, "tags": {}, "oidc_issuer": False,
                                 "workload_identity": False, "keda": None}
    return fleet


@pytest.fixture
def fleet_lab(lab):
    lab.reset()
    lab.control("POST", "/services/arm/fleet", {"aks": AKS, "arc": ARC})
    lab.settings(arm_list_page_size=PAGE, fic_propagation_seconds=0)
    lab.clear_requests()
    yield lab
    lab.clear_faults()


def _inventory(lab, source: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    process_env = lab.process_env()
    process_env.update(env or {})
    bin_dir = os.path.dirname(sys.executable)
    return subprocess.run([os.path.join(bin_dir, "ansible-inventory"), "-i", source, *args], env=process_env,
                          capture_output=True, text=True, timeout=300, check=False)


def _plain(value):
    """ansible-inventory's JSON without its marks: ansible-core 2.19 prints values an inventory plugin did
    not mark as trusted templates (everything Azure answered) as {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return _plain(value["__ansible_unsafe"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _listing(lab, source: str, env: dict[str, str] | None = None) -> dict:
    proc = _inventory(lab, source, "--list", env=env)
    assert proc.returncode == 0 and "Failed to parse" not in proc.stderr, proc.stderr[-5000:]
    return _plain(json.loads(proc.stdout))


def _arm_calls(lab) -> list[dict]:
    return [r for r in lab.requests("arm") if not r["path"].startswith("/metadata/endpoints")]


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_example_inventory_lists_the_fleet_by_kind_with_its_host_vars_in_one_list_per_kind(fleet_lab):
    listing = _listing(fleet_lab, EXAMPLE)
    hostvars = listing["_meta"]["hostvars"]
    expected = _fleet_names()

    assert sorted(hostvars) == sorted(expected)
    assert sorted(listing["aks"]["hosts"]) == sorted(n for n, c in expected.items() if c["kind"] == "aks")
    assert sorted(listing["arc"]["hosts"]) == sorted(n for n, c in expected.items() if c["kind"] == "arc")
    assert len(listing["aks"]["hosts"]) == AKS and len(listing["arc"]["hosts"]) == ARC
    assert sorted(listing["location_westeurope"]["hosts"]) == sorted(
        n for n, c in expected.items() if c["location"] == "westeurope")
    assert sorted(listing["env_prod"]["hosts"]) == sorted(n for n, c in expected.items() if c["tags"].get("env") == "prod")

    issuers = []
    for name, cluster in expected.items():
        host = hostvars[name]
        assert host["ansible_connection"] == "local"
        assert host["cluster_kind"] == cluster["kind"]
        assert host["cluster_name"] == name
        assert host["cluster_resource_group"] == cluster["resource_group"]
        assert host["cluster_subscription_id"] == ids.SUBSCRIPTION_ID
        provider = "Microsoft.ContainerService/managedClusters" if cluster["kind"] == "aks" else "Microsoft.Kubernetes/connectedClusters"
        assert host["cluster_id"].lower() == (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{cluster['resource_group']}"
                                              f"/providers/{provider}/{name}").lower()
        assert host["cluster_location"] == cluster["location"]
        assert host["cluster_kubernetes_version"] == (aks_versions.DEFAULT_KUBERNETES_VERSION if cluster["kind"] == "aks"
                                                      else "1.32.6")
        assert host["cluster_provisioning_state"] == "Succeeded"
        assert host["cluster_tags"] == cluster["tags"]
        assert host["cluster_oidc_issuer"] is cluster["oidc_issuer"]
        assert host["cluster_workload_identity"] is cluster["workload_identity"]
        assert host["cluster_keda"] is cluster["keda"]
        if cluster["oidc_issuer"]:
            assert host["cluster_oidc_issuer_url"].startswith("https://") and host["cluster_oidc_issuer_url"].endswith("/")
            assert f"/{ids.TENANT_ID}/" in host["cluster_oidc_issuer_url"]
            if cluster["kind"] == "arc":
                assert ".oic.prod-arc.azure.com/" in host["cluster_oidc_issuer_url"]
            issuers.append(host["cluster_oidc_issuer_url"])
        else:
            assert host["cluster_oidc_issuer_url"] is None
    assert len(set(issuers)) == len(issuers) == AKS + ARC - 2  # one issuer per cluster

    calls = _arm_calls(fleet_lab)
    # subscriptions x kinds (1 x 2) plus the further pages: AKS 20 in pages of 10 -> one more.
    assert [c["status"] for c in calls] == [200, 200, 200]
    assert all(c["method"] == "GET" and LIST_PATH.match(c["path"]) for c in calls), calls
    assert sum("$skipToken" in c["path"] for c in calls) == 1
    assert fleet_lab.writes() == []


def test_filters_keyed_groups_groups_and_compose_select_and_shape_the_hosts(fleet_lab, tmp_path):
    source = _write(tmp_path, "filtered.kedaops_aks.yml", f"""
plugin: kedaops.aks.clusters
subscriptions: [{ids.SUBSCRIPTION_ID}]
kinds: [aks]
resource_groups: [{SECOND_GROUP.upper()}]
locations: [West Europe]
include_tags:
  team: payments
exclude_tags:
  env: prod
name_pattern: "aks-fleet-1*"
strict: true
compose:
  workload_identity_cluster_name: cluster_name
groups:
  keda_addon: cluster_keda
keyed_groups:
  - key: cluster_tags.env
    prefix: env
""")
    listing = _listing(fleet_lab, source)
    expected = sorted(c["name"] for c in standard_fleet(AKS, ARC)
                      if c["kind"] == "aks" and c["resource_group"] == SECOND_GROUP and c["tags"].get("team") == "payments"
                      and c["tags"]["env"] != "prod" and c["name"].startswith("aks-fleet-1"))
    assert expected  # the filters keep some and drop others
    assert sorted(listing["_meta"]["hostvars"]) == expected
    assert sorted(listing["env_staging"]["hosts"]) == expected
    assert "env_prod" not in listing
    for name in expected:
        assert listing["_meta"]["hostvars"][name]["workload_identity_cluster_name"] == name
    # Only AKS was asked for: one list of 20 clusters, in two pages; the filters apply to what was listed.
    calls = _arm_calls(fleet_lab)
    assert all("/Microsoft.ContainerService/managedClusters?" in c["path"] for c in calls)
    assert len(calls) == 2


def test_the_keda_addon_group_holds_exactly_the_clusters_with_the_addon(fleet_lab, tmp_path):
    source = _write(tmp_path, "keda.kedaops_aks.yml", """
plugin: kedaops.aks.clusters
groups:
  keda_addon: cluster_keda
keyed_groups:
  - key: cluster_resource_group
    prefix: rg
""")
    listing = _listing(fleet_lab, source)
    assert sorted(listing["keda_addon"]["hosts"]) == sorted(n for n, c in _fleet_names().items() if c["keda"])
    assert len(listing["rg_" + SECOND_GROUP.replace("-", "_")]["hosts"]) == sum(
        1 for c in _fleet_names().values() if c["resource_group"] == SECOND_GROUP)


def test_a_throttled_list_is_waited_out_as_retry_after_says(fleet_lab):
    fleet_lab.fault(service="arm", method="GET", path="/providers/Microsoft.Kubernetes/connectedClusters\\?",
                    status=429, retry_after=1)
    listing = _listing(fleet_lab, EXAMPLE)
    assert len(listing["arc"]["hosts"]) == ARC
    arc_calls = [c for c in _arm_calls(fleet_lab) if "connectedClusters" in c["path"]]
    assert [c["status"] for c in arc_calls] == [429, 200]
    assert arc_calls[1]["time"] - arc_calls[0]["time"] >= 1.0


def test_a_cached_inventory_is_built_again_without_a_request(fleet_lab, tmp_path):
    source = _write(tmp_path, "cached.kedaops_aks.yml", f"""
plugin: kedaops.aks.clusters
groups:
  aks: cluster_kind == 'aks'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {tmp_path / 'cache'}
cache_timeout: 600
""")
    first = _listing(fleet_lab, source)
    assert len(_arm_calls(fleet_lab)) == 3
    fleet_lab.clear_requests()
    second = _listing(fleet_lab, source)
    assert fleet_lab.requests("arm") == [] and fleet_lab.requests("entra") == []
    assert second == first
    assert len(second["aks"]["hosts"]) == AKS


def test_without_a_default_subscription_every_visible_subscription_is_listed(fleet_lab):
    listing = _listing(fleet_lab, EXAMPLE, env={"AZURE_SUBSCRIPTION_ID": ""})
    assert len(listing["_meta"]["hostvars"]) == AKS + ARC
    paths = [c["path"] for c in _arm_calls(fleet_lab)]
    assert paths[0].startswith("/subscriptions?") and len(paths) == 1 + 3


def test_a_subscription_azure_does_not_know_fails_the_inventory_with_azures_code(fleet_lab, tmp_path):
    missing = "11111111-2222-3333-4444-555555555555"
    source = _write(tmp_path, "two.kedaops_aks.yml",
                    f"plugin: kedaops.aks.clusters\nsubscriptions: [{ids.SUBSCRIPTION_ID}, {missing}]\n")
    proc = _inventory(fleet_lab, source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert proc.returncode != 0
    assert f"listing AKS managed clusters of subscription {missing}: (SubscriptionNotFound)" in proc.stderr


@pytest.mark.parametrize("option, value, message", [
    # ansible-core's own checks of the documented type and choices
    ("kinds", "[eks]", "Invalid value ['eks'] for config 'kinds'"),
    ("include_tags", "[env]", "Config 'include_tags'"),
    # the plugin's rules
    ("subscriptions", "[my-subscription]", "subscriptions: 'my-subscription' is not a subscription id (a GUID)"),
    ("resource_groups", "['rg-a', '']", "resource_groups: every item must be a non-empty string"),
    ("name_pattern", "' '", "name_pattern: must be a non-empty glob"),
])
def test_bad_options_are_refused_by_name_before_any_request(fleet_lab, tmp_path, option, value, message):
    source = _write(tmp_path, "bad.kedaops_aks.yml", f"plugin: kedaops.aks.clusters\n{option}: {value}\n")
    proc = _inventory(fleet_lab, source, "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert proc.returncode != 0
    assert message in proc.stderr
    assert fleet_lab.requests("arm") == [] and fleet_lab.requests("entra") == []


# -- the federated credential budget of a play over the fleet (roles/workload_identity/tasks/budget.yml) ----

BUDGET_PLAYBOOK = os.path.join(HERE, "fleet", "budget.yml")
FLEET_WITH_ISSUERS = """
plugin: kedaops.aks.clusters
name_pattern: "*-fleet-*"
"""


def _playbook(lab, source: str, *args: str) -> subprocess.CompletedProcess:
    env = lab.process_env()
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    bin_dir = os.path.dirname(sys.executable)
    return subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "-i", source, "--forks", "10", BUDGET_PLAYBOOK, *args],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def test_a_shared_identity_past_20_credentials_is_refused_by_name_before_any_write(fleet_lab, tmp_path):
    source = _write(tmp_path, "issuers.kedaops_aks.yml", FLEET_WITH_ISSUERS)
    proc = _playbook(fleet_lab, source, "-e", "fleet_identity=id-keda-shared")
    assert proc.returncode != 0
    hosts = AKS + ARC - 2
    assert (f"identity rg-keda-integration/id-keda-shared would need {hosts} federated credentials "
            f"(0 already on it, {hosts} new for {hosts} hosts); Microsoft Entra allows 20 per identity: "
            "use an identity per cluster") in proc.stdout, proc.stdout[-5000:]
    assert fleet_lab.writes() == []


def test_an_identity_per_cluster_passes_the_budget(fleet_lab, tmp_path):
    source = _write(tmp_path, "issuers.kedaops_aks.yml", FLEET_WITH_ISSUERS)
    proc = _playbook(fleet_lab, source, "-e", "fleet_tasks=budget")
    assert proc.returncode == 0, proc.stdout[-5000:]
    names = [c["name"] for c in standard_fleet(AKS, ARC)]
    assert len(names) == AKS + ARC - 2
    for name in names:
        assert f"rg-keda-integration/id-keda-{name}: 1 federated credentials (1 new) for 1 hosts." in proc.stdout
    # each identity read once, by its host -- the identity and its credential list side by side (both GETs,
    # answered 404 for an identity not created yet) -- and nothing written
    reads = [r for r in fleet_lab.requests("arm") if "/userAssignedIdentities/id-keda-" in r["path"]]
    assert all(r["method"] == "GET" for r in reads)
    assert sorted(r["path"].split("/userAssignedIdentities/")[1].split("?")[0] for r in reads) == sorted(
        path for n in names for path in (f"id-keda-{n}", f"id-keda-{n}/federatedIdentityCredentials"))
    assert fleet_lab.writes() == []
