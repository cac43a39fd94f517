#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cluster
short_description: Read an AKS cluster and switch its OIDC issuer, workload identity and KEDA add-on
version_added: 0.1.0
description:
  - Reads an existing Azure Kubernetes Service cluster (C(Microsoft.ContainerService/managedClusters),
    api-version 2024-10-01) and returns what the workload identity trust chain needs from it, the OIDC
    issuer URL, whether workload identity and the KEDA add-on are enabled, the Kubernetes version.
  - Switches only the features given (O(oidc_issuer), O(workload_identity), O(keda)); an omitted one is
    left as it is. With none given the module only reads.
  - A change is applied like C(az aks update), the cluster is read, the flags flipped, the cluster written
    back and the long-running operation awaited, except that node pools are never restated (they belong
    to the agent pools API, and restating them can fail or rescale them); every other setting is
    written back as read.
  - Enabling workload identity without the OIDC issuer, and disabling an enabled OIDC issuer, fail before
    any write, as AKS refuses both.
  - The module does not create or delete clusters.
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The resource group of the cluster.
    type: str
    required: true
  name:
    description: The name of the cluster.
    type: str
    required: true
  oidc_issuer:
    description:
      - Enable the cluster's OIDC issuer (C(oidcIssuerProfile.enabled)). AKS cannot disable it once enabled.
      - Omit to leave it as it is.
    type: bool
  workload_identity:
    description:
      - Enable Microsoft Entra Workload ID (C(securityProfile.workloadIdentity.enabled)); requires the OIDC issuer.
      - Enable it before the KEDA add-on, or restart the KEDA operator afterwards.
      - Omit to leave it as it is.
    type: bool
  keda:
    description:
      - Enable the managed KEDA add-on (C(workloadAutoScalerProfile.keda.enabled)).
      - Omit to leave it as it is.
    type: bool
  timeout:
    description: Seconds to wait for the cluster update to finish; at least C(1).
    type: int
    default: 1800
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: Predicts the feature flags; an OIDC issuer URL that AKS has yet to assign is returned as null.
  diff_mode:
    support: full
seealso:
  - module: kedaops.aks.federated_credential
  - name: Use the OIDC issuer on AKS
    description: Enabling the issuer, and why it cannot be disabled.
    link: https://learn.microsoft.com/azure/aks/use-oidc-issuer
  - name: KEDA add-on for AKS
    description: What the managed add-on installs.
    link: https://learn.microsoft.com/azure/aks/keda-about
"""

EXAMPLES = r"""
- name: Everything KEDA with workload identity needs (AKS add-on path)
  kedaops.aks.aks_cluster:
    resource_group: rg-keda-integration
    name: aks-cluster-name
    oidc_issuer: true
    workload_identity: true
    keda: true

- name: Only read the cluster (no feature options)
  kedaops.aks.aks_cluster:
    resource_group: rg-keda-integration
    name: aks-cluster-name
  register: aks

- name: Use its issuer for a federated credential
  kedaops.aks.federated_credential:
    resource_group: rg-keda-integration
    identity_name: keda-int-identity
    name: kedaFedIdentity
    issuer: "{{ aks.cluster.issuer_url }}"
    subject: system:serviceaccount:keda:keda-operator
"""

RETURN = r"""
cluster:
  description: The cluster after the run (the predicted one in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: The cluster's resource id.
      type: str
      sample: /subscriptions/<subscription>/resourcegroups/rg-keda-integration/providers/Microsoft.ContainerService/managedClusters/aks-cluster-name
    name:
      description: The cluster's name.
      type: str
      sample: aks-cluster-name
    location:
      description: The cluster's region.
      type: str
      sample: eastus
    kubernetes_version:
      description: The Kubernetes version the control plane runs.
      type: str
      sample: 1.33.2
    oidc_issuer:
      description: Whether the OIDC issuer is enabled.
      type: bool
    issuer_url:
      description:
        - The issuer URL, exactly as federated credentials must state it (trailing slash included); null while disabled.
        - The same key as M(kedaops.aks.connected_cluster) returns, so roles read one key for both cluster kinds.
      type: str
      sample: https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/
    oidc_issuer_url:
      description: The same as RV(cluster.issuer_url), under the name of earlier releases.
      type: str
      sample: https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b/
    workload_identity:
      description: Whether Microsoft Entra Workload ID is enabled.
      type: bool
    keda:
      description: Whether the KEDA add-on is enabled.
      type: bool
    provisioning_state:
      description: The cluster's provisioning state.
      type: str
      sample: Succeeded
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

from ansible_collections.kedaops.aks.plugins.module_utils._azure_aks import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
