#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_restart
short_description: Restart a Deployment, StatefulSet or DaemonSet like kubectl rollout restart, only when needed
version_added: 0.1.0
description:
  - Restarts a workload the way C(kubectl rollout restart) does, by setting the pod template annotation
    C(kubectl.kubernetes.io/restartedAt) to the current time, so its controller replaces the pods.
  - With O(unless_env_present) the restart happens only while some live pod of the workload (phase Pending or
    Running, not being deleted) lacks one of the listed environment variables in all of its containers. That
    keeps the Azure Workload Identity fix idempotent - the webhook injects C(AZURE_CLIENT_ID),
    C(AZURE_TENANT_ID), C(AZURE_FEDERATED_TOKEN_FILE) and C(AZURE_AUTHORITY_HOST) only into pods created after
    the service account was annotated, so the KEDA operator is restarted once and then left alone.
  - With O(unless_env_matches_service_account) the restart also happens while some live pod runs with a value
    other than the one the workload's service account names now. The webhook copies the annotations' values
    into a pod only when the pod is created, so after the identity is replaced (deleted and made again, with a
    new client id) the service account names the new client id while the running operator still uses the old
    one, and every token exchange fails (AADSTS700016). Give both options to keep the operator on the
    identity its account names - restarted once after the annotation changes, then left alone.
  - Without O(unless_env_present) and O(unless_env_matches_service_account) every run restarts the workload
    and reports a change, like kubectl.
  - With O(wait) the module waits until the rollout has finished, using the same rules as
    C(kubectl rollout status).
author:
  - kedaops.aks contributors (@kedaops)
extends_documentation_fragment:
  - kedaops.aks.attributes.k8s
  - kedaops.aks.attributes
  - kedaops.aks.k8s_auth
attributes:
  check_mode:
    description: Can run in check mode; reports whether a restart would happen. The restart is sent as a
      server-side dry run (C(dryRun=All)) and nothing waits. A workload that does not exist yet (an earlier task
      of the run would create it) is predicted as restarted, with a warning; a real run reads the workload first
      and fails naming it, without sending the restart.
    support: full
  diff_mode:
    description: Shows the pod template annotation a restart sets.
    support: full
  idempotent:
    support: partial
    details: >-
      With O(unless_env_present) and/or O(unless_env_matches_service_account) a second run finds the variables,
      with the values the service account names, in every pod and restarts nothing; without either, every run
      restarts.
options:
  namespace:
    description:
      - Namespace of the workload.
    type: str
    required: true
  name:
    description:
      - Name of the workload.
    type: str
    required: true
  kind:
    description:
      - Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  unless_env_present:
    description:
      - Environment variable names. When given, restart only if a live pod of the workload lacks at least one
        of them; when every live pod has them all (or there is no live pod), nothing is changed.
      - Only variables declared in the pods' containers count (C(env)), which is where the workload identity
        webhook injects them.
    type: list
    elements: str
  unless_env_matches_service_account:
    description:
      - Environment variable names mapped to annotation keys of the service account the workload's pod template
        runs as (C(serviceAccountName), C(default) when unset). When given, restart also if a live pod's value
        of a variable differs from the annotation's value as the service account has it now - a container with
        another value, a pod without the variable while the annotation is set, or a pod with the variable
        while the annotation is gone. A restart makes the webhook inject the current values.
      - For the Azure Workload Identity webhook, map C(AZURE_CLIENT_ID) to C(azure.workload.identity/client-id) and
        C(AZURE_TENANT_ID) to C(azure.workload.identity/tenant-id) (see the examples).
        Name only variables the pods get from that annotation alone (the webhook falls back to the cluster's
        tenant when C(azure.workload.identity/tenant-id) is unset, so map AZURE_TENANT_ID only while the
        account carries that annotation).
      - The service account is read once per run, before the restart, as it stands. In check mode an
        annotation an earlier task of the run would change is read unchanged.
    type: dict
  wait:
    description:
      - Wait for the rollout to finish after a restart.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait with O(wait=true) before failing; at least C(1).
    type: int
    default: 300
seealso:
  - module: kedaops.aks.workload_sa
  - name: kubectl rollout restart
    description: The command this module reproduces.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_restart/
"""

EXAMPLES = r"""
- name: Restart the AKS add-on's KEDA operator until it has the workload identity variables
  kedaops.aks.rollout_restart:
    namespace: kube-system
    name: keda-operator
    unless_env_present:
      - AZURE_CLIENT_ID
      - AZURE_TENANT_ID
      - AZURE_FEDERATED_TOKEN_FILE
      - AZURE_AUTHORITY_HOST
    wait: true
    timeout: 300
  register: operator_restart

- name: ... and also when it still runs with a client id its service account no longer names
  kedaops.aks.rollout_restart:
    namespace: kube-system
    name: keda-operator
    unless_env_present: [AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST]
    unless_env_matches_service_account:
      AZURE_CLIENT_ID: azure.workload.identity/client-id
      AZURE_TENANT_ID: azure.workload.identity/tenant-id
    wait: true

- name: Show the operator pods
  ansible.builtin.debug:
    var: operator_restart.pods

- name: Plain restart, every time (kubectl rollout restart statefulset/web)
  kedaops.aks.rollout_restart:
    namespace: default
    name: web
    kind: StatefulSet
"""

RETURN = r"""
restarted:
  description: Whether the workload was restarted (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
restarted_at:
  description: The value written to C(kubectl.kubernetes.io/restartedAt).
  returned: when restarted
  type: str
  sample: "2026-11-22T14:03:07+00:00"
pods:
  description:
    - The workload's live pods (Pending or Running, not being deleted), oldest first.
    - After a restart with O(wait=true), the pods of the finished rollout; without waiting, the pods at the time
      of the restart.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Pod name.
      type: str
      sample: keda-operator-7d9f8b6c5d-x2x7q
    phase:
      description: Pod phase.
      type: str
      sample: Running
    ready:
      description: Whether the pod's Ready condition is true.
      type: bool
      sample: true
    env:
      description: Names of the environment variables declared in the pod's containers (names only, no values).
      type: list
      elements: str
      sample: [AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID]
    missing_env:
      description: The O(unless_env_present) names this pod lacks.
      type: list
      elements: str
      sample: []
    stale_env:
      description:
        - The O(unless_env_matches_service_account) names whose value in this pod is not the one the service
          account's annotation names (names only, no values).
      returned: with O(unless_env_matches_service_account)
      type: list
      elements: str
      sample: [AZURE_CLIENT_ID]
    created:
      description: The pod's creation timestamp.
      type: str
      sample: "2026-11-22T14:03:09Z"
error:
  description: The Kubernetes API's Status of a failed call.
  returned: on failure from the API
  type: dict
  contains:
    reason:
      description: The Status reason, for example C(Forbidden) or C(NotFound).
      type: str
      sample: NotFound
    code:
      description: The HTTP status code.
      type: int
      sample: 404
    message:
      description: The server's message.
      type: str
"""

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_rollout import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
