# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``k8s``: the lab's Kubernetes API reset, with our Api connected to it through the lab's
kubeconfig, and helpers to install the real KEDA CRDs and read the request log."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import pytest
import yaml
from k8s_openapi_subset import KEDA_CRDS

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect

CRD_FILES = ("triggerauthentications", "clustertriggerauthentications", "scaledobjects", "scaledjobs")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@functools.cache
def _crd_document(plural: str) -> dict[str, Any]:
    # Parsing the 9,000-line ScaledJob CRD takes about a second; once per session is enough.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(os.path.join(KEDA_CRDS, f"keda.sh_{plural}.yaml"), encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


class K8sLab:
    def __init__(self, handle):
        self.handle = handle
        self.api = Api(connect({}, environ=dict(handle.env)))

    def install_keda_crds(self, *plurals: str) -> None:
        """The real KEDA v2.20.2 CRDs, created through the API like `kubectl apply` would."""
        for plural in plurals or CRD_FILES:
            self.api.call("POST", CRD_PATH, body=_crd_document(plural), content_type="application/json")
        deadline = time.monotonic() + 10
        for plural in plurals or CRD_FILES:
            while True:
                crd = self.api.call("GET", f"{CRD_PATH}/{plural}.keda.sh")
                if any(c.get("type") == "Established" and c.get("status") == "True"
                       for c in (crd.get("status") or {}).get("conditions") or []):
                    break
                assert time.monotonic() < deadline, f"CRD {plural}.keda.sh not established"
                time.sleep(0.05)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.call("POST", path, body=body, content_type="application/json")

    def clear(self) -> None:
        self.handle.clear_requests()

    def requests(self) -> list[dict[str, Any]]:
        return [r for r in self.handle.requests() if r["service"] not in ("control",)]

    def writes(self) -> list[dict[str, Any]]:
        return self.handle.writes()

    def wait_for(self, condition, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)


@pytest.fixture
def k8s(clean_lab) -> K8sLab:
    return K8sLab(clean_lab)
