"""Contract: the lab's subscription-level cluster lists page as ARM does, judged by the official Azure CLI.

``az aks list`` (azure-mgmt-containerservice's pager) must walk the lab's ``nextLink`` pages through a
fleet of 20 AKS clusters (lab/azure/fleet.py) at a page size of 7, and list each cluster once.
"""

from __future__ import annotations

from contract.test_azure_cli import REQUIRES_AZ, Shell, _login

from lab.azure.fleet import standard_fleet
from lab.ids import AKS_NAME

pytestmark = REQUIRES_AZ


def test_az_aks_list_walks_every_page_of_a_fleet(lab, tmp_path):
    lab.reset()
    try:
        lab.control("POST", "/services/arm/fleet", {"aks": 20, "arc": 5})
        lab.settings(arm_list_page_size=7)
        shell = Shell(lab, str(tmp_path), {})
        _login(shell)
        lab.clear_requests()
        clusters = shell.json("az aks list -o json")
        expected = [AKS_NAME] + [c["name"] for c in standard_fleet(20, 5) if c["kind"] == "aks"]
        assert sorted(c["name"] for c in clusters) == sorted(expected)
        pages = [r for r in lab.requests("arm") if "/providers/Microsoft.ContainerService/managedClusters" in r["path"]]
        assert [p["status"] for p in pages] == [200, 200, 200]  # 20 clusters, 7 a page
        issuers = [c["oidcIssuerProfile"]["issuerUrl"] for c in clusters if c["oidcIssuerProfile"]["enabled"]]
        assert len(issuers) == len(set(issuers)) == 19
    finally:
        lab.reset()
