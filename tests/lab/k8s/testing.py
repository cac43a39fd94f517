"""Helpers for tests that drive the lab's Kubernetes API with real clients (kubectl, helm, Python).

Nothing here fakes a client: kubectl and helm are the real binaries from the repository's venv,
run with their caches and config in a scratch directory so tests never touch ``~/.kube`` or
``~/.config/helm``; the Python client is the ``kubernetes`` package configured from the lab's
kubeconfig; ``raw`` is plain HTTPS for what no client exposes (status lines, headers, bodies).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import requests
from kubernetes import client, config


class Tools:
    """kubectl and helm against the lab, with a hermetic environment."""

    def __init__(self, lab_env: dict[str, str], repo_root: str, scratch: str):
        env = dict(os.environ)
        env.update(lab_env)
        env["PATH"] = os.path.join(repo_root, ".venv", "bin") + os.pathsep + env.get("PATH", "")
        env["KUBECACHEDIR"] = os.path.join(scratch, "kube-cache")
        for name in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{name}_HOME"] = os.path.join(scratch, "helm", name.lower())
        self.env = env

    def run(self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout,
                                input=stdin, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", *args, check=check, stdin=stdin, timeout=timeout)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def helm(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run("helm", *args, check=check, timeout=timeout)


def api_client(kubeconfig: str) -> client.ApiClient:
    """A fresh ApiClient from the lab kubeconfig (not the process-wide default configuration)."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return client.ApiClient(configuration)


class Raw:
    """HTTPS requests to the lab API with the admin token (or another, or none)."""

    def __init__(self, base_url: str, ca_file: str, token: str | None):
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file
        self.token = token
        self.session = requests.Session()

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                token: str | None = "", headers: dict[str, str] | None = None, stream: bool = False,
                timeout: float = 30) -> requests.Response:
        sent = {"Accept": "application/json"}
        bearer = self.token if token == "" else token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        return self.session.request(method, self.base_url + path, data=data, headers=sent, verify=self.ca_file,
                                    stream=stream, timeout=timeout)
