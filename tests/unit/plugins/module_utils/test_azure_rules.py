# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure modules' rules that need no Azure: input validation, planning, cloud discovery
parsing, request bodies. Table-driven; each case names the behaviour it proves."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_aks as aks
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_servicebus as servicebus
from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import (
    KNOWN_CLOUDS,
    AzureAuth,
    build_credential,
    cloud_from_metadata,
    resolve_cloud,
)
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import is_guid

ISSUER = "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/"
SUBJECT = "system:serviceaccount:keda:keda-operator"
AUDIENCES = ["api://AzureADTokenExchange"]


# --- federated credential input ----------------------------------------------------------------

VALID_NAMES = ["kedaFedIdentity", "abc", "a-_", "0" * 120, "keda_operator-1"]
INVALID_NAMES = ["ab", "-abc", "_abc", "a" * 121, "keda.operator", "keda operator", "", "kéda"]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_credential_name_rule_accepts(name):
    msi.validate_credential(name, ISSUER, SUBJECT, AUDIENCES)


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_credential_name_rule_refuses_naming_the_option_and_rule(name):
    with pytest.raises(OptionError) as err:
        msi.validate_credential(name, ISSUER, SUBJECT, AUDIENCES)
    assert str(err.value).startswith("name: ")
    assert msi.FIC_NAME_RULE in str(err.value)


@pytest.mark.parametrize("issuer, subject, audiences, option, rule", [
    (" " + ISSUER, SUBJECT, AUDIENCES, "issuer", "whitespace"),
    (ISSUER + "\n", SUBJECT, AUDIENCES, "issuer", "whitespace"),
    ("http://issuer.example/", SUBJECT, AUDIENCES, "issuer", "https"),
    ("issuer.example", SUBJECT, AUDIENCES, "issuer", "https"),
    ("https://", SUBJECT, AUDIENCES, "issuer", "https"),
    ("", SUBJECT, AUDIENCES, "issuer", "required"),
    (None, SUBJECT, AUDIENCES, "issuer", "required"),
    ("https://x/" + "a" * 600, SUBJECT, AUDIENCES, "issuer", "600"),
    (ISSUER, "", AUDIENCES, "subject", "empty"),
    (ISSUER, "   ", AUDIENCES, "subject", "empty"),
    (ISSUER, None, AUDIENCES, "subject", "empty"),
    (ISSUER, "s" * 601, AUDIENCES, "subject", "600"),
    (ISSUER, SUBJECT, [], "audiences", "exactly one"),
    (ISSUER, SUBJECT, ["api://AzureADTokenExchange", "api://other"], "audiences", "exactly one"),
    (ISSUER, SUBJECT, [""], "audiences", "non-empty"),
])
def test_credential_input_refused_before_any_call(issuer, subject, audiences, option, rule):
    with pytest.raises(OptionError) as err:
        msi.validate_credential("kedaFedIdentity", issuer, subject, audiences)
    assert str(err.value).startswith(option + ": ")
    assert rule in str(err.value)


def test_credential_absent_needs_only_a_valid_name():
    msi.validate_credential("kedaFedIdentity", None, None, None, state="absent")
    with pytest.raises(OptionError):
        msi.validate_credential("x", None, None, None, state="absent")


# --- federated credential planning -----------------------------------------------------------------

def cred(name, issuer=ISSUER, subject=SUBJECT, audiences=None):
    return {"id": f"/x/{name}", "name": name, "issuer": issuer, "subject": subject,
            "audiences": list(audiences or AUDIENCES)}


def test_plan_exact_match_is_no_change():
    current, desired = msi.plan_credential([cred("kedaFedIdentity")], "id1", "kedaFedIdentity", ISSUER, SUBJECT, AUDIENCES)
    assert desired is None and current["name"] == "kedaFedIdentity"


def test_plan_matches_names_case_insensitively_and_keeps_the_stored_case():
    current, desired = msi.plan_credential([cred("KedaFedIdentity")], "id1", "kedafedidentity", ISSUER, SUBJECT, AUDIENCES)
    assert desired is None and current["name"] == "KedaFedIdentity"


@pytest.mark.parametrize("stored_issuer, stored_subject", [
    (ISSUER.rstrip("/"), SUBJECT),  # trailing slash: a different issuer to Entra
    (ISSUER, SUBJECT.upper()),  # case: a different subject to Entra
])
def test_plan_compares_exactly(stored_issuer, stored_subject):
    _current, desired = msi.plan_credential([cred("kedaFedIdentity", stored_issuer, stored_subject)], "id1",
                                            "kedaFedIdentity", ISSUER, SUBJECT, AUDIENCES)
    assert desired == {"name": "kedaFedIdentity", "issuer": ISSUER, "subject": SUBJECT, "audiences": AUDIENCES,
                       "id": "/x/kedaFedIdentity"}


def test_plan_refuses_the_pair_under_another_name_naming_it():
    with pytest.raises(AzureError) as err:
        msi.plan_credential([cred("older-name")], "id1", "kedaFedIdentity", ISSUER, SUBJECT, AUDIENCES)
    assert "'older-name'" in err.value.msg and err.value.code == "IssuerSubjectAlreadyExists"


def test_plan_refuses_the_21st_credential():
    existing = [cred(f"c{i:02d}", subject=f"system:serviceaccount:ns:sa{i}") for i in range(20)]
    with pytest.raises(AzureError) as err:
        msi.plan_credential(existing, "id1", "c21", ISSUER, SUBJECT, AUDIENCES)
    assert "20" in err.value.msg and err.value.code == "FederatedIdentityCredentialLimitReached"


def test_plan_allows_updating_one_of_twenty():
    existing = [cred(f"c{i:02d}", subject=f"system:serviceaccount:ns:sa{i}") for i in range(20)]
    _current, desired = msi.plan_credential(existing, "id1", "c05", ISSUER, "system:serviceaccount:ns:new", AUDIENCES)
    assert desired["subject"] == "system:serviceaccount:ns:new"


@pytest.mark.parametrize("stored_issuer, stored_subject, warned", [
    (ISSUER.rstrip("/"), SUBJECT, True),
    (ISSUER.upper(), SUBJECT, True),
    (ISSUER, "System:ServiceAccount:KEDA:keda-operator", True),
    (ISSUER, SUBJECT, False),
    (ISSUER, "system:serviceaccount:other:keda-operator", False),
])
def test_near_misses_warn_on_trailing_slash_or_case_only(stored_issuer, stored_subject, warned):
    warnings = msi.near_misses([cred("other", stored_issuer, stored_subject)], ISSUER, SUBJECT)
    assert bool(warnings) is warned
    if warned:
        assert "'other'" in warnings[0] and "exactly" in warnings[0]


def test_write_lock_is_keyed_by_identity_id_case_insensitively():
    a = msi.lock_path("/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x")
    b = msi.lock_path("/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/X")
    c = msi.lock_path("/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/y")
    assert a == b != c


def test_write_lock_excludes_a_second_holder(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    import multiprocessing

    with msi.identity_write_lock("/id/one", timeout=5):
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()

        def contender():
            try:
                with msi.identity_write_lock("/id/one", timeout=0.3):
                    queue.put("acquired")
            except AzureError as exc:
                queue.put(exc.code)

        proc = ctx.Process(target=contender)
        proc.start()
        proc.join(10)
        assert queue.get(timeout=5) == "LockTimeout"
    with msi.identity_write_lock("/id/one", timeout=0.3):
        pass


# --- managed identity ------------------------------------------------------------------------------

@pytest.mark.parametrize("current, tags, purge, expected", [
    ({"a": "1"}, None, False, {"a": "1"}),  # tags not given: untouched
    ({"a": "1"}, None, True, {"a": "1"}),  # ... even with purge_tags
    ({"a": "1"}, {"b": 2}, False, {"a": "1", "b": "2"}),  # merged, values as strings
    ({"a": "1"}, {"b": "2"}, True, {"b": "2"}),  # purged
    ({"a": "1"}, {"a": "1"}, True, {"a": "1"}),
    ({}, {}, True, {}),
])
def test_desired_tags(current, tags, purge, expected):
    assert msi.desired_tags(current, tags, purge) == expected


@pytest.mark.parametrize("given, stored", [("East US", "eastus"), ("eastus", "eastus"), ("EastUS2", "eastus2")])
def test_locations_compare_as_arm_normalises_them(given, stored):
    assert msi.normalize_location(given) == stored


# --- role assignments ------------------------------------------------------------------------------

SCOPE = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg/providers/microsoft.monitor/accounts/ws"
PRINCIPAL = "1e2d3c4b-5a69-4788-9900-aabbccddeeff"


@pytest.mark.parametrize("role, guid", [
    ("b0d8363b-8ddd-447d-831f-62ca05bff136", "b0d8363b-8ddd-447d-831f-62ca05bff136"),
    ("B0D8363B-8DDD-447D-831F-62CA05BFF136", "b0d8363b-8ddd-447d-831f-62ca05bff136"),
    ("/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/providers/Microsoft.Authorization/roleDefinitions/"
     "b0d8363b-8ddd-447d-831f-62ca05bff136", "b0d8363b-8ddd-447d-831f-62ca05bff136"),
    ("/providers/Microsoft.Authorization/roleDefinitions/b0d8363b-8ddd-447d-831f-62ca05bff136",
     "b0d8363b-8ddd-447d-831f-62ca05bff136"),
    ("Monitoring Data Reader", None),
])
def test_role_forms(role, guid):
    assert rbac.role_guid(role) == guid


def test_assignment_name_is_deterministic_and_scope_case_insensitive():
    a = rbac.assignment_name(SCOPE, "b0d8363b-8ddd-447d-831f-62ca05bff136", PRINCIPAL)
    b = rbac.assignment_name(SCOPE.upper() + "/", "B0D8363B-8DDD-447D-831F-62CA05BFF136", PRINCIPAL.upper())
    c = rbac.assignment_name(SCOPE, "090c5cfd-751d-490a-894a-3ce6f1109419", PRINCIPAL)
    assert a == b != c
    assert is_guid(a)


@pytest.mark.parametrize("scope, role, principal, principal_type, option", [
    ("subscriptions/x", "Reader", PRINCIPAL, "ServicePrincipal", "scope"),
    ("", "Reader", PRINCIPAL, "ServicePrincipal", "scope"),
    (SCOPE, "", PRINCIPAL, "ServicePrincipal", "role"),
    (SCOPE, "Reader", "not-a-guid", "ServicePrincipal", "principal_id"),
    (SCOPE, "Reader", PRINCIPAL, "Robot", "principal_type"),
])
def test_assignment_input_refused_naming_the_option(scope, role, principal, principal_type, option):
    with pytest.raises(OptionError) as err:
        rbac.validate_assignment(scope, role, principal, principal_type)
    assert str(err.value).startswith(option + ": ")


# --- AKS -------------------------------------------------------------------------------------------

OFF = {"oidc_issuer": False, "workload_identity": False, "keda": False}


@pytest.mark.parametrize("current, requested, changes", [
    (OFF, {"oidc_issuer": None, "workload_identity": None, "keda": None}, {}),  # a read
    (OFF, {"oidc_issuer": True, "workload_identity": True, "keda": True},
     {"oidc_issuer": True, "workload_identity": True, "keda": True}),
    ({**OFF, "oidc_issuer": True}, {"oidc_issuer": True, "workload_identity": True, "keda": None},
     {"workload_identity": True}),
    ({**OFF, "oidc_issuer": True}, {"oidc_issuer": None, "workload_identity": True, "keda": None},
     {"workload_identity": True}),  # the issuer is already on
    ({"oidc_issuer": True, "workload_identity": True, "keda": True},
     {"oidc_issuer": None, "workload_identity": False, "keda": False},
     {"workload_identity": False, "keda": False}),
])
def test_plan_features_flips_only_what_differs(current, requested, changes):
    assert aks.plan_features(current, requested, "c") == changes


@pytest.mark.parametrize("current, requested, option", [
    (OFF, {"oidc_issuer": None, "workload_identity": True, "keda": None}, "workload_identity"),
    (OFF, {"oidc_issuer": False, "workload_identity": True, "keda": None}, "workload_identity"),
    ({**OFF, "oidc_issuer": True}, {"oidc_issuer": False, "workload_identity": None, "keda": None}, "oidc_issuer"),
])
def test_plan_features_refuses_what_aks_refuses(current, requested, option):
    with pytest.raises(OptionError) as err:
        aks.plan_features(current, requested, "c")
    assert str(err.value).startswith(option + ": ")


CLUSTER = {
    "id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
    "name": "c", "type": "Microsoft.ContainerService/managedClusters", "location": "eastus",
    "systemData": {"createdBy": "x"}, "tags": {"env": "prod"},
    "identity": {"type": "SystemAssigned"},
    "sku": {"name": "Base", "tier": "Free"},
    "properties": {
        "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": "1.33",
        "currentKubernetesVersion": "1.33.2", "fqdn": "c.hcp.eastus.azmk8s.io", "dnsPrefix": "c",
        "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "enableAutoScaling": True}],
        "oidcIssuerProfile": {"enabled": True, "issuerURL": ISSUER},
        "securityProfile": {"defender": {"securityMonitoring": {"enabled": True}}},
        "workloadAutoScalerProfile": {"verticalPodAutoscaler": {"enabled": True}},
        "networkProfile": {"networkPlugin": "azure"},
    },
}


def test_update_body_never_restates_node_pools_or_read_only_fields():
    body = aks.update_body(CLUSTER, {"keda": True})
    assert "agentPoolProfiles" not in body["properties"]
    for key in ("id", "name", "type", "systemData"):
        assert key not in body
    for key in ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn"):
        assert key not in body["properties"]
    assert "issuerURL" not in body["properties"]["oidcIssuerProfile"]
    assert CLUSTER["properties"]["agentPoolProfiles"], "the input is not modified"


def test_update_body_flips_only_the_requested_flags_and_keeps_siblings():
    body = aks.update_body(CLUSTER, {"workload_identity": True, "keda": True})
    props = body["properties"]
    assert props["securityProfile"] == {"defender": {"securityMonitoring": {"enabled": True}},
                                        "workloadIdentity": {"enabled": True}}
    assert props["workloadAutoScalerProfile"] == {"verticalPodAutoscaler": {"enabled": True}, "keda": {"enabled": True}}
    assert props["oidcIssuerProfile"] == {"enabled": True}
    assert body["tags"] == {"env": "prod"} and body["location"] == "eastus"
    assert props["kubernetesVersion"] == "1.33" and props["networkProfile"] == {"networkPlugin": "azure"}


def test_cluster_state_reads_the_chain_fields():
    state = aks.cluster_state(CLUSTER)
    assert state == {"id": CLUSTER["id"], "name": "c", "location": "eastus", "kubernetes_version": "1.33.2",
                     "oidc_issuer": True, "oidc_issuer_url": ISSUER, "issuer_url": ISSUER, "workload_identity": False, "keda": False,
                     "provisioning_state": "Succeeded"}


# --- clouds and auth -------------------------------------------------------------------------------

PUBLIC_METADATA = [{
    "name": "AzureCloud", "resourceManager": "https://management.azure.com/",
    "authentication": {"loginEndpoint": "https://login.microsoftonline.com",
                       "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"]},
}, {
    "name": "AzureChinaCloud", "resourceManager": "https://management.chinacloudapi.cn",
    "authentication": {"loginEndpoint": "https://login.chinacloudapi.cn",
                       "audiences": ["https://management.core.chinacloudapi.cn", "https://management.chinacloudapi.cn"]},
}]
STACK_METADATA = {
    "galleryEndpoint": "https://portal.local.azurestack.external:30015/",
    "graphEndpoint": "https://graph.windows.net/",
    "authentication": {"loginEndpoint": "https://login.microsoftonline.com/",
                       "audiences": ["https://management.contoso.onmicrosoft.com/4de154de-f8a8-4017-af41-df619da68155"]},
}


@pytest.mark.parametrize("arm, metadata, scope, login", [
    ("https://management.azure.com", PUBLIC_METADATA, "https://management.azure.com/.default",
     "https://login.microsoftonline.com"),
    ("https://management.chinacloudapi.cn/", PUBLIC_METADATA, "https://management.chinacloudapi.cn/.default",
     "https://login.chinacloudapi.cn"),
    ("https://management.local.azurestack.external", STACK_METADATA,
     "https://management.contoso.onmicrosoft.com/4de154de-f8a8-4017-af41-df619da68155/.default",
     "https://login.microsoftonline.com"),
])
def test_cloud_from_metadata(arm, metadata, scope, login):
    cloud = cloud_from_metadata(arm, metadata)
    assert (cloud.scope, cloud.authority_host, cloud.resource_manager) == (scope, login, arm.rstrip("/") + "/")


@pytest.mark.parametrize("name, arm", [
    ("AzureCloud", "https://management.azure.com/"), ("azurecloud", "https://management.azure.com/"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn/"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net/"), (None, "https://management.azure.com/"),
])
def test_known_clouds_need_no_request(name, arm):
    assert resolve_cloud(AzureAuth(cloud_environment=name)).resource_manager == arm


def test_unknown_cloud_name_is_refused_naming_the_option():
    with pytest.raises(OptionError) as err:
        resolve_cloud(AzureAuth(cloud_environment="AzureGermanCloud"))
    assert str(err.value).startswith("cloud_environment: ")


def test_authority_host_option_overrides_the_cloud_default():
    cloud = resolve_cloud(AzureAuth(cloud_environment="AzureCloud", authority_host="https://login.example/"))
    assert cloud.authority_host == "https://login.example"


@pytest.mark.parametrize("auth, environ, source", [
    (dict(secret="s", tenant="t", client_id="c"), {}, "env"),
    (dict(tenant="t", client_id="c", federated_token_file="/var/run/token"), {}, "workload_identity"),
    (dict(), {"IDENTITY_ENDPOINT": "http://localhost:42356/msi/token"}, "msi"),
    (dict(auth_source="cli", secret="s"), {}, "cli"),
])
def test_auto_auth_source(auth, environ, source, monkeypatch):
    for name in ("IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert AzureAuth(**auth).effective_source() == source


def test_env_aliases_of_azure_azcollection_are_read():
    auth = AzureAuth.from_env({"AZURE_TENANT": "t", "AZURE_SECRET": "s", "AZURE_CLIENT_ID": "c",
                               "AZURE_FEDERATED_TOKEN_FILE": "/f"})
    assert (auth.tenant, auth.secret, auth.client_id, auth.federated_token_file) == ("t", "s", "c", "/f")


def test_missing_credentials_are_named_before_any_call():
    auth = AzureAuth(auth_source="env", client_id="c")
    with pytest.raises(OptionError) as err:
        build_credential(auth, KNOWN_CLOUDS["azurecloud"])
    assert "tenant" in str(err.value) and "secret" in str(err.value)


def test_retry_on_codes_retries_only_the_named_codes():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise AzureError("busy", code="Busy", status=409)
        return "ok"

    assert retry_on_codes(flaky, {"Busy"}, timeout=5, first_delay=0.01) == "ok" and len(calls) == 3

    def exists():
        raise AzureError("exists", code="RoleAssignmentExists", status=409)

    with pytest.raises(AzureError):
        retry_on_codes(exists, {"Busy"}, timeout=5, first_delay=0.01)


def test_retry_on_codes_gives_up_at_the_deadline():
    def busy():
        raise AzureError("busy", code="Busy", status=409)

    with pytest.raises(AzureError) as err:
        retry_on_codes(busy, {"Busy"}, timeout=0.2, first_delay=0.05)
    assert err.value.code == "Busy"


def test_write_locks_live_in_a_private_per_user_directory_and_are_cleaned_up(tmp_path, monkeypatch):
    import os
    import stat

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    path = msi.lock_path("/id/one")
    directory = os.path.dirname(path)
    assert directory == str(tmp_path / f"kedaops-aks-{os.getuid()}")
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    with msi.identity_write_lock("/id/one", timeout=5):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(directory) == [], "the holder removes its lock file"
    os.chmod(directory, 0o777)
    with pytest.raises(AzureError) as caught:
        msi.lock_path("/id/one")
    assert caught.value.code == "LockDirectoryNotPrivate"


# --- issue 14: input Azure or Kubernetes would refuse, or that silently breaks the chain -------------

AKS_ISSUER = "https://eastus.oic.prod-aks.azure.com/tenant/cluster/"


@pytest.mark.parametrize("subject, rule", [
    ("system:serviceaccount:keda:keda-operator ", "white space"),
    ("system:serviceaccount:keda:keda-operator\n", "white space"),
    ("system:serviceaccount:KEDA:keda-operator", "namespace 'KEDA'"),
    ("system:serviceaccount:keda:Keda_Operator", "name 'Keda_Operator'"),
    ("system:serviceaccount:keda", "must be system:serviceaccount:<namespace>:<name>"),
])
def test_a_subject_no_token_can_carry_is_refused(subject, rule):
    with pytest.raises(OptionError, match="^subject: ") as caught:
        msi.validate_credential("cred", AKS_ISSUER, subject, ["api://AzureADTokenExchange"])
    assert rule in str(caught.value)


def test_an_issuer_without_its_trailing_slash_is_warned():
    assert msi.issuer_warnings(AKS_ISSUER) == []
    assert "no trailing '/'" in msi.issuer_warnings(AKS_ISSUER.rstrip("/"))[0]


@pytest.mark.parametrize("name", ["my identity", "x" * 129, "-leading", "idéntity", "ab"])
def test_identity_names_azure_refuses_are_refused(name):
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_identity import validate_identity
    with pytest.raises(OptionError, match="^name: .* not a valid managed identity name"):
        validate_identity(name, None)


@pytest.mark.parametrize("tags, rule", [
    ({f"t{i}": "v" for i in range(51)}, "at most 50"),
    ({"k" * 513: "v"}, "1-512 characters"),
    ({"a/b": "v"}, "1-512 characters"),
    ({"owner": "v" * 257}, "longer than 256"),
])
def test_tags_over_azures_limits_are_refused(tags, rule):
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_identity import validate_identity
    with pytest.raises(OptionError, match="^tags: ") as caught:
        validate_identity("keda-identity", tags)
    assert rule in str(caught.value)


@pytest.mark.parametrize("option, scope, role", [
    ("scope", "/subscriptions/s/resourceGroups/rg ", "Reader"),
    ("role", "/subscriptions/s/resourceGroups/rg", "Reader "),
])
def test_white_space_around_a_scope_or_role_is_refused(option, scope, role):
    with pytest.raises(OptionError, match=f"^{option}: .*white space"):
        rbac.validate_assignment(scope, role, "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c", "ServicePrincipal")


# --- a credential list decided whole, before the first write -----------------------------------------

def _existing(count: int) -> list[dict]:
    return [{"name": f"c{i}", "issuer": ISSUER, "subject": f"system:serviceaccount:ns:sa-{i}", "audiences": AUDIENCES,
             "id": f"c{i}"} for i in range(count)]


def _item(name: str, subject: str, state: str = "present") -> dict:
    return {"name": name, "issuer": ISSUER, "subject": subject, "audiences": AUDIENCES, "state": state}


def test_a_list_that_would_pass_the_limit_is_refused_at_its_first_item_over_it():
    items = [_item(f"new-{i}", f"system:serviceaccount:new:sa-{i}") for i in range(3)]
    with pytest.raises(AzureError, match="credential 'new-2' was not created") as refused:
        msi.plan_all(_existing(18), "mi", items)
    assert refused.value.code == "FederatedIdentityCredentialLimitReached"


def test_a_removal_earlier_in_the_list_makes_room_under_the_limit():
    msi.plan_all(_existing(20), "mi", [_item("c0", "", state="absent"), _item("new", "system:serviceaccount:new:sa")])


def test_a_pair_an_earlier_item_takes_is_refused_for_a_later_one():
    items = [_item("first", "system:serviceaccount:new:sa"), _item("second", "system:serviceaccount:new:sa")]
    with pytest.raises(AzureError, match="Federated credential 'first' .* already has issuer") as refused:
        msi.plan_all([], "mi", items)
    assert refused.value.code == "IssuerSubjectAlreadyExists"


def test_an_operation_in_progress_conflict_of_service_bus_is_transient_and_a_taken_name_is_not():
    from ansible_collections.kedaops.aks.plugins.module_utils import _azure_servicebus as sb

    busy = AzureError("x", code="Conflict", status=409,
                      message="SubCode=40901. Another conflicting operation is in progress.")
    taken = AzureError("x", code="Conflict", status=409, message="SubCode=40900. Namespace name is already taken.")
    assert sb.operation_in_progress(busy)
    assert not sb.operation_in_progress(taken)


# --- Service Bus queue input ---------------------------------------------------------------------


@pytest.mark.parametrize("lock_duration", ["PT5M1S", "PT6M", "PT1H", "P1D", "PT301S"])
def test_a_queue_lock_duration_over_five_minutes_is_refused(lock_duration):
    with pytest.raises(OptionError, match=r"^lock_duration: .*maximum of 5 minutes"):
        servicebus.validate_queue("sb-keda-demo", "orders", {"lock_duration": lock_duration})


@pytest.mark.parametrize("lock_duration", ["PT5M", "PT300S", "PT1M", "PT30S", "PT4M59.5S"])
def test_a_queue_lock_duration_up_to_five_minutes_is_accepted(lock_duration):
    servicebus.validate_queue("sb-keda-demo", "orders", {"lock_duration": lock_duration})


@pytest.mark.parametrize("name", ["orders\n", "orders ", "a/../../sb-keda-demo", "./orders"])
def test_a_queue_name_with_a_newline_or_dot_segments_is_refused(name):
    with pytest.raises(OptionError, match=r"^name: "):
        servicebus.queue_path("0b1f6471-1bf0-4dda-aec3-cb9272f09590", "rg", "sb-keda-demo", name) \
            if "/" in name else servicebus.validate_queue("sb-keda-demo", name, {})
