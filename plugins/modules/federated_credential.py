#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: federated_credential
short_description: Ensure a federated identity credential on an Azure user-assigned managed identity
version_added: 0.1.0
description:
  - Creates, updates or deletes one federated identity credential on a user-assigned managed identity
    (C(Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials), api-version 2024-11-30),
    the link that lets a Kubernetes service account token be exchanged for the identity's Entra token.
  - Input is validated before any call to Azure, the name rule C(^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$),
    an C(https://) O(issuer) without surrounding whitespace, exactly one audience, a non-empty O(subject).
  - O(issuer) and O(subject) are compared exactly, as Entra compares them with the token (case-sensitive,
    a trailing C(/) included). An existing credential that differs from the request only by a trailing
    slash or letter case is reported as a warning, because only one of them can ever match.
  - Refuses, without writing, a 21st credential on the identity (the Entra limit is 20) and an
    O(issuer) + O(subject) pair that already exists on the identity under another name (naming it).
  - Writes to one identity are serialised on the controller by a file lock shared by every fork and
    C(async) task, and Azure's C(ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity)
    conflict is retried with jittered backoff, so many credentials can be created on one identity from
    many forks at once.
  - Other credentials on the identity are never changed or removed.
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The resource group of the managed identity.
    type: str
    required: true
  identity_name:
    description: The name of the user-assigned managed identity that holds the credential.
    type: str
    required: true
  name:
    description:
      - The name of the federated credential, 3 to 120 letters, digits, C(-) or C(_), starting with a
        letter or digit. Immutable once created.
    type: str
    required: true
  issuer:
    description:
      - The OIDC issuer URL of the token to accept, exactly as the token's C(iss) claim has it. For AKS
        this is the cluster's C(oidcIssuerProfile.issuerURL), trailing slash included (see
        M(kedaops.aks.aks_cluster)'s RV(kedaops.aks.aks_cluster#module:cluster.oidc_issuer_url)).
      - Required when O(state=present).
    type: str
  subject:
    description:
      - The subject of the token to accept, exactly (case-sensitive). For a Kubernetes service account,
        C(system:serviceaccount:<namespace>:<name>); KEDA always uses its operator's account, for example
        C(system:serviceaccount:keda:keda-operator).
      - With O(state=present), required unless O(namespace) and O(service_account) give it; mutually exclusive
        with them. Refused with O(state=absent) (the credential is found by its name).
    type: str
  namespace:
    description:
      - The Kubernetes namespace of the service account whose tokens to accept; with O(service_account) the
        module builds the subject C(system:serviceaccount:<namespace>:<service_account>).
      - A DNS-1123 label (the API server refuses anything else, so no token could carry it). Mutually
        exclusive with O(subject); required together with O(service_account).
    type: str
    version_added: 0.3.0
  service_account:
    description:
      - The name of that service account, a DNS-1123 subdomain. Required together with O(namespace).
    type: str
    version_added: 0.3.0
  audiences:
    description: The audience of the token to accept; Entra allows exactly one.
    type: list
    elements: str
    default: [api://AzureADTokenExchange]
  timeout:
    description:
      - Seconds to wait for the identity's write lock and to keep retrying Azure's concurrent-write conflict;
        at least C(1).
    type: int
    default: 300
  state:
    description: Whether the credential should exist.
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
      Lists the identity's credentials and predicts the change; refusals (limit, duplicate pair) fail in check mode
      too. An identity that does not exist yet, or a null O(issuer) (a cluster issuer an earlier task would enable
      in the same check run), predicts a creation with a warning.
  diff_mode:
    support: full
notes:
  - Entra needs seconds to minutes before a new credential is honoured at token exchange
    (C(AADSTS70021) meanwhile); M(kedaops.aks.workload_identity_info) can wait for it.
  - The write lock is a file in the controller's temporary directory (C(kedaops-aks-fic-<hash>.lock)).
seealso:
  - module: kedaops.aks.managed_identity
  - module: kedaops.aks.aks_cluster
"""

EXAMPLES = r"""
- name: Read the cluster's OIDC issuer
  kedaops.aks.aks_cluster:
    resource_group: rg-keda-integration
    name: aks-cluster-name
  register: aks

- name: Trust the KEDA operator's service account (Helm install in namespace keda)
  kedaops.aks.federated_credential:
    resource_group: rg-keda-integration
    identity_name: keda-int-identity
    name: kedaFedIdentity
    issuer: "{{ aks.cluster.oidc_issuer_url }}"
    subject: system:serviceaccount:keda:keda-operator

- name: One credential per workload namespace, in parallel (writes are serialised per identity)
  kedaops.aks.federated_credential:
    resource_group: rg-keda-integration
    identity_name: keda-int-identity
    name: "workload-{{ item }}"
    issuer: "{{ aks.cluster.oidc_issuer_url }}"
    subject: "system:serviceaccount:{{ item }}:workload"
  loop: [team-a, team-b, team-c]
  async: 300
  poll: 0
  register: jobs

- name: Remove a credential (the others on the identity stay)
  kedaops.aks.federated_credential:
    resource_group: rg-keda-integration
    identity_name: keda-int-identity
    name: kedaFedIdentity
    state: absent
"""

RETURN = r"""
credential:
  description: The credential after the run (the predicted one in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The ARM resource id.
      type: str
      sample: /subscriptions/<sub>/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/kedaFedIdentity
    name:
      description: The credential's name.
      type: str
      sample: kedaFedIdentity
    issuer:
      description: The accepted issuer.
      type: str
      sample: https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/
    subject:
      description: The accepted subject.
      type: str
      sample: system:serviceaccount:keda:keda-operator
    audiences:
      description: The accepted audience.
      type: list
      elements: str
      sample: [api://AzureADTokenExchange]
error:
  description: Azure's error (or the refusal), when the module failed.
  returned: failure
  type: dict
  contains:
    code:
      description: >-
        Azure's error code, for example C(ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity)
        once the retries are exhausted, or C(FederatedIdentityCredentialLimitReached) /
        C(IssuerSubjectAlreadyExists) for the module's own refusals.
      type: str
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status (null for refusals made before calling Azure).
      type: int
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_fic import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
