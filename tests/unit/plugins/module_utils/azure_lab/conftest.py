# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Azure module_utils tests: a connection to the lab, built exactly as a module
builds it from the AZURE_* environment."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth
from ansible_collections.kedaops.aks.plugins.module_utils._azure_connection import AzureConnection


@pytest.fixture
def azure_env(clean_lab, monkeypatch):
    """The lab's variables in os.environ (the CA bundle is read from REQUESTS_CA_BUNDLE by the transport)."""
    for name, value in clean_lab.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    return clean_lab


@pytest.fixture
def conn(azure_env) -> AzureConnection:
    return AzureConnection(AzureAuth.from_env(azure_env.env))


@pytest.fixture
def new_conn(azure_env):
    """A factory of fresh connections (one per simulated module run)."""
    return lambda **overrides: AzureConnection(AzureAuth.from_env(azure_env.env, **overrides))
