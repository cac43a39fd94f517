#!/usr/bin/python
# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitor_workspace
short_description: Create, read or delete an Azure Monitor workspace and return its Prometheus query endpoint
version_added: 0.2.0
description:
  - Ensures an Azure Monitor workspace (C(Microsoft.Monitor/accounts), api-version 2023-04-03) over plain
    ARM REST, as C(az monitor account create) does, and returns its id (the scope of Monitoring Data
    Reader) and its Prometheus query endpoint (KEDA's prometheus C(serverAddress)).
  - One module rather than a separate C(_info) form, on purpose. Most sites use a workspace that
    already exists (the managed Prometheus of their cluster), so the common call is a read;
    O(create=false) is one GET that never writes and answers RV(exists=false) for a missing workspace, the same call
    the roles make for an event source with C(create=false). Creating stays available for labs and seeds
    that start from an empty resource group. An C(_info) module would duplicate the options, the return
    shape and the name rules for a read this module already is.
  - On an existing workspace only tags are changed; its location never is.
  - O(state=absent) deletes the workspace, only when it carries O(require_tags) when they are given (an empty
    set, which would match a workspace the collection only found, is refused). O(location), O(tags) and
    O(creation_tags) are refused with O(state=absent), and O(require_tags) with O(state=present).
author:
  - kedaops.aks contributors (@kedaops)
options:
  resource_group:
    description: The workspace's resource group.
    type: str
    required: true
  name:
    description: The workspace name.
    type: str
    required: true
  location:
    description: The region; needed to create the workspace.
    type: str
  tags:
    description: Tags to set (other tags are kept).
    type: dict
  creation_tags:
    description: Tags set only when the module creates the workspace (the roles' C(managed-by=kedaops.aks)).
    type: dict
  require_tags:
    description: With O(state=absent), delete only a workspace carrying all of these tags.
    type: dict
  create:
    description: Create the workspace when it does not exist; with C(false) the module only reads, and a missing
      workspace is reported as RV(exists=false).
    type: bool
    default: true
  state:
    description: C(present) to create or update, C(absent) to delete.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds to wait for a long-running operation; at least C(1).
    type: int
    default: 600
extends_documentation_fragment:
  - kedaops.aks.azure_auth
  - kedaops.aks.azure_auth.action_group
  - kedaops.aks.attributes
attributes:
  check_mode:
    support: full
    details: The query endpoint of a workspace not yet created is returned as null.
  diff_mode:
    support: full
seealso:
  - module: kedaops.aks.keda_scaled_object
  - name: Query Prometheus metrics with PromQL (Azure Monitor)
    description: The query endpoint, and the Monitoring Data Reader role it needs.
    link: https://learn.microsoft.com/azure/azure-monitor/metrics/prometheus-api-promql
"""

EXAMPLES = r"""
- name: Read the cluster's Azure Monitor workspace
  kedaops.aks.monitor_workspace:
    resource_group: rg-keda-integration
    name: amw-keda
    create: false
  register: amw

- name: Scale on a PromQL query against it
  kedaops.aks.keda_scaled_object:
    name: web
    namespace: default
    scale_target_ref: {name: web}
    triggers:
      - type: prometheus
        metadata:
          serverAddress: "{{ amw.workspace.prometheus_query_endpoint }}"
          query: sum(rate(http_requests_total{deployment="web"}[2m]))
          threshold: "100"
"""

RETURN = r"""
workspace:
  description: The workspace after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The workspace's resource id, the scope of Monitoring Data Reader.
      type: str
    name:
      description: The workspace name.
      type: str
    location:
      description: The region.
      type: str
    prometheus_query_endpoint:
      description: The Prometheus query endpoint (KEDA's C(serverAddress)).
      type: str
      sample: https://amw-keda-a1b2.eastus.prometheus.monitor.azure.com
    account_id:
      description: The workspace's account id.
      type: str
    tags:
      description: The workspace's tags.
      type: dict
    provisioning_state:
      description: ARM's provisioning state.
      type: str
exists:
  description: Whether the workspace exists after the run (predicted in check mode); V(false) for a missing one
    with O(create=false).
  returned: always
  type: bool
  sample: true
created:
  description: Whether this run created the workspace.
  returned: when O(state=present)
  type: bool
left_alone:
  description: Why O(state=absent) did not delete an existing workspace (it lacks O(require_tags)).
  returned: when O(state=absent)
  type: str
error:
  description: Azure's error, when the module failed on an Azure call.
  returned: failure
  type: dict
  contains:
    code:
      description: Azure's error code.
      type: str
    message:
      description: Azure's error message.
      type: str
    status:
      description: The HTTP status.
      type: int
"""

from ansible_collections.kedaops.aks.plugins.module_utils._azure_monitor import RESOURCE
from ansible_collections.kedaops.aks.plugins.module_utils._module import run_module


def main() -> None:
    run_module(RESOURCE)


if __name__ == "__main__":
    main()
