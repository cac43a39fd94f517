"""Contract: the automation principal's rights are real role assignments, judged as ARM judges them.

The seeded Owner assignment on the subscription is listed like any other and can be removed; with it
gone, a write the remaining roles do not grant answers ARM's 403 ``AuthorizationFailed`` (the text ARM
gives: client, object id, action, scope), and the permissions API reports the same data.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

from lab import ids
from lab.azure import clients, rbac

SUBSCRIPTION = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
GROUP = f"{SUBSCRIPTION}/resourceGroups/{ids.RESOURCE_GROUP}"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SEEDED = f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/{rbac.AUTOMATION_ASSIGNMENT}"


@pytest.fixture
def auth(env):
    return clients.authorization_client(env)


def grant(auth, scope: str, role: str, principal: str = ids.AUTOMATION_PRINCIPAL_ID) -> str:
    params = RoleAssignmentCreateParameters(
        role_definition_id=f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        principal_id=principal, principal_type="ServicePrincipal")
    return str(auth.role_assignments.create(scope, str(uuid.uuid4()), params).id)


def permissions(env, scope: str) -> list[dict]:
    response = clients.arm(env, "GET", f"{scope}/providers/Microsoft.Authorization/permissions", api_version="2022-04-01")
    assert response.status == 200, response.body
    return response.json()["value"]


def test_the_automation_principal_holds_a_listed_owner_assignment(auth):
    mine = list(auth.role_assignments.list_for_subscription(filter=f"principalId eq '{ids.AUTOMATION_PRINCIPAL_ID}'"))
    assert [(a.id, a.role_definition_id.rsplit("/", 1)[-1], a.scope) for a in mine] == [(SEEDED, OWNER, SUBSCRIPTION)]


def test_permissions_api_reports_the_owner_role_at_a_group_and_a_resource(env):
    expected = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": [],
                 "condition": None, "conditionVersion": None}]
    assert permissions(env, GROUP) == expected
    assert permissions(env, env["LAB_SERVICEBUS_NAMESPACE_ID"]) == expected


def test_permissions_api_answers_for_groups_and_resources_only(env):
    missing = clients.arm(env, "GET", f"{SUBSCRIPTION}/resourceGroups/rg-nowhere/providers/Microsoft.Authorization/permissions",
                          api_version="2022-04-01")
    assert (missing.status, missing.error_code) == (404, "ResourceGroupNotFound")
    bad_version = clients.arm(env, "GET", f"{GROUP}/providers/Microsoft.Authorization/permissions", api_version="2099-01-01")
    assert bad_version.status == 400


def test_without_owner_a_role_assignment_put_is_refused_with_arms_403(auth, env):
    grant(auth, SUBSCRIPTION, CONTRIBUTOR)
    auth.role_assignments.delete_by_id(SEEDED)
    target = f"{GROUP}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    body = {"properties": {"roleDefinitionId": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
                           "principalId": ids.AUTOMATION_PRINCIPAL_ID, "principalType": "ServicePrincipal"}}
    refused = clients.arm(env, "PUT", target, body, api_version="2022-04-01")
    assert (refused.status, refused.error_code) == (403, "AuthorizationFailed")
    assert refused.json()["error"]["message"] == (
        f"The client '{ids.AUTOMATION_CLIENT_ID}' with object id '{ids.AUTOMATION_PRINCIPAL_ID}' does not have "
        f"authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '{target}' "
        "or the scope is invalid. If access was recently granted, please refresh your credentials.")
    # Contributor still writes resources, and its notActions show in the permissions API.
    created = clients.arm(env, "PUT", clients.identity_path("id-contributor"), {"location": "eastus"})
    assert created.status == 201
    [entry] = permissions(env, GROUP)
    assert entry["actions"] == ["*"] and "Microsoft.Authorization/*/Write" in entry["notActions"]


def test_rbac_administrator_on_one_group_writes_assignments_there_only(auth, env):
    other = clients.arm(env, "PUT", clients.group_path("rg-other"), {"location": "eastus"}, api_version="2024-11-01")
    assert other.status == 201
    grant(auth, GROUP, RBAC_ADMIN)
    auth.role_assignments.delete_by_id(SEEDED)
    assert grant(auth, GROUP, READER).startswith(GROUP + "/")
    with pytest.raises(HttpResponseError) as caught:
        grant(auth, clients.group_path("rg-other"), READER)
    assert (caught.value.status_code, caught.value.error.code) == (403, "AuthorizationFailed")
    assert "'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/" in caught.value.error.message


def test_a_caller_without_any_assignment_reads_nothing_and_has_no_permissions(auth, env):
    auth.role_assignments.delete_by_id(SEEDED)
    assert permissions(env, GROUP) == []
    refused = clients.arm(env, "GET", clients.identity_path("anything"))
    assert (refused.status, refused.error_code) == (403, "AuthorizationFailed")
    assert "'Microsoft.ManagedIdentity/userAssignedIdentities/read'" in refused.json()["error"]["message"]
