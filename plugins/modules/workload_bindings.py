#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_bindings
short_description: Converge many KEDA workload identity bindings in one run
version_added: 0.1.0
description:
  - Reconciles a list of workload bindings in one process. A binding is the whole trust chain of one
    workload, the namespace, the service account annotated with the identity's client id
    (M(kedaops.aks.workload_sa)), the federated credential on the user-assigned identity
    (M(kedaops.aks.federated_credential)), an optional TriggerAuthentication (M(kedaops.aks.keda_trigger_auth))
    and ScaledObject (M(kedaops.aks.keda_scaled_object)), and the identity's role assignments
    (M(kedaops.aks.role_assignment)).
  - The bulk form of those modules, for tens to hundreds of bindings, where one task per object
    (a process, the imports and a token each) is what takes the time. The objects are read with a few list
    calls (per identity, its federated credentials; cluster-wide or per namespace, the namespaces, service
    accounts, TriggerAuthentications and ScaledObjects), and only the differences are written.
  - Each object is decided by the same code as its per-item module, the same option rules (the messages name
    the binding, for example C(bindings[3].namespace)), the same owned fields and comparison, the same
    refusals (a 21st credential on an identity, an issuer and subject pair that exists under another name,
    a ScaledObject whose TriggerAuthentication does not exist in its namespace) and the same error codes.
  - Before any write, Azure's included (in check mode too), two bindings whose ScaledObjects scale one workload
    or share an HPA name are refused, and so is a ScaledObject that would be written for a workload another
    ScaledObject or an HPA KEDA does not own already scales (KEDA's admission webhook rules, see
    M(kedaops.aks.keda_scaled_object)); the message names the other object. HPAs are listed only when a
    ScaledObject would be written.
  - Identities are worked on in parallel threads. The federated credential writes of one identity are
    serialised, under the same controller-wide lock file as M(kedaops.aks.federated_credential), and
    C(ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity) is retried with jittered backoff.
  - The identities must exist (M(kedaops.aks.managed_identity) creates them); their client, principal and
    tenant ids are read from Azure, never typed.
  - A binding with O(bindings[].state=absent) removes its ScaledObject, TriggerAuthentication, service account
    and federated credential, and its role assignments unless a present binding of the same identity still
    lists them. Namespaces are never deleted.
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description:
      - Resource group of the identities, unless a binding names its own O(bindings[].identity_resource_group).
    type: str
  issuer:
    description:
      - The cluster's OIDC issuer URL, exactly (trailing slash included), trusted by every credential.
        M(kedaops.aks.aks_cluster) returns it as RV(kedaops.aks.aks_cluster#module:cluster.oidc_issuer_url).
      - Required when a binding is present.
    type: str
  audiences:
    description: The audience of every credential; Entra allows exactly one.
    type: list
    elements: str
    default: [api://AzureADTokenExchange]
  bindings:
    description: The workload bindings.
    type: list
    elements: dict
    required: true
    suboptions:
      namespace:
        description: Namespace of the workload, its service account, TriggerAuthentication and ScaledObject.
        type: str
        required: true
      service_account:
        description:
          - The workload's service account. The credential's subject is
            C(system:serviceaccount:<namespace>:<service_account>).
        type: str
        required: true
      identity:
        description: Name of the user-assigned managed identity the workload uses.
        type: str
        required: true
      identity_resource_group:
        description: Resource group of the identity; defaults to O(resource_group).
        type: str
      credential_name:
        description: Name of the federated credential; default C(<namespace>-<service_account>).
        type: str
      create_namespace:
        description: Create the namespace when it does not exist.
        type: bool
        default: true
      service_account_labels:
        description: Labels set on the service account (others are kept).
        type: dict
      token_expiration:
        description: Lifetime in seconds of the projected token, 3600 to 86400 (the webhook's annotation).
        type: int
      trigger_auth:
        description:
          - A TriggerAuthentication in the namespace (provider C(azure-workload), C(identityId) the identity's
            client id). Bindings of one namespace may share one by name, if they use the same identity.
        type: dict
        suboptions:
          name:
            description: Name of the TriggerAuthentication.
            type: str
            required: true
          identity_tenant_id:
            description: C(identityTenantId), for an identity in another tenant.
            type: str
          identity_authority_host:
            description: C(identityAuthorityHost), for a sovereign cloud; needs O(bindings[].trigger_auth.identity_tenant_id).
            type: str
      scaled_object:
        description:
          - A ScaledObject in the namespace, with the options of M(kedaops.aks.keda_scaled_object) (but
            O(kedaops.aks.keda_scaled_object#module:namespace) and O(kedaops.aks.keda_scaled_object#module:state),
            which are the binding's).
        type: dict
        suboptions:
          name:
            description: Name of the ScaledObject (at most 54 characters, KEDA names the HPA C(keda-hpa-<name>)).
            type: str
            required: true
          scale_target:
            description: The workload to scale, C(spec.scaleTargetRef).
            type: dict
            suboptions:
              name:
                description: Name of the workload.
                type: str
                required: true
              kind:
                description: Its kind; KEDA's default is C(Deployment).
                type: str
              api_version:
                description: Its API version; KEDA's default is C(apps/v1).
                type: str
              env_source_container_name:
                description: Container whose environment the scalers read C(*FromEnv) values from.
                type: str
          min_replicas:
            description: C(minReplicaCount).
            type: int
          max_replicas:
            description: C(maxReplicaCount).
            type: int
          polling_interval:
            description: C(pollingInterval), seconds.
            type: int
          cooldown_period:
            description: C(cooldownPeriod), seconds.
            type: int
          initial_cooldown_period:
            description: C(initialCooldownPeriod), seconds.
            type: int
          idle_replica_count:
            description: C(idleReplicaCount), less than min_replicas.
            type: int
          fallback:
            description: C(spec.fallback).
            type: dict
            suboptions:
              failure_threshold:
                description: Consecutive failures before the fallback applies.
                type: int
                required: true
              replicas:
                description: Replica count during the fallback.
                type: int
                required: true
              behavior:
                description: How the fallback replica count is applied.
                type: str
                choices: [static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower, scalingModifiers]
          advanced:
            description: C(spec.advanced), in KEDA's camelCase.
            type: dict
          triggers:
            description:
              - The scalers, C(spec.triggers), as in M(kedaops.aks.keda_scaled_object) (metadata values are
                sent as strings; C(prometheus) and C(azure-servicebus) metadata are checked).
            type: list
            elements: dict
            suboptions:
              type:
                description: The scaler type, for example V(prometheus) or V(azure-servicebus).
                type: str
                required: true
              metadata:
                description: The scaler's parameters.
                type: dict
                required: true
              name:
                description: Optional trigger name.
                type: str
              metric_type:
                description: How the metric is compared with the target.
                type: str
                choices: [AverageValue, Value, Utilization]
              use_cached_metrics:
                description: Serve the HPA from KEDA's metrics cache.
                type: bool
              authentication_ref:
                description:
                  - The TriggerAuthentication (in the namespace) or ClusterTriggerAuthentication the scaler uses;
                    it must exist, or be stated by a binding of the same run.
                type: dict
                suboptions:
                  name:
                    description: Its name.
                    type: str
                    required: true
                  kind:
                    description: Its kind; KEDA's default is V(TriggerAuthentication).
                    type: str
                    choices: [TriggerAuthentication, ClusterTriggerAuthentication]
      role_assignments:
        description:
          - Roles the binding's identity holds (see M(kedaops.aks.role_assignment)); bindings of one identity
            listing the same role on the same scope make one assignment.
        type: list
        elements: dict
        default: []
        suboptions:
          scope:
            description: The resource id the role is granted on.
            type: str
            required: true
          role:
            description: Role name, role definition GUID or full role definition id.
            type: str
            required: true
      state:
        description:
          - Whether the binding's objects should exist.
          - With V(absent), the TriggerAuthentication and ScaledObject are deleted only when they carry the label
            C(app.kubernetes.io/managed-by=kedaops.aks) that this module sets when it creates them; one without it
            (created by someone else) is kept with a warning, action C(kept).
        type: str
        choices: [present, absent]
        default: present
  list_scope:
    description:
      - How the Kubernetes objects are read, V(cluster) with one list call per kind, or V(namespace) with one
        call per kind and namespace (for credentials allowed to list only in those namespaces).
    type: str
    choices: [cluster, namespace]
    default: cluster
  parallel:
    description: Worker threads, each for Azure (identities) and for Kubernetes (namespaces).
    type: int
    default: 5
  timeout:
    description:
      - Seconds to wait for an identity's write lock, to retry the concurrent-write conflict, and to retry
        C(PrincipalNotFound) while a new identity replicates; at least C(1).
    type: int
    default: 300
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.k8s_auth
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: >-
      Reads everything and predicts each change; Kubernetes writes are sent as server-side dry runs
      (C(dryRun=All)), Azure is not written to.
  diff_mode:
    support: full
    details: The C(before) and C(after) of every object that changes, keyed by kind and name.
  action_group:
    description: Member of both C(group/kedaops.aks.azure) and C(group/kedaops.aks.k8s).
    support: full
    membership:
      - kedaops.aks.azure
      - kedaops.aks.k8s
notes:
  - Cluster-wide reads need list permission on namespaces, service accounts, TriggerAuthentications and
    ScaledObjects; with O(list_scope=namespace) only in the bindings' namespaces (and get on those namespaces).
  - A failure of one binding does not stop the others; the module then fails with the first error's
    C(error) and every failure in C(errors), and still returns what was done.
seealso:
  - module: kedaops.aks.workload_sa
  - module: kedaops.aks.federated_credential
  - module: kedaops.aks.keda_trigger_auth
  - module: kedaops.aks.keda_scaled_object
  - module: kedaops.aks.role_assignment
  - name: The workload_bindings role
    description: Creates the identities, reads the issuer from the cluster and hands the list to this module.
    link: https://github.com/kedaops/aks/tree/main/roles/workload_bindings
"""

EXAMPLES = r"""
- name: Read the cluster's OIDC issuer
  kedaops.aks.aks_cluster:
    resource_group: rg-keda-integration
    name: aks-cluster-name
  register: aks

- name: Every team's binding in one task (the list is built in vars, as the workload_bindings role does)
  kedaops.aks.workload_bindings:
    resource_group: rg-keda-integration
    issuer: "{{ aks.cluster.oidc_issuer_url }}"
    bindings: "{{ team_bindings }}"

- name: One binding, spelled out
  kedaops.aks.workload_bindings:
    resource_group: rg-keda-integration
    issuer: "{{ aks.cluster.oidc_issuer_url }}"
    bindings:
      - namespace: team-a
        service_account: worker
        identity: keda-team-identity-1
        trigger_auth:
          name: azure-workload
        scaled_object:
          name: worker
          scale_target:
            name: worker
          max_replicas: 10
          triggers:
            - type: azure-servicebus
              metadata:
                namespace: sb-keda-demo
                queueName: orders
                messageCount: 5
              authentication_ref:
                name: azure-workload
        role_assignments:
          - scope: /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-keda-integration/providers/Microsoft.ServiceBus/namespaces/sb-keda-demo
            role: Azure Service Bus Data Owner

- name: Remove a binding (its scaler, authentication, account and credential)
  kedaops.aks.workload_bindings:
    resource_group: rg-keda-integration
    bindings:
      - namespace: team-a
        service_account: worker
        identity: keda-team-identity-1
        trigger_auth: {name: azure-workload}
        scaled_object: {name: worker}
        state: absent
"""

RETURN = r"""
bindings:
  description: One entry per binding, in the order given (the prediction in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The binding's namespace.
      type: str
      sample: team-a
    service_account:
      description: The binding's service account.
      type: str
      sample: worker
    identity:
      description: The identity's name.
      type: str
      sample: keda-team-identity-1
    client_id:
      description: The identity's client id (null in check mode when the identity does not exist yet).
      type: str
      sample: 5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c
    credential_name:
      description: The federated credential's name.
      type: str
      sample: team-a-worker
    state:
      description: The binding's state.
      type: str
      sample: present
    changed:
      description: Whether anything of this binding changed.
      type: bool
    actions:
      description:
        - What was done per object, C(created), C(updated), C(deleted), C(unchanged), C(absent), C(kept) or
          C(failed). C(kept) is a TriggerAuthentication or ScaledObject that C(state=absent) left in place because
          kedaops.aks did not create it (no C(app.kubernetes.io/managed-by=kedaops.aks) label), with a warning.
        - The keys are C(namespace) (only when this binding created it), C(service_account), C(credential),
          C(trigger_auth), C(scaled_object), and C(role_assignments) (a list of C(scope), C(role), C(action)).
      type: dict
      sample: {"service_account": "created", "credential": "created", "trigger_auth": "unchanged",
               "scaled_object": "updated", "role_assignments": [{"scope": "/subscriptions/...", "role": "Azure Service Bus Data Owner",
               "action": "unchanged"}]}
summary:
  description: Counts of the actions per kind of object.
  returned: always
  type: dict
  sample: {"service_account": {"created": 100}, "credential": {"created": 100}, "role_assignments": {"unchanged": 100}}
identities:
  description: The identities used, by C(<resource group>/<name>), with their C(client_id), C(principal_id), C(tenant_id).
  returned: always
  type: dict
  sample: {"rg-keda-integration/keda-team-identity-1": {"client_id": "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c",
           "principal_id": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}}
error:
  description:
    - The first failure's error as the per-item module reports it, Azure's C(code), C(message), C(status), or the
      Kubernetes Status C(reason), C(code), C(message).
  returned: failure
  type: dict
errors:
  description: Every failure, with C(where) (the binding and object), C(msg) and C(error).
  returned: failure
  type: list
  elements: dict
"""

from ansible_collections.kedaops.aks.plugins.module_utils._bindings import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
