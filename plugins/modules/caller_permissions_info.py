#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: caller_permissions_info
short_description: Check the caller's own Azure rights where a run will write, before it writes
version_added: 0.3.0
description:
  - Reads the signed-in caller's permissions with Azure's permissions API
    (C(GET {scope}/providers/Microsoft.Authorization/permissions), api-version 2022-04-01) and judges
    each requested action as Azure RBAC does (an entry's C(actions) match it and its C(notActions) do
    not; C(*) matches anything).
  - The pre-flight of C(playbooks/site.yml) and C(playbooks/doctor.yml) - a run that may not write
    role assignments (C(Microsoft.Authorization/roleAssignments/write)) where KEDA's roles go stops
    before its first write, naming the missing right, the scope and a built-in role that grants it.
  - One read per resource group named; a check on a resource whose group does not grant everything
    reads once more at the resource itself, where a role may be assigned too.
  - Role assignment conditions (ABAC) and deny assignments are not evaluated; Azure still has the
    last word at the write.
author:
  - kedaops.aks contributors (@kedaops)
options:
  checks:
    description: Where the run writes and what it does there.
    type: list
    elements: dict
    required: true
    suboptions:
      scope:
        description:
          - A resource group or resource id (C(/subscriptions/<id>/resourceGroups/<name>[/providers/...])).
          - Give this or O(checks[].resource_group), not both.
        type: str
      resource_group:
        description: A resource group of the subscription the module signs in to (instead of O(checks[].scope)).
        type: str
      actions:
        description: The Azure actions needed there, e.g. C(Microsoft.Authorization/roleAssignments/write).
        type: list
        elements: str
        required: true
  fail_on_missing:
    description: Fail, naming every missing right and scope, when the caller lacks one; else report it in RV(missing).
    type: bool
    default: true
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes.info
"""

EXAMPLES = r"""
- name: Stop before any write unless the caller may assign KEDA's roles on the Service Bus namespace
  kedaops.aks.caller_permissions_info:
    checks:
      - resource_group: rg-keda-integration
        actions:
          - Microsoft.ManagedIdentity/userAssignedIdentities/write
          - Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write
      - scope: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-keda-integration/providers/Microsoft.ServiceBus/namespaces/keda-sb-orders
        actions: [Microsoft.Authorization/roleAssignments/write]

- name: Report without failing (the doctor)
  kedaops.aks.caller_permissions_info:
    checks:
      - resource_group: rg-keda-integration
        actions: [Microsoft.Authorization/roleAssignments/write]
    fail_on_missing: false
  register: rights
"""

RETURN = r"""
ok:
  description: Whether the caller holds every requested action at every scope.
  returned: always
  type: bool
missing:
  description: Each right the caller lacks, with a fix.
  returned: always
  type: list
  elements: dict
  contains:
    scope:
      description: The scope as given.
      type: str
    action:
      description: The missing action.
      type: str
      sample: Microsoft.Authorization/roleAssignments/write
    fix:
      description: A built-in role that grants it, and where.
      type: str
      sample: grant it Role Based Access Control Administrator or User Access Administrator (or Owner) at /subscriptions/.../resourceGroups/rg-x or above
checks:
  description: Per check, what was read where and the verdict.
  returned: always
  type: list
  elements: dict
  contains:
    scope:
      description: The scope as given (a resource group id when O(checks[].resource_group) was used).
      type: str
    read_at:
      description: Where the permissions were read (the resource group, or the resource itself).
      type: str
    granted:
      description: The actions the caller holds there.
      type: list
      elements: str
    missing:
      description: The actions the caller lacks there.
      type: list
      elements: str
reads:
  description: How many permission reads the check cost.
  returned: always
  type: int
  sample: 1
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_permissions import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
