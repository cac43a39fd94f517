"""site.yml's pre-flight (issue 26): a caller who may not write role assignments where the run puts
them is stopped before any write, told the missing right, the scope and a role that grants it; the
doctor reports the same. The caller's rights are real role assignments in the lab: the automation
principal's seeded Owner role is traded for Contributor (which cannot write role assignments)."""

from __future__ import annotations

import uuid

from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from test_site_reliability import site

from lab import ids
from lab.azure import clients, rbac

SUBSCRIPTION = f"/subscriptions/{ids.SUBSCRIPTION_ID}"
GROUP = f"{SUBSCRIPTION}/resourceGroups/rg-keda-integration"  # playbooks/vars/addon-servicebus.yml
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
MISSING = ("the caller lacks Microsoft.Authorization/roleAssignments/write at " + GROUP
           + ": grant it Role Based Access Control Administrator or User Access Administrator (or Owner) at " + GROUP
           + " or above")


def _owner_traded_for_contributor(lab) -> None:
    auth = clients.authorization_client(lab.env)
    auth.role_assignments.create(SUBSCRIPTION, str(uuid.uuid4()), RoleAssignmentCreateParameters(
        role_definition_id=f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}",
        principal_id=ids.AUTOMATION_PRINCIPAL_ID, principal_type="ServicePrincipal"))
    auth.role_assignments.delete_by_id(f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/"
                                       f"{rbac.AUTOMATION_ASSIGNMENT}")


def test_site_stops_before_any_write_naming_the_right_and_the_scope(lab):
    lab.reset()
    _owner_traded_for_contributor(lab)
    # ARM itself refuses the write the run would make.
    direct = clients.arm(lab.env, "PUT", f"{GROUP}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                         {"properties": {"roleDefinitionId": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                                                             f"roleDefinitions/{CONTRIBUTOR}",
                                         "principalId": ids.AUTOMATION_PRINCIPAL_ID}}, api_version="2022-04-01")
    assert (direct.status, direct.error_code) == (403, "AuthorizationFailed")
    lab.clear_requests()
    proc = site(lab, "addon")
    assert proc.returncode != 0
    output = " ".join(proc.stdout.split())
    assert MISSING in output, proc.stdout[-5000:]
    assert "Pre-flight - the caller's Azure rights where this run writes" in proc.stdout
    assert lab.writes() == []
    permission_reads = [r for r in lab.requests() if r["service"] == "arm" and "/Microsoft.Authorization/permissions" in r["path"]]
    assert len(permission_reads) == 1  # the cluster, the identity and the namespace share one resource group


def test_doctor_reports_the_missing_right_without_writing(lab):
    lab.reset()
    _owner_traded_for_contributor(lab)
    lab.clear_requests()
    proc = site(lab, "addon", "-e", "doctor_probe=false", playbook="playbooks/doctor.yml")
    assert proc.returncode != 0
    output = " ".join(proc.stdout.split())
    assert "Microsoft.Authorization/roleAssignments/write " + GROUP in output, proc.stdout[-5000:]
    assert "1 right(s) missing" in output
    assert lab.writes() == []
