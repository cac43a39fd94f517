"""Contract: Microsoft.ManagedIdentity in the lab, driven through azure-mgmt-msi (facts 1.2-1.5)."""

from __future__ import annotations

import threading
import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity, IdentityUpdate

from lab import ids
from lab.azure import clients

RG = ids.RESOURCE_GROUP
AUDIENCE = ids.TOKEN_EXCHANGE_AUDIENCE
ISSUER = "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/"
CONCURRENT = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"


@pytest.fixture
def msi(clean_lab):
    return clients.msi_client(clean_lab.env)


def fic(subject: str, issuer: str = ISSUER, audiences: list[str] | None = None) -> FederatedIdentityCredential:
    return FederatedIdentityCredential(issuer=issuer, subject=subject, audiences=audiences or [AUDIENCE])


def test_identity_create_answers_201_with_generated_ids_then_200_on_update(msi, clean_lab):
    created = msi.user_assigned_identities.create_or_update(RG, "id-contract", Identity(location="eastus", tags={"team": "a"}))
    assert created.id == (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{RG}"
                          "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-contract")
    assert created.tenant_id == ids.TENANT_ID
    assert created.client_id and created.principal_id and created.client_id != created.principal_id
    assert created.isolation_scope == "None"
    again = msi.user_assigned_identities.create_or_update(RG, "ID-CONTRACT", Identity(location="East US"))
    assert (again.client_id, again.name, again.tags) == (created.client_id, "id-contract", {})
    puts = [r["status"] for r in clean_lab.requests("arm") if r["method"] == "PUT"]
    assert puts == [201, 200]


def test_identity_create_without_location_is_refused_with_location_required(clean_lab):
    response = clients.arm(clean_lab.env, "PUT", clients.identity_path("id-noloc"), {"tags": {}})
    assert (response.status, response.error_code) == (400, "LocationRequired")


@pytest.mark.parametrize("name, location, tags, code", [
    ("my%20identity", "eastus", {}, "InvalidResourceName"),
    ("x" * 129, "eastus", {}, "InvalidResourceName"),
    ("-leading", "eastus", {}, "InvalidResourceName"),
    ("id%C3%A9ntity", "eastus", {}, "InvalidResourceName"),
    ("id-where-not", "moon", {}, "LocationNotAvailableForResourceType"),
    ("id-tags", "eastus", {"k" * 513: "v"}, "InvalidTagNameLength"),
    ("id-tags", "eastus", {"owner": "v" * 257}, "InvalidTagValueLength"),
    ("id-tags", "eastus", {"a/b": "v"}, "InvalidTagNameCharacters"),
])
def test_identity_input_azure_refuses_is_refused_with_its_code(clean_lab, name, location, tags, code):
    response = clients.arm(clean_lab.env, "PUT", clients.identity_path(name), {"location": location, "tags": tags})
    assert (response.status, response.error_code) == (400, code)
    assert clean_lab.writes() == [] or all(w["status"] == 400 for w in clean_lab.writes())


def test_identity_patch_changes_only_what_it_sends(msi):
    msi.user_assigned_identities.create_or_update(RG, "id-patch", Identity(location="eastus", tags={"a": "1"}))
    updated = msi.user_assigned_identities.update(RG, "id-patch", IdentityUpdate(isolation_scope="Regional"))
    assert (updated.tags, updated.isolation_scope) == ({"a": "1"}, "Regional")
    updated = msi.user_assigned_identities.update(RG, "id-patch", IdentityUpdate(tags={"b": "2"}))
    assert (updated.tags, updated.location) == ({"b": "2"}, "eastus")


def test_identity_in_another_location_is_refused(msi):
    msi.user_assigned_identities.create_or_update(RG, "id-where", Identity(location="eastus"))
    with pytest.raises(HttpResponseError) as caught:
        msi.user_assigned_identities.create_or_update(RG, "id-where", Identity(location="westus"))
    assert caught.value.error.code == "InvalidResourceLocation"


def test_identity_delete_answers_200_then_204_and_takes_its_credentials(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-gone", Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(RG, "id-gone", "fic-1", fic("system:serviceaccount:a:b"))
    msi.user_assigned_identities.delete(RG, "id-gone")
    msi.user_assigned_identities.delete(RG, "id-gone")
    deletes = [r["status"] for r in clean_lab.requests("arm") if r["method"] == "DELETE"]
    assert deletes == [200, 204]
    with pytest.raises(ResourceNotFoundError) as caught:
        msi.user_assigned_identities.get(RG, "id-gone")
    assert caught.value.error.message == (
        "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/id-gone' under resource group "
        f"'{RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
    msi.user_assigned_identities.create_or_update(RG, "id-gone", Identity(location="eastus"))
    assert list(msi.federated_identity_credentials.list(RG, "id-gone")) == []


def test_identities_are_listed_by_resource_group_and_by_subscription(msi):
    msi.user_assigned_identities.create_or_update(RG, "id-listed", Identity(location="eastus"))
    in_group = {i.name for i in msi.user_assigned_identities.list_by_resource_group(RG)}
    in_subscription = {i.name for i in msi.user_assigned_identities.list_by_subscription()}
    assert in_group == {"id-listed"}
    # The seeded cluster's kubelet identity lives in its node resource group.
    assert in_subscription == {"id-listed", f"{ids.AKS_NAME}-agentpool"}


def test_identity_in_missing_resource_group_is_resource_group_not_found(msi):
    with pytest.raises(ResourceNotFoundError) as caught:
        msi.user_assigned_identities.create_or_update("rg-missing", "id-x", Identity(location="eastus"))
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert caught.value.error.message == "Resource group 'rg-missing' could not be found."


def test_credential_put_is_a_full_replace_answering_201_then_200(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-fic", Identity(location="eastus"))
    created = msi.federated_identity_credentials.create_or_update(RG, "id-fic", "kedaOperator", fic("system:serviceaccount:kube-system:keda-operator"))
    assert created.id.endswith("/userAssignedIdentities/id-fic/federatedIdentityCredentials/kedaOperator")
    assert created.type == "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
    replaced = msi.federated_identity_credentials.create_or_update(RG, "id-fic", "KEDAOPERATOR", fic("system:serviceaccount:keda:keda-operator"))
    assert (replaced.name, replaced.subject, replaced.issuer, replaced.audiences) == (
        "kedaOperator", "system:serviceaccount:keda:keda-operator", ISSUER, [AUDIENCE])
    assert msi.federated_identity_credentials.get(RG, "id-fic", "kedaoperator").subject == "system:serviceaccount:keda:keda-operator"
    puts = [r["status"] for r in clean_lab.requests("arm") if r["method"] == "PUT" and "federatedIdentityCredentials" in r["path"]]
    assert puts == [201, 200]


def test_credential_delete_answers_200_then_204(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-del", Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(RG, "id-del", "fic-1", fic("system:serviceaccount:a:b"))
    msi.federated_identity_credentials.delete(RG, "id-del", "fic-1")
    msi.federated_identity_credentials.delete(RG, "id-del", "fic-1")
    deletes = [r["status"] for r in clean_lab.requests("arm") if r["method"] == "DELETE"]
    assert deletes == [200, 204]


def test_credential_list_pages_with_top_and_a_next_link(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-pages", Identity(location="eastus"))
    for index in range(5):
        msi.federated_identity_credentials.create_or_update(RG, "id-pages", f"fic-{index}", fic(f"system:serviceaccount:ns:sa{index}"))
    clean_lab.clear_requests()
    names = [c.name for c in msi.federated_identity_credentials.list(RG, "id-pages", top=2)]
    assert names == [f"fic-{i}" for i in range(5)]
    lists = [r for r in clean_lab.requests("arm") if r["method"] == "GET"]
    assert len(lists) == 3
    raw = clients.arm(clean_lab.env, "GET", clients.identity_path("id-pages") + "/federatedIdentityCredentials?$top=2").json()
    next_link = urllib.parse.urlsplit(raw["nextLink"])
    assert next_link.path.endswith("/userAssignedIdentities/id-pages/federatedIdentityCredentials")
    query = urllib.parse.parse_qs(next_link.query)
    assert query["api-version"] == ["2024-11-30"] and query["$skipToken"] == ["X'2'"]


VALIDATION_CASES = [
    pytest.param("ab", {"issuer": ISSUER, "subject": "s", "audiences": [AUDIENCE]},
                 "Federated Identity Credential name 'ab' is invalid.", id="name-too-short"),
    pytest.param("-leading-dash", {"issuer": ISSUER, "subject": "s", "audiences": [AUDIENCE]},
                 "Federated Identity Credential name '-leading-dash' is invalid.", id="name-first-char"),
    pytest.param("a" * 121, {"issuer": ISSUER, "subject": "s", "audiences": [AUDIENCE]},
                 f"Federated Identity Credential name '{'a' * 121}' is invalid.", id="name-too-long"),
    pytest.param("has.dot", {"issuer": ISSUER, "subject": "s", "audiences": [AUDIENCE]},
                 "Federated Identity Credential name 'has.dot' is invalid.", id="name-bad-char"),
    pytest.param("fic-ok", {"issuer": ISSUER, "subject": "s", "audiences": [AUDIENCE, "api://other"]},
                 "Federated identity credentials must have exactly one audience.", id="two-audiences"),
    pytest.param("fic-ok", {"issuer": ISSUER, "subject": "s", "audiences": []},
                 "Federated identity credentials must have exactly one audience.", id="no-audience"),
    pytest.param("fic-ok", {"subject": "s", "audiences": [AUDIENCE]},
                 "Federated Identity Credential from HTTP body has empty properties", id="no-issuer"),
    pytest.param("fic-ok", {"issuer": ISSUER, "audiences": [AUDIENCE]},
                 "Federated Identity Credential from HTTP body has empty properties", id="no-subject"),
    pytest.param("fic-ok", {"issuer": ISSUER, "subject": "s"},
                 "Federated Identity Credential from HTTP body has empty properties", id="no-audiences"),
    pytest.param("fic-ok", {}, "Federated Identity Credential from HTTP body has empty properties", id="empty-properties"),
    pytest.param("fic-ok", {"issuer": "http://insecure.example/", "subject": "s", "audiences": [AUDIENCE]},
                 "Federated Identity Credential issuer 'http://insecure.example/' is invalid. The issuer must be an https URL.",
                 id="issuer-not-https"),
]


@pytest.mark.parametrize("name,properties,message", VALIDATION_CASES)
def test_invalid_credential_is_refused_with_the_documented_400(clean_lab, name, properties, message):
    env = clean_lab.env
    assert clients.arm(env, "PUT", clients.identity_path("id-valid"), {"location": "eastus"}).status == 201
    response = clients.arm(env, "PUT", clients.identity_path("id-valid") + f"/federatedIdentityCredentials/{name}",
                           {"properties": properties})
    assert response.status == 400
    assert response.json()["error"]["message"] == message


def test_credential_with_wrong_types_is_refused_as_invalid_request_content(clean_lab):
    env = clean_lab.env
    clients.arm(env, "PUT", clients.identity_path("id-types"), {"location": "eastus"})
    response = clients.arm(env, "PUT", clients.identity_path("id-types") + "/federatedIdentityCredentials/fic-1",
                           {"properties": {"issuer": ISSUER, "subject": "s", "audiences": AUDIENCE}})
    assert (response.status, response.error_code) == (400, "InvalidRequestContent")


def test_credential_under_missing_identity_is_404_parent_missing(msi):
    with pytest.raises(ResourceNotFoundError) as caught:
        msi.federated_identity_credentials.create_or_update(RG, "id-nobody", "fic-1", fic("system:serviceaccount:a:b"))
    assert caught.value.error.message == "The parent user-assigned identity doesn't exist."
    with pytest.raises(ResourceNotFoundError):
        list(msi.federated_identity_credentials.list(RG, "id-nobody"))


def test_twenty_first_credential_is_refused_with_400_and_nothing_is_written(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-full", Identity(location="eastus"))
    for index in range(20):
        msi.federated_identity_credentials.create_or_update(RG, "id-full", f"fic-{index:02d}", fic(f"system:serviceaccount:ns{index}:sa"))
    with pytest.raises(HttpResponseError) as caught:
        msi.federated_identity_credentials.create_or_update(RG, "id-full", "fic-20", fic("system:serviceaccount:ns20:sa"))
    assert caught.value.status_code == 400
    assert "at most 20 Federated Identity Credentials" in caught.value.error.message
    assert len(list(msi.federated_identity_credentials.list(RG, "id-full"))) == 20
    with pytest.raises(ResourceNotFoundError):
        msi.federated_identity_credentials.get(RG, "id-full", "fic-20")
    # Replacing one of the twenty is still allowed.
    msi.federated_identity_credentials.create_or_update(RG, "id-full", "fic-00", fic("system:serviceaccount:other:sa"))


def test_same_issuer_and_subject_under_another_name_is_refused(msi):
    msi.user_assigned_identities.create_or_update(RG, "id-pair", Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(RG, "id-pair", "first", fic("system:serviceaccount:kube-system:keda-operator"))
    with pytest.raises(HttpResponseError) as caught:
        msi.federated_identity_credentials.create_or_update(RG, "id-pair", "second", fic("system:serviceaccount:kube-system:keda-operator"))
    assert (caught.value.status_code, caught.value.error.message) == (
        400, "Issuer and subject combination already exists for this Managed Identity.")


def _concurrently(*calls) -> list[BaseException | object]:
    """Run the calls at the same moment; each slot holds its result or the exception it raised."""
    results: list[BaseException | object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # pylint: disable=broad-except
            results[index] = exc  # whichever error the SDK raised; the test inspects it

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_overlapping_credential_writes_on_one_identity_get_the_409_concurrency_code(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-busy", Identity(location="eastus"))
    clean_lab.settings(fic_write_seconds=0.6)
    results = _concurrently(
        lambda: msi.federated_identity_credentials.create_or_update(RG, "id-busy", "fic-a", fic("system:serviceaccount:a:a")),
        lambda: msi.federated_identity_credentials.create_or_update(RG, "id-busy", "fic-b", fic("system:serviceaccount:b:b")),
    )
    conflicts = [r for r in results if isinstance(r, ResourceExistsError)]
    assert len(conflicts) == 1, results
    error = conflicts[0].error
    assert error.code == CONCURRENT
    assert error.message == (
        "Too many Federated Identity Credentials are written concurrently for the managed identity "
        f"'/subscriptions/{ids.SUBSCRIPTION_ID}/resourcegroups/{RG}/providers/microsoft.managedidentity/userassignedidentities/id-busy'. "
        "Concurrent Federated Identity Credentials writes under the same managed identity are not supported.")
    assert len(list(msi.federated_identity_credentials.list(RG, "id-busy"))) == 1


def test_a_delete_overlapping_a_write_on_the_same_identity_also_conflicts(msi, clean_lab):
    msi.user_assigned_identities.create_or_update(RG, "id-busy2", Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(RG, "id-busy2", "fic-a", fic("system:serviceaccount:a:a"))
    clean_lab.settings(fic_write_seconds=0.6)
    results = _concurrently(
        lambda: msi.federated_identity_credentials.delete(RG, "id-busy2", "fic-a"),
        lambda: msi.federated_identity_credentials.create_or_update(RG, "id-busy2", "fic-b", fic("system:serviceaccount:b:b")),
    )
    assert sum(isinstance(r, ResourceExistsError) and r.error.code == CONCURRENT for r in results) == 1, results


def test_writes_to_different_identities_and_reads_never_conflict(msi, clean_lab):
    for name in ("id-one", "id-two"):
        msi.user_assigned_identities.create_or_update(RG, name, Identity(location="eastus"))
    msi.federated_identity_credentials.create_or_update(RG, "id-one", "existing", fic("system:serviceaccount:x:x"))
    clean_lab.settings(fic_write_seconds=0.6)
    results = _concurrently(
        lambda: msi.federated_identity_credentials.create_or_update(RG, "id-one", "fic-a", fic("system:serviceaccount:a:a")),
        lambda: msi.federated_identity_credentials.create_or_update(RG, "id-two", "fic-b", fic("system:serviceaccount:b:b")),
        lambda: msi.federated_identity_credentials.get(RG, "id-one", "existing"),
        lambda: list(msi.federated_identity_credentials.list(RG, "id-one")),
    )
    assert not any(isinstance(r, Exception) for r in results), results
