# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # kubernetes.core's option names, so module_defaults written for kubernetes.core.k8s carry over.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Several files can be given separated by C(:) (C(;) on Windows); they are merged like C(kubectl) does.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable. When neither is set and no
        O(host) with credentials is given, E(KUBECONFIG) is read, then C(~/.kube/config), then the in-cluster
        service account.
    type: raw
  context:
    description:
      - The kubeconfig context to use instead of its current context.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server. Overrides the server of the kubeconfig context.
      - With O(api_key), or O(client_cert) and O(client_key), no kubeconfig is read.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token for the API server.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to the CA certificate (full chain) that signed the API server's certificate.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate to authenticate with.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
requirements:
  - kubernetes >= 28.1.0 (the Python client; only its kubeconfig loader and HTTP pool are used)
notes:
  - The module talks to fixed REST paths; it does no API discovery and uses none of the client's typed API
    classes, so a run that changes nothing costs one request.
  - All Kubernetes modules of this collection belong to the action group C(kedaops.aks.k8s), so
    C(module_defaults) for C(group/kedaops.aks.k8s) sets these options once.
"""

    # The trigger list shared by keda_scaled_object and keda_scaled_job (KEDA's ScaleTriggers).
    KEDA_TRIGGERS = r"""
options:
  triggers:
    description:
      - The scalers, KEDA's C(spec.triggers). Required when O(state=present). The list is owned as a whole.
      - Each C(metadata) value is sent as a string, as KEDA requires (C(map[string]string)); YAML numbers and
        booleans are converted (V(100.5) becomes C("100.5"), V(true) becomes C("true")), and strings are kept
        exactly as written, so quote a value whose spelling matters (V('100.50')).
      - B(prometheus) needs C(serverAddress) (for Azure Managed Prometheus the Azure Monitor workspace's query
        endpoint), C(query) (must return a single element), C(threshold) and optionally C(activationThreshold)
        (numbers). With an Azure Workload Identity TriggerAuthentication, the identity needs the
        C(Monitoring Data Reader) role on the Azure Monitor workspace.
      - B(azure-servicebus) needs C(queueName), or C(topicName) with C(subscriptionName); C(namespace) (the bare
        Service Bus namespace name, required with pod identity); optionally C(messageCount) and
        C(activationMessageCount) (integers). The identity needs C(Azure Service Bus Data Owner) on the namespace
        (KEDA reads runtime properties through the management API).
      - Both scalers' metadata keys are checked before anything is sent; other scaler types are passed through
        with their metadata converted to strings.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - The scaler type, for example V(prometheus) or V(azure-servicebus).
        type: str
        required: true
      metadata:
        description:
          - The scaler's parameters.
        type: dict
        required: true
      name:
        description:
          - Optional trigger name (used by scaling modifiers formulas).
        type: str
      metric_type:
        description:
          - How the metric is compared with the target.
        type: str
        choices: [AverageValue, Value, Utilization]
      use_cached_metrics:
        description:
          - Serve the HPA from KEDA's metrics cache (polled every polling interval).
        type: bool
      authentication_ref:
        description:
          - The TriggerAuthentication (in the same namespace) or ClusterTriggerAuthentication the scaler
            authenticates with.
          - It must exist before the scaler is written; KEDA itself would ignore a missing one and scale without
            credentials (401/403 from the metric source).
        type: dict
        suboptions:
          name:
            description:
              - Name of the TriggerAuthentication or ClusterTriggerAuthentication.
            type: str
            required: true
          kind:
            description:
              - Its kind; KEDA's default is V(TriggerAuthentication).
            type: str
            choices: [TriggerAuthentication, ClusterTriggerAuthentication]
"""
