# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rules of workload_sa and rollout_restart, the auth resolution order, and the rollout
status rules: all decided before (or without) any API call."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_connection, _k8s_rollout, _k8s_workload_sa
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import SERVICE_ACCOUNT
from ansible_collections.kedaops.aks.plugins.module_utils._k8s_runner import Definition, prune

CLIENT_ID = "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"
SA = dict(namespace="keda", name="keda-operator", client_id=CLIENT_ID, tenant_id=None, token_expiration=None,
          labels=None, create=True, create_namespace=False, state="present")


@pytest.mark.parametrize("change,message", [
    (dict(client_id="keda"), "client_id: 'keda' is not a GUID"),
    (dict(tenant_id="contoso.onmicrosoft.com"), "tenant_id: 'contoso.onmicrosoft.com' is not a GUID"),
    (dict(token_expiration=3599), "token_expiration: 3599 must be between 3600 and 86400"),
    (dict(token_expiration=86401), "token_expiration: 86401 must be between 3600 and 86400"),
    (dict(namespace="kube_system"), "namespace: 'kube_system' is not a valid DNS-1123 label"),
    (dict(namespace="n" * 64), "namespace: 'n{64}' is not a valid DNS-1123 label"),
    (dict(name="KEDA"), "name: 'KEDA' is not a valid Kubernetes object name"),
    (dict(labels={"bad key!": "x"}), "labels: key 'bad key!' is not a valid qualified name"),
    (dict(labels={"Example.com/x": "y"}), "labels: key 'Example.com/x' has an invalid prefix"),
    (dict(labels={"team": "a b"}), "labels: value 'a b' of 'team' is not a valid label value"),
    (dict(labels={"team": "x" * 64}), "labels: value 'x{64}' of 'team' is not a valid label value"),
    (dict(labels={"team": None}), "labels: value of 'team' must be a string"),
])
def test_workload_sa_rejects_invalid_options(change, message):
    with pytest.raises(OptionError, match="^" + message):
        _k8s_workload_sa.build(dict(SA, **change))


def test_a_client_id_not_known_yet_is_previewed_in_check_mode_and_refused_by_a_real_run():
    plan = _k8s_workload_sa.build(dict(SA, client_id=None))
    assert plan.unknown == ("client_id",)
    assert plan.definition.owned["metadata"]["annotations"][_k8s_workload_sa.CLIENT_ID] == "(known after apply)"
    with pytest.raises(OptionError, match="^client_id: required when state is present"):
        _k8s_workload_sa.ensure(object(), plan, check_mode=False)  # type: ignore[arg-type]  # refused before any call


def test_workload_sa_owns_exactly_the_workload_identity_annotations():
    plan = _k8s_workload_sa.build(dict(SA, tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47", token_expiration=86400,
                                       labels={"azure.workload.identity/use": True}))
    assert plan.definition.owned == {"metadata": {
        "annotations": {"azure.workload.identity/client-id": CLIENT_ID,
                        "azure.workload.identity/tenant-id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                        "azure.workload.identity/service-account-token-expiration": "86400"},
        "labels": {"azure.workload.identity/use": "true"}}}


def test_absent_without_create_removes_only_the_workload_identity_annotations():
    plan = _k8s_workload_sa.build(dict(SA, client_id=None, create=False, state="absent"))
    assert plan.definition.owned == {"metadata": {"annotations": dict.fromkeys(_k8s_workload_sa.OWNED_ANNOTATIONS)}}
    live = {"metadata": {"annotations": {"team": "a", "azure.workload.identity/client-id": CLIENT_ID}}}
    assert not plan.definition.matches(live)
    assert plan.definition.matches({"metadata": {"annotations": {"team": "a"}}})


def test_manifest_drops_absent_markers_and_adds_identity():
    definition = Definition(SERVICE_ACCOUNT, "sa", "ns", {"metadata": {"annotations": {"a": None}, "labels": {"x": "1"}}})
    assert definition.manifest() == {"apiVersion": "v1", "kind": "ServiceAccount",
                                     "metadata": {"labels": {"x": "1"}, "name": "sa", "namespace": "ns"}}
    assert prune({"a": [{"b": None, "c": 1}], "d": {"e": None}, "f": {}}) == {"a": [{"c": 1}], "f": {}}


ROLLOUT = dict(namespace="kube-system", name="keda-operator", kind="Deployment", unless_env_present=None,
               wait=False, timeout=300)


@pytest.mark.parametrize("change,message", [
    (dict(unless_env_present=["AZURE_CLIENT_ID", ""]), r"unless_env_present\[1\]: '' is not an environment variable"),
    (dict(unless_env_present=["A=B"]), r"unless_env_present\[0\]: 'A=B' is not an environment variable"),
    (dict(timeout=0), "timeout: 0 must be at least 1"),
    (dict(name="Keda"), "name: 'Keda' is not a valid Kubernetes object name"),
])
def test_rollout_restart_rejects_invalid_options(change, message):
    with pytest.raises(OptionError, match="^" + message):
        _k8s_rollout.build(dict(ROLLOUT, **change))


def test_label_selector_renders_match_labels_and_expressions():
    workload = {"spec": {"selector": {"matchLabels": {"app": "keda-operator", "tier": "x"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["a", "b"]},
        {"key": "zone", "operator": "NotIn", "values": ["c"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "team", "operator": "Exists"}]}}}
    assert _k8s_rollout.label_selector(workload) == \
        "app=keda-operator,tier=x,env in (a,b),zone notin (c),!canary,team"


def test_pod_summary_reports_env_names_and_what_is_missing():
    pod = {"metadata": {"name": "p", "creationTimestamp": "2026-11-22T10:00:00Z"},
           "spec": {"containers": [{"name": "a", "env": [{"name": "AZURE_CLIENT_ID", "value": "x"}]},
                                   {"name": "b", "env": [{"name": "OTHER", "value": "y"}]}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert _k8s_rollout.pod_summary(pod, ["AZURE_CLIENT_ID", "AZURE_TENANT_ID"]) == {
        "name": "p", "phase": "Running", "ready": True, "env": ["AZURE_CLIENT_ID", "OTHER"],
        "missing_env": ["AZURE_TENANT_ID"], "created": "2026-11-22T10:00:00Z"}


@pytest.mark.parametrize("kind,workload,done", [
    ("Deployment", {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                    "status": {"observedGeneration": 1, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}}, False),
    ("Deployment", {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                    "status": {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3, "availableReplicas": 2}}, False),
    ("Deployment", {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                    "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}}, False),
    ("Deployment", {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                    "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 1}}, False),
    ("Deployment", {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                    "status": {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}}, True),
    ("StatefulSet", {"metadata": {"generation": 3}, "spec": {"replicas": 1},
                     "status": {"observedGeneration": 3, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}},
     False),
    ("StatefulSet", {"metadata": {"generation": 3}, "spec": {"replicas": 1},
                     "status": {"observedGeneration": 3, "readyReplicas": 1, "currentRevision": "b", "updateRevision": "b"}},
     True),
    ("DaemonSet", {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                             "updatedNumberScheduled": 3, "numberAvailable": 2}}, False),
    ("DaemonSet", {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                                             "updatedNumberScheduled": 3, "numberAvailable": 3}}, True),
])
def test_rollout_status_follows_kubectl(kind, workload, done):
    assert _k8s_rollout.rollout_done(kind, workload)[0] is done


def test_a_deployment_past_its_progress_deadline_fails_the_wait():
    workload = {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [
        {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet x has timed out"}]}}
    with pytest.raises(_k8s_rollout.RolloutFailed, match="progress deadline"):
        _k8s_rollout.rollout_done("Deployment", workload)


def test_options_win_over_k8s_auth_variables():
    environ = {"K8S_AUTH_HOST": "https://env:6443", "K8S_AUTH_API_KEY": "env-token", "K8S_AUTH_VERIFY_SSL": "no",
               "K8S_AUTH_CONTEXT": "env-context", "K8S_AUTH_SSL_CA_CERT": "~/ca.pem"}
    settings = _k8s_connection.auth_settings({"host": "https://option:6443", "context": None}, environ)
    assert settings["host"] == "https://option:6443"
    assert settings["api_key"] == "env-token"
    assert settings["validate_certs"] is False
    assert settings["context"] == "env-context"
    assert not settings["ca_cert"].startswith("~")


def test_host_and_token_need_no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    transport = _k8s_connection.connect({"host": "https://127.0.0.1:6443/", "api_key": "t0ken"}, environ={})
    assert transport.host == "https://127.0.0.1:6443"
    assert transport._headers(None)["Authorization"] == "Bearer t0ken"


def test_no_configuration_at_all_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(_k8s_connection, "IN_CLUSTER_TOKEN", str(tmp_path / "no-token"))
    with pytest.raises(_k8s_connection.ConfigError, match="no Kubernetes configuration found: set kubeconfig"):
        _k8s_connection.connect({}, environ={})


def test_a_missing_context_is_a_clear_error(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    with pytest.raises(_k8s_connection.ConfigError, match="cannot load the Kubernetes configuration"):
        _k8s_connection.connect({"kubeconfig": str(kubeconfig), "context": "nope"}, environ={})


@pytest.mark.parametrize("status,content_type,body,not_served", [
    # group unknown: the apiserver's mux answers in plain text
    (404, "text/plain", b"404 page not found\n", True),
    # group served, resource unknown: a Status without details
    (404, "application/json", b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not '
                              b'find the requested resource","reason":"NotFound","details":{},"code":404}', True),
    # the object is missing: a Status naming it
    (404, "application/json", b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"scaledobjects.keda.sh '
                              b'\\"x\\" not found","reason":"NotFound","details":{"name":"x","group":"keda.sh",'
                              b'"kind":"scaledobjects"},"code":404}', False),
])
def test_keda_missing_is_told_apart_from_a_missing_object(status, content_type, body, not_served):
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_api import K8sError
    # content_type documents each case; the body alone decides (a plain-text 404 is no Status)
    error = K8sError.from_response(status, body)
    assert error.code == 404 and error.reason == "NotFound"
    assert error.object_not_found is not not_served


def test_rest_paths_are_built_without_discovery():
    from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_api as api
    assert api.SERVICE_ACCOUNT.path("keda", "keda-operator") == "/api/v1/namespaces/keda/serviceaccounts/keda-operator"
    assert api.DEPLOYMENT.path("kube-system") == "/apis/apps/v1/namespaces/kube-system/deployments"
    assert api.CLUSTER_TRIGGER_AUTHENTICATION.path(None, "shared") == \
        "/apis/keda.sh/v1alpha1/clustertriggerauthentications/shared"
    assert api.SCALED_JOB.crd_name == "scaledjobs.keda.sh"
