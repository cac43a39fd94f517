# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connected_cluster's rules and the doctor's Arc checks on plain data. Table-driven."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _arc as arc
from ansible_collections.kedaops.aks.plugins.module_utils import _trust_chain as _chain
from ansible_collections.kedaops.aks.plugins.module_utils import _trust_chain_probe as probing
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

ARC_ISSUER = "https://northamerica.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/51a4c04d-a876-5216-9d47-6b57e4d7566c/"
SELF_HOSTED = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE/"
OFF = {"oidc_issuer": False, "workload_identity": False, "self_hosted_issuer_url": ""}
ON = {"oidc_issuer": True, "workload_identity": True, "self_hosted_issuer_url": ""}
READ = {"oidc_issuer": None, "workload_identity": None, "self_hosted_issuer_url": None}

CLUSTER = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c",
    "name": "c", "type": "Microsoft.Kubernetes/connectedClusters", "location": "eastus",
    "systemData": {"createdBy": "x"}, "tags": {"site": "edge-1"},
    "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
    "properties": {
        "agentPublicKeyCertificate": "MIIC...", "distribution": "k3s", "provisioningState": "Succeeded",
        "connectivityStatus": "Connected", "agentVersion": "1.24.4", "kubernetesVersion": "1.32.6",
        "totalNodeCount": 1, "privateLinkState": "Disabled",
        "oidcIssuerProfile": {"enabled": True, "issuerUrl": ARC_ISSUER},
        "securityProfile": {"workloadIdentity": {"enabled": False}},
    },
}


@pytest.mark.parametrize("current, requested, changes", [
    (OFF, READ, {}),
    (OFF, {**READ, "oidc_issuer": True, "workload_identity": True}, {"oidc_issuer": True, "workload_identity": True}),
    (ON, {**READ, "oidc_issuer": True, "workload_identity": True}, {}),  # second run
    (ON, {**READ, "workload_identity": False}, {"workload_identity": False}),  # the webhook can be turned off
    ({**ON, "workload_identity": False}, {**READ, "workload_identity": True}, {"workload_identity": True}),
    (ON, {**READ, "oidc_issuer": True, "self_hosted_issuer_url": SELF_HOSTED}, {"self_hosted_issuer_url": SELF_HOSTED}),
])
def test_plan_changes_only_what_differs(current, requested, changes):
    assert arc.plan(current, requested) == changes


PARAMS = {"resource_group": "rg", "name": "c", "timeout": 1800}


@pytest.mark.parametrize("requested, option, text", [
    ({**READ, "oidc_issuer": False}, "oidc_issuer", arc.OIDC_CANNOT_BE_DISABLED),
    ({**READ, "self_hosted_issuer_url": SELF_HOSTED}, "self_hosted_issuer_url", arc.SELF_HOSTED_NEEDS_OIDC),
    ({**READ, "oidc_issuer": True, "self_hosted_issuer_url": "http://x/"}, "self_hosted_issuer_url", "https URL"),
    ({**READ, "oidc_issuer": True, "self_hosted_issuer_url": SELF_HOSTED + "\n"}, "self_hosted_issuer_url",
     "holds white space"),
    ({**READ, "oidc_issuer": True, "self_hosted_issuer_url": SELF_HOSTED + " "}, "self_hosted_issuer_url",
     "holds white space"),
])
def test_build_refuses_what_the_cli_refuses(requested, option, text):
    with pytest.raises(OptionError) as err:
        arc.build({**PARAMS, **requested})
    assert str(err.value).startswith(option + ": ") and text in str(err.value)


def test_build_states_the_plan():
    plan = arc.build({**PARAMS, **READ, "oidc_issuer": True, "workload_identity": True})
    assert plan == arc.ArcPlan("rg", "c", {**READ, "oidc_issuer": True, "workload_identity": True}, 1800)


def test_plan_refuses_workload_identity_on_a_cluster_without_the_issuer():
    with pytest.raises(OptionError) as err:
        arc.plan(OFF, {**READ, "workload_identity": True})
    assert str(err.value).startswith("workload_identity: ") and "needs the OIDC issuer" in str(err.value)


def test_update_body_echoes_what_the_put_requires_and_drops_read_only_fields():
    body = arc.update_body(CLUSTER, {"workload_identity": True})
    assert body["identity"] == {"type": "SystemAssigned"}
    assert body["properties"]["agentPublicKeyCertificate"] == "MIIC..."
    assert body["tags"] == {"site": "edge-1"} and body["location"] == "eastus"
    assert body["properties"]["oidcIssuerProfile"] == {"enabled": True}
    assert body["properties"]["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    for key in ("id", "name", "type", "systemData"):
        assert key not in body
    for key in ("provisioningState", "connectivityStatus", "agentVersion", "kubernetesVersion", "totalNodeCount"):
        assert key not in body["properties"]
    assert body["properties"]["privateLinkState"] == "Disabled"
    assert CLUSTER["properties"]["oidcIssuerProfile"]["issuerUrl"] == ARC_ISSUER, "the input is not mutated"


@pytest.mark.parametrize("oidc, expected", [
    ({"enabled": True, "issuerUrl": ARC_ISSUER}, ARC_ISSUER),
    ({"enabled": True, "issuerUrl": ARC_ISSUER, "selfHostedIssuerUrl": SELF_HOSTED}, SELF_HOSTED),
    ({"enabled": True, "issuerUrl": ARC_ISSUER, "selfHostedIssuerUrl": None}, ARC_ISSUER),
    ({"enabled": False}, None),
])
def test_effective_issuer_prefers_the_self_hosted_one(oidc, expected):
    assert arc.effective_issuer({"properties": {"oidcIssuerProfile": oidc}}) == expected


def test_check_mode_prediction_leaves_an_unassigned_issuer_null():
    before = arc.cluster_state({**CLUSTER, "properties": {**CLUSTER["properties"], "oidcIssuerProfile": {"enabled": False}}})
    predicted = arc.predict(before, {"oidc_issuer": True})
    assert predicted["oidc_issuer"] is True and predicted["issuer_url"] is None


# --- the doctor on a connected cluster ---------------------------------------------------------


def _token(iss: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"iss": iss, "sub": "x"}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"


def arc_facts(token_issuer: str | None) -> _chain.Facts:
    return _chain.Facts(cluster={"oidc_issuer": True, "workload_identity": True, "issuer_url": ARC_ISSUER},
                        cluster_kind="arc", cluster_ref="-g rg -n c", issuer=ARC_ISSUER, token_issuer=token_issuer,
                        identity={"client_id": "c", "principal_id": "p", "tenant_id": "t"}, identity_ref=("rg", "mi"),
                        credentials=[{"name": "kedaFedIdentity", "issuer": ARC_ISSUER,
                                      "subject": "system:serviceaccount:keda:keda-operator",
                                      "audiences": ["api://AzureADTokenExchange"]}],
                        operator_namespace="keda", operator_service_account="keda-operator")


@pytest.mark.parametrize("token_issuer, ok", [
    (ARC_ISSUER, True),
    ("https://kubernetes.default.svc.cluster.local", False),  # K3s's own issuer: the step was skipped
    (ARC_ISSUER.rstrip("/"), False),  # exact comparison, as Entra makes it
])
def test_api_server_issuer_check_compares_the_token_iss_exactly(token_issuer, ok):
    check = next(c for c in _chain.evaluate(arc_facts(token_issuer)) if c.id == "api_server_issuer")
    assert check.ok is ok
    if not ok:
        assert "kedaops.aks.k3s_issuer" in check.fix and f"service-account-issuer={ARC_ISSUER}" in check.fix
        assert "AADSTS70021" in check.detail


def test_api_server_issuer_check_needs_a_token_and_aks_never_has_it():
    assert "api_server_issuer" not in [c.id for c in _chain.evaluate(arc_facts(None))]
    facts = arc_facts("https://kubernetes.default.svc.cluster.local")
    facts.cluster_kind = "aks"
    facts.cluster = {"oidc_issuer": True, "workload_identity": True, "oidc_issuer_url": ARC_ISSUER}
    assert "api_server_issuer" not in [c.id for c in _chain.evaluate(facts)]


def test_arc_fixes_name_connectedk8s_not_aks():
    facts = arc_facts(ARC_ISSUER)
    facts.cluster = {"oidc_issuer": False, "workload_identity": False, "issuer_url": None}
    facts.issuer = ""
    fixes = {c.id: c.fix for c in _chain.evaluate(facts) if not c.ok}
    assert "az connectedk8s update -g rg -n c --enable-oidc-issuer" in fixes["oidc_issuer"]
    assert "kedaops.aks.connected_cluster" in fixes["workload_identity"]


def test_a_refused_exchange_with_a_stale_issuer_points_at_the_k3s_step():
    facts = arc_facts("https://kubernetes.default.svc.cluster.local")
    check = probing.probe_check({"ok": False, "code": "AADSTS70021", "message": "AADSTS70021: No matching federated identity record",
                                "attempts": 1, "elapsed": 0.1}, facts)
    assert not check.ok and "api_server_issuer" in check.detail and "kedaops.aks.k3s_issuer" in check.fix


@pytest.mark.parametrize("token, issuer", [
    (_token(ARC_ISSUER), ARC_ISSUER),
    ("not-a-jwt", None),
    ("a.!!!.c", None),
])
def test_token_issuer_reads_iss_without_verifying(token, issuer):
    assert probing.token_issuer(token) == issuer
