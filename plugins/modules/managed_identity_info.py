#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_identity_info
short_description: Read an Azure user-assigned managed identity and its federated credentials
version_added: 0.1.0
description:
  - Reads a user-assigned managed identity (C(Microsoft.ManagedIdentity/userAssignedIdentities),
    api-version 2024-11-30) and, on request, its federated identity credentials.
  - A missing identity is not an error; RV(identity) is then empty and RV(exists) false. That makes
    the module the first step of a teardown, which needs the principal id to remove role assignments
    before the identity itself goes.
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
  credentials:
    description: Also list the identity's federated credentials (one more request).
    type: bool
    default: false
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes.info
"""

EXAMPLES = r"""
- name: Look up the identity KEDA uses
  kedaops.aks.managed_identity_info:
    resource_group: rg-keda-integration
    name: keda-int-identity
    credentials: true
  register: keda_identity

- name: Show its client id and who may use it
  ansible.builtin.debug:
    msg: "{{ keda_identity.identity.client_id }}: {{ keda_identity.credentials | map(attribute='subject') | list }}"
  when: keda_identity.exists
"""

RETURN = r"""
exists:
  description: Whether the identity exists.
  returned: always
  type: bool
identity:
  description: The identity; empty when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The resource id.
      type: str
    name:
      description: The identity's name.
      type: str
    client_id:
      description: The client (application) id; what service account annotations and KEDA C(identityId) name.
      type: str
      sample: 0b5a5f1c-7c3e-4f55-9a41-1c2d3e4f5a6b
    principal_id:
      description: The object id of its service principal; what role assignments name.
      type: str
    tenant_id:
      description: The Microsoft Entra tenant.
      type: str
    location:
      description: The Azure region.
      type: str
    tags:
      description: The identity's tags.
      type: dict
credentials:
  description: The identity's federated credentials, with O(credentials=true) and an existing identity.
  returned: when O(credentials=true)
  type: list
  elements: dict
  contains:
    id:
      description: The resource id.
      type: str
    name:
      description: The credential's name.
      type: str
    issuer:
      description: The OIDC issuer it trusts.
      type: str
    subject:
      description: The subject it trusts, e.g. C(system:serviceaccount:keda:keda-operator).
      type: str
    audiences:
      description: The audiences it accepts.
      type: list
      elements: str
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_msi import IDENTITY_INFO_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
