"""Contract: real Azure's recorded answers (../shared/reference/recordings) replayed against the lab.

Each cassette's request sequence is sent to the lab (tests/lab/azure/replay.py) and every answer compared
with the recorded one. A difference either was fixed in the lab (the lab code cites the cassette) or is
listed in ALLOWED below with its reason; docs/lab-fidelity.md is generated from the same data
(``hack/lab_fidelity.sh`` rewrites it) and a test fails when it is stale.
"""

from __future__ import annotations

import os

import pytest

from lab.azure import replay
from lab.azure.replay import Allowed
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
    Allowed("test_role_assignment", r"roleAssignments$", r"^key-missing value",
            "The recording lists at a scope with inherited assignments from `/`, a management group and the "
            "subscription; the lab's subscription holds none at those scopes."),
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
    _used, unexplained = replay.explain(cassette, replays[cassette], ALLOWED)
    assert unexplained == []


def test_every_allowance_is_still_needed(replays):
    used: set[int] = set()
    for cassette, outcomes in replays.items():
        used |= set(replay.explain(cassette, outcomes, ALLOWED)[0])
    assert [ALLOWED[i].reason for i in range(len(ALLOWED)) if i not in used] == []


def test_fidelity_doc_is_current(replays):
    text = replay.render(replays, ALLOWED)
    if WRITE_DOC:
        with open(DOC, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(DOC, encoding="utf-8") as handle:
        assert handle.read() == text, "docs/lab-fidelity.md is stale: run hack/lab_fidelity.sh"
