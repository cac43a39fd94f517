#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_assignment
short_description: Ensure an Azure role assignment for a principal at a scope
version_added: 0.1.0
description:
  - Grants (or revokes) an Azure RBAC role to a principal at a scope
    (C(Microsoft.Authorization/roleAssignments), api-version 2022-04-01), for example
    C(Monitoring Data Reader) on an Azure Monitor workspace for the identity KEDA uses.
  - Idempotent on (O(scope), O(role), O(principal_id)), the scope compared case-insensitively. An
    existing assignment counts whatever its name (one made by C(az role assignment create) included);
    new assignments get a deterministic name (a UUID v5 of the three), so concurrent runs write the same one.
  - Azure's C(RoleAssignmentExists) conflict counts as success (not changed).
  - A principal that was just created (a new managed identity) is not known to every directory replica
    yet; Azure's C(PrincipalNotFound) is retried until O(timeout).
  - Only the matching assignment is ever deleted; inherited assignments and other assignments at the
    scope are left alone.
author:
  - kedaops.aks contributors (@kedaops)
options:
  scope:
    description:
      - The resource id the role is granted on, for example
        C(/subscriptions/<id>/resourceGroups/<rg>/providers/microsoft.monitor/accounts/<workspace>).
    type: str
    required: true
  role:
    description:
      - The role, by name (C(Monitoring Data Reader), C(Azure Service Bus Data Owner)), by role definition
        GUID (C(b0d8363b-8ddd-447d-831f-62ca05bff136)) or by full role definition id.
      - Names are looked up at O(scope), so custom roles defined there resolve too.
    type: str
    required: true
  principal_id:
    description:
      - The object id of the principal. For a managed identity this is its principal id
        (RV(kedaops.aks.managed_identity#module:identity.principal_id)), not its client id. Given the client id of
        a managed identity of the subscription, the module fails at the first C(PrincipalNotFound) and names the
        principal id to use.
    type: str
    required: true
  principal_type:
    description:
      - The type of the principal. Stating it lets Azure accept an assignment for a principal that has
        not replicated yet. Managed identities are C(ServicePrincipal).
      - Not compared on existing assignments (an assignment cannot change its principal type).
    type: str
    choices: [ServicePrincipal, User, Group, ForeignGroup, Device]
    default: ServicePrincipal
  timeout:
    description: Seconds to keep retrying C(PrincipalNotFound) while a new principal replicates; at least C(1).
    type: int
    default: 300
  state:
    description: Whether the assignment should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: >-
      A null O(principal_id) (an identity an earlier task would create in the same check run) predicts a new
      assignment, with a warning.
  diff_mode:
    support: full
notes:
  - O(subscription_id) is not needed; the subscription is taken from O(scope).
  - Role assignments take up to ten minutes to be enforced everywhere after they are created.
seealso:
  - module: kedaops.aks.managed_identity
"""

EXAMPLES = r"""
- name: KEDA may read Prometheus metrics from the Azure Monitor workspace
  kedaops.aks.role_assignment:
    scope: /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-monitoring/providers/microsoft.monitor/accounts/amw-name
    role: Monitoring Data Reader
    principal_id: "{{ identity.identity.principal_id }}"

- name: Service Bus queue lengths need Data Owner on the namespace (by role GUID)
  kedaops.aks.role_assignment:
    scope: "{{ servicebus_namespace_id }}"
    role: 090c5cfd-751d-490a-894a-3ce6f1109419
    principal_id: "{{ identity.identity.principal_id }}"
    timeout: 600

- name: Revoke it
  kedaops.aks.role_assignment:
    scope: "{{ servicebus_namespace_id }}"
    role: Azure Service Bus Data Owner
    principal_id: "{{ identity.identity.principal_id }}"
    state: absent
"""

RETURN = r"""
assignment:
  description: The assignment after the run (the predicted one in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The assignment's resource id.
      type: str
      sample: /subscriptions/<subscription>/resourceGroups/rg/providers/microsoft.monitor/accounts/amw/providers/Microsoft.Authorization/roleAssignments/<uuid>
    name:
      description: The assignment's name (a GUID).
      type: str
    scope:
      description: The scope.
      type: str
    role_definition_id:
      description: The full id of the role definition.
      type: str
      sample: /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/providers/Microsoft.Authorization/roleDefinitions/b0d8363b-8ddd-447d-831f-62ca05bff136
    principal_id:
      description: The principal's object id.
      type: str
    principal_type:
      description: The principal's type.
      type: str
      sample: ServicePrincipal
error:
  description: Azure's error, when the module failed on an Azure call.
  returned: failure
  type: dict
  contains:
    code:
      description: Azure's error code, for example C(PrincipalNotFound) after O(timeout) or C(RoleDefinitionDoesNotExist).
      type: str
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status.
      type: int
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_rbac import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
