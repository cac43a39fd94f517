#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_identity
short_description: Ensure an Azure user-assigned managed identity
version_added: 0.1.0
description:
  - Creates, updates the tags of, or deletes a user-assigned managed identity
    (C(Microsoft.ManagedIdentity/userAssignedIdentities), api-version 2024-11-30).
  - Returns the identity's O(name), client id (for service account annotations and KEDA
    C(identityId)), principal id (for role assignments) and tenant id.
  - Tags not given are left alone unless O(purge_tags=true).
  - With O(federated_credentials), the identity's federated credentials are ensured in the same task, one
    process and one token for the identity and all the service accounts it trusts, instead of a
    M(kedaops.aks.federated_credential) task per credential.
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The resource group of the identity.
    type: str
    required: true
  name:
    description: The name of the identity.
    type: str
    required: true
  location:
    description:
      - The Azure region of the identity, for example C(eastus).
      - Defaults to the resource group's location when the identity is created.
      - The location of an existing identity cannot change; a different value fails without a write.
    type: str
  tags:
    description:
      - Tags to set on the identity. Values are stored as strings.
      - Without this option the identity's tags are not changed, whatever O(purge_tags) says.
    type: dict
  purge_tags:
    description:
      - Remove tags that are not in O(tags).
      - Refused with O(state=absent), as O(location), O(tags) and O(federated_credentials) are, since they only
        mean something for an identity that stays.
    type: bool
    default: false
  state:
    description:
      - Whether the identity should exist.
      - V(absent) never deletes an identity that carries a federated credential it was not told it owns
        (O(owned_credentials)), since deleting the identity would delete another team's credential with it. Such an
        identity is kept, with a warning naming the credentials, and RV(kept) is V(true).
    type: str
    choices: [present, absent]
    default: present
  owned_credentials:
    description:
      - With O(state=absent), names of the federated credentials the caller created and removes in the same run
        (the M(kedaops.aks.federated_credential) tasks before this one). Any other credential on the identity
        keeps it in place. Compared case-insensitively, as ARM resource names are.
      - Refused with O(state=present).
    type: list
    elements: str
    default: []
  federated_credentials:
    description:
      - With O(state=present), federated identity credentials to ensure on the identity once it exists, each
        decided exactly as M(kedaops.aks.federated_credential) decides it (the same input rules, checked for every
        item before the first call; the same refusals, controller-wide lock and retries of Azure's 409).
      - The whole list is decided before the first write (the identity's included) against the credentials that
        exist plus those the items add or remove. Entra's limit of 20 credentials per identity, and each
        issuer+subject pair once per identity (also between two items), fail the task with nothing written.
      - Credentials on the identity that are not listed are left alone. Removing one is the item's own
        O(federated_credentials[].state=absent).
      - Refused with O(state=absent), where the identity's deletion would ignore it (a child never acts on its
        parent; see O(owned_credentials)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the credential, unique on the identity (case-insensitively).
        type: str
        required: true
      issuer:
        description:
          - The cluster's OIDC issuer URL, exactly (trailing slash included).
          - Null only in check mode, for an issuer an earlier task would assign (previewed as known after apply).
        type: str
      subject:
        description:
          - The token's subject, C(system:serviceaccount:<namespace>:<service account>).
          - Required with O(federated_credentials[].state=present) unless O(federated_credentials[].namespace) and
            O(federated_credentials[].service_account) give it (mutually exclusive with them); refused with V(absent),
            as O(federated_credentials[].issuer) is.
        type: str
      namespace:
        description:
          - The service account's Kubernetes namespace (a DNS-1123 label); with
            O(federated_credentials[].service_account) the module builds the subject
            C(system:serviceaccount:<namespace>:<service_account>).
        type: str
        version_added: 0.3.0
      service_account:
        description: The service account's name (a DNS-1123 subdomain); required together with
          O(federated_credentials[].namespace).
        type: str
        version_added: 0.3.0
      audiences:
        description: The accepted audience; Entra allows exactly one.
        type: list
        elements: str
        default: [api://AzureADTokenExchange]
      state:
        description: C(present) to ensure the credential, C(absent) to remove it (found by its name; other
          credentials are never touched).
        type: str
        choices: [present, absent]
        default: present
  credential_timeout:
    description:
      - Seconds to wait, per credential, for the controller-wide lock on the identity's credential writes and to
        retry Azure's C(ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity), as
        M(kedaops.aks.federated_credential)'s O(kedaops.aks.federated_credential#module:timeout); at least C(1).
    type: int
    default: 300
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be created or changed; a new identity's ids are returned as null, and shown as
      C((known after apply)) in the diff.
  diff_mode:
    support: full
seealso:
  - module: kedaops.aks.federated_credential
  - module: kedaops.aks.role_assignment
"""

EXAMPLES = r"""
- name: The identity KEDA uses (Helm path)
  kedaops.aks.managed_identity:
    resource_group: rg-keda-integration
    name: keda-int-identity
    location: eastus
    tags:
      owner: platform
  register: identity

- name: Show the ids the trust chain needs
  ansible.builtin.debug:
    msg: "client id {{ identity.identity.client_id }}, principal id {{ identity.identity.principal_id }}"

- name: The identity and the credentials of the two service accounts it serves, in one task
  kedaops.aks.managed_identity:
    resource_group: rg-keda-integration
    name: keda-int-identity
    federated_credentials:
      - name: keda-operator
        issuer: "{{ cluster.cluster.oidc_issuer_url }}"
        subject: system:serviceaccount:keda:keda-operator
      - name: orders-consumer
        issuer: "{{ cluster.cluster.oidc_issuer_url }}"
        subject: system:serviceaccount:orders:consumer

- name: Remove one credential; the identity and the other credential stay
  kedaops.aks.managed_identity:
    resource_group: rg-keda-integration
    name: keda-int-identity
    federated_credentials:
      - name: orders-consumer
        state: absent

- name: Remove it
  kedaops.aks.managed_identity:
    resource_group: rg-keda-integration
    name: keda-int-identity
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent), the identity was kept because it carries federated credentials not in
    O(owned_credentials).
  returned: when the identity was kept
  type: bool
  sample: true
credentials:
  description:
    - The federated credentials of O(federated_credentials) with O(federated_credentials[].state=present), in its
      order, after the run (the predicted ones in check mode), with the keys of
      M(kedaops.aks.federated_credential)'s RV(kedaops.aks.federated_credential#module:credential).
  returned: with O(state=present)
  type: list
  elements: dict
  sample:
    - id: /subscriptions/<sub>/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/keda-operator
      name: keda-operator
      issuer: https://eastus.oic.prod-aks.azure.com/<tenant>/<cluster>/
      subject: system:serviceaccount:keda:keda-operator
      audiences: [api://AzureADTokenExchange]
identity:
  description: The identity after the run (the predicted one in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The ARM resource id.
      type: str
      sample: /subscriptions/<subscription>/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/keda-int-identity
    name:
      description: The identity's name.
      type: str
      sample: keda-int-identity
    client_id:
      description: The client (application) id; null in check mode for a new identity.
      type: str
      sample: 6b1c0d7e-2f3a-4b5c-8d9e-0f1a2b3c4d5e
    principal_id:
      description: The object id of the identity's service principal, used for role assignments.
      type: str
      sample: 1e2d3c4b-5a69-4788-9900-aabbccddeeff
    tenant_id:
      description: The Microsoft Entra tenant of the identity.
      type: str
      sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
    location:
      description: The region.
      type: str
      sample: eastus
    tags:
      description: The tags.
      type: dict
      sample: {owner: platform}
error:
  description: Azure's error, when the module failed on an Azure call.
  returned: failure
  type: dict
  contains:
    code:
      description: Azure's error code.
      type: str
      sample: ResourceGroupNotFound
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status.
      type: int
      sample: 404
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import MANAGED_IDENTITY_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
