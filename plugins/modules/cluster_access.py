#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_access
short_description: Kubernetes access to one AKS or Arc cluster at task time, as a private kubeconfig file
version_added: 0.2.0
description:
  - For a fleet play (hosts from the C(kedaops.aks.clusters) inventory), gives each host the kubeconfig of its
    own cluster. The inventory fetches no credential; this module does, per host, when the play runs.
  - B(AKS) - fetches the cluster user credential (C(listClusterUserCredential), api-version 2024-10-01, as
    C(az aks get-credentials) does) and writes it to a private file (mode 0600 in a directory of mode 0700).
  - B(AKS with Microsoft Entra authentication) - AKS then hands out a C(kubelogin) exec user. The module
    replaces it with a bearer token for the AKS server application (C(6dae42f8-4368-4678-94ff-3960e28e3630),
    or the C(--server-id) AKS names) obtained from the same Azure credential as every other task, so no
    C(kubelogin) binary is needed and clusters with local accounts disabled work. The token lasts as
    Microsoft Entra issues it (about an hour); run the module again in longer plays.
  - B(Arc) - passes through the kubeconfig path given in O(kubeconfig) (from host or group vars). Azure Arc
    cluster connect needs Azure's proxy and is out of scope.
  - Where the file goes. On the controller (the normal case for fleet hosts, C(ansible_connection=local)) the
    action plugin runs the module's code in the worker and writes into the run's own private temporary
    directory (Ansible's per-process local temporary directory, mode 0700, removed when the run ends). When
    the task runs elsewhere (the module itself), the file goes to O(dest_dir), by default
    C($XDG_RUNTIME_DIR/kedaops.aks) or else C(~/.kube/kedaops.aks) (created 0700), and stays there after the run.
  - The result holds the path, never the file's content; the file holds a credential, so treat the path's
    directory as secret.
  - Reads only (C(changed) is always false); an AKS cluster costs one ARM request and, for Microsoft Entra
    authentication, one token request.
author:
  - kedaops.aks contributors (@kedaops)
options:
  kind:
    description: The kind of cluster, as the inventory's C(cluster_kind) host var says.
    type: str
    choices: [aks, arc]
    default: aks
  resource_group:
    description: The resource group of the AKS cluster (the inventory's C(cluster_resource_group)). Required with O(kind=aks).
    type: str
  name:
    description: The name of the AKS cluster (the inventory's C(cluster_name)). Required with O(kind=aks).
    type: str
  kubeconfig:
    description:
      - With O(kind=arc), the path of the cluster's kubeconfig on the machine that runs the task; required.
      - Refused with O(kind=aks), whose credential comes from Azure.
    type: path
  access:
    description:
      - How to reach an AKS cluster.
      - C(auto) uses the user credential as AKS returns it, and an Entra token when that credential is a
        C(kubelogin) exec user.
      - C(user_credential) fails when the credential needs C(kubelogin) rather than switching to a token.
      - C(entra_token) always uses an Entra token for the AKS server application.
    type: str
    choices: [auto, user_credential, entra_token]
    default: auto
  dest_dir:
    description:
      - An absolute path of a directory for the kubeconfig file, instead of the run's private one (on the
        controller) or C($XDG_RUNTIME_DIR/kedaops.aks) / C(~/.kube/kedaops.aks) (elsewhere).
      - Created with mode 0700; refused when it belongs to another user or others may read it.
    type: path
notes:
  - The AKS caller needs C(Microsoft.ContainerService/managedClusters/listClusterUserCredential/action)
    (e.g. Azure Kubernetes Service Cluster User Role), and for a Microsoft Entra cluster a Kubernetes role
    (Azure RBAC for Kubernetes, e.g. Azure Kubernetes Service RBAC Cluster Admin for the roles' writes).
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes.info
"""

EXAMPLES = r"""
# A fleet play: each host is a cluster from the kedaops.aks.clusters inventory.
- name: Kubernetes access to this host's cluster
  kedaops.aks.cluster_access:
    kind: "{{ cluster_kind }}"
    resource_group: "{{ cluster_resource_group if cluster_kind == 'aks' else omit }}"
    name: "{{ cluster_name if cluster_kind == 'aks' else omit }}"
    kubeconfig: "{{ arc_kubeconfig if cluster_kind == 'arc' else omit }}"
  register: access

- name: Every Kubernetes module of the play then talks to that cluster
  kedaops.aks.workload_sa:
    kubeconfig: "{{ access.kubeconfig }}"
    namespace: keda
    name: keda-operator
    client_id: "{{ identity_client_id }}"

# An AKS cluster with Microsoft Entra authentication and local accounts disabled, without kubelogin.
- name: An Entra token for the AKS server application, from the task's Azure credential
  kedaops.aks.cluster_access:
    resource_group: rg-aks-prod
    name: aks-prod-eu-01
    access: entra_token
  register: access
"""

RETURN = r"""
kubeconfig:
  description: The path of the cluster's kubeconfig file (for Arc, O(kubeconfig) as given). Never its content.
  returned: success
  type: str
  sample: /home/runner/.ansible/tmp/ansible-local-4242abcd/kedaops-cluster-access/3f1e6b0a5c2d4e7f9a8b.kubeconfig
access:
  description:
    - How the file reaches the cluster. C(user_credential) (the user credential as AKS returned it),
      C(entra_token) (a Microsoft Entra token for the AKS server application) or C(kubeconfig) (Arc, passed through).
  returned: success
  type: str
  sample: entra_token
server:
  description: The cluster's API server URL (AKS).
  returned: with O(kind=aks)
  type: str
  sample: https://aks-prod-eu-01-dns-4a1b2c3d.hcp.westeurope.azmk8s.io:443
"""

from ansible_collections.kedaops.aks.plugins.module_utils._cluster_access import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
