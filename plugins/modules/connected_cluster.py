#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: connected_cluster
short_description: Read an Azure Arc-enabled Kubernetes cluster and enable its OIDC issuer and workload identity
version_added: 0.2.0
description:
  - Reads an existing Azure Arc-enabled Kubernetes cluster (C(Microsoft.Kubernetes/connectedClusters),
    api-version 2026-05-01) and returns the issuer its federated credentials must carry.
  - Enables the OIDC issuer (O(oidc_issuer)) and workload identity (O(workload_identity)), and sets a
    self-hosted issuer (O(self_hosted_issuer_url)), the way C(az connectedk8s update --enable-oidc-issuer
    --enable-workload-identity) does, the cluster is read, the profiles changed and the whole resource
    written back (PUT, long-running; the PATCH API cannot carry these profiles), echoing the
    C(identity) and C(agentPublicKeyCertificate) the PUT requires. An omitted option is left as it is;
    with none given the module only reads.
  - The OIDC issuer cannot be disabled; O(oidc_issuer=false) fails before any API call with the Azure
    CLI's message. O(self_hosted_issuer_url) needs O(oidc_issuer=true), and workload identity needs the
    OIDC issuer.
  - Unlike AKS, the cluster's API server must also be told to sign service account tokens with the
    returned issuer (for K3s, the P(kedaops.aks.k3s_issuer#role) role); until then Entra refuses the
    operator's tokens with AADSTS70021.
  - The module does not connect or delete clusters (C(az connectedk8s connect) does).
author:
  - kedaops.aks contributors (@kedaops)
notes:
  - Another operation running on the cluster is waited out, not failed at once. Before its write the module
    reads the cluster's C(provisioningState); while it is C(Provisioning), C(Updating) or C(Accepted) (the
    spec's non-terminal states) it reads again with a growing, jittered backoff (at most 30 s apart) within
    O(timeout), then decides again on the cluster as that operation left it (nothing is written when the
    other operation already made the change). C(Succeeded), C(Failed) and C(Canceled) are terminal.
  - A 409 answered to the write is retried the same way only when a re-read shows a non-terminal state;
    otherwise it fails at once, keeping Azure's error code under C(error). Arc does not publish the code it
    answers while another operation runs, so the state decides, not the code.
  - A cluster in C(Deleting) fails at once with a clear message whenever an option is given (nothing is
    written); a read without options returns it.
  - Check mode does not wait; it predicts the result and warns when the cluster is busy.
options:
  resource_group:
    description: The resource group of the connected cluster.
    type: str
    required: true
  name:
    description: The name of the connected cluster.
    type: str
    required: true
  oidc_issuer:
    description:
      - Enable the OIDC issuer (C(oidcIssuerProfile.enabled)). It cannot be disabled, so only C(true) is accepted.
      - Omit to leave it as it is.
    type: bool
  workload_identity:
    description:
      - Enable (or disable) the workload identity webhook (C(securityProfile.workloadIdentity.enabled));
        enabling needs the OIDC issuer.
      - Omit to leave it as it is.
    type: bool
  self_hosted_issuer_url:
    description:
      - The issuer of a cluster that already publishes its own OIDC documents (AKS, EKS, GKE)
        (C(oidcIssuerProfile.selfHostedIssuerUrl)); federated credentials must then carry this URL. Needs
        O(oidc_issuer=true). An https URL without white space (a trailing space or newline is refused).
      - Omit to leave it as it is.
    type: str
  timeout:
    description:
      - Seconds to wait for the cluster update to finish, including the wait for another operation
        already running on the cluster (see the notes); at least C(1).
    type: int
    default: 1800
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: Predicts the profiles; an Arc-hosted issuer URL not yet assigned is returned as null.
  diff_mode:
    support: full
seealso:
  - module: kedaops.aks.aks_cluster
  - module: kedaops.aks.federated_credential
  - name: Workload identity federation in Azure Arc-enabled Kubernetes
    description: Enabling the issuer and the webhook, and the API server step.
    link: https://learn.microsoft.com/azure/azure-arc/kubernetes/workload-identity
"""

EXAMPLES = r"""
- name: Enable the OIDC issuer and workload identity on a connected cluster
  kedaops.aks.connected_cluster:
    resource_group: rg-keda-integration
    name: arc-cluster-name
    oidc_issuer: true
    workload_identity: true
  register: arc

- name: Federate the KEDA operator with the cluster's issuer
  kedaops.aks.federated_credential:
    resource_group: rg-keda-integration
    identity_name: keda-int-identity
    name: kedaFedIdentity
    issuer: "{{ arc.cluster.issuer_url }}"
    subject: system:serviceaccount:keda:keda-operator

- name: A cluster that publishes its own issuer (e.g. EKS)
  kedaops.aks.connected_cluster:
    resource_group: rg-arc
    name: eks-connected
    oidc_issuer: true
    self_hosted_issuer_url: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
    workload_identity: true
"""

RETURN = r"""
cluster:
  description: The connected cluster after the run (the predicted one in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: The cluster's resource id.
      type: str
      sample: /subscriptions/<subscription>/resourceGroups/rg-keda-integration/providers/Microsoft.Kubernetes/connectedClusters/arc-cluster-name
    name:
      description: The cluster's name.
      type: str
    location:
      description: The cluster's region.
      type: str
    distribution:
      description: The Kubernetes distribution the Arc agents reported.
      type: str
      sample: k3s
    kubernetes_version:
      description: The Kubernetes version the agents reported.
      type: str
    connectivity_status:
      description: C(Connected), C(Offline), ...
      type: str
    oidc_issuer:
      description: Whether the OIDC issuer is enabled.
      type: bool
    issuer_url:
      description:
        - The effective issuer, the one federated credentials must carry (trailing slash included), C(self_hosted_issuer_url)
          when set, else the Arc-hosted C(arc_issuer_url); null while the issuer is disabled.
        - The same key as M(kedaops.aks.aks_cluster) returns, so roles read one key for both cluster kinds.
      type: str
      sample: https://northamerica.oic.prod-arc.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/4d9c3a0e-3b1f-5e8a-9c2d-7f6e5d4c3b2a/
    arc_issuer_url:
      description: The Arc-hosted issuer (C(oidcIssuerProfile.issuerUrl)).
      type: str
    self_hosted_issuer_url:
      description: The self-hosted issuer, when set.
      type: str
    workload_identity:
      description: Whether the workload identity webhook is enabled.
      type: bool
    provisioning_state:
      description: The cluster's provisioning state.
      type: str
error:
  description: Azure's error, when the module failed on an Azure call.
  returned: failure
  type: dict
  contains:
    code:
      description: Azure's error code.
      type: str
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status.
      type: int
"""

from ansible_collections.kedaops.aks.plugins.module_utils._arc import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
