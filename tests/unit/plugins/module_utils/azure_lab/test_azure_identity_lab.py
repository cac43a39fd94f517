# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_identity's logic against the lab: create, tags, check mode, absent."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

RG = "rg-keda-integration"
NAME = "keda-int-identity"


def present(conn, location="eastus", tags=None, purge_tags=False, check_mode=False, name=NAME):
    before = msi.get_identity(conn, RG, name)
    return msi.ensure_identity_present(conn, before, msi.IdentityPlan(RG, name, location, tags, purge_tags), check_mode)


def test_check_mode_predicts_creation_without_writing(conn, azure_env):
    changed, after = present(conn, tags={"owner": "platform"}, check_mode=True)
    assert changed and after["client_id"] is None and after["tags"] == {"owner": "platform"}
    assert azure_env.writes() == []
    assert msi.get_identity(conn, RG, NAME) is None


def test_create_then_no_change(conn, azure_env, new_conn):
    changed, created = present(conn, tags={"owner": "platform"})
    assert changed
    for key in ("id", "client_id", "principal_id", "tenant_id"):
        assert created[key]
    assert created["location"] == "eastus" and created["tags"] == {"owner": "platform"}
    azure_env.clear_requests()
    changed, again = present(new_conn(), tags={"owner": "platform"})
    assert not changed and again == created
    assert azure_env.writes() == []


def test_location_defaults_to_the_resource_group(conn):
    changed, created = present(conn, location=None)
    assert changed and created["location"] == "eastus"


def test_tags_not_given_are_left_alone_unless_purged(conn, azure_env):
    present(conn, tags={"a": "1", "b": "2"})
    changed, after = present(conn, tags={"c": 3})
    assert changed and after["tags"] == {"a": "1", "b": "2", "c": "3"}
    azure_env.clear_requests()
    changed, after = present(conn, tags={"c": "3"})
    assert not changed and azure_env.writes() == []
    changed, after = present(conn, tags={"c": "3"}, purge_tags=True)
    assert changed and after["tags"] == {"c": "3"}
    assert [w["method"] for w in azure_env.writes()] == ["PATCH"]  # PATCH, not a replacing PUT
    changed, after = present(conn, tags=None, purge_tags=True)
    assert not changed and after["tags"] == {"c": "3"}


def test_a_different_location_is_refused_without_writing(conn, azure_env):
    present(conn)
    azure_env.clear_requests()
    with pytest.raises(OptionError) as err:
        present(conn, location="westeurope")
    assert str(err.value).startswith("location: ")
    assert azure_env.writes() == []


def test_absent_deletes_then_reports_no_change(conn, azure_env):
    present(conn)
    before = msi.get_identity(conn, RG, NAME)
    assert msi.ensure_identity_absent(conn, before, msi.IdentityPlan(RG, NAME), check_mode=True) == (True, None)
    assert msi.get_identity(conn, RG, NAME) is not None
    assert msi.ensure_identity_absent(conn, before, msi.IdentityPlan(RG, NAME), check_mode=False) == (True, None)
    assert msi.get_identity(conn, RG, NAME) is None
    assert msi.ensure_identity_absent(conn, None, msi.IdentityPlan(RG, NAME), check_mode=False) == (False, None)


def info(conn, name=NAME, credentials=True):
    """managed_identity_info's core as a task runs it: build, apply, the module result."""
    task = msi.info_build({"resource_group": RG, "name": name, "credentials": credentials})
    return result(msi.info_apply(Connection.of(azure=conn), task, False), True)


def test_info_reads_the_identity_and_its_credentials_side_by_side(conn, azure_env):
    present(conn)
    plan = msi.CredentialPlan(RG, NAME, "keda-operator", "https://oidc.example/tenant/guid/",
                              "system:serviceaccount:keda:keda-operator", timeout=30)
    msi.ensure_credential_present(conn, plan, False, lambda _: None)
    azure_env.clear_requests()
    out = info(conn)
    assert out["exists"] and out["identity"]["name"] == NAME and "diff" not in out and not out["changed"]
    assert [c["subject"] for c in out["credentials"]] == ["system:serviceaccount:keda:keda-operator"]
    reads = [r["path"] for r in azure_env.requests("arm") if "/metadata/" not in r["path"]]
    assert sorted(path.split("?")[0].rsplit("/", 1)[-1] for path in reads) == ["federatedIdentityCredentials", NAME]
    assert "credentials" not in info(conn, credentials=False)


def test_info_on_a_missing_identity_says_so(conn, azure_env):
    out = info(conn, name="never-made")
    assert out == {"changed": False, "exists": False, "identity": {}, "credentials": []}
    assert azure_env.writes() == []
