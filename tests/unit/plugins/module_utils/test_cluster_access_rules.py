"""cluster_access's pure parts: which kubeconfig user needs an Entra token, and the private file."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._cluster_access import (
    AKS_SERVER_APP_ID,
    kubelogin_server_id,
    write_private,
)
from ansible_collections.kedaops.aks.plugins.module_utils._errors import ConfigError


def user(value: dict) -> dict:
    return {"users": [{"name": "clusterUser_rg_aks", "user": value}]}


@pytest.mark.parametrize("config, server_id", [
    (user({"token": "abc"}), None),
    (user({"client-certificate-data": "x", "client-key-data": "y"}), None),
    (user({"exec": {"command": "kubelogin", "args": ["get-token", "--server-id", AKS_SERVER_APP_ID, "--login", "devicecode"]}}),
     AKS_SERVER_APP_ID),
    (user({"exec": {"command": "/usr/local/bin/kubelogin", "args": ["get-token", "--server-id", "11111111-2222-3333-4444-555555555555"]}}),
     "11111111-2222-3333-4444-555555555555"),
    # kubelogin without --server-id: the AKS server application it defaults to for AKS.
    (user({"exec": {"command": "kubelogin", "args": ["get-token"]}}), AKS_SERVER_APP_ID),
    # Another exec plugin is not ours to replace.
    (user({"exec": {"command": "gke-gcloud-auth-plugin", "args": []}}), None),
    ({}, None),
])
def test_a_kubelogin_exec_user_names_the_server_application(config, server_id):
    assert kubelogin_server_id(config) == server_id


def test_the_kubeconfig_is_0600_in_a_0700_directory(tmp_path):
    path = write_private(str(tmp_path / "access"), "/subscriptions/s/resourceGroups/rg/providers/x/y/aks", user({"token": "t"}))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    # The same cluster (in any case) is the same file, rewritten.
    again = write_private(str(tmp_path / "access"), "/SUBSCRIPTIONS/s/resourceGroups/RG/providers/x/y/AKS", user({"token": "u"}))
    assert again == path and os.listdir(tmp_path / "access") == [os.path.basename(path)]


def test_a_directory_others_may_read_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    with pytest.raises(ConfigError, match=r"dest_dir: .* no one else may read \(mode 0700\)"):
        write_private(str(shared), "/subscriptions/s/x", user({"token": "t"}))
