# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes access to one fleet cluster at task time (the ``cluster_access`` module, issue 28).

AKS: the cluster user credential (``POST .../managedClusters/{name}/listClusterUserCredential``,
CredentialResults ``kubeconfigs[0].value``, base64 of a kubeconfig; azure-rest-api-specs containerservice
managedClusters.json) written to a private file. When AKS hands out a kubelogin exec user (clusters with
Microsoft Entra integration: the ``exec`` format, learn.microsoft.com/azure/aks/kubelogin-authentication),
the user becomes a bearer token for the server application that exec user names (``--server-id``, the AKS
server application 6dae42f8-4368-4678-94ff-3960e28e3630) obtained from the task's own Azure credential:
no kubelogin binary, and the token is what kubelogin's ``azurecli``/``spn``/``msi`` logins would get.
Arc: the kubeconfig the host's vars give is passed through (cluster connect needs Azure's proxy and is out
of scope, docs/fleet.md).

The result names the file only; its content (a token or a client key) never enters a result.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from typing import Any

from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, Outcome, Resource
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ConfigError, OptionError

ARGUMENT_SPEC: dict[str, Any] = {
    "kind": {"type": "str", "choices": ["aks", "arc"], "default": "aks"},
    "resource_group": {"type": "str"},
    "name": {"type": "str"},
    "kubeconfig": {"type": "path"},
    "access": {"type": "str", "choices": ["auto", "user_credential", "entra_token"], "default": "auto"},
    "dest_dir": {"type": "path"},
}

# The AKS server application of AKS-managed Microsoft Entra integration (learn.microsoft.com/azure/aks/kubelogin-authentication).
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class AccessPlan:
    kind: str
    resource_group: str | None
    name: str | None
    kubeconfig: str | None
    access: str
    dest_dir: str | None


def build(params: dict[str, Any]) -> AccessPlan:
    """Every refusal, before any call."""
    from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules

    kind = params.get("kind") or "aks"
    dest_dir = params.get("dest_dir")
    if dest_dir is not None and not os.path.isabs(dest_dir):
        raise OptionError(f"dest_dir: {dest_dir!r} must be an absolute path")
    if kind == "arc":
        kubeconfig = params.get("kubeconfig")
        if not kubeconfig:
            raise OptionError("kubeconfig: required with kind=arc (the cluster's kubeconfig path, from host or group "
                              "vars; Arc cluster connect is out of scope)")
        if params.get("access") not in (None, "auto"):
            raise OptionError(f"access: {params['access']!r} applies to AKS clusters only; with kind=arc the kubeconfig is passed through")
        return AccessPlan("arc", params.get("resource_group"), params.get("name"), kubeconfig, "kubeconfig", dest_dir)
    for option in ("resource_group", "name"):
        if not params.get(option):
            raise OptionError(f"{option}: required with kind=aks")
    if params.get("kubeconfig"):
        raise OptionError("kubeconfig: applies to kind=arc only; an AKS cluster's credential is fetched from Azure")
    rules.resource_group("resource_group", params["resource_group"])
    rules.cluster_name("name", params["name"], "AKS cluster")
    return AccessPlan("aks", params["resource_group"], params["name"], None, params.get("access") or "auto", dest_dir)


def apply_resource(connection: Connection, plan: AccessPlan, check_mode: bool) -> Outcome:
    """The core's apply. Reads only, the same in check mode. The file goes to ``dest_dir``, else into the run's
    private directory the controller shell gives (``connection.run``), else the module shell's directory."""
    run_directory = getattr(connection.run, "directory", None)
    default_dir = os.path.join(run_directory, "kubeconfigs") if run_directory else module_shell_dir()
    azure = connection.azure if plan.kind == "aks" else None
    return Outcome(changed=False, values=apply(azure, plan, default_dir), diffable=False)


def apply(conn: Any, plan: AccessPlan, default_dir: str) -> dict[str, Any]:
    """The kubeconfig path for ``plan``'s cluster (reads only: ``changed`` is always false)."""
    if plan.kind == "arc":
        path = str(plan.kubeconfig)
        if not os.path.isfile(path):
            raise ConfigError(f"kubeconfig: no file at {path} (the Arc cluster's kubeconfig, from host or group vars)")
        return {"kubeconfig": path, "access": "kubeconfig"}
    config = user_credential(conn, str(plan.resource_group), str(plan.name))
    server_id = kubelogin_server_id(config)
    if plan.access == "user_credential" and server_id:
        raise ConfigError(f"access: the user credential of cluster {plan.name} runs kubelogin (Microsoft Entra "
                          "authentication); use access=auto or entra_token for a token from this task's Azure credential")
    method = "user_credential"
    if server_id or plan.access == "entra_token":
        token = conn.credential.get_token(f"{server_id or AKS_SERVER_APP_ID}/.default").token
        for user in config.get("users") or []:
            user["user"] = {"token": token}
        method = "entra_token"
    cluster_id = f"/subscriptions/{conn.subscription_id}/resourceGroups/{plan.resource_group}/providers/Microsoft.ContainerService/managedClusters/{plan.name}"
    path = write_private(plan.dest_dir or default_dir, cluster_id, config)
    servers = [c.get("cluster", {}).get("server") for c in config.get("clusters") or [] if isinstance(c, dict)]
    return {"kubeconfig": path, "access": method, "server": servers[0] if servers else None}


def user_credential(conn: Any, resource_group: str, name: str) -> dict[str, Any]:
    import yaml

    from ansible_collections.kedaops.aks.plugins.module_utils._azure_aks import API_VERSION, cluster_path

    path = cluster_path(conn.subscription_id, resource_group, name) + "/listClusterUserCredential"
    body = conn.arm().post_list(path, API_VERSION, f"fetching the user credential of AKS cluster {name}")
    kubeconfigs = body.get("kubeconfigs") or []
    if not kubeconfigs or not kubeconfigs[0].get("value"):
        raise ConfigError(f"AKS returned no kubeconfig for cluster {name}")
    config = yaml.safe_load(base64.b64decode(kubeconfigs[0]["value"]))
    if not isinstance(config, dict):
        raise ConfigError(f"AKS returned a kubeconfig for cluster {name} that is not a mapping")
    return config


def kubelogin_server_id(config: dict[str, Any]) -> str | None:
    """The ``--server-id`` of a kubelogin exec user, if the kubeconfig's user is one."""
    for user in config.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec") if isinstance(user, dict) else None
        if not isinstance(exec_, dict) or os.path.basename(str(exec_.get("command") or "")) != "kubelogin":
            continue
        args = [str(a) for a in exec_.get("args") or []]
        if "--server-id" in args[:-1]:
            return args[args.index("--server-id") + 1]
        return AKS_SERVER_APP_ID
    return None


def private_dir(directory: str) -> str:
    """``directory``, created 0700, refused unless it is ours and no one else may read it."""
    os.makedirs(directory, mode=PRIVATE_DIR_MODE, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(f"dest_dir: {directory} must be a directory of this user that no one else may read (mode 0700)")
    return directory


def write_private(directory: str, cluster_id: str, config: dict[str, Any]) -> str:
    """Write ``config`` to ``<directory>/<hash of the cluster id>.kubeconfig``, 0600 from its creation."""
    import yaml

    name = hashlib.sha256(cluster_id.lower().encode()).hexdigest()[:20] + ".kubeconfig"
    path = os.path.join(private_dir(directory), name)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(temporary, path)
    return path


def module_shell_dir() -> str:
    """Where the module shell (a task not run on the controller) writes: a 0700 directory of this user that
    outlives the module's own temporary directory, so the play's next tasks find the file."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".kube")
    return os.path.join(base, "kedaops.aks")


RESOURCE: Resource[AccessPlan] = Resource(name="cluster_access", argument_spec=ARGUMENT_SPEC, build=build,
                                          apply=apply_resource, azure=True)
