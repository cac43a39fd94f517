"""Fixtures the contract tests share: raw HTTP, kubectl/helm, the typed clients, a fresh namespace.

A test file that needs something else defines its own fixture of the same name, which wins."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client

from lab import ids
from lab.k8s.testing import Raw, Tools, api_client
from lab.testing import REPO_ROOT


@pytest.fixture(scope="module")
def raw(lab):
    """Plain HTTPS to the Kubernetes API as the cluster admin."""
    return Raw(lab.env["LAB_KUBE_URL"], lab.ca_file, ids.KUBE_ADMIN_TOKEN)


@pytest.fixture(scope="module")
def tools(lab, tmp_path_factory):
    """kubectl and helm against the lab."""
    return Tools(lab.env, REPO_ROOT, str(tmp_path_factory.mktemp("kubectl")))


@pytest.fixture(scope="module")
def core(lab):
    return client.CoreV1Api(api_client(lab.env["KUBECONFIG"]))


@pytest.fixture(scope="module")
def apps(lab):
    return client.AppsV1Api(api_client(lab.env["KUBECONFIG"]))


@pytest.fixture
def ns(raw, request):
    """A namespace of its own for the test (named after the file: test_k8s_crud.py -> crud-...), removed after."""
    name = f"{request.module.__name__.rsplit('_', 1)[-1]}-{uuid.uuid4().hex[:8]}"
    assert raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}}).status_code == 201
    yield name
    raw.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def env(clean_lab):
    """The lab's environment, after a reset."""
    return clean_lab.env
