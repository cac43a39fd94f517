#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_identity_info
short_description: Check every link of the KEDA workload identity trust chain, and prove it with a real token exchange
version_added: 0.1.0
description:
  - Reads the AKS cluster, the user-assigned identity and its federated credentials, the KEDA operator
    (its Deployment, service account and pods), the ScaledObjects / ScaledJobs and their
    TriggerAuthentications, and the identity's role assignments, and checks each link KEDA depends on.
    Every check has an C(id), C(ok), a C(detail) and, when it fails, a concrete C(fix).
  - 'The checks: C(oidc_issuer) and C(workload_identity) enabled on the cluster; C(keda_operator) found
    (the AKS add-on in C(kube-system), else a Helm install in C(keda)); C(credential_issuer), a credential
    trusting the cluster issuer exactly (trailing slash included); C(credential_subject), one trusting
    C(system:serviceaccount:<operator namespace>:<operator service account>) exactly (case-sensitive);
    C(credential_audience) C(api://AzureADTokenExchange); C(credential_limit) under 20;
    C(service_account_annotation), the operator service account annotated with the identity client id;
    C(operator_pods) labelled C(azure.workload.identity/use=true) and carrying the injected
    C(AZURE_CLIENT_ID), C(AZURE_TENANT_ID), C(AZURE_FEDERATED_TOKEN_FILE), C(AZURE_AUTHORITY_HOST) (a pod
    started before the annotation lacks them), its C(AZURE_CLIENT_ID) the one the annotation and the identity
    name (a pod started before the identity was replaced keeps the old one); C(scaler_auth_ref:NS/NAME), each scaler authentication
    reference resolvable in the scaler namespace (KEDA ignores a TriggerAuthentication elsewhere);
    C(trigger_auth:NS/NAME), provider C(azure-workload) with C(identityId) equal to the client id;
    C(role:ROLE@SCOPE), the identity holding each expected role at its scope (directly or inherited).'
  - KEDA always authenticates with its operator token, so every credential checked is the operator
    one, not the workload service account.
  - With O(probe_token_exchange=true) the module asks the cluster for a short-lived operator service
    account token (TokenRequest API, audience C(api://AzureADTokenExchange)) and exchanges it at
    Microsoft Entra for the identity client id, exactly as KEDA will; a failure reports the AADSTS code
    with its meaning and fix. With O(wait_timeout) the exchange is repeated while Entra answers that no
    credential matches yet (propagation takes seconds to minutes), instead of a blind sleep; it does not
    wait when a credential check already shows the credential is wrong.
author:
  - kedaops.aks contributors (@kedaops)
options:
  cluster_resource_group:
    description: Resource group of the AKS cluster. With O(cluster_name), the issuer is read from the cluster.
    type: str
  cluster_name:
    description: Name of the AKS cluster (or of the connected cluster, with O(cluster_kind=arc)).
    type: str
  cluster_kind:
    description:
      - C(aks) reads an AKS managed cluster (C(Microsoft.ContainerService/managedClusters)); C(arc) reads an
        Azure Arc-enabled Kubernetes connected cluster (C(Microsoft.Kubernetes/connectedClusters)) and takes its
        effective issuer (the self-hosted one when set).
      - With C(arc) and O(probe_token_exchange=true) the Arc-only check C(api_server_issuer) compares the C(iss)
        of a fresh operator token with the connected cluster's issuer; on Arc the API server must be told to
        sign with that issuer (for K3s, the P(kedaops.aks.k3s_issuer#role) role), and the fix says so.
    type: str
    choices: [aks, arc]
    default: aks
  issuer_url:
    description:
      - The OIDC issuer URL, for a cluster that is not AKS (e.g. Azure Arc-enabled Kubernetes) or to skip
        reading the cluster. The cluster feature checks are skipped then.
    type: str
  identity_resource_group:
    description: Resource group of the user-assigned identity.
    type: str
  identity_name:
    description: Name of the user-assigned identity.
    type: str
  identity_client_id:
    description: Find the identity by client id in the subscription instead of by resource group and name.
    type: str
  operator_namespace:
    description: Namespace of the KEDA operator; by default C(kube-system) (AKS add-on), else C(keda) (Helm).
    type: str
  operator_service_account:
    description: The operator service account; by default the one the C(keda-operator) Deployment runs as.
    type: str
  scalers:
    description:
      - ScaledObjects / ScaledJobs whose authentication references are checked. By default every
        scaler in the cluster is inspected.
    type: list
    elements: dict
    suboptions:
      kind:
        description: The kind.
        type: str
        choices: [ScaledObject, ScaledJob]
        default: ScaledObject
      name:
        description: The name.
        type: str
        required: true
      namespace:
        description: The namespace.
        type: str
        default: default
  trigger_auths:
    description: TriggerAuthentications (or ClusterTriggerAuthentications) that must exist and use the identity.
    type: list
    elements: dict
    default: []
    suboptions:
      kind:
        description: The kind.
        type: str
        choices: [TriggerAuthentication, ClusterTriggerAuthentication]
        default: TriggerAuthentication
      name:
        description: The name.
        type: str
        required: true
      namespace:
        description: The namespace (not for ClusterTriggerAuthentication).
        type: str
  role_assignments:
    description: Roles the identity must hold for KEDA to read its event sources.
    type: list
    elements: dict
    default: []
    suboptions:
      scope:
        description: The resource id, e.g. of the Azure Monitor workspace or the Service Bus namespace.
        type: str
        required: true
      role:
        description: Role name, GUID or definition id (e.g. C(Monitoring Data Reader)).
        type: str
        required: true
  probe_token_exchange:
    description: Exchange a real operator token at Entra for the identity client id.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to keep retrying the exchange while the credential propagates; C(0) tries once; a
      negative value is refused.
    type: int
    default: 0
  fail_on_problems:
    description: Fail the task when a check fails (the result still carries every check).
    type: bool
    default: false
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.k8s_auth
  - kedaops.aks.attributes.info
attributes:
  check_mode:
    description: Reads only (the probe's TokenRequest creates no object); runs the same in check mode.
    support: full
  action_group:
    description: Member of both C(group/kedaops.aks.azure) and C(group/kedaops.aks.k8s).
    support: full
    membership:
      - kedaops.aks.azure
      - kedaops.aks.k8s
notes:
  - The TokenRequest needs C(create) on C(serviceaccounts/token) for the operator service account.
"""

EXAMPLES = r"""
- name: Check the add-on path's chain and wait for the credential to propagate
  kedaops.aks.workload_identity_info:
    cluster_resource_group: rg-keda-integration
    cluster_name: aks-cluster-name
    identity_resource_group: rg-keda-integration
    identity_name: keda-servicebus-identity
    role_assignments:
      - scope: /subscriptions/{{ sub }}/resourceGroups/rg-keda-integration/providers/Microsoft.ServiceBus/namespaces/sb-keda-demo
        role: Azure Service Bus Data Owner
    probe_token_exchange: true
    wait_timeout: 300
    fail_on_problems: true

- name: Report the chain of a Helm install without failing
  kedaops.aks.workload_identity_info:
    cluster_resource_group: rg-keda-integration
    cluster_name: aks-cluster-name
    identity_resource_group: rg-keda-integration
    identity_name: keda-int-identity
    operator_namespace: keda
  register: chain

- name: Show what is broken and how to mend it
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.detail }} -> {{ item.fix }}"
  loop: "{{ chain.checks | rejectattr('ok') | list }}"
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: always
  type: bool
checks:
  description: One entry per link of the chain.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The check, e.g. C(credential_subject), C(operator_pods), C(role:Monitoring Data Reader@/subscriptions/...).
      type: str
    ok:
      description: Whether the link holds.
      type: bool
    detail:
      description: What was found.
      type: str
    fix:
      description:
        - The module call or command that mends it; empty when ok. The checks come in the order of the chain,
          so the fixes of the failing ones are meant to be run in that order (an operator restart after its
          service account's annotation is mended).
      type: str
chain:
  description: The ends of the chain as found.
  returned: always
  type: dict
  contains:
    issuer:
      description: The cluster OIDC issuer URL.
      type: str
    subject:
      description: The subject KEDA tokens carry.
      type: str
      sample: system:serviceaccount:kube-system:keda-operator
    client_id:
      description: The identity client id.
      type: str
    principal_id:
      description: The identity principal id.
      type: str
    operator_namespace:
      description: Where the operator runs.
      type: str
    operator_service_account:
      description: The operator service account.
      type: str
    install:
      description: C(addon), C(helm), or empty when the operator was not found in a known namespace.
      type: str
probe:
  description: The token exchange, with O(probe_token_exchange=true).
  returned: when probed
  type: dict
  contains:
    ok:
      description: Whether Entra issued a token.
      type: bool
    code:
      description: The AADSTS code (e.g. C(AADSTS70021)) or error kind when it did not.
      type: str
    message:
      description: Entra's message.
      type: str
    attempts:
      description: How many exchanges were tried.
      type: int
    elapsed:
      description: Seconds spent.
      type: float
"""

from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module
from ansible_collections.kedaops.aks.plugins.module_utils._trust_chain import RESOURCE


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
