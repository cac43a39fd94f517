#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keda_scaled_object
short_description: KEDA ScaledObject from typed options
version_added: 0.1.0
description:
  - Ensures a KEDA C(ScaledObject) (keda.sh/v1alpha1) that scales a Deployment, StatefulSet or any C(/scale)
    resource on the given triggers.
  - Options that are not given are left to KEDA's defaults on creation and untouched afterwards;
    O(scale_target) and O(triggers) are owned as a whole.
  - Checked before anything is sent, with KEDA's rules - the name is at most 63 characters and the HPA
    KEDA creates, C(keda-hpa-<name>), too (so at most 54 characters unless
    C(advanced.horizontalPodAutoscalerConfig.name) names the HPA); O(min_replicas) is at most O(max_replicas)
    (100 when unset); O(idle_replica_count) is below O(min_replicas); trigger metadata of the prometheus and
    azure-servicebus scalers is complete and well-formed.
  - Before a write, every C(authentication_ref) must exist, a C(TriggerAuthentication) in the same namespace
    (KEDA looks nowhere else) or a C(ClusterTriggerAuthentication).
  - Before a write (in check mode too), the rules KEDA's admission webhook (C(vscaledobject.kb.io)) applies
    against other objects of the namespace - the workload of O(scale_target) is not already scaled by
    another ScaledObject, the HPA name is not another ScaledObject's, and no HorizontalPodAutoscaler KEDA
    does not own (one not annotated C(validations.keda.sh/hpa-ownership=false)) scales the workload. The
    message names the other object. KEDA's webhook fails open (C(failurePolicy=Ignore)), so the collection
    does not rely on it. Two lists (ScaledObjects, HPAs of the namespace), only when something is written.
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
      - Name of the ScaledObject.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the ScaledObject and of the workload it scales.
    type: str
    required: true
  scale_target:
    description:
      - The workload to scale, C(spec.scaleTargetRef). Required when O(state=present).
    type: dict
    suboptions:
      name:
        description:
          - Name of the workload.
        type: str
        required: true
      kind:
        description:
          - Its kind; KEDA's default is C(Deployment).
        type: str
      api_version:
        description:
          - Its API version; KEDA's default is C(apps/v1).
        type: str
      env_source_container_name:
        description:
          - Container whose environment the scalers read C(*FromEnv) values from.
        type: str
  min_replicas:
    description:
      - C(minReplicaCount), at least 0 (KEDA's default 0 scales to zero).
    type: int
  max_replicas:
    description:
      - C(maxReplicaCount), at least 1 (KEDA's default 100).
    type: int
  polling_interval:
    description:
      - Seconds between trigger checks, at least 1 (KEDA's default 30).
    type: int
  cooldown_period:
    description:
      - Seconds after the last active trigger before scaling to zero (KEDA's default 300).
    type: int
  initial_cooldown_period:
    description:
      - Seconds after creation before the first scale to zero (KEDA's default 0).
    type: int
  idle_replica_count:
    description:
      - Replicas while no trigger is active; must be less than O(min_replicas).
    type: int
  fallback:
    description:
      - Replicas to run when a scaler keeps failing, C(spec.fallback).
    type: dict
    suboptions:
      failure_threshold:
        description:
          - Consecutive failures before the fallback applies.
        type: int
        required: true
      replicas:
        description:
          - Replica count during the fallback.
        type: int
        required: true
      behavior:
        description:
          - How the fallback replica count is applied (KEDA's default V(static)).
        type: str
        choices: [static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower, scalingModifiers]
  advanced:
    description:
      - C(spec.advanced) as KEDA defines it (C(restoreToOriginalReplicaCount), C(horizontalPodAutoscalerConfig),
        C(scalingModifiers)), in KEDA's own camelCase; the keys given are managed, others are kept.
    type: dict
  state:
    description:
      - Whether the ScaledObject should exist.
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
  - module: kedaops.aks.keda_scaled_job
  - name: KEDA ScaledObject specification
    description: Every field of the ScaledObject.
    link: https://keda.sh/docs/2.20/reference/scaledobject-spec/
  - name: KEDA Prometheus scaler
    description: Metadata of the prometheus trigger.
    link: https://keda.sh/docs/2.20/scalers/prometheus/
"""

EXAMPLES = r"""
# Scenario A (Azure Managed Prometheus): the Azure Monitor workspace's query endpoint, authenticated with
# Azure Workload Identity through the TriggerAuthentication made by kedaops.aks.keda_trigger_auth.
- name: Scale on Azure Managed Prometheus
  kedaops.aks.keda_scaled_object:
    name: azure-managed-prometheus-scaler
    namespace: default
    scale_target:
      name: deployment-name-to-be-scaled
    min_replicas: 1
    max_replicas: 20
    triggers:
      - type: prometheus
        metadata:
          serverAddress: https://test-azure-monitor-workspace-name-1234.eastus.prometheus.monitor.azure.com
          metricName: http_requests_total
          query: sum(rate(http_requests_total{deployment="my-deployment"}[2m]))
          threshold: '100.50'          # quoted: sent exactly as written
          activationThreshold: '5.5'
        authentication_ref:
          name: azure-managed-prometheus-trigger-auth

- name: Scale a StatefulSet on an Azure Service Bus queue
  kedaops.aks.keda_scaled_object:
    name: orders-consumer
    namespace: default
    scale_target:
      name: orders-consumer
      kind: StatefulSet
    max_replicas: 10
    triggers:
      - type: azure-servicebus
        metadata:
          queueName: orders
          namespace: sb-keda-demo
          messageCount: 10             # a YAML number: sent as "10"
        authentication_ref:
          name: azure-servicebus-auth

- name: Remove the ScaledObject
  kedaops.aks.keda_scaled_object:
    name: azure-managed-prometheus-scaler
    namespace: default
    state: absent
"""

RETURN = r"""
scaled_object:
  description: The ScaledObject after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    apiVersion: keda.sh/v1alpha1
    kind: ScaledObject
    metadata: {name: azure-managed-prometheus-scaler, namespace: default}
    spec:
      scaleTargetRef: {name: deployment-name-to-be-scaled}
      minReplicaCount: 1
      maxReplicaCount: 20
      triggers:
        - type: prometheus
          metadata: {threshold: '100.50', activationThreshold: '5.5'}
          authenticationRef: {name: azure-managed-prometheus-trigger-auth}
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

from ansible_collections.kedaops.aks.plugins.module_utils._keda import SCALED_OBJECT_RESOURCE as RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
