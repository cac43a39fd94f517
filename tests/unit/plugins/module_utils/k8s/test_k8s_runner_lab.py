# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared Kubernetes layer against the lab's API server: verbs, Status errors, KEDA-missing
detection, and the desired-state runner (one GET for a no-op, dry runs in check mode, merge
patches of owned fields, 409 retries)."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import (
    NAMESPACE,
    SCALED_OBJECT,
    SERVICE_ACCOUNT,
    TRIGGER_AUTHENTICATION,
    K8sError,
    ResourceNotServed,
)
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import (
    IGNORE,
    Definition,
    Missing,
    ensure_absent,
    ensure_present,
)


def sa_definition(annotations=None, labels=None, name="app", namespace="default") -> Definition:
    metadata = {"annotations": annotations or {"azure.workload.identity/client-id": "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"}}
    if labels:
        metadata["labels"] = labels
    return Definition(SERVICE_ACCOUNT, name, namespace, {"metadata": metadata})


def methods(requests):
    return [r["method"] for r in requests]


def test_a_missing_object_reads_as_none(k8s):
    assert k8s.api.get(SERVICE_ACCOUNT, "nobody", "default") is None


def test_an_unknown_api_group_means_keda_is_not_installed(k8s):
    with pytest.raises(ResourceNotServed) as caught:
        k8s.api.get(TRIGGER_AUTHENTICATION, "auth", "default")
    assert caught.value.message == "KEDA is not installed (CRD triggerauthentications.keda.sh missing)"
    assert caught.value.code == 404


def test_a_served_group_without_the_kind_means_its_crd_is_missing(k8s):
    k8s.install_keda_crds("triggerauthentications")
    assert k8s.api.get(TRIGGER_AUTHENTICATION, "auth", "default") is None  # kind served, object missing
    with pytest.raises(ResourceNotServed, match=r"CRD scaledobjects.keda.sh missing"):
        k8s.api.get(SCALED_OBJECT, "scaler", "default")


def test_server_errors_keep_reason_code_and_message(k8s):
    k8s.handle.fault(service="k8s", method="GET", path="/serviceaccounts/app", status=403, code="Forbidden",
                     message='serviceaccounts "app" is forbidden: User "ci" cannot get resource', times=1)
    with pytest.raises(K8sError) as caught:
        k8s.api.get(SERVICE_ACCOUNT, "app", "default")
    assert caught.value.code == 403
    assert caught.value.reason == "Forbidden"
    assert "cannot get resource" in caught.value.message


def test_create_then_a_no_op_is_one_get(k8s):
    created = ensure_present(k8s.api, sa_definition(), check_mode=False)
    assert created.changed and created.before is None
    k8s.clear()
    again = ensure_present(k8s.api, sa_definition(), check_mode=False)
    assert not again.changed
    assert methods(k8s.requests()) == ["GET"]


def test_check_mode_is_a_server_dry_run_and_writes_nothing(k8s):
    outcome = ensure_present(k8s.api, sa_definition(), check_mode=True)
    assert outcome.changed
    assert outcome.after["metadata"]["name"] == "app"
    assert [r for r in k8s.requests() if r["method"] == "POST"][0]["path"].endswith("dryRun=All")
    assert k8s.writes() == []
    assert k8s.api.get(SERVICE_ACCOUNT, "app", "default") is None


def test_an_update_patches_only_owned_fields_and_keeps_the_rest(k8s):
    k8s.create("/api/v1/namespaces/default/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "app", "annotations": {"team": "platform", "azure.workload.identity/client-id": "old"},
                     "labels": {"keep": "me"}}})
    k8s.clear()
    outcome = ensure_present(k8s.api, sa_definition(labels={"azure.workload.identity/use": "true"}), check_mode=False)
    assert outcome.changed
    metadata = outcome.after["metadata"]
    assert metadata["annotations"] == {"team": "platform",
                                       "azure.workload.identity/client-id": "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"}
    assert metadata["labels"] == {"keep": "me", "azure.workload.identity/use": "true"}
    patch = [r for r in k8s.requests() if r["method"] == "PATCH"]
    assert len(patch) == 1


def test_a_conflict_on_update_is_retried_after_reading_again(k8s):
    ensure_present(k8s.api, sa_definition(annotations={"a": "1"}), check_mode=False)
    k8s.clear()
    k8s.handle.fault(service="k8s", method="PATCH", path="/serviceaccounts/app", status=409, code="Conflict",
                     message='Operation cannot be fulfilled on serviceaccounts "app": the object has been modified',
                     times=1)
    outcome = ensure_present(k8s.api, sa_definition(annotations={"a": "2"}), check_mode=False)
    assert outcome.changed and outcome.after["metadata"]["annotations"]["a"] == "2"
    assert methods(k8s.requests()) == ["GET", "PATCH", "GET", "PATCH"]


def test_a_patch_with_a_stale_resource_version_is_a_conflict(k8s):
    ensure_present(k8s.api, sa_definition(annotations={"a": "1"}), check_mode=False)
    live = k8s.api.get(SERVICE_ACCOUNT, "app", "default")
    # someone else writes between our read and our patch
    k8s.api.patch(SERVICE_ACCOUNT, "app", {"metadata": {"labels": {"other": "writer"}}}, "default")
    with pytest.raises(K8sError) as caught:
        k8s.api.patch(SERVICE_ACCOUNT, "app", {"metadata": {"resourceVersion": live["metadata"]["resourceVersion"],
                                                            "annotations": {"a": "3"}}}, "default")
    assert caught.value.code == 409 and caught.value.reason == "Conflict"


def test_conflicts_that_never_end_fail_with_the_conflict(k8s):
    ensure_present(k8s.api, sa_definition(annotations={"a": "1"}), check_mode=False)
    k8s.handle.fault(service="k8s", method="PATCH", path="/serviceaccounts/app", status=409, code="Conflict",
                     message="the object has been modified", times=10)
    with pytest.raises(K8sError) as caught:
        ensure_present(k8s.api, sa_definition(annotations={"a": "2"}), check_mode=False)
    assert caught.value.reason == "Conflict"


def test_created_meanwhile_is_compared_instead_of_failing(k8s):
    k8s.handle.fault(service="k8s", method="POST", path="/serviceaccounts", status=409, code="AlreadyExists",
                     message='serviceaccounts "app" already exists', times=1)
    outcome = ensure_present(k8s.api, sa_definition(), check_mode=False)
    assert outcome.changed
    assert methods(k8s.requests()) == ["GET", "POST", "GET", "POST"]


def test_missing_namespace_is_created_only_when_asked(k8s):
    with pytest.raises(K8sError) as caught:
        ensure_present(k8s.api, sa_definition(namespace="keda"), check_mode=False)
    assert caught.value.code == 404 and caught.value.details.get("kind") == "namespaces"
    k8s.clear()
    predicted = ensure_present(k8s.api, sa_definition(namespace="keda"), check_mode=True, create_namespace=True)
    assert predicted.changed and predicted.after["metadata"]["namespace"] == "keda"
    assert k8s.writes() == []
    created = ensure_present(k8s.api, sa_definition(namespace="keda"), check_mode=False, create_namespace=True)
    assert created.changed
    assert k8s.api.get(NAMESPACE, "keda") is not None


def test_missing_object_can_be_a_failure_or_nothing_to_do(k8s):
    with pytest.raises(K8sError, match="does not exist on purpose"):
        ensure_present(k8s.api, sa_definition(), check_mode=False, missing=Missing("fail", "does not exist on purpose"))
    assert not ensure_present(k8s.api, sa_definition(), check_mode=False, missing=IGNORE).changed
    assert k8s.writes() == []


def test_keda_missing_in_check_mode_predicts_and_warns(k8s):
    definition = Definition(TRIGGER_AUTHENTICATION, "auth", "default", {"spec": {"podIdentity": {"provider": "azure-workload"}}})
    outcome = ensure_present(k8s.api, definition, check_mode=True)
    assert outcome.changed
    assert outcome.after["spec"]["podIdentity"]["provider"] == "azure-workload"
    assert "KEDA is not installed (CRD triggerauthentications.keda.sh missing)" in outcome.warnings[0]
    with pytest.raises(ResourceNotServed):
        ensure_present(k8s.api, definition, check_mode=False)
    assert not ensure_absent(k8s.api, TRIGGER_AUTHENTICATION, "auth", "default", check_mode=False).changed


def test_delete_is_idempotent_and_dry_run_in_check_mode(k8s):
    ensure_present(k8s.api, sa_definition(), check_mode=False)
    assert ensure_absent(k8s.api, SERVICE_ACCOUNT, "app", "default", check_mode=True).changed
    assert k8s.api.get(SERVICE_ACCOUNT, "app", "default") is not None
    assert ensure_absent(k8s.api, SERVICE_ACCOUNT, "app", "default", check_mode=False).changed
    k8s.clear()
    assert not ensure_absent(k8s.api, SERVICE_ACCOUNT, "app", "default", check_mode=False).changed
    assert methods(k8s.requests()) == ["GET"]


def test_owned_only_deletes_what_we_created_and_keeps_a_foreign_object_with_a_warning(k8s):
    ours = Definition(SERVICE_ACCOUNT, "ours", "default", {}, created_labels={"app.kubernetes.io/managed-by": "kedaops.aks"})
    created = ensure_present(k8s.api, ours, check_mode=False).after
    assert created["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kedaops.aks"}
    ensure_present(k8s.api, sa_definition(name="theirs"), check_mode=False)  # no created_labels: not ours
    k8s.clear()
    for check_mode in (True, False):
        kept = ensure_absent(k8s.api, SERVICE_ACCOUNT, "theirs", "default", check_mode=check_mode, owned_only=True)
        assert (kept.changed, kept.kept, kept.before == kept.after) == (False, True, True)
        assert kept.warnings == ["ServiceAccount default/theirs was not created by kedaops.aks "
                                 "(no app.kubernetes.io/managed-by=kedaops.aks label): kept"]
    assert methods(k8s.requests()) == ["GET", "GET"]
    assert k8s.api.get(SERVICE_ACCOUNT, "theirs", "default") is not None
    deleted = ensure_absent(k8s.api, SERVICE_ACCOUNT, "ours", "default", check_mode=False, owned_only=True)
    assert (deleted.changed, deleted.kept, deleted.warnings) == (True, False, [])
    assert k8s.api.get(SERVICE_ACCOUNT, "ours", "default") is None


def test_the_server_rejecting_an_object_keeps_invalid_and_its_causes(k8s):
    k8s.install_keda_crds("scaledobjects")
    definition = Definition(SCALED_OBJECT, "scaler", "default", {"spec": {
        "scaleTargetRef": {"name": "web"}, "maxReplicaCount": 0,
        "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}})
    with pytest.raises(K8sError) as caught:
        ensure_present(k8s.api, definition, check_mode=False)
    assert caught.value.code == 422 and caught.value.reason == "Invalid"
    assert "maxReplicaCount" in caught.value.message


def test_options_reach_the_cluster_without_any_environment(k8s):
    """host + api_key + ca_cert, or kubeconfig + context, with no KUBECONFIG or K8S_AUTH_* set."""
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
    env = k8s.handle.env
    by_token = Api(connect({"host": env["LAB_KUBE_URL"], "api_key": "lab-admin-token", "ca_cert": env["LAB_CA_FILE"]},
                           environ={}))
    assert by_token.get(NAMESPACE, "kube-system")["metadata"]["name"] == "kube-system"
    by_file = Api(connect({"kubeconfig": env["KUBECONFIG"], "context": "lab"}, environ={}))
    assert by_file.get(NAMESPACE, "default") is not None
    by_variables = Api(connect({}, environ={"K8S_AUTH_HOST": env["LAB_KUBE_URL"], "K8S_AUTH_API_KEY": "lab-admin-token",
                                            "K8S_AUTH_SSL_CA_CERT": env["LAB_CA_FILE"]}))
    assert by_variables.get(NAMESPACE, "default") is not None


def test_a_wrong_token_is_unauthorized_with_the_servers_status(k8s):
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
    env = k8s.handle.env
    api = Api(connect({"host": env["LAB_KUBE_URL"], "api_key": "wrong", "ca_cert": env["LAB_CA_FILE"]}, environ={}))
    with pytest.raises(K8sError) as caught:
        api.get(NAMESPACE, "default")
    assert caught.value.code == 401 and caught.value.reason == "Unauthorized"


def test_an_unreachable_server_is_a_connection_error_not_a_traceback(k8s):
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import Api, RetryPolicy
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import connect
    retried = []
    api = Api(connect({"host": "https://127.0.0.1:1", "api_key": "x", "validate_certs": False}, environ={}),
              retry=RetryPolicy(attempts=3, first_delay=0.01), on_retry=lambda call, e, wait: retried.append(e.code))
    with pytest.raises(K8sError) as caught:
        api.get(NAMESPACE, "default")
    assert caught.value.code == 0 and caught.value.reason == "ConnectionError"
    assert retried == [0, 0], "a refused connection is retried, then fails with its own code"
