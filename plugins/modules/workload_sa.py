#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_sa
short_description: Service account annotated for Microsoft Entra Workload ID
version_added: 0.1.0
description:
  - Ensures a Kubernetes service account carries the Azure Workload Identity annotations
    C(azure.workload.identity/client-id), and optionally C(azure.workload.identity/tenant-id) and
    C(azure.workload.identity/service-account-token-expiration), plus labels.
  - Only those three annotations and the given labels are managed. Other annotations and labels on the
    account are never changed or removed, and an annotation whose option is not given is left as it is.
  - With O(create=false) the module only annotates an existing account, for example the AKS KEDA
    add-on's C(kube-system/keda-operator); it fails if the account does not exist.
  - Annotations only reach pods created after them. Restart the workload afterwards
    (M(kedaops.aks.rollout_restart) with O(kedaops.aks.rollout_restart#module:unless_env_present)).
author:
  - kedaops.aks contributors (@kedaops)
extends_documentation_fragment:
  - kedaops.aks.attributes.k8s
  - kedaops.aks.attributes
  - kedaops.aks.k8s_auth
attributes:
  check_mode:
    description: Can run in check mode and return the predicted service account. Writes are sent as
      server-side dry runs (C(dryRun=All)), so the prediction is the API server's. A null O(client_id) (an
      identity an earlier task would create) is shown as C((known after apply)); with O(create=false), an account
      that does not exist yet is predicted with a warning. A real run refuses a null O(client_id) before any call.
    support: full
  diff_mode:
    description: Returns the service account's namespace, name, annotations and labels before and after.
    support: full
options:
  namespace:
    description:
      - Namespace of the service account.
    type: str
    required: true
  name:
    description:
      - Name of the service account.
    type: str
    required: true
  client_id:
    description:
      - Client id (a GUID) of the user-assigned managed identity or application the pods act as; the
        identity's C(clientId), not its principal (object) id.
      - Required when O(state=present).
    type: str
  tenant_id:
    description:
      - Microsoft Entra tenant id (a GUID) written to C(azure.workload.identity/tenant-id).
      - When not given the webhook uses the cluster's tenant; an existing annotation is left as it is.
    type: str
  token_expiration:
    description:
      - Lifetime in seconds of the projected service account token, written to
        C(azure.workload.identity/service-account-token-expiration).
      - The webhook accepts 3600 to 86400.
    type: int
  labels:
    description:
      - Labels to set on the service account. Other labels are kept. With O(state=absent), the keys named here are
        removed from an account the module keeps.
    type: dict
  create:
    description:
      - Whether the module creates the service account when it does not exist.
      - V(false) only annotates an existing account and fails when it is missing; with O(state=absent) it then
        removes only the three workload identity annotations and leaves the account in place.
    type: bool
    default: true
  create_namespace:
    description:
      - Create the namespace when it does not exist (only when the account has to be created).
      - A namespace created this way carries the label C(app.kubernetes.io/managed-by=kedaops.aks), so a
        teardown can tell it from one that existed before (the P(kedaops.aks.keda_helm#role) role removes
        its namespace only then).
    type: bool
    default: false
  state:
    description:
      - V(present) ensures the annotations and labels.
      - V(absent) deletes the service account (with O(create=true)) only when this module created it (an account
        it creates carries the label C(app.kubernetes.io/managed-by=kedaops.aks)). An account that existed before
        (or with O(create=false)) stays in place; only the three workload identity annotations, and the labels
        named in O(labels), are removed from it, with a warning when O(create=true). See docs/ownership.md.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: kedaops.aks.rollout_restart
  - module: kedaops.aks.keda_trigger_auth
  - name: Azure Workload Identity service account annotations
    description: The annotations the mutating webhook reads.
    link: https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html
"""

EXAMPLES = r"""
- name: KEDA operator's service account for the Helm install (created before the chart, chart told not to)
  kedaops.aks.workload_sa:
    namespace: keda
    name: keda-operator
    client_id: "{{ identity.client_id }}"
    tenant_id: "{{ identity.tenant_id }}"
    labels:
      azure.workload.identity/use: "true"
    create_namespace: true

- name: Annotate the AKS KEDA add-on's operator account (never create it)
  kedaops.aks.workload_sa:
    namespace: kube-system
    name: keda-operator
    client_id: "{{ identity.client_id }}"
    create: false

- name: Workload service account with a 24 h token
  kedaops.aks.workload_sa:
    namespace: default
    name: servicebus-consumer
    client_id: 00000000-0000-0000-0000-000000000000
    token_expiration: 86400

- name: Remove only our annotations from the add-on's account
  kedaops.aks.workload_sa:
    namespace: kube-system
    name: keda-operator
    create: false
    state: absent
"""

RETURN = r"""
service_account:
  description: The service account after the run (predicted in check mode); empty when it was deleted or does
    not exist.
  returned: always
  type: dict
  contains:
    namespace:
      description: Namespace of the account.
      type: str
      sample: keda
    name:
      description: Name of the account.
      type: str
      sample: keda-operator
    annotations:
      description: All annotations of the account.
      type: dict
      sample: {"azure.workload.identity/client-id": "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"}
    labels:
      description: All labels of the account.
      type: dict
      sample: {"azure.workload.identity/use": "true"}
error:
  description: The Kubernetes API's Status of a failed call.
  returned: on failure from the API
  type: dict
  contains:
    reason:
      description: The Status reason, for example C(Forbidden), C(Conflict), C(AlreadyExists), C(Invalid), C(NotFound).
      type: str
      sample: Forbidden
    code:
      description: The HTTP status code.
      type: int
      sample: 403
    message:
      description: The server's message.
      type: str
"""

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_workload_sa import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
