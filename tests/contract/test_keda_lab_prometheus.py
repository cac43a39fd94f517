"""Contract: the lab KEDA on the Helm path (seed 002 / reference/scenarios.md A): the article's ScaledObject
becomes Ready, gets ``keda-hpa-<name>``, and a Prometheus metric above the threshold scales the target
up and back down; a removed role shows the Prometheus 403 and a wrong subject AADSTS70021 in the
operator's log (KEDA 2.20.2 from the lab chart: no response body in the 403 text, §0 of keda-behaviour.md).
"""

from __future__ import annotations

import kubernetes
import pytest
from lab.testing import REPO_ROOT

from lab import ids, kedascene as scene
from lab.azure import seed
from lab.k8s.testing import Tools

MI = "keda-int-identity"
SO = "azure-managed-prometheus-scaler"
TARGET = "deployment-name-to-be-scaled"
QUERY = 'sum(rate(http_requests_total{deployment="my-deployment"}[2m]))'


@pytest.fixture
def kube(clean_lab):
    api = kubernetes.config.new_client_from_config(config_file=clean_lab.env["KUBECONFIG"])
    yield (kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api), kubernetes.client.CustomObjectsApi(api),
           kubernetes.client.AutoscalingV2Api(api))
    api.close()
    # Leave no add-on, chart or KEDA objects behind for tests that do not reset the lab.
    clean_lab.reset()


def converge(lab, kube, tmp_path, subject: str = "system:serviceaccount:keda:keda-operator", role: bool = True,
             workload_identity: bool = True):
    """Scenario A steps 2-9 with the lab chart; returns the identity and the role assignment's name."""
    core, apps, custom, _hpa = kube
    env = lab.env
    lab.settings(fic_propagation_seconds=0)
    issuer = scene.enable_cluster(env, keda=False)
    identity = scene.identity(env, MI)
    assignment = scene.assign(env, seed.monitor_workspace_id(), scene.MONITORING_DATA_READER, identity.principal_id) if role else None
    core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name="keda")))
    core.create_namespaced_service_account("keda", kubernetes.client.V1ServiceAccount(metadata=kubernetes.client.V1ObjectMeta(
        name="keda-operator", labels={"azure.workload.identity/use": "true"},
        annotations={"azure.workload.identity/client-id": identity.client_id})))
    scene.credential(env, MI, "kedaFedIdentity", issuer, subject)
    # The real kedacore/keda chart from the lab's chart repository (helm install keda kedacore/keda).
    Tools(env, REPO_ROOT, str(tmp_path)).helm(
        "install", "keda", "keda", "--repo", env["LAB_CHART_REPO_URL"], "--version", "2.20.2", "-n", "keda", "--wait", "--timeout", "60s",
        "--set", "serviceAccount.operator.create=false", "--set", "serviceAccount.operator.name=keda-operator",
        "--set", f"podIdentity.azureWorkload.enabled={str(workload_identity).lower()}",
        "--set", f"podIdentity.azureWorkload.clientId={identity.client_id}",
        "--set", f"podIdentity.azureWorkload.tenantId={ids.TENANT_ID}")
    apps.create_namespaced_deployment("default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": TARGET},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": TARGET}}, "template": {
            "metadata": {"labels": {"app": TARGET}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    scene.trigger_auth(custom, "default", "azure-managed-prometheus-trigger-auth", identity.client_id)
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": SO},
        "spec": {"scaleTargetRef": {"name": TARGET}, "minReplicaCount": 1, "maxReplicaCount": 20, "triggers": [{
            "type": "prometheus", "metadata": {"serverAddress": seed.PROMETHEUS_QUERY_ENDPOINT, "metricName": "http_requests_total",
                                               "query": QUERY, "threshold": "100.50", "activationThreshold": "5.5"},
            "authenticationRef": {"name": "azure-managed-prometheus-trigger-auth"}}]}})
    return identity, assignment


def replicas(apps) -> int:
    return apps.read_namespaced_deployment(TARGET, "default").spec.replicas


def condition(custom, ctype: str) -> tuple[str, str]:
    so = custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", SO)
    found = next((c for c in (so.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})
    return found.get("status", ""), found.get("reason", "")


def test_metric_above_threshold_scales_up_and_back_down(clean_lab, kube, tmp_path):
    core, apps, custom, autoscaling = kube
    converge(clean_lab, kube, tmp_path)
    scene.wait_for("Ready", lambda: condition(custom, "Ready") == ("True", "ScaledObjectReady"))
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(f"keda-hpa-{SO}", "default")
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 20)
    metric = hpa.spec.metrics[0].external
    assert (metric.metric.name, metric.target.type, metric.target.average_value) == ("s0-prometheus", "AverageValue", "100500m")
    assert hpa.metadata.owner_references[0].kind == "ScaledObject"

    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": QUERY, "value": 350})
    scene.wait_for("scale up to 4", lambda: replicas(apps) == 4)
    assert condition(custom, "Active") == ("True", "ScalerActive")
    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": QUERY, "value": 0})
    scene.wait_for("scale back to 1", lambda: replicas(apps) == 1)
    assert condition(custom, "Active") == ("False", "ScalerNotActive")
    reasons = [e.reason for e in scene.events(core, "default", SO)]
    assert reasons.count("ScaledObjectReady") == 1 and "KEDAScalersStarted" in reasons
    assert any(e.reason == "SuccessfulRescale" for e in scene.events(core, "default", f"keda-hpa-{SO}"))
    # The queries carried the identity's token for Azure Monitor.
    queries = [r for r in clean_lab.control("GET", "/requests?service=prometheus&actor=keda-operator")
               if r["path"].startswith("/api/v1/query")]
    assert queries and all(r["status"] == 200 for r in queries)
    assert not clean_lab.requests("prometheus")  # hidden from module-facing request counts


def test_removed_role_is_the_prometheus_403_in_event_and_log(clean_lab, kube, tmp_path):
    core, _apps, custom, _hpa = kube
    _identity, assignment = converge(clean_lab, kube, tmp_path)
    scene.wait_for("Ready", lambda: condition(custom, "Ready") == ("True", "ScaledObjectReady"))
    scene.unassign(clean_lab.env, seed.monitor_workspace_id(), assignment)
    scene.wait_for("TriggerError", lambda: condition(custom, "Ready") == ("False", "TriggerError"))
    failed = [e for e in scene.events(core, "default", SO) if e.reason == "KEDAScalerFailed"]
    assert failed[0].message == "prometheus query api returned error. status: 403"
    log = scene.operator_log(core, "keda")
    assert "ERROR\tprometheus_scaler\tprometheus query api returned error\t" in log
    assert "ERROR\tscale_handler\terror getting metric for trigger\t" in log
    body = [r for r in clean_lab.control("GET", "/requests?service=prometheus&actor=*") if r["status"] == 403]
    assert body, "the workspace answered 403"


def test_wrong_subject_is_aadsts70021_in_the_operator_log(clean_lab, kube, tmp_path):
    core, _apps, custom, autoscaling = kube
    converge(clean_lab, kube, tmp_path, subject="system:serviceaccount:kube-system:keda-operator")
    scene.wait_for("TriggerError", lambda: condition(custom, "Ready") == ("False", "TriggerError"))
    scene.wait_for("AADSTS70021 in the log", lambda: "AADSTS70021" in scene.operator_log(core, "keda"))
    log = scene.operator_log(core, "keda")
    assert "ChainedTokenCredential: failed to acquire a token.\\nAttempted credentials:\\n\\tWorkloadIdentityCredential authentication failed." in log
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(f"keda-hpa-{SO}", "default")
    active = next(c for c in hpa.status.conditions if c.type == "ScalingActive")
    assert (active.status, active.reason) == ("False", "FailedGetExternalMetric")


def test_operator_without_the_injected_env_cannot_build_the_prometheus_scaler(clean_lab, kube, tmp_path):
    """Chart without podIdentity.azureWorkload: the operator pod is not mutated; the TriggerAuthentication's
    identityId gives azidentity a client id but no token file, the chain is empty and the Prometheus scaler
    fails at creation (keda-behaviour.md §1.3, §6)."""
    core, _apps, custom, autoscaling = kube
    converge(clean_lab, kube, tmp_path, workload_identity=False)
    scene.wait_for("ScaledObjectCheckFailed", lambda: condition(custom, "Ready") == ("False", "ScaledObjectCheckFailed"))
    so = custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", SO)
    ready = next(c for c in so["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"] == "failed to ensure HPA is correctly created for ScaledObject: sources must contain at least one TokenCredential"
    log = scene.operator_log(core, "keda")
    assert ('ERROR\tprometheus_scaler\terror starting azure workload-identity token provider\t{"type": "ScaledObject", '
            '"namespace": "default", "name": "azure-managed-prometheus-scaler", "error": "no token file specified. '
            'Check pod configuration or set TokenFilePath in the options"}') in log
    assert not autoscaling.list_namespaced_horizontal_pod_autoscaler("default").items


def test_addon_keda_puts_the_workspaces_403_body_in_its_event(clean_lab, kube):
    """The add-on ships KEDA <= 2.19, whose error still carries the response body: the seeds' text (§0)."""
    core, apps, custom, _autoscaling = kube
    env = clean_lab.env
    clean_lab.settings(fic_propagation_seconds=0)
    issuer = scene.enable_cluster(env)
    identity = scene.identity(env, MI)
    scene.credential(env, MI, "keda-operator", issuer, "system:serviceaccount:kube-system:keda-operator")
    scene.annotate_account(core, "kube-system", "keda-operator", identity.client_id)
    scene.restart(apps, "kube-system", "keda-operator")
    apps.create_namespaced_deployment("default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": TARGET},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": TARGET}}, "template": {
            "metadata": {"labels": {"app": TARGET}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    scene.trigger_auth(custom, "default", "azure-managed-prometheus-trigger-auth", identity.client_id)
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": SO},
        "spec": {"scaleTargetRef": {"name": TARGET}, "triggers": [{
            "type": "prometheus", "metadata": {"serverAddress": seed.PROMETHEUS_QUERY_ENDPOINT, "query": QUERY, "threshold": "100.50"},
            "authenticationRef": {"name": "azure-managed-prometheus-trigger-auth"}}]}})
    failed = scene.wait_for("KEDAScalerFailed", lambda: [e for e in scene.events(core, "default", SO) if e.reason == "KEDAScalerFailed"])
    assert failed[0].source.component == "keda-operator"
    assert failed[0].message == (
        'prometheus query api returned error. status: 403 response: {"status": "error", "errorType": "Forbidden", '
        f'"error": "User \'{identity.principal_id}\' does not have access to perform any of the following actions '
        f"'microsoft.monitor/accounts/data/metrics/read' on resource '{seed.monitor_workspace_id().lower()}'.\"}}")
