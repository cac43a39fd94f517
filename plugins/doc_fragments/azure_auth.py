# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared documentation of the Azure modules: auth options, requirements, action group."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  subscription_id:
    description:
      - The Azure subscription the resource lives in.
      - Falls back to the E(AZURE_SUBSCRIPTION_ID) environment variable.
    type: str
  auth_source:
    description:
      - How to authenticate to Azure, through the C(azure-identity) library.
      - V(env) uses a service principal secret, O(tenant), O(client_id) and O(secret).
      - V(workload_identity) exchanges the Kubernetes service account token found in
        E(AZURE_FEDERATED_TOKEN_FILE) for O(client_id) in O(tenant); this is what runs inside AWX or an
        execution environment on AKS with Microsoft Entra Workload ID (the webhook injects
        E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID), E(AZURE_FEDERATED_TOKEN_FILE) and E(AZURE_AUTHORITY_HOST)).
      - V(msi) uses the managed identity of the Azure machine (O(client_id) selects a user-assigned one).
      - V(cli) uses the login of the Azure CLI (C(az login)).
      - V(auto) picks the first that applies, in this order, V(env) when a secret is given,
        V(workload_identity) when E(AZURE_FEDERATED_TOKEN_FILE) is set, V(msi) when the environment
        advertises a managed identity endpoint (E(IDENTITY_ENDPOINT) or E(MSI_ENDPOINT)), V(cli) when
        C(az) is installed, else V(msi).
      - Falls back to the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
    type: str
    default: auto
    choices: [auto, env, cli, msi, workload_identity]
  tenant:
    description:
      - The Microsoft Entra tenant (directory) id.
      - Falls back to E(AZURE_TENANT_ID), then E(AZURE_TENANT) (the azure.azcollection name).
    type: str
  client_id:
    description:
      - The client (application) id of the service principal, workload identity or user-assigned managed identity.
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - The service principal's client secret.
      - Falls back to E(AZURE_CLIENT_SECRET), then E(AZURE_SECRET) (the azure.azcollection name).
    type: str
  cloud_environment:
    description:
      - The Azure cloud, V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment), or the base URL of an
        Azure Resource Manager endpoint (Azure Stack Hub, a private cloud, a test double).
      - For a URL, the token audience and login endpoint are read from the endpoint's
        C(/metadata/endpoints) document; when it has none, the public ARM scope
        C(https://management.azure.com/.default) is used.
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
    default: AzureCloud
  authority_host:
    description:
      - The Microsoft Entra login endpoint, for example C(https://login.microsoftonline.com).
      - Defaults to the login endpoint of O(cloud_environment). Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
requirements:
  - python >= 3.9
  - azure-identity >= 1.15.0
  - azure-mgmt-core >= 1.4.0
notes:
  - Transient failures (HTTP 429, 408, 500, 502, 503, 504, and any error carrying C(Retry-After)) are
    retried up to five times with exponential backoff, waiting as long as C(Retry-After) says.
  - TLS verification uses the system trust store, or the CA bundle in E(REQUESTS_CA_BUNDLE).
  - The module runs on the Ansible controller (or execution environment); it talks to Azure only.
  - Run on the controller (a local connection, C(delegate_to=localhost) included), the task runs in the
    controller's worker through the module's action plugin, and within one C(ansible-playbook) run the
    Azure token (per tenant, client, authority and scope) and the cloud's endpoint metadata are fetched
    once and reused by later tasks. They are held only in a private directory inside the run's local temp
    directory (0700, removed when the run ends), encrypted under a key that exists only in the run's
    memory; never in host vars, facts, results or logs. Set the C(kedaops_aks_shell=module) variable or
    E(KEDAOPS_AKS_SHELL=module) to run the module as a process of its own instead.
  - Reuse across runs is an opt-in, E(KEDAOPS_AZURE_TOKEN_CACHE) naming a directory (unset, the default,
    caches nothing across runs). The directory must belong to the user and be closed to group and others
    (it is created 0700, files 0600; otherwise nothing is cached). Each token is encrypted (AES-256-GCM)
    under a key derived from the credential's own secret, the client secret or the workload identity's
    federated token, so only the V(env) and V(workload_identity) auth sources are cached there; a token
    is reused until 5 minutes before it expires. Delete the directory when it is no longer needed.
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/kedaops.aks.azure) in C(module_defaults) to set the auth options once for every Azure module.
    support: full
    membership:
      - kedaops.aks.azure
"""
