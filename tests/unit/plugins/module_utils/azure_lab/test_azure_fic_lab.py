# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""federated_credential's logic against the lab: exact comparison, refusals without writes,
the per-identity lock and the retried concurrency 409."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_fic as fic
from ansible_collections.kedaops.aks.plugins.module_utils import _azure_msi as msi
from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError
from ansible_collections.kedaops.aks.plugins.module_utils._core import Connection, result
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError

RG = "rg-keda-integration"
IDENTITY = "keda-int-identity"
SUBJECT = "system:serviceaccount:keda:keda-operator"
AUDIENCES = ["api://AzureADTokenExchange"]


@pytest.fixture
def identity(conn):
    _changed, created = msi.ensure_identity_present(conn, None, msi.IdentityPlan(RG, IDENTITY, "eastus"), False)
    return created


@pytest.fixture
def issuer(azure_env):
    return azure_env.env.get("LAB_OIDC_ISSUER") or "https://oidc.example/tenant/guid/"


def present(conn, name, issuer, subject=SUBJECT, audiences=tuple(AUDIENCES), check_mode=False, warnings=None):
    warn = (warnings.append if warnings is not None else lambda _: None)
    plan = msi.CredentialPlan(RG, IDENTITY, name, issuer, subject, tuple(audiences), timeout=30)
    return msi.ensure_credential_present(conn, plan,
                                         check_mode, warn)


def task(conn, check_mode=False, **options):
    """The federated_credential core as a task runs it: build (every refusal), apply, the module result."""
    params = {"resource_group": RG, "identity_name": IDENTITY, "issuer": None, "subject": None, "namespace": None,
              "service_account": None, "audiences": AUDIENCES, "timeout": 30, "state": "present", **options}
    outcome = fic.apply(Connection.of(azure=conn), fic.build(params), check_mode)
    return result(outcome, True)


def absent_plan(identity):
    return msi.CredentialPlan(RG, identity, "kedaFedIdentity", state="absent", timeout=30)


def fic_writes(lab):
    return [w for w in lab.writes("arm") if "federatedIdentityCredentials" in w["path"]]


def test_check_apply_check_apply(conn, azure_env, identity, issuer):
    azure_env.clear_requests()
    changed, before, after = present(conn, "kedaFedIdentity", issuer, check_mode=True)
    assert changed and before is None and after["issuer"] == issuer and fic_writes(azure_env) == []
    changed, _before, written = present(conn, "kedaFedIdentity", issuer)
    assert changed and written["subject"] == SUBJECT and written["audiences"] == AUDIENCES
    azure_env.clear_requests()
    assert present(conn, "kedaFedIdentity", issuer, check_mode=True)[0] is False
    assert present(conn, "kedaFedIdentity", issuer)[0] is False
    assert azure_env.writes() == []


def test_a_trailing_slash_difference_is_a_change_and_a_warning(conn, azure_env, identity, issuer):
    present(conn, "kedaFedIdentity", issuer.rstrip("/"))
    warnings: list[str] = []
    changed, before, after = present(conn, "kedaFedIdentity", issuer, warnings=warnings)
    assert changed and before["issuer"] == issuer.rstrip("/") and after["issuer"] == issuer
    assert warnings and "trailing slash or case" in warnings[0]


def test_case_of_the_subject_is_compared_exactly(conn, identity, issuer):
    present(conn, "kedaFedIdentity", issuer, subject=SUBJECT.upper())
    changed, _before, after = present(conn, "kedaFedIdentity", issuer)
    assert changed and after["subject"] == SUBJECT


def test_the_same_pair_under_another_name_is_refused_naming_it(conn, azure_env, identity, issuer):
    present(conn, "first-name", issuer)
    azure_env.clear_requests()
    with pytest.raises(AzureError) as err:
        present(conn, "second-name", issuer)
    assert "'first-name'" in err.value.msg
    assert azure_env.writes() == []


def test_the_21st_credential_is_refused_without_writing(conn, azure_env, identity, issuer):
    for index in range(20):
        present(conn, f"cred-{index:02d}", issuer, subject=f"system:serviceaccount:ns{index}:sa")
    azure_env.clear_requests()
    with pytest.raises(AzureError) as err:
        present(conn, "cred-20", issuer, subject="system:serviceaccount:ns20:sa")
    assert "20" in err.value.msg
    assert azure_env.writes() == []
    assert len(msi.list_credentials(conn, RG, IDENTITY)) == 20


@pytest.mark.parametrize("name, issuer_value, subject, audiences", [
    ("ab", "https://issuer/", SUBJECT, AUDIENCES),
    ("kedaFedIdentity", " https://issuer/", SUBJECT, AUDIENCES),
    ("kedaFedIdentity", "http://issuer/", SUBJECT, AUDIENCES),
    ("kedaFedIdentity", "https://issuer/", "", AUDIENCES),
    ("kedaFedIdentity", "https://issuer/", SUBJECT, ["a", "b"]),
])
def test_invalid_input_makes_no_call_at_all(conn, azure_env, name, issuer_value, subject, audiences):
    azure_env.clear_requests()
    with pytest.raises(OptionError):
        task(conn, name=name, issuer=issuer_value, subject=subject, audiences=audiences)
    assert azure_env.requests("arm") == []


def test_namespace_and_service_account_make_the_subject(conn, azure_env, identity, issuer):
    first = task(conn, name="kedaFedIdentity", issuer=issuer, namespace="keda", service_account="keda-operator")
    assert first["changed"] and first["credential"]["subject"] == SUBJECT
    assert first["diff"]["after"]["subject"] == SUBJECT
    azure_env.clear_requests()
    again = task(conn, name="kedaFedIdentity", issuer=issuer, subject=SUBJECT)
    assert not again["changed"] and fic_writes(azure_env) == []


@pytest.mark.parametrize("names, expect", [
    ({"namespace": "KEDA", "service_account": "keda-operator"}, "namespace: 'KEDA' is not a valid DNS-1123 label"),
    ({"namespace": "keda", "service_account": "keda_operator"}, "service_account: 'keda_operator' is not a valid"),
    ({"namespace": "keda", "service_account": ""}, "service_account: required with namespace"),
])
def test_namespace_and_service_account_are_kubernetes_names(conn, azure_env, names, expect):
    azure_env.clear_requests()
    with pytest.raises(OptionError, match=expect):
        task(conn, name="kedaFedIdentity", issuer="https://issuer/", **names)
    assert azure_env.requests("arm") == []


def test_the_concurrency_409_is_retried(conn, azure_env, identity, issuer):
    azure_env.fault(service="arm", method="PUT", path="federatedIdentityCredentials/kedaFedIdentity", status=409,
                    code=msi.CONCURRENT_WRITE_CODE, message="Too many Federated Identity Credentials", times=2)
    changed, _before, after = present(conn, "kedaFedIdentity", issuer)
    assert changed and after["name"] == "kedaFedIdentity"
    puts = [r["status"] for r in azure_env.requests("arm") if r["method"] == "PUT" and "federatedIdentity" in r["path"]]
    assert puts == [409, 409, 201]


def test_other_409s_are_not_retried(conn, azure_env, identity, issuer):
    azure_env.fault(service="arm", method="PUT", path="federatedIdentityCredentials/kedaFedIdentity", status=409,
                    code="Conflict", message="something else", times=5)
    with pytest.raises(AzureError) as err:
        present(conn, "kedaFedIdentity", issuer)
    assert err.value.code == "Conflict" and err.value.status == 409
    assert len([r for r in azure_env.requests("arm") if r["method"] == "PUT" and "federatedIdentity" in r["path"]]) == 1


def test_parallel_writers_in_one_controller_never_overlap(azure_env, new_conn, identity, issuer):
    """Ten threads, ten connections, one identity: the lock serialises them, so the lab (which holds
    the identity for fic_write_seconds per write) never answers 409."""
    azure_env.settings(fic_write_seconds=0.2)
    errors: list[Exception] = []

    def writer(index: int) -> None:
        try:
            present(new_conn(), f"parallel-{index}", issuer, subject=f"system:serviceaccount:team{index}:sa")
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    puts = [r["status"] for r in azure_env.requests("arm") if r["method"] == "PUT" and "parallel-" in r["path"]]
    assert sorted(puts) == [201] * 10
    assert len(msi.list_credentials(new_conn(), RG, IDENTITY)) == 10


def test_absent_removes_only_the_named_credential(conn, azure_env, identity, issuer):
    present(conn, "keep-me", issuer, subject="system:serviceaccount:a:b")
    present(conn, "kedaFedIdentity", issuer)
    azure_env.clear_requests()
    changed, before = msi.ensure_credential_absent(conn, absent_plan(IDENTITY), True)
    assert changed and before["name"] == "kedaFedIdentity" and azure_env.writes() == []
    assert msi.ensure_credential_absent(conn, absent_plan(IDENTITY), False)[0]
    assert msi.ensure_credential_absent(conn, absent_plan(IDENTITY), False) == (False, None)
    assert [c["name"] for c in msi.list_credentials(conn, RG, IDENTITY)] == ["keep-me"]


def test_absent_on_a_missing_identity_is_no_change(conn):
    assert msi.ensure_credential_absent(conn, absent_plan("no-such-identity"), False) == (False, None)


def test_present_on_a_missing_identity_fails_with_the_azure_code(conn, issuer):
    with pytest.raises(AzureError) as err:
        msi.ensure_credential_present(conn, msi.CredentialPlan(RG, "no-such-identity", "kedaFedIdentity", issuer, SUBJECT),
                                      False, lambda _: None)
    assert err.value.status == 404


def test_check_mode_on_an_identity_not_created_yet_predicts_with_a_warning(conn, azure_env, issuer):
    warnings: list[str] = []
    changed, before, after = msi.ensure_credential_present(
        conn, msi.CredentialPlan(RG, "not-yet", "kedaFedIdentity", issuer, SUBJECT), True, warnings.append)
    assert changed and before is None and after["issuer"] == issuer
    assert warnings and "does not exist (yet)" in warnings[0]
    assert azure_env.writes() == []


def test_check_mode_with_an_issuer_not_assigned_yet_predicts_with_a_warning(conn, azure_env, identity):
    warnings: list[str] = []
    changed, _before, after = msi.ensure_credential_present(
        conn, msi.CredentialPlan(RG, IDENTITY, "kedaFedIdentity", None, SUBJECT), True, warnings.append)
    assert changed and after["issuer"] is None and "not known yet" in warnings[0]
    assert fic_writes(azure_env) == []


def test_outside_check_mode_an_unknown_issuer_is_refused(conn, identity):
    with pytest.raises(OptionError, match="^issuer: required with state=present"):
        task(conn, name="kedaFedIdentity", issuer=None, subject=SUBJECT)
