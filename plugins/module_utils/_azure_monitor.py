# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Monitor workspaces (``Microsoft.Monitor/accounts``) over plain ARM REST (api-version 2023-04-03).

From Azure/azure-rest-api-specs ``specification/monitor/resource-manager/Microsoft.Monitor/Accounts/stable/
2023-04-03/monitoringAccounts_API.json``: ``AzureMonitorWorkspaces_Create`` answers 201 (created) or 200
(updated) synchronously; the workspace carries its own Prometheus query endpoint
(``properties.metrics.prometheusQueryEndpoint``), the ``serverAddress`` of KEDA's prometheus trigger, so
nobody types it. Only the tags of an existing workspace are changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_owned as owned
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._option_rules import state_only
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, arm_resource

API_VERSION = "2023-04-03"
WORKSPACE_TYPE = "Microsoft.Monitor/accounts"
# monitoringAccounts_API.json, the ``azureMonitorWorkspaceName`` parameter's pattern, and 4-44 characters
# (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftmonitor).
WORKSPACE_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{3,43}[^-]$")


def workspace_path(subscription_id: str, resource_group: str, name: str) -> str:
    return arm_resource(subscription_id, resource_group, WORKSPACE_TYPE, Segment("name", name))


def validate(name: str, requested: dict[str, Any]) -> None:
    if not WORKSPACE_NAME.fullmatch(name):
        raise OptionError(f"name: {name!r} is not an Azure Monitor workspace name: 4-44 letters, numbers and hyphens, "
                          "not starting or ending with a hyphen")
    owned.check_tag_options(requested)


def workspace_state(workspace: dict[str, Any] | None) -> dict[str, Any] | None:
    if workspace is None:
        return None
    properties = workspace.get("properties") or {}
    return {
        "id": workspace.get("id"),
        "name": workspace.get("name"),
        "location": workspace.get("location"),
        "prometheus_query_endpoint": (properties.get("metrics") or {}).get("prometheusQueryEndpoint"),
        "account_id": properties.get("accountId"),
        "tags": dict(workspace.get("tags") or {}),
        "provisioning_state": properties.get("provisioningState"),
    }


def plan(current: dict[str, Any] | None, requested: dict[str, Any], create: bool, label: str) -> dict[str, Any] | None:
    """The PUT body; None when nothing differs. A new workspace gets ``creation_tags`` and ``tags``."""
    tags = dict(requested.get("tags") or {})
    if current is None:
        return {"location": owned.creation_location(requested, create, label), "tags": {**(requested.get("creation_tags") or {}), **tags}}
    location = current.get("location")
    if requested.get("location") and requested["location"].replace(" ", "").lower() != str(location).replace(" ", "").lower():
        raise OptionError(f"location: {label} is in {location!r}; a workspace cannot move to {requested['location']!r}")
    have = dict(current.get("tags") or {})
    wanted = {**have, **tags}
    return None if wanted == have else {"location": location, "tags": wanted}


ARGUMENT_SPEC: dict[str, Any] = {
    "resource_group": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "location": {"type": "str"},
    "tags": {"type": "dict"},
    "creation_tags": {"type": "dict"},
    "require_tags": {"type": "dict"},
    "create": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "timeout": {"type": "int", "default": 600},
}
REQUESTED = ("location", "tags", "creation_tags", "require_tags")


@dataclass(frozen=True)
class WorkspaceTask:
    resource_group: str
    name: str
    wanted: owned.Wanted
    timeout: float


def build(params: dict[str, Any]) -> WorkspaceTask:
    requested = {option: params[option] for option in REQUESTED}
    if params["state"] == "absent":  # what only means something for a workspace that stays
        state_only("absent", {option: params[option] for option in ("location", "tags", "creation_tags")})
    else:
        state_only("present", {"require_tags": params["require_tags"]})
    validate(params["name"], requested)
    return WorkspaceTask(params["resource_group"], params["name"],
                         owned.Wanted(requested, params["state"], params["create"]), params["timeout"])


def apply(connection: Connection, task: WorkspaceTask, check_mode: bool) -> Outcome:
    conn, name = connection.azure, task.name
    path = workspace_path(conn.subscription_id, task.resource_group, name)
    # a new workspace's query endpoint is unknown until Azure assigns it
    resource = owned.Owned(path, API_VERSION, f"Azure Monitor workspace {name} (resource group {task.resource_group})",
                           "workspace", workspace_state, plan,
                           lambda current, body: {"id": path, "name": name, **(current or {}), **body},
                           timeout=task.timeout, missing_ok=True)
    return owned.ensure(conn, resource, task.wanted, check_mode)


RESOURCE = Resource("monitor_workspace", ARGUMENT_SPEC, build, apply, azure=True)
