#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keda_trigger_auth
short_description: KEDA TriggerAuthentication or ClusterTriggerAuthentication with Azure Workload Identity
version_added: 0.1.0
description:
  - Ensures a KEDA C(TriggerAuthentication) (namespaced) or C(ClusterTriggerAuthentication) whose
    C(spec.podIdentity) uses the C(azure-workload) provider, optionally with the identity's client id,
    tenant and authority host.
  - The module owns C(spec.podIdentity) as a whole; an identity option that is not given (or given as an empty
    string) is removed from the object, never sent as C(""), which KEDA's admission webhook rejects. Other parts
    of the spec (C(secretTargetRef), C(env), ...) are left as they are.
  - A C(TriggerAuthentication) is only found by ScaledObjects and ScaledJobs in its own namespace; use
    O(kind=ClusterTriggerAuthentication) to share one across namespaces.
  - KEDA always presents the operator's own service account token, so the identity in O(identity_id) needs a
    federated credential for the KEDA operator's service account, not the workload's.
  - When KEDA's CRDs are not installed the module fails with C(KEDA is not installed (CRD ... missing)); in
    check mode it reports the change it would make and warns instead.
author:
  - kedaops.aks contributors (@kedaops)
extends_documentation_fragment:
  - kedaops.aks.attributes.k8s
  - kedaops.aks.attributes
  - kedaops.aks.k8s_auth
options:
  name:
    description:
      - Name of the object.
    type: str
    required: true
  namespace:
    description:
      - Namespace of a C(TriggerAuthentication); the namespace of the ScaledObjects and ScaledJobs that use it.
      - Required for O(kind=TriggerAuthentication); must not be set for O(kind=ClusterTriggerAuthentication).
    type: str
  kind:
    description:
      - Which KEDA kind to manage.
    type: str
    choices: [TriggerAuthentication, ClusterTriggerAuthentication]
    default: TriggerAuthentication
  provider:
    description:
      - The pod identity provider; only C(azure-workload). C(azure) (AAD Pod Identity, removed in KEDA 2.15) is
        refused with the reason.
    type: str
    default: azure-workload
  identity_id:
    description:
      - Client id (a GUID) of the identity KEDA requests tokens for, written to C(spec.podIdentity.identityId).
      - When not given KEDA uses the operator pod's C(AZURE_CLIENT_ID), that is the client id annotated on its
        service account.
    type: str
  identity_tenant_id:
    description:
      - Tenant id (a GUID) overriding the operator pod's C(AZURE_TENANT_ID).
    type: str
  identity_authority_host:
    description:
      - Authority host (an https URL) overriding C(AZURE_AUTHORITY_HOST), for sovereign clouds.
      - Requires O(identity_tenant_id), as KEDA does.
      - The azure-servicebus and prometheus scalers ignore it (KEDA's chained credential reads
        C(AZURE_AUTHORITY_HOST) from the operator pod); the module warns.
    type: str
  state:
    description:
      - Whether the object should exist.
      - With V(absent) the object is found by O(name) and O(namespace) (and O(kind)); any other option
        would be ignored, so one given is refused before any call.
      - Ownership (docs/ownership.md) - an object this module creates carries the label
        C(app.kubernetes.io/managed-by=kedaops.aks), set on creation only (never added to an object it finds).
        With V(absent) only an object carrying it is deleted; one without it is kept, with a warning naming it,
        and the result is not changed.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: kedaops.aks.keda_scaled_object
  - module: kedaops.aks.keda_scaled_job
  - module: kedaops.aks.workload_sa
  - name: KEDA Azure AD Workload Identity authentication provider
    description: The podIdentity fields KEDA reads.
    link: https://keda.sh/docs/2.20/authentication-providers/azure-ad-workload-identity/
"""

EXAMPLES = r"""
- name: TriggerAuthentication for Azure Managed Prometheus (scenario A, Helm install)
  kedaops.aks.keda_trigger_auth:
    name: azure-managed-prometheus-trigger-auth
    namespace: default
    identity_id: "{{ identity.client_id }}"

- name: TriggerAuthentication for Azure Service Bus next to the ScaledJob (scenario B, add-on)
  kedaops.aks.keda_trigger_auth:
    name: azure-servicebus-auth
    namespace: default
    identity_id: "{{ identity.client_id }}"

- name: One ClusterTriggerAuthentication shared by every namespace
  kedaops.aks.keda_trigger_auth:
    name: azure-workload-shared
    kind: ClusterTriggerAuthentication
    identity_id: "{{ identity.client_id }}"
    identity_tenant_id: "{{ identity.tenant_id }}"
"""

RETURN = r"""
trigger_auth:
  description: The object after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    apiVersion: keda.sh/v1alpha1
    kind: TriggerAuthentication
    metadata: {name: azure-servicebus-auth, namespace: default}
    spec:
      podIdentity: {provider: azure-workload, identityId: 5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c}
error:
  description: The Kubernetes API's Status of a failed call.
  returned: on failure from the API
  type: dict
  contains:
    reason:
      description: The Status reason, for example C(Forbidden), C(Conflict), C(Invalid), C(NotFound).
      type: str
      sample: Invalid
    code:
      description: The HTTP status code.
      type: int
      sample: 422
    message:
      description: The server's message.
      type: str
"""

from ansible_collections.kedaops.aks.plugins.module_utils._keda import TRIGGER_AUTH_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
