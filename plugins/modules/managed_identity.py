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
          - Required with O(federated_credentials[].state=present); refused with V(absent), as O(federated_credentials[].issuer) is.
        type: str
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

from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._azure_owned import kept_for
from ansible_collections.kedaops.aks.plugins.module_utils._diff import KNOWN_AFTER_APPLY, diff
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._module import KedaopsModule
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import (
    check_items,
    state_only,
    validate_identity,
)


def run(module: KedaopsModule) -> dict:
    p = module.params
    _check_state_options(p)
    validate_identity(p["name"], p["tags"] if p["state"] == "present" else None)
    wanted = check_items("federated_credentials", p["federated_credentials"],
                         lambda item: _check_credential(item, module.check_mode), "on an identity")
    _check_pairs(wanted)
    before = msi.get_identity(module.azure, p["resource_group"], p["name"])
    if p["state"] == "absent":
        kept = msi.foreign_credentials(module.azure, before, p["resource_group"], p["name"], p["owned_credentials"])
        if kept:
            module.warn(kept_for(f"managed identity {p['name']}", "federated credentials", kept))
            return {"changed": False, "kept": True, "identity": before, "diff": diff(before, before)}
        changed, after = msi.ensure_identity_absent(module.azure, before, p["resource_group"], p["name"], module.check_mode)
        return {"changed": changed, "identity": after or {}, "diff": diff(before, after)}
    # Every item against what exists plus what the items add, before the first write (the identity's too).
    listed = msi.list_credentials(module.azure, p["resource_group"], p["name"]) if wanted and before else None
    msi.plan_all(listed or [], p["name"], wanted)
    changed, after = msi.ensure_identity_present(module.azure, before, p["resource_group"], p["name"], p["location"],
                                                 p["tags"], p["purge_tags"], module.check_mode)
    computed = ("client_id", "principal_id", "tenant_id") if module.check_mode else ()  # known after apply
    result = {"changed": changed, "identity": after or {}, "diff": diff(before, after, computed)}
    befores, afters = [], []
    # One list for every item (a missing identity, in check mode, is predicted by each item).
    if listed is None and after and not module.check_mode:
        listed = []
    for item in wanted:
        if item["state"] == "absent":
            written, cred_before = msi.ensure_credential_absent(
                module.azure, p["resource_group"], p["name"], item["name"], module.check_mode, p["credential_timeout"])
            cred_after = None
        else:
            written, cred_before, cred_after = msi.ensure_credential_present(
                module.azure, p["resource_group"], p["name"], item["name"], item["issuer"], item["subject"],
                item["audiences"], module.check_mode, p["credential_timeout"], module.warn, listed)
        result["changed"] = result["changed"] or written
        befores.append(cred_before)
        if cred_after is not None:
            afters.append(cred_after)
    result["credentials"] = afters
    if wanted:
        shown = [dict(c, issuer=c.get("issuer") or KNOWN_AFTER_APPLY) for c in afters]
        result["diff"]["before"] = dict(result["diff"]["before"], federated_credentials=[b for b in befores if b])
        result["diff"]["after"] = dict(result["diff"]["after"], federated_credentials=shown)
    return result


def _check_state_options(p: dict[str, Any]) -> None:
    """Children never act on their parent: with state absent the identity's deletion would ignore them."""
    if p["state"] == "absent":
        state_only("absent", {"federated_credentials": p["federated_credentials"], "location": p["location"],
                              "tags": p["tags"], "purge_tags": p["purge_tags"] or None},
                   {"federated_credentials": "remove a credential with its item's state: absent (and state: "
                                             "present), or with kedaops.aks.federated_credential"})
    else:
        state_only("present", {"owned_credentials": p["owned_credentials"]})


def _check_credential(item: dict[str, Any], check_mode: bool) -> None:
    if item["state"] == "absent":
        state_only("absent", {"issuer": item["issuer"], "subject": item["subject"]},
                   {"issuer": "an item with state: absent is found by its name",
                    "subject": "an item with state: absent is found by its name"})
        msi.validate_credential(item["name"], None, None, None, state="absent")
        return
    # null only in check mode: an issuer an earlier task would assign (known after apply)
    issuer = item["issuer"] or (msi.UNKNOWN_ISSUER if check_mode else item["issuer"])
    msi.validate_credential(item["name"], issuer, item["subject"], item["audiences"])


def _check_pairs(items: list[dict[str, Any]]) -> None:
    """Entra allows each issuer+subject pair once per identity: two items with one pair are refused."""
    seen: dict[tuple[Any, Any], str] = {}
    for index, item in enumerate(items):
        if item["state"] != "present" or not item["issuer"]:
            continue
        pair = (item["issuer"], item["subject"])
        if pair in seen:
            raise OptionError(f"federated_credentials[{index}]: issuer {item['issuer']!r} and subject "
                              f"{item['subject']!r} are those of {seen[pair]!r} too; Entra allows each issuer+subject "
                              "pair once per identity")
        seen[pair] = item["name"]


ARGUMENT_SPEC = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "location": {"type": "str"},
    "tags": {"type": "dict"},
    "purge_tags": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "owned_credentials": {"type": "list", "elements": "str", "default": []},
    "federated_credentials": {
        "type": "list", "elements": "dict", "default": [],
        "options": {
            "name": {"type": "str", "required": True},
            "issuer": {"type": "str"},
            "subject": {"type": "str"},
            "audiences": {"type": "list", "elements": "str", "default": [msi.DEFAULT_AUDIENCE]},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
    },
    "credential_timeout": {"type": "int", "default": 300},
}


def main() -> None:
    KedaopsModule(ARGUMENT_SPEC, azure=True).run(run)


if __name__ == "__main__":
    main()
