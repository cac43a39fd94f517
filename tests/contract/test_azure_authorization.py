"""Contract: Microsoft.Authorization in the lab, driven through azure-mgmt-authorization (facts 2.2, 7)."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.msi.models import Identity

from lab import ids
from lab.azure import clients, rbac

RG = ids.RESOURCE_GROUP
SUBSCRIPTION = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
MONITORING_DATA_READER = "b0d8363b-8ddd-447d-831f-62ca05bff136"
SERVICE_BUS_DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

BUILTIN_ROLES = [
    ("Monitoring Data Reader", MONITORING_DATA_READER),
    ("Azure Service Bus Data Owner", SERVICE_BUS_DATA_OWNER),
    ("Azure Service Bus Data Receiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"),
    ("Azure Service Bus Data Sender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
    ("Reader", READER),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
    ("Role Based Access Control Administrator", "f58310d9-a9f6-439a-9e8d-f62e7b41a168"),
]


@pytest.fixture
def auth(env):
    return clients.authorization_client(env)


@pytest.fixture
def principal(env):
    """A replicated user-assigned identity's principal id (object id)."""
    identity = clients.msi_client(env).user_assigned_identities.create_or_update(RG, "id-rbac", Identity(location="eastus"))
    return identity.principal_id


def role_id(guid: str) -> str:
    return f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assign(guid: str, principal_id: str, principal_type: str = "ServicePrincipal") -> RoleAssignmentCreateParameters:
    return RoleAssignmentCreateParameters(role_definition_id=role_id(guid), principal_id=principal_id, principal_type=principal_type)


@pytest.mark.parametrize("role_name,guid", BUILTIN_ROLES)
@pytest.mark.parametrize("scope_name", ["subscription", "monitor-workspace"])
def test_role_definition_filter_by_name_returns_the_builtin_guid(auth, env, role_name, guid, scope_name):
    scope = SUBSCRIPTION if scope_name == "subscription" else env["LAB_MONITOR_WORKSPACE_ID"]
    found = list(auth.role_definitions.list(scope, filter=f"roleName eq '{role_name}'"))
    assert [(d.name, d.role_name, d.role_type) for d in found] == [(guid, role_name, "BuiltInRole")]
    assert found[0].id == role_id(guid)
    assert found[0].assignable_scopes == ["/"]
    assert found[0].permissions


def test_role_definition_reads_by_guid_and_unknown_guid_is_404(auth, env):
    definition = auth.role_definitions.get(env["LAB_SERVICEBUS_NAMESPACE_ID"], SERVICE_BUS_DATA_OWNER)
    assert definition.role_name == "Azure Service Bus Data Owner"
    with pytest.raises(ResourceNotFoundError) as caught:
        auth.role_definitions.get(SUBSCRIPTION, "00000000-0000-0000-0000-000000000001")
    assert caught.value.error.code == "RoleDefinitionDoesNotExist"


def test_role_definition_type_filter_lists_builtin_roles(auth):
    builtins = list(auth.role_definitions.list(SUBSCRIPTION, filter="type eq 'BuiltInRole'"))
    assert {d.name for d in builtins} == {guid for _name, guid in BUILTIN_ROLES}
    assert list(auth.role_definitions.list(SUBSCRIPTION, filter="type eq 'CustomRole'")) == []


def test_role_assignment_is_created_201_read_listed_and_deleted_200_then_204(auth, env, principal, clean_lab):
    scope = env["LAB_MONITOR_WORKSPACE_ID"]
    name = str(uuid.uuid4())
    created = auth.role_assignments.create(scope, name, assign(MONITORING_DATA_READER, principal))
    assert created.id == f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert (created.scope, created.role_definition_id, created.principal_id, created.principal_type) == (
        scope, role_id(MONITORING_DATA_READER), principal, "ServicePrincipal")
    assert auth.role_assignments.get(scope, name).principal_id == principal
    listed = list(auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'"))
    assert [a.name for a in listed] == [name]
    deleted = auth.role_assignments.delete(scope, name)
    assert deleted.name == name
    assert auth.role_assignments.delete(scope, name) is None
    statuses = [(r["method"], r["status"]) for r in clean_lab.requests("arm") if "roleAssignments/" in r["path"]]
    assert statuses == [("PUT", 201), ("GET", 200), ("DELETE", 200), ("DELETE", 204)]
    with pytest.raises(ResourceNotFoundError) as caught:
        auth.role_assignments.get(scope, name)
    assert caught.value.error.code == "RoleAssignmentNotFound"


def test_the_same_assignment_under_another_name_is_409_role_assignment_exists(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    auth.role_assignments.create(scope, str(uuid.uuid4()), assign(SERVICE_BUS_DATA_OWNER, principal))
    with pytest.raises(ResourceExistsError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), assign(SERVICE_BUS_DATA_OWNER, principal))
    assert (caught.value.status_code, caught.value.error.code, caught.value.error.message) == (
        409, "RoleAssignmentExists", "The role assignment already exists.")


def test_repeating_a_put_of_the_same_assignment_is_accepted(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    name = str(uuid.uuid4())
    auth.role_assignments.create(scope, name, assign(SERVICE_BUS_DATA_OWNER, principal))
    again = auth.role_assignments.create(scope, name, assign(SERVICE_BUS_DATA_OWNER, principal))
    assert again.name == name


def test_changing_what_an_existing_assignment_grants_is_refused(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    name = str(uuid.uuid4())
    auth.role_assignments.create(scope, name, assign(SERVICE_BUS_DATA_OWNER, principal))
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(env["LAB_MONITOR_WORKSPACE_ID"], name, assign(MONITORING_DATA_READER, principal))
    assert (caught.value.status_code, caught.value.error.code, caught.value.error.message) == (
        400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")


def test_assignment_name_that_is_not_a_guid_is_refused(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(scope, "keda-sb-owner", assign(SERVICE_BUS_DATA_OWNER, principal))
    assert (caught.value.status_code, caught.value.error.code, caught.value.error.message) == (
        400, "InvalidRoleAssignmentId", "The role assignment ID 'keda-sb-owner' is not valid. The role assignment ID must be a GUID.")


def test_unknown_role_definition_is_refused(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), assign("00000000-0000-0000-0000-000000000001", principal))
    assert (caught.value.status_code, caught.value.error.code) == (400, "RoleDefinitionDoesNotExist")


def test_unknown_principal_is_principal_not_found_with_the_documented_message(auth, env):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    stranger = "0f14a80d-42e5-4d57-afe0-46acf9dfae05"
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), assign(SERVICE_BUS_DATA_OWNER, stranger))
    assert (caught.value.status_code, caught.value.error.code) == (400, "PrincipalNotFound")
    assert caught.value.error.message == (
        f"Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist in the directory {ids.TENANT_ID}. Check that you have the "
        "correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be "
        "related to a replication delay. In this case, set the role assignment principalType property to a value, such as "
        "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")


def test_fresh_identity_is_principal_not_found_until_it_has_replicated(auth, env, clean_lab):
    clean_lab.settings(principal_replication_seconds=1.0)
    identity = clients.msi_client(env).user_assigned_identities.create_or_update(RG, "id-fresh", Identity(location="eastus"))
    scope = env["LAB_MONITOR_WORKSPACE_ID"]
    parameters = assign(MONITORING_DATA_READER, identity.principal_id)
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), parameters)
    assert caught.value.error.code == "PrincipalNotFound"
    time.sleep(1.05)
    assert auth.role_assignments.create(scope, str(uuid.uuid4()), parameters).principal_id == identity.principal_id


def test_sdk_default_principal_type_user_for_a_managed_identity_is_refused(auth, env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    parameters = RoleAssignmentCreateParameters(role_definition_id=role_id(SERVICE_BUS_DATA_OWNER), principal_id=principal)
    with pytest.raises(HttpResponseError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), parameters)
    assert (caught.value.status_code, caught.value.error.code) == (400, "UnmatchedPrincipalType")


def test_assignment_without_principal_type_takes_the_principals_type(env, principal):
    scope = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    body = {"properties": {"roleDefinitionId": role_id(SERVICE_BUS_DATA_OWNER), "principalId": principal}}
    response = clients.arm(env, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", body,
                           api_version="2022-04-01")
    assert response.status == 201
    assert response.json()["properties"]["principalType"] == "ServicePrincipal"


def test_assignment_on_a_missing_scope_is_404(auth, env, principal):
    scope = f"{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.ServiceBus/namespaces/sb-missing"
    with pytest.raises(ResourceNotFoundError) as caught:
        auth.role_assignments.create(scope, str(uuid.uuid4()), assign(SERVICE_BUS_DATA_OWNER, principal))
    assert caught.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        auth.role_assignments.create(f"{SUBSCRIPTION}/resourceGroups/rg-missing", str(uuid.uuid4()),
                                     assign(READER, principal))
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_listing_follows_the_documented_scope_semantics(auth, env, principal):
    """No filter: at, above and below. atScope(): at and above. principalId eq: at, above, below for that principal."""
    group = f"{SUBSCRIPTION}/resourceGroups/{RG}"
    workspace = env["LAB_MONITOR_WORKSPACE_ID"]
    namespace = env["LAB_SERVICEBUS_NAMESPACE_ID"]
    on_group = auth.role_assignments.create(group, str(uuid.uuid4()), assign(READER, principal)).name
    on_workspace = auth.role_assignments.create(workspace, str(uuid.uuid4()), assign(MONITORING_DATA_READER, principal)).name
    on_namespace = auth.role_assignments.create(namespace, str(uuid.uuid4()), assign(SERVICE_BUS_DATA_OWNER, principal)).name
    automation = auth.role_assignments.create(workspace, str(uuid.uuid4()),
                                              assign(READER, ids.AUTOMATION_PRINCIPAL_ID)).name

    def names(scope, filter_=None):
        return {a.name for a in auth.role_assignments.list_for_scope(scope, filter=filter_)}

    # The automation principal's own Owner assignment on the subscription is above every scope.
    seeded = rbac.AUTOMATION_ASSIGNMENT
    assert names(workspace, "atScope()") == {on_group, on_workspace, automation, seeded}
    assert names(group) == {on_group, on_workspace, on_namespace, automation, seeded}
    assert names(group, "atScope()") == {on_group, seeded}
    assert names(workspace, f"principalId eq '{principal}'") == {on_group, on_workspace}
    assert names(group, f"principalId eq '{principal}'") == {on_group, on_workspace, on_namespace}
    assert {a.name for a in auth.role_assignments.list_for_subscription(filter=f"principalId eq '{principal}'")} == {
        on_group, on_workspace, on_namespace}
