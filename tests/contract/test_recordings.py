"""Contract: real Azure's recorded answers (../shared/reference/recordings) replayed against the lab.

Each cassette's request sequence is sent to the lab (tests/lab/azure/replay.py) and every answer compared
with the recorded one. A difference either was fixed in the lab (the lab code cites the cassette) or is
listed in ALLOWED below with its reason; docs/lab-fidelity.md is generated from the same data
(``hack/lab_fidelity.sh`` rewrites it) and a test fails when it is stale.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from lab import ids
from lab.azure import clients, fidelity, replay
from lab.azure.fidelity import Allowed
from lab.testing import REPO_ROOT

DOC = os.path.join(REPO_ROOT, "docs", "lab-fidelity.md")
WRITE_DOC = os.environ.get("LAB_WRITE_FIDELITY_DOC") == "1"

AKS = r"Microsoft\.ContainerService/managedClusters/[^/ ]+( |$)"
# managedCluster keys the recordings README's facts are about: never allowed to differ.
AKS_FACT_KEYS = r"(?!(oidcIssuerProfile|securityProfile|workloadAutoScalerProfile|provisioningState)\b)"
ARC = r"Microsoft\.Kubernetes/connectedClusters/[^/ ]+( |$)"
POLL_404 = r"status (200|202|204)->404"

ALLOWED: list[Allowed] = [
    # -- managed clusters ------------------------------------------------------------------------------
    Allowed("", AKS, r"^key-(missing|extra) properties\." + AKS_FACT_KEYS,
            "The lab renders the managedCluster properties the collection, the Azure CLI and KEDA read (versions, "
            "OIDC, security profile, workload autoscaler, add-ons, identity, power state) in one shape for every "
            "api-version; node-pool, network, storage, upgrade, metrics and support-plan detail is not modelled."),
    Allowed("connectedk8s", AKS, r"^key-extra properties\.(oidcIssuerProfile|workloadAutoScalerProfile)",
            "The lab renders oidcIssuerProfile and workloadAutoScalerProfile for every api-version; this recording "
            "used 2021-08-01 / 2022-09-01, whose answers predate workloadAutoScalerProfile and omit a disabled issuer."),
    Allowed("", AKS, r"^key-missing (eTag|kind)$",
            "eTag and kind (2024-06-01 and later bodies) are not modelled."),
    Allowed("", AKS, r"^key-extra (tags|properties\.resourceUID)$",
            "The lab renders one body for every api-version: `tags: {}` always and `resourceUID` (2023-08-02-preview on); "
            "Azure omits empty tags and older api-versions omit resourceUID."),
    Allowed("20250801", AKS, r"^status (200->404|200->201|404->200)( |$)",
            "The recordings README: this cassette was recorded against an already existing cluster (#2 GET 200, "
            "#3 PUT 200); the lab starts without it."),
    Allowed("20251002preview", r"^GET /subscriptions/[^/]+/resourcegroups/[^/]+/providers/" + AKS, r"^(error-code NotFound->ResourceNotFound|key-)",
            "Azure answers a cluster GET after its delete both ways: ARM's wrapped ResourceNotFound (20250801 #69) "
            "and, here on a lower-case `resourcegroups` path, AKS's unwrapped NotFound with a subcode. The lab "
            "answers ARM's."),
    Allowed("", r"/operations/", r"^(error-code NotLatestOperation->None|key-missing error(\.code|\.message)?)$",
            "A poll of an operation superseded by a newer one reads NotLatestOperation on Azure; the lab keeps "
            "each operation's own outcome."),
    Allowed("", r"/agentPools/|/maintenanceConfigurations/",
            r".",
            "Agent pools and maintenance configurations are served by the lab's generic store (no validation, "
            "synchronous, ARM-wrapped errors): nothing in the collection or KEDA uses them."),
    Allowed("", r"\[orphan-poll\]", POLL_404,
            "A poll of an operation the lab never started (its create/delete was answered synchronously, see above)."),
    # -- resource groups --------------------------------------------------------------------------------
    Allowed("azure-service-operator", r"^PUT /subscriptions/[^/]+/resourceGroups/[^/]+$", r"^status 200->201$",
            "ASO's recordings reuse a test resource group that existed before the recording; in the lab it is new."),
    Allowed("", r"^DELETE /subscriptions/[^/]+/resourceGroups/[^/]+$", r"^header retry-after missing$",
            "ARM asks for `Retry-After: 15`; azure-core reads that header before the millisecond one, so the lab "
            "sends only `x-ms-retry-after-ms: 100` and pollers do not sleep 15 s per group."),
    # -- identity ---------------------------------------------------------------------------------------
    Allowed("", r"Microsoft\.ManagedIdentity/operations$", r".",
            "The provider's operations list (`/providers/Microsoft.ManagedIdentity/operations`) is not emulated."),
    Allowed("", r"/listAssociatedResources$", r".",
            "listAssociatedResources (2022-01-31-preview) is not emulated."),
    # -- authorization ----------------------------------------------------------------------------------
    Allowed("", r"\[uses-skipped\]", r".",
            "The request names a principal or scope that a skipped interaction (Graph, Key Vault) created."),
    Allowed("Test_Authorization_RoleAssignment", r"roleAssignments/", r"^status (400->201|400->200|201->200)$",
            "Azure's directory replicated the new identity after five 400 PrincipalNotFound; the lab's replication "
            "delay is a setting (`principal_replication_seconds`, 0 by default), so the first PUT succeeds."),
    Allowed("test_role_assignment", r"roleAssignments/", r"^status 200->204$",
            "The assignment was never created in the lab: its PUT (#4) named a Graph user the lab does not have."),
    # -- Arc --------------------------------------------------------------------------------------------
    Allowed("", r"^GET /subscriptions/[^/]+/providers/Microsoft\.Kubernetes$", r".",
            "The provider registration document (`GET /providers/{namespace}`) is not emulated."),
    Allowed("", ARC, r"^key-missing (systemData|properties\.(azureHybridBenefit|privateLinkState|"
            r"managedIdentityCertificateExpirationTime))",
            "systemData and the 2022-10-01-preview properties azureHybridBenefit, privateLinkState and "
            "managedIdentityCertificateExpirationTime are not modelled."),
    Allowed("", ARC, r"^key-extra (kind|properties\.(agentVersion|kubernetesVersion|lastConnectivityTime|offering|"
            r"totalCoreCount|totalNodeCount))$",
            "The lab's Arc clusters are connected at once (agent reported, node counts, offering); the recording "
            "read them while the agent was still connecting."),
    Allowed("connectedk8s", r"/tempaks/listClusterUserCredential$", r".",
            "The cluster `tempaks` was created outside the recording."),
    # -- Service Bus ------------------------------------------------------------------------------------
    Allowed("", r"Microsoft\.ServiceBus/namespaces/[^/ ]+/(topics|AuthorizationRules|authorizationRules)", r".",
            "Topics, subscriptions, rules and authorization rules are served by the lab's generic store."),
    Allowed("", r"Microsoft\.ServiceBus/namespaces/[^/ ]+( |$)", r"^key-missing (identity|sku|properties|"
            r"systemData|location|tags)",
            "The lab renders the namespace keys KEDA and the collection read; identity, encryption, private "
            "endpoint and premium detail are not modelled."),
    Allowed("", r"Microsoft\.ServiceBus/namespaces/[^/ ]+/queues", r"^key-(missing|extra) (value\[\]\.)?(properties\.|location)",
            "Queue properties the lab does not model (status details, auto-delete, forwarding); the lab renders "
            "messageCount, sizeInBytes and location on every read, Azure only on some."),
    Allowed("Test_ServiceBus", r"Microsoft\.ServiceBus/namespaces/[^/ ]+$", r"^error-code NamespaceNotFound->ResourceNotFound$",
            "After a delete Service Bus itself answers 404 NamespaceNotFound; the lab answers every missing "
            "namespace with ARM's ResourceNotFound (tests/contract/test_azure_servicebus.py asserts that)."),
    Allowed("", r"Microsoft\.ServiceBus/namespaces$", r".",
            "Namespace lists by resource group and subscription: the lab's seeded namespace and its list paging differ."),
    # -- Azure Monitor ----------------------------------------------------------------------------------
    Allowed("", r"Microsoft\.Monitor/accounts", r"^key-(missing|extra) (systemData|tags|nextLink|value\[\]\.systemData)",
            "systemData is not modelled; the lab always renders `tags`; the recording's list carries nextLink."),
    Allowed("", r"Microsoft\.Monitor/(accounts/[^/ ]+|locations/[^/ ]+/operationResults/[^/ ]+)$", r"^header retry-after missing$",
            "Azure asks for `Retry-After: 15` on the delete and its polls; azure-core reads it before the millisecond "
            "header, so the lab sends only `x-ms-retry-after-ms: 100`."),
]


@pytest.fixture(scope="module")
def replays(lab):
    """Every cassette replayed once against a freshly reset lab."""
    results: dict[str, list[replay.Outcome]] = {}
    for cassette in replay.cassettes():
        lab.reset()
        results[cassette] = replay.Replay(lab.env, cassette).run().outcomes
    lab.reset()
    return results


# Cassettes of which no interaction reaches an emulated service.
NOTHING_EMULATED = {"azure-cli-extensions/test_k8s_extension.yaml"}  # Microsoft.KubernetesConfiguration only


def test_every_cassette_is_replayed(replays):
    assert len(replays) == 20
    nothing = {c for c, outcomes in replays.items() if all(o.state == "skipped" for o in outcomes)}
    assert nothing == NOTHING_EMULATED
    assert sum(o.state != "skipped" for outcomes in replays.values() for o in outcomes) > 600


@pytest.mark.parametrize("cassette", replay.cassettes())
def test_lab_answers_as_recorded_or_the_difference_is_explained(replays, cassette):
    _used, unexplained = fidelity.explain(cassette, replays[cassette], ALLOWED)
    assert unexplained == []


def test_every_allowance_is_still_needed(replays):
    used: set[int] = set()
    for cassette, outcomes in replays.items():
        used |= set(fidelity.explain(cassette, outcomes, ALLOWED)[0])
    assert [ALLOWED[i].reason for i in range(len(ALLOWED)) if i not in used] == []


def test_fidelity_doc_is_current(replays):
    text = fidelity.render(replays, ALLOWED, GAPS)
    if WRITE_DOC:
        with open(DOC, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(DOC, encoding="utf-8") as handle:
        assert handle.read() == text, "docs/lab-fidelity.md is stale: run hack/lab_fidelity.sh"


# -- the recordings README's 20 facts, held by the lab ------------------------------------------------------
# Each fact's cited interactions (README "What these show") must match in the replay: same status, same
# acted-on headers, same error code; key-level differences only as ALLOWED explains them (the managedCluster
# rule never covers the facts' keys). GAPS names what of a fact the lab does not hold, and why.

CLI, ASO, EXT = "azure-cli/", "azure-service-operator/", "azure-cli-extensions/"
FIC, MI = CLI + "test_federated_identity_credential.yaml", ASO + "Test_ManagedIdentity_UserAssignedIdentity_20230131_CRUD.yaml"
WI, KEDA = CLI + "test_aks_create_with_workload_identity_enabled.yaml", CLI + "test_aks_update_with_keda.yaml"
UPDATE_WI = CLI + "test_aks_update_with_workload_identity.yaml"
PREVIEW, STABLE = ASO + "Test_AKS_ManagedCluster_20251002preview_CRUD.yaml", ASO + "Test_AKS_ManagedCluster_20250801_CRUD.yaml"
RA = ASO + "Test_Authorization_RoleAssignment_OnResourceGroup_CRUD.yaml"
FACTS: dict[int, list[tuple[str, list[int]]]] = {
    1: [(FIC, [2, 3, 6]), (MI, [5, 6])],
    2: [(FIC, [7, 9]), (MI, [10, 11])],
    3: [(FIC, [1, 2]), (MI, [2, 5])],
    4: [(MI, [14, 15]), (CLI + "test_identity_management.yaml", [4, 5])],
    5: [(WI, [1]), (PREVIEW, [3])],
    6: [(WI, [2, 13]), (STABLE, [4, 9])],
    7: [(WI, [14]), (KEDA, [1]), (UPDATE_WI, [27, 33]), (PREVIEW, [3])],
    8: [(UPDATE_WI, [17, 18, 19]), (KEDA, [15, 16, 17])],
    9: [(KEDA, [1, 17, 27, 33])],
    10: [(KEDA, [34, 0])],
    11: [(WI, [14]), (PREVIEW, [3])],
    12: [],  # test_fact_12_14_role_assignment_lifecycle
    13: [],  # test_fact_13_duplicate_role_assignment
    14: [(RA, [13, 14])],
    15: [],  # tests/contract/test_azure_authorization.py::test_listing_follows_the_documented_scope_semantics
    16: [(RA, [15, 16, 17, 18, 19])],
    17: [(EXT + "test_connectedk8s.yaml", [25, 26, 27, 28, 34, 35, 36, 62])],
    18: [],
    19: [(CLI + "test_sb_namespace.yaml", [4, 8, 45, 46, 47]), (ASO + "Test_ServiceBus_Namespace_Standard_v1api20240101_CRUD.yaml", [2, 6])],
    20: [(CLI + "test_monitor_account.yaml", [1]), (ASO + "Test_Monitor_Account_CRUD.yaml", [2, 4, 5, 6, 7, 8])],
}
# What of a fact the lab does not hold (also rows of docs/lab-fidelity.md).
GAPS = {
    4: "listAssociatedResources (cli identity #3) is not emulated.",
    6: "The 2023 CLI recording's byte-swapped operation name is not reproduced (the lab's name is the URL's id, as in 2026).",
    10: "A missing agent pool's unwrapped 404 (ASO preview #42): agent pools are the generic store's.",
    14: "The five 400 PrincipalNotFound before the 201 (ASO #5-#9) depend on replication timing: "
        "test_fact_12_14_role_assignment_lifecycle sets principal_replication_seconds to see them.",
    15: "Inherited assignments from `/` and a management group: the lab has no scope above the subscription.",
    16: "`Retry-After: 15` is not sent (azure-core would wait it; the lab sends x-ms-retry-after-ms).",
    18: "Microsoft.KubernetesConfiguration extensions are not emulated at all (skipped in the replay).",
    19: "Topic PUT (ASO #7) answers 201: topics are the generic store's.",
    20: "`Retry-After: 15` is not sent on the delete and its polls (same reason as fact 16).",
}
SHAPE = ("key-missing", "key-extra")


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_recordings_readme_fact_holds_in_the_lab(replays, fact):
    held = []
    for cassette, numbers in FACTS[fact]:
        for number in numbers:
            outcome = replays[cassette][number]
            assert outcome.state in ("matching", "collapsed", "differing"), f"{cassette} #{number} {outcome.state}"
            unexplained = [str(d) for d in outcome.differences if d.kind not in SHAPE
                           and not (fact in (16, 20) and str(d) == "header retry-after missing")]
            assert unexplained == [], f"fact {fact}: {cassette} #{number}"
            held.append(number)
    assert held or fact in (12, 13, 15, 18), fact
    if fact == 18:
        assert all(o.state == "skipped" for o in replays[EXT + "test_k8s_extension.yaml"])


def _assignment(env, scope: str, name: str, principal: str, role: str = "acdd72a7-3385-48ef-bd42-f606fba81ae7"):
    definition = f"/subscriptions/{ids.SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    body = {"properties": {"roleDefinitionId": definition, "principalId": principal}}
    return clients.arm(env, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", body, api_version="2022-04-01")


def test_fact_12_14_role_assignment_lifecycle(env, clean_lab):
    """PrincipalNotFound while the new identity replicates, then 201 synchronous with the recorded key set;
    DELETE 200 with the deleted assignment; GET 404 RoleAssignmentNotFound (ASO RoleAssignment #5-#14)."""
    clean_lab.settings(principal_replication_seconds=30)
    scope = clients.group_path()
    identity = clients.arm(env, "PUT", clients.identity_path("id-fact-14"), {"location": "eastus"}, api_version="2018-11-30").json()
    principal = identity["properties"]["principalId"]
    name = str(uuid.uuid4())
    early = _assignment(env, scope, name, principal)
    assert (early.status, early.error_code) == (400, "PrincipalNotFound")
    assert f"Principal {principal.replace('-', '')} does not exist in the directory {ids.TENANT_ID}." in early.json()["error"]["message"]
    clean_lab.settings(principal_replication_seconds=0)
    created = _assignment(env, scope, name, principal)
    assert created.status == 201 and not {"Location", "Azure-AsyncOperation"} & set(created.headers)
    recorded = json.loads(replay.load(RA)[10].response)
    assert replay.key_paths(created.json()) == replay.key_paths(recorded)
    assert created.json()["properties"]["principalType"] == "ServicePrincipal"
    path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    deleted = clients.arm(env, "DELETE", path, api_version="2022-04-01")
    assert deleted.status == 200 and deleted.json()["name"] == name
    gone = clients.arm(env, "GET", path, api_version="2022-04-01")
    assert (gone.status, gone.error_code) == (404, "RoleAssignmentNotFound")
    assert gone.json()["error"]["message"] == f"The role assignment '{name}' is not found."


def test_fact_13_duplicate_role_assignment(env, clean_lab):
    """A second PUT, new name, same principal, role and scope: 409 RoleAssignmentExists (aks-preview approuting #31)."""
    scope = clients.group_path()
    principal = clients.arm(env, "PUT", clients.identity_path("id-fact-13"), {"location": "eastus"},
                            api_version="2023-01-31").json()["properties"]["principalId"]
    assert _assignment(env, scope, str(uuid.uuid4()), principal).status == 201
    again = _assignment(env, scope, str(uuid.uuid4()), principal)
    assert (again.status, again.json()) == (409, {"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}})
