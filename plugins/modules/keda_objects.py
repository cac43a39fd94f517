#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keda_objects
short_description: Converge service accounts, TriggerAuthentications, ScaledObjects and ScaledJobs in one task
version_added: 0.2.0
description:
  - The bulk form of M(kedaops.aks.workload_sa), M(kedaops.aks.keda_trigger_auth), M(kedaops.aks.keda_scaled_object)
    and M(kedaops.aks.keda_scaled_job). One process and one connection to the cluster for what would otherwise be a
    task per object; the P(kedaops.aks.keda_scaling#role) role converges its Kubernetes objects with it.
  - Each item takes the options of its per-item module (C(state) included) and is decided by the same code, with
    the same rules, owned fields, comparison and refusals. Every item of every list is checked before the first
    call; a message names the item, for example C(scaled_objects[1].min_replicas). An object listed twice (the
    same kind, namespace and name, also once with C(state=present) and once with C(state=absent)) is refused then.
  - Before the first write (in check mode too), every ScaledObject of the task is checked against the others
    and against the ScaledObjects and HorizontalPodAutoscalers of its namespace, with the rules of
    M(kedaops.aks.keda_scaled_object) (one ScaledObject per workload and per HPA name, none for a workload an
    HPA KEDA does not own scales); the message names the other object. One list of ScaledObjects per
    namespace, and of HPAs only where a ScaledObject would be written.
  - Objects are converged in the order of the options below, so a scaler finds the TriggerAuthentication that
    an earlier item creates. The first failure stops the run; the objects before it stay converged, and the
    failure says C(changed=true) when any of them was written.
  - Ownership is the per-item modules' (docs/ownership.md) - an object created here carries the label
    C(app.kubernetes.io/managed-by=kedaops.aks); an item with C(state=absent) deletes only an object carrying it
    and keeps any other, with a warning that names the item and the object.
author:
  - kedaops.aks contributors (@kedaops)
options:
  service_accounts:
    description: Service accounts, each with the options of M(kedaops.aks.workload_sa).
    type: list
    elements: dict
    default: []
  trigger_auths:
    description: TriggerAuthentications and ClusterTriggerAuthentications, each with the options of M(kedaops.aks.keda_trigger_auth).
    type: list
    elements: dict
    default: []
  scaled_objects:
    description: ScaledObjects, each with the options of M(kedaops.aks.keda_scaled_object).
    type: list
    elements: dict
    default: []
  scaled_jobs:
    description: ScaledJobs, each with the options of M(kedaops.aks.keda_scaled_job).
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - kedaops.aks.attributes.k8s
  - kedaops.aks.attributes
  - kedaops.aks.k8s_auth
attributes:
  check_mode:
    description: Each object is predicted as its per-item module predicts it (server-side dry runs); a scaler whose
      TriggerAuthentication an earlier item would create is predicted with a warning.
    support: full
  diff_mode:
    description: One before/after pair per object that changes, headed with its kind, namespace and name.
    support: full
seealso:
  - module: kedaops.aks.workload_sa
  - module: kedaops.aks.keda_trigger_auth
  - module: kedaops.aks.keda_scaled_object
  - module: kedaops.aks.keda_scaled_job
  - module: kedaops.aks.workload_bindings
"""

EXAMPLES = r"""
- name: The workload's service account, its TriggerAuthentication and its ScaledJob, in one task
  kedaops.aks.keda_objects:
    service_accounts:
      - namespace: default
        name: myconsumer
        client_id: "{{ identity.client_id }}"
    trigger_auths:
      - name: azure-servicebus-auth
        namespace: default
        identity_id: "{{ identity.client_id }}"
    scaled_jobs:
      - name: myconsumer-scaledjob
        namespace: default
        job_target:
          template:
            spec:
              serviceAccountName: myconsumer
              containers:
                - name: consumer
                  image: ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest
              restartPolicy: Never
        triggers:
          - type: azure-servicebus
            metadata: {queueName: orders, namespace: keda-sb-orders, messageCount: "10"}
            authentication_ref: {name: azure-servicebus-auth}
"""

RETURN = r"""
service_accounts:
  description: Per item of O(service_accounts), M(kedaops.aks.workload_sa)'s result (C(changed), C(service_account)).
  returned: always
  type: list
  elements: dict
trigger_auths:
  description: Per item of O(trigger_auths), M(kedaops.aks.keda_trigger_auth)'s result (C(changed), C(trigger_auth)).
  returned: always
  type: list
  elements: dict
scaled_objects:
  description: Per item of O(scaled_objects), M(kedaops.aks.keda_scaled_object)'s result (C(changed), C(scaled_object)).
  returned: always
  type: list
  elements: dict
scaled_jobs:
  description: Per item of O(scaled_jobs), M(kedaops.aks.keda_scaled_job)'s result (C(changed), C(scaled_job)).
  returned: always
  type: list
  elements: dict
error:
  description: The Kubernetes API's error, when the module failed on a call.
  returned: failure
  type: dict
  contains:
    code:
      description: The HTTP status.
      type: int
    reason:
      description: The Status reason, for example C(Forbidden) or C(Invalid).
      type: str
    message:
      description: The API server's message.
      type: str
"""

from ansible_collections.kedaops.aks.plugins.module_utils._keda_objects import KEDA_OBJECTS_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
