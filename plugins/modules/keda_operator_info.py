#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keda_operator_info
short_description: List the KEDA operators a cluster runs, and who deployed each
version_added: 0.2.0
description:
  - Lists the Deployments labelled C(app.kubernetes.io/name=keda-operator) - the label of the KEDA operator
    both the kedacore/keda Helm chart and the AKS KEDA add-on deploy - in one namespace or in all of them,
    with one request.
  - For each it tells who deployed it (RV(operators[].add_on) for the AKS add-on, which labels its objects
    C(kubernetes.azure.com/managedby=aks); otherwise C(app.kubernetes.io/managed-by), C(Helm) for the chart,
    and the Helm release), the KEDA version, the operator's service account and how many replicas are ready.
  - Two KEDAs on one cluster fight over the external metrics API and the CRDs; the C(keda_addon) role uses this
    module to refuse enabling the add-on next to a KEDA installed another way.
author:
  - kedaops.aks contributors (@kedaops)
options:
  namespace:
    description:
      - Look in this namespace only. By default every namespace is searched, which needs C(list) on
        C(deployments) cluster-wide.
    type: str
extends_documentation_fragment:
  - kedaops.aks.k8s_auth
  - kedaops.aks.attributes.info
attributes:
  action_group:
    description: Use C(group/kedaops.aks.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - kedaops.aks.k8s
notes:
  - A namespace that does not exist is not an error; the list is then empty.
"""

EXAMPLES = r"""
- name: Which KEDA runs on this cluster?
  kedaops.aks.keda_operator_info:
  register: keda

- name: Refuse a second KEDA next to the add-on's
  ansible.builtin.assert:
    that: keda.operators | rejectattr('add_on') | list | length == 0
    fail_msg: "KEDA not managed by AKS runs in {{ keda.operators | rejectattr('add_on') | map(attribute='namespace') | join(', ') }}"

- name: The chart's operator in the keda namespace, and its version
  kedaops.aks.keda_operator_info:
    namespace: keda
    kubeconfig: ~/.kube/config
  register: keda_helm
"""

RETURN = r"""
operators:
  description: The KEDA operator Deployments, sorted by namespace and name; empty when there is none.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The Deployment's namespace.
      type: str
      sample: kube-system
    name:
      description: The Deployment's name.
      type: str
      sample: keda-operator
    add_on:
      description: Whether the AKS KEDA add-on deployed it (label C(kubernetes.azure.com/managedby=aks)).
      type: bool
    managed_by:
      description: C(aks) for the add-on, otherwise the C(app.kubernetes.io/managed-by) label (C(Helm) for the
        chart), or null.
      type: str
      sample: Helm
    helm_release:
      description: The Helm release that installed it (Helm's C(meta.helm.sh/release-*) annotations), or null.
      type: dict
      contains:
        name:
          description: The release name.
          type: str
          sample: keda
        namespace:
          description: The release namespace.
          type: str
          sample: keda
    version:
      description: The C(app.kubernetes.io/version) label, else the operator image's tag, or null.
      type: str
      sample: 2.20.2
    image:
      description: The operator container's image.
      type: str
      sample: ghcr.io/kedacore/keda:2.20.2
    service_account:
      description: The service account its pods run as (what workload identity annotates).
      type: str
      sample: keda-operator
    replicas:
      description: The desired replicas.
      type: int
      sample: 1
    ready_replicas:
      description: The replicas ready now.
      type: int
      sample: 1
error:
  description: The Kubernetes API's Status of a failed call.
  returned: on failure from the API
  type: dict
  contains:
    reason:
      description: The Status reason, for example C(Forbidden).
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

from ansible_collections.kedaops.aks.plugins.module_utils._keda_operators import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
