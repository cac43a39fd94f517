#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keda_scaled_job
short_description: KEDA ScaledJob from typed options
version_added: 0.1.0
description:
  - Ensures a KEDA C(ScaledJob) (keda.sh/v1alpha1) that runs one Kubernetes Job per unit of work reported by
    its triggers, for example one consumer per batch of Azure Service Bus messages.
  - Options that are not given are left to KEDA's defaults on creation and untouched afterwards;
    O(job_target) and O(triggers) are owned as a whole.
  - Checked before anything is sent - O(job_target) has a pod template with containers, O(min_replicas) is at
    most O(max_replicas), trigger metadata of the prometheus and azure-servicebus scalers is complete and
    well-formed; before a write, every C(authentication_ref) must exist (a C(TriggerAuthentication) in the
    same namespace, or a C(ClusterTriggerAuthentication)).
  - Jobs that use Azure Workload Identity themselves need the label C(azure.workload.identity/use="true") in
    their pod template and an annotated service account (M(kedaops.aks.workload_sa)).
  - When KEDA's CRDs are not installed the module fails with C(KEDA is not installed (CRD ... missing)); in
    check mode it reports the change it would make and warns instead.
author:
  - kedaops.aks contributors (@kedaops)
extends_documentation_fragment:
  - kedaops.aks.attributes.k8s
  - kedaops.aks.attributes
  - kedaops.aks.k8s_auth
  - kedaops.aks.k8s_auth.keda_triggers
options:
  name:
    description:
      - Name of the ScaledJob.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the ScaledJob and of the Jobs it creates.
    type: str
    required: true
  job_target:
    description:
      - The Job to run, C(spec.jobTargetRef), a C(batch/v1) JobSpec in Kubernetes' own camelCase with at least
        C(template.spec.containers). Required when O(state=present).
      - Compared and patched field by field, because the API server fills in defaults inside the pod template
        (for example a port's C(protocol)); lists, such as C(containers), are replaced as a whole. To remove a
        field of a mapping from the live object, set it to V(null).
    type: dict
  polling_interval:
    description:
      - Seconds between trigger checks, at least 1 (KEDA's default 30).
    type: int
  min_replicas:
    description:
      - C(minReplicaCount), Jobs kept even without work (KEDA's default 0).
    type: int
  max_replicas:
    description:
      - C(maxReplicaCount), the most Jobs at once (KEDA's default 100).
    type: int
  successful_jobs_history_limit:
    description:
      - Finished Jobs to keep (KEDA's default 100).
    type: int
  failed_jobs_history_limit:
    description:
      - Failed Jobs to keep (KEDA's default 100).
    type: int
  env_source_container_name:
    description:
      - Container whose environment the scalers read C(*FromEnv) values from.
    type: str
  scaling_strategy:
    description:
      - How many Jobs to start for the pending work, C(spec.scalingStrategy).
    type: dict
    suboptions:
      strategy:
        description:
          - The strategy (KEDA's default V(default)).
        type: str
        choices: [default, custom, accurate, eager]
      custom_scaling_queue_length_deduction:
        description:
          - For V(custom), messages to deduct from the queue length.
        type: int
      custom_scaling_running_job_percentage:
        description:
          - For V(custom), the share of running Jobs counted as consuming (a number as a string, like V('0.5')).
        type: str
      pending_pod_conditions:
        description:
          - Pod conditions that must be true before a Job stops counting as pending.
        type: list
        elements: str
      multiple_scalers_calculation:
        description:
          - How the triggers' results combine.
        type: str
        choices: [min, avg, sum, max]
  rollout:
    description:
      - What happens to running Jobs when the ScaledJob changes, C(spec.rollout).
    type: dict
    suboptions:
      strategy:
        description:
          - V(immediate) (KEDA's default) replaces running Jobs when the ScaledJob changes; V(gradual) lets them finish.
        type: str
        choices: [gradual, immediate]
      propagation_policy:
        description:
          - Deletion propagation for the Jobs' pods.
        type: str
        choices: [foreground, background]
  state:
    description:
      - Whether the ScaledJob should exist.
      - With V(absent) the object is found by O(name) and O(namespace); any other option
        would be ignored, so one given is refused before any call.
      - Ownership (docs/ownership.md) - an object this module creates carries the label
        C(app.kubernetes.io/managed-by=kedaops.aks), set on creation only (never added to an object it finds).
        With V(absent) only an object carrying it is deleted; one without it is kept, with a warning naming it,
        and the result is not changed.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: kedaops.aks.keda_trigger_auth
  - module: kedaops.aks.keda_scaled_object
  - name: KEDA ScaledJob specification
    description: Every field of the ScaledJob.
    link: https://keda.sh/docs/2.20/reference/scaledjob-spec/
  - name: KEDA Azure Service Bus scaler
    description: Metadata of the azure-servicebus trigger.
    link: https://keda.sh/docs/2.20/scalers/azure-service-bus/
"""

EXAMPLES = r"""
# Scenario B (AKS add-on + Azure Service Bus): one consumer Job per 10 queued messages, KEDA authenticating
# with the TriggerAuthentication azure-servicebus-auth in the same namespace.
- name: Service Bus consumer ScaledJob
  kedaops.aks.keda_scaled_job:
    name: myconsumer-scaledjob
    namespace: default
    job_target:
      template:
        metadata:
          labels:
            azure.workload.identity/use: "true"
        spec:
          serviceAccountName: "{{ mi_name }}"
          containers:
            - image: ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest
              name: myconsumer
              env:
                - {name: OPERATION_MODE, value: "consumer"}
                - {name: MESSAGE_COUNT, value: "10"}
                - {name: AZURE_SERVICEBUS_QUEUE_NAME, value: "{{ sb_queue_name }}"}
                - {name: AZURE_SERVICEBUS_HOSTNAME, value: "{{ sb_hostname }}"}
          restartPolicy: Never
    triggers:
      - type: azure-servicebus
        metadata:
          queueName: "{{ sb_queue_name }}"
          namespace: "{{ sb_name }}"
          messageCount: "10"
        authentication_ref:
          name: azure-servicebus-auth

- name: A topic subscription instead of a queue, at most 5 Jobs
  kedaops.aks.keda_scaled_job:
    name: audit-consumer
    namespace: default
    max_replicas: 5
    scaling_strategy:
      strategy: accurate
    job_target:
      template:
        spec:
          containers:
            - name: consumer
              image: registry.example.com/audit-consumer:1.0
          restartPolicy: Never
    triggers:
      - type: azure-servicebus
        metadata:
          topicName: audit
          subscriptionName: archive
          namespace: sb-keda-demo
        authentication_ref:
          name: azure-servicebus-auth
"""

RETURN = r"""
scaled_job:
  description: The ScaledJob after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    apiVersion: keda.sh/v1alpha1
    kind: ScaledJob
    metadata: {name: myconsumer-scaledjob, namespace: default}
    spec:
      triggers:
        - type: azure-servicebus
          metadata: {queueName: orders, namespace: sb-keda-demo, messageCount: '10'}
          authenticationRef: {name: azure-servicebus-auth}
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

from ansible_collections.kedaops.aks.plugins.module_utils._keda import SCALED_JOB_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
