# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The opt-in run cache (KEDAOPS_AZURE_TOKEN_CACHE) against the lab: the second task of a run asks
neither ARM for the cloud's endpoints nor Entra for a token, and nothing readable lands on disk."""

from __future__ import annotations

import os
import stat

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._azure_token_cache import CACHE_ENV

RG = "rg-keda-integration"


def _task(new_conn, **overrides):
    """One simulated module run: a fresh connection, one no-op read."""
    assert msi.get_identity(new_conn(**overrides), RG, "nothing-here") is None


def _calls(lab):
    return [(r["service"], r["method"], r["path"].split("?")[0]) for r in lab.requests() if r["service"] != "control"]


def test_the_second_task_of_a_run_sends_only_its_own_read(new_conn, azure_env, monkeypatch, tmp_path):
    directory = tmp_path / "run-cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    _task(new_conn)
    first = _calls(azure_env)
    assert ("entra", "POST", f"/{azure_env.env['AZURE_TENANT_ID']}/oauth2/v2.0/token") in first
    azure_env.clear_requests()
    _task(new_conn)
    assert [c for c in _calls(azure_env) if c[0] != "arm" or "metadata" in c[2]] == []
    assert len(_calls(azure_env)) == 1
    # Protected: a private directory, private files, and no token in clear.
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    tokens = [p for p in directory.iterdir() if p.name.startswith("token-")]
    assert len(tokens) == 1 and stat.S_IMODE(os.stat(tokens[0]).st_mode) == 0o600
    assert b"eyJ" not in tokens[0].read_bytes()  # a JWT's header, base64url


def test_another_secret_cannot_use_the_entry(new_conn, azure_env, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    _task(new_conn)
    azure_env.clear_requests()
    # The lab accepts only the seeded secret, so the other one fails at Entra: it went there, not to the cache.
    try:
        _task(new_conn, secret="not-the-secret")
    except Exception:  # pylint: disable=broad-except
        pass
    assert any(c[:2] == ("entra", "POST") for c in _calls(azure_env))


def test_a_directory_open_to_others_is_not_used(new_conn, azure_env, monkeypatch, tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    monkeypatch.setenv(CACHE_ENV, str(directory))
    _task(new_conn)
    azure_env.clear_requests()
    _task(new_conn)
    assert any(c[:2] == ("entra", "POST") for c in _calls(azure_env))
    assert list(directory.iterdir()) == []


def test_unset_caches_nothing(new_conn, azure_env, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    _task(new_conn)
    azure_env.clear_requests()
    _task(new_conn)
    assert [c[:2] for c in _calls(azure_env)] == [("arm", "GET"), ("entra", "GET"), ("entra", "POST"), ("arm", "GET")]
