# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pre-flight's judgement of permission entries as Azure RBAC evaluates them, and its input rules
(the reads themselves are proved against the lab by the caller_permissions_info integration target)."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_permissions as permissions
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

WRITE = "Microsoft.Authorization/roleAssignments/write"
# The built-in roles' permissions (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
OWNER = {"actions": ["*"], "notActions": []}
CONTRIBUTOR = {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"]}
UAA = {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], "notActions": []}
READER = {"actions": ["*/read"], "notActions": []}


@pytest.mark.parametrize("entries,action,expected", [
    ([OWNER], WRITE, True),
    ([CONTRIBUTOR], WRITE, False),  # notActions, matched case-insensitively (Write vs write)
    ([CONTRIBUTOR], "Microsoft.ManagedIdentity/userAssignedIdentities/write", True),
    ([CONTRIBUTOR, UAA], WRITE, True),  # another role grants what one role's notActions withheld
    ([READER], WRITE, False),
    ([READER], "Microsoft.ServiceBus/namespaces/read", True),  # '*' spans several segments
    ([UAA], "microsoft.authorization/roleassignments/write", True),
    ([], WRITE, False),
])
def test_granted_follows_azure_rbac(entries, action, expected):
    assert permissions.granted(entries, action) is expected


SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def test_checks_resolve_resource_groups_and_keep_resource_scopes():
    planned = permissions.build_checks([
        {"resource_group": "rg-a", "actions": [WRITE, WRITE]},
        {"scope": f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.ServiceBus/namespaces/ns/", "actions": [WRITE]},
    ], SUB)
    namespace = f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.ServiceBus/namespaces/ns"
    assert planned == [
        {"scope": f"/subscriptions/{SUB}/resourceGroups/rg-a", "group": f"/subscriptions/{SUB}/resourceGroups/rg-a",
         "actions": [WRITE], "scope_path": f"/subscriptions/{SUB}/resourceGroups/rg-a",
         "group_path": f"/subscriptions/{SUB}/resourceGroups/rg-a"},
        {"scope": namespace, "group": f"/subscriptions/{SUB}/resourceGroups/rg-b", "actions": [WRITE],
         "scope_path": namespace, "group_path": f"/subscriptions/{SUB}/resourceGroups/rg-b"},
    ]


def test_a_resource_group_is_read_at_its_percent_encoded_path():
    [planned] = permissions.build_checks([{"resource_group": "rg-ä(1)", "actions": [WRITE]}], SUB)
    assert planned["group_path"] == f"/subscriptions/{SUB}/resourceGroups/rg-%C3%A4%281%29"


@pytest.mark.parametrize("check,message", [
    ({"scope": f"/subscriptions/{SUB}", "actions": [WRITE]}, f"checks[0].scope: '/subscriptions/{SUB}' must be a resource group"),
    ({"actions": [WRITE]}, "checks[0]: give exactly one of scope and resource_group"),
    ({"resource_group": "rg", "actions": []}, "checks[0].actions: name at least one action"),
    ({"resource_group": "rg", "actions": ["write"]}, "checks[0].actions: 'write' is not an Azure action"),
    ({"resource_group": "../rg", "actions": [WRITE]}, "checks[0].resource_group: "),
    ({"scope": f"/subscriptions/{SUB}/resourceGroups/rg/../x", "actions": [WRITE]}, "checks[0].scope: "),
])
def test_bad_checks_are_refused_naming_the_option(check, message):
    with pytest.raises(OptionError) as refused:
        permissions.build_checks([check], SUB)
    assert str(refused.value).startswith(message)


def test_a_subscription_id_that_is_not_a_guid_is_refused_before_any_read():
    with pytest.raises(OptionError, match="^subscription_id: "):
        permissions.build_checks([{"resource_group": "rg", "actions": [WRITE]}], "s")


def test_the_fix_names_a_role_that_grants_the_action():
    assert permissions.fix_for(WRITE) == "Role Based Access Control Administrator or User Access Administrator"
    assert permissions.fix_for("Microsoft.ManagedIdentity/userAssignedIdentities/write") == "Managed Identity Contributor"
    assert permissions.fix_for("Microsoft.ServiceBus/namespaces/write") == "Contributor"


def test_build_needs_the_subscription_only_for_a_resource_group():
    scope = f"/subscriptions/{SUB}/resourceGroups/rg"
    plan = permissions.build({"checks": [{"scope": scope, "actions": [WRITE]}], "fail_on_missing": False,
                              "subscription_id": None})
    assert [check["scope"] for check in plan.checks] == [scope] and plan.fail_on_missing is False
    with pytest.raises(OptionError, match=r"^subscription_id: required \(the option or AZURE_SUBSCRIPTION_ID\)"):
        permissions.build({"checks": [{"resource_group": "rg", "actions": [WRITE]}], "fail_on_missing": True,
                           "subscription_id": None})
    plan = permissions.build({"checks": [{"resource_group": "rg", "actions": [WRITE]}], "fail_on_missing": True,
                              "subscription_id": SUB})
    assert plan.checks[0]["scope"] == scope
