# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin: AKS managed clusters and Azure Arc connected clusters as hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: clusters
short_description: AKS managed clusters and Azure Arc connected clusters as inventory hosts
version_added: 0.1.0
description:
  - Lists the AKS managed clusters (C(Microsoft.ContainerService/managedClusters)) and Azure Arc-enabled
    Kubernetes connected clusters (C(Microsoft.Kubernetes/connectedClusters)) of one or more subscriptions
    and adds each cluster as a host with C(ansible_connection=local); the roles then converge every cluster
    from the controller, one host per cluster.
  - One list request per subscription and kind, at subscription level, following C(nextLink); no cluster
    credential is fetched at inventory time.
  - Host names are the cluster names. When two listed clusters share a name, the first of
    C(<name>.<resource group>), C(<name>.<resource group>.<kind>) and
    C(<name>.<resource group>.<kind>.<subscription id>) that no other listed cluster shares is used
    (resource group in lower case).
  - "Host vars: C(cluster_kind) (V(aks) or V(arc)), C(cluster_id), C(cluster_subscription_id),
    C(cluster_resource_group), C(cluster_name), C(cluster_location), C(cluster_kubernetes_version),
    C(cluster_provisioning_state), C(cluster_oidc_issuer) (bool), C(cluster_oidc_issuer_url) (the
    effective issuer a federated credential must carry: AKS C(oidcIssuerProfile.issuerURL); Arc
    C(selfHostedIssuerUrl) when set, else C(issuerUrl); null while the issuer is off),
    C(cluster_workload_identity) (bool), C(cluster_keda) (the AKS KEDA add-on, bool; null on Arc) and
    C(cluster_tags)."
  - Every host also gets C(ansible_connection=local) and C(ansible_python_interpreter={{ ansible_playbook_python }})
    (the controller's Python, as for the implicit localhost); O(compose) can override both.
  - Inventory files must end in C(.kedaops_aks.yml) or C(.kedaops_aks.yaml).
  - Authentication is the one of the collection's Azure modules (same options, same C(AZURE_*) variables).
author:
  - kedaops.aks contributors (@kedaops)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - python >= 3.9
  - azure-identity >= 1.15.0
  - azure-mgmt-core >= 1.4.0
options:
  plugin:
    description: The name of this plugin, so that the inventory file is recognised.
    required: true
    type: str
    choices: [kedaops.aks.clusters]
  subscriptions:
    description:
      - The subscription ids to list clusters in.
      - Empty (the default) lists the subscription of O(subscription_id) (or E(AZURE_SUBSCRIPTION_ID)); when
        that is not set either, every enabled subscription the credential can see (one more request).
    type: list
    elements: str
    default: []
  kinds:
    description: Which clusters to list; one list request per subscription and kind.
    type: list
    elements: str
    choices: [aks, arc]
    default: [aks, arc]
  resource_groups:
    description: Keep only clusters in these resource groups (names compared case-insensitively). Empty keeps all.
    type: list
    elements: str
    default: []
  locations:
    description: Keep only clusters in these Azure regions (V(eastus), V(West Europe), ...). Empty keeps all.
    type: list
    elements: str
    default: []
  include_tags:
    description:
      - Keep only clusters that carry every tag named here, with the value given (null or an empty
        string for any value). Tag names are compared case-insensitively, values exactly, as Azure does.
    type: dict
    default: {}
  exclude_tags:
    description: Drop clusters that carry any tag named here, with the value given (null or an empty string for any value).
    type: dict
    default: {}
  name_pattern:
    description: Keep only clusters whose name matches this shell-style glob, for example V(aks-prod-*) (case-sensitive).
    type: str
  subscription_id:
    description:
      - The default subscription, used when O(subscriptions) is empty. Falls back to E(AZURE_SUBSCRIPTION_ID).
    type: str
  auth_source:
    description:
      - How to authenticate to Azure, exactly as the collection's modules do (V(auto), V(env), V(cli), V(msi),
        V(workload_identity)); see M(kedaops.aks.managed_identity).
      - Falls back to E(ANSIBLE_AZURE_AUTH_SOURCE), then V(auto).
    type: str
    choices: [auto, env, cli, msi, workload_identity]
  tenant:
    description: The Microsoft Entra tenant id. Falls back to E(AZURE_TENANT_ID), then E(AZURE_TENANT).
    type: str
  client_id:
    description: The client id of the service principal or identity. Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description: The service principal's client secret. Falls back to E(AZURE_CLIENT_SECRET), then E(AZURE_SECRET).
    type: str
  cloud_environment:
    description:
      - V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment) or the base URL of an Azure Resource Manager endpoint.
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT), then V(AzureCloud).
    type: str
  authority_host:
    description: The Microsoft Entra login endpoint. Falls back to E(AZURE_AUTHORITY_HOST), then the cloud's.
    type: str
notes:
  - Transient failures (HTTP 429 with C(Retry-After), 408, 5xx) are retried as in the modules, waiting as long as
    C(Retry-After) says.
  - With O(cache=true), a second run within O(cache_timeout) reads the clusters from the cache and makes no
    request; the filters and constructed groups are applied to the cached list again.
"""

EXAMPLES = r"""
# fleet.kedaops_aks.yml: every AKS and Arc cluster of the default subscription, grouped by kind
plugin: kedaops.aks.clusters
groups:
  aks: cluster_kind == 'aks'
  arc: cluster_kind == 'arc'
keyed_groups:
  - key: cluster_location
    prefix: location
  - key: cluster_tags.env | default('none')
    prefix: env
compose:
  # the variables of the workload_identity role, per host
  workload_identity_cluster_kind: cluster_kind
  workload_identity_cluster_name: cluster_name
  workload_identity_cluster_resource_group: cluster_resource_group

# prod.kedaops_aks.yml: production AKS clusters of two subscriptions, cached for an hour
plugin: kedaops.aks.clusters
subscriptions:
  - 11111111-1111-1111-1111-111111111111
  - 22222222-2222-2222-2222-222222222222
kinds: [aks]
resource_groups: [rg-platform-east, rg-platform-west]
include_tags:
  env: prod
exclude_tags:
  keda-opt-out:
name_pattern: "aks-*"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/kedaops-inventory
cache_timeout: 3600
"""

from typing import Any

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable


def _trusted(template: str) -> Any:
    """Our own template, marked as one (ansible-core 2.19 templates inventory values only when trusted;
    what Azure answers -- names, tags -- stays untrusted, so a tag value is never templated)."""
    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core < 2.19 templates every string
        return template
    return trust_as_template(template)


AUTH_OPTIONS = ("subscription_id", "auth_source", "tenant", "client_id", "secret", "cloud_environment", "authority_host")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):  # type: ignore[misc]  # ansible-core ships no type information

    NAME = "kedaops.aks.clusters"

    def verify_file(self, path: str) -> bool:
        return bool(super().verify_file(path) and path.endswith((".kedaops_aks.yml", ".kedaops_aks.yaml")))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)

        from ansible_collections.kedaops.aks.plugins.module_utils import _azure_inventory as fleet
        from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

        try:
            options = fleet.InventoryOptions.from_options(self.get_option)
        except OptionError as exc:
            raise AnsibleParserError(f"{path}: {exc}") from exc

        cache_key = self.get_cache_key(path)
        use_cache = bool(self.get_option("cache"))
        hosts = None
        if use_cache and cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                hosts = None
        if hosts is None:
            hosts = self._list(options)
            if use_cache:
                self._cache[cache_key] = hosts
        self._populate([h for h in hosts if h["cluster_kind"] in options.kinds and fleet.keep(h, options)])

    def _list(self, options: Any) -> list[dict[str, Any]]:
        from ansible_collections.kedaops.aks.plugins.module_utils import _azure_inventory as fleet
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
        from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

        # Options given in the file win; the rest come from the AZURE_* variables, as for the modules.
        given = {name: self.get_option(name) for name in AUTH_OPTIONS if self.get_option(name) not in (None, "")}
        auth = AzureAuth.from_env(**given)
        try:
            connection = AzureConnection(auth)
            arm = connection.arm()
            subscriptions = options.subscriptions or ([auth.subscription_id.lower()] if auth.subscription_id
                                                      else fleet.visible_subscriptions(arm))
            return fleet.list_clusters(arm, subscriptions, options.kinds)
        except (OptionError, AzureError) as exc:
            raise AnsibleError(f"kedaops.aks.clusters: {exc}") from exc

    def _populate(self, hosts: list[dict[str, Any]]) -> None:
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_inventory import host_names

        strict = self.get_option("strict")
        for name, host in zip(host_names(hosts), hosts):
            self.inventory.add_host(name)
            for key, value in host.items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "ansible_connection", "local")
            # As for the implicit localhost: the tasks run with the controller's Python, which has the
            # collection's requirements (interpreter discovery would find the system's).
            self.inventory.set_variable(name, "ansible_python_interpreter", _trusted("{{ ansible_playbook_python }}"))
            variables = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            variables = self.inventory.get_host(name).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
