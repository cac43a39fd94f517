# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_assignment's logic against the lab: role forms, idempotence on (scope, role, principal),
RoleAssignmentExists, PrincipalNotFound during replication, absent."""

from __future__ import annotations

import time
import uuid

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_rbac as rbac
from ansible_collections.kedaops.aks.plugins.module_utils import _core
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

RG = "rg-keda-integration"
READER = "b0d8363b-8ddd-447d-831f-62ca05bff136"  # Monitoring Data Reader


@pytest.fixture
def principal(conn):
    _changed, identity = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, "keda-int-identity", "eastus"), False)
    return identity["principal_id"]


@pytest.fixture
def scope(azure_env):
    return azure_env.env["LAB_MONITOR_WORKSPACE_ID"]


def params(scope, role, principal, timeout=30, state="present"):
    return {"scope": scope, "role": role, "principal_id": principal, "principal_type": "ServicePrincipal",
            "timeout": timeout, "state": state}


def present(conn, scope, role, principal, check_mode=False, timeout=30):
    return rbac.present(conn, rbac.build(params(scope, role, principal, timeout)), check_mode)


def absent(conn, scope, role, principal, check_mode=False):
    return rbac.absent(conn, rbac.build(params(scope, role, principal, state="absent")), check_mode)


def test_check_apply_check_apply_by_name(conn, azure_env, principal, scope):
    azure_env.clear_requests()
    changed, before, after = present(conn, scope, "Monitoring Data Reader", principal, check_mode=True)
    assert changed and before is None and after["role_definition_id"].endswith(READER)
    assert azure_env.writes() == []
    changed, _before, created = present(conn, scope, "Monitoring Data Reader", principal)
    assert changed and created["principal_id"] == principal and created["principal_type"] == "ServicePrincipal"
    assert created["name"] == rbac.assignment_name(scope, READER, principal)
    azure_env.clear_requests()
    assert present(conn, scope, "Monitoring Data Reader", principal, check_mode=True)[0] is False
    assert present(conn, scope, "Monitoring Data Reader", principal)[0] is False
    assert azure_env.writes() == []


@pytest.mark.parametrize("role", [
    READER, READER.upper(), "monitoring data reader",
    f"/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/providers/Microsoft.Authorization/roleDefinitions/{READER}",
])
def test_every_role_form_finds_the_same_assignment(conn, principal, scope, role):
    present(conn, scope, "Monitoring Data Reader", principal)
    assert present(conn, scope, role, principal)[0] is False


def test_scope_is_compared_case_insensitively(conn, azure_env, principal, scope):
    present(conn, scope, READER, principal)
    azure_env.clear_requests()
    assert present(conn, scope.lower() + "/", READER, principal)[0] is False
    assert azure_env.writes() == []


def test_a_guid_role_no_op_needs_one_request(conn, azure_env, principal, scope):
    present(conn, scope, READER, principal)
    azure_env.clear_requests()
    present(conn, scope, READER, principal)
    assert [r["method"] for r in azure_env.requests("arm")] == ["GET"]


def test_an_assignment_made_elsewhere_counts(conn, azure_env, principal, scope):
    client = conn.authorization(rbac.subscription_of(scope))
    from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
    role_id = rbac.resolve_role(conn, scope, READER)
    client.role_assignments.create(scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(
        role_definition_id=role_id, principal_id=principal, principal_type="ServicePrincipal"))
    azure_env.clear_requests()
    changed, before, after = present(conn, scope, READER, principal)
    assert not changed and before == after and azure_env.writes() == []


def test_role_assignment_exists_counts_as_success(conn, azure_env, principal, scope):
    azure_env.fault(service="arm", method="PUT", path="roleAssignments/", status=409, code="RoleAssignmentExists",
                    message="The role assignment already exists.")
    changed, _before, after = present(conn, scope, READER, principal)
    assert changed is False and after["principal_id"] == principal


def test_principal_not_found_is_retried_while_the_identity_replicates(conn, azure_env, principal, scope):
    azure_env.settings(principal_replication_seconds=3)
    _changed, fresh = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, "fresh-identity", "eastus"), False)
    started = time.monotonic()
    changed, _before, created = present(conn, scope, READER, fresh["principal_id"])
    assert changed and created["principal_id"] == fresh["principal_id"]
    statuses = [r["status"] for r in azure_env.requests("arm") if r["method"] == "PUT" and "roleAssignments" in r["path"]]
    assert statuses[0] == 400 and statuses[-1] == 201
    assert time.monotonic() - started < 20


def test_principal_not_found_gives_up_at_the_timeout(conn, azure_env, scope):
    with pytest.raises(AzureError) as err:
        present(conn, scope, READER, str(uuid.uuid4()), timeout=2)
    assert err.value.code == "PrincipalNotFound"
    assert "If " in err.value.msg and "is a client id (appId), it is never found" in err.value.msg


def test_a_client_id_passed_as_principal_id_is_named_at_the_first_miss(conn, scope):
    warnings = []
    client_id = str(uuid.uuid4())
    with pytest.raises(AzureError):
        rbac.present(conn, rbac.build(params(scope, READER, client_id, timeout=2)), False, warn=warnings.append)
    assert len(warnings) == 1 and f"If {client_id} is a client id" in warnings[0]


def test_a_client_id_of_an_identity_passed_as_principal_id_fails_at_the_first_miss(conn, azure_env, scope):
    _changed, identity = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, "keda-client-id-mixup", "eastus"), False)
    azure_env.clear_requests()
    with pytest.raises(OptionError, match=r"^principal_id: .* is the client id of managed identity keda-client-id-mixup"
                                          rf".*pass its principal_id {identity['principal_id']}"):
        present(conn, scope, READER, identity["client_id"], timeout=300)
    creates = [r for r in azure_env.requests("arm") if r["method"] == "PUT" and "roleAssignments" in r["path"]]
    assert len(creates) == 1  # one attempt, not five minutes of them


def test_an_unknown_role_name_fails_with_its_name(conn, principal, scope):
    with pytest.raises(AzureError) as err:
        present(conn, scope, "Monitoring Data Writer", principal)
    assert "Monitoring Data Writer" in err.value.msg


def test_absent_deletes_only_the_matching_assignment(conn, azure_env, principal, scope):
    present(conn, scope, READER, principal)
    present(conn, scope, "Reader", principal)
    azure_env.clear_requests()
    changed, before = absent(conn, scope, READER, principal, True)
    assert changed and before["role_definition_id"].endswith(READER) and azure_env.writes() == []
    assert absent(conn, scope, READER, principal)[0]
    assert absent(conn, scope, READER, principal) == (False, None)
    assert present(conn, scope, "Reader", principal, check_mode=True)[0] is False


def test_check_mode_with_a_principal_not_created_yet_predicts_with_a_warning(conn, azure_env, scope):
    plan = rbac.build(params(scope, READER, None))
    result = _core.result(rbac.RESOURCE.apply(_core.Connection.of(azure=conn), plan, True), True)
    assert result["changed"] and result["assignment"]["principal_id"] is None
    assert result["diff"]["before"] == {} and result["diff"]["after"]["principal_id"] == "(known after apply)"
    assert len(result["warnings"]) == 1 and "not known yet" in result["warnings"][0]
    assert azure_env.requests("arm") == []
    with pytest.raises(OptionError, match="^principal_id: None must be the object id GUID"):
        rbac.present(conn, plan, False)
    with pytest.raises(OptionError, match="^principal_id: None must be the object id GUID"):
        rbac.build(params(scope, READER, None, state="absent"))
    assert azure_env.requests("arm") == []
