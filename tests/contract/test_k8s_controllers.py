"""Contract: Deployment/ReplicaSet/Pod controllers, rollout status, StatefulSet, DaemonSet, Job."""

from __future__ import annotations

import re
import time

import yaml


def _workload(kind: str, name: str, replicas: int | None = 2, account: str | None = None) -> dict:
    spec: dict = {"containers": [{"name": "main", "image": "nginx:1.27"}]}
    if account:
        spec["serviceAccountName"] = account
    body: dict = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
                  "spec": {"selector": {"matchLabels": {"app": name}},
                           "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


def _pods(raw, ns: str) -> list[dict]:
    return raw.request("GET", f"/api/v1/namespaces/{ns}/pods").json()["items"]


def test_deployment_creates_a_hashed_replicaset_and_ready_pods(raw, apps, ns):
    apps.create_namespaced_deployment(ns, _workload("Deployment", "web"))
    sets = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets").json()["items"]
    assert len(sets) == 1
    rs = sets[0]
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}" and re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]+", digest)
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["metadata"]["ownerReferences"][0]["controller"] is True
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": digest}
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = _pods(raw, ns)
    assert len(pods) == 2
    for pod in pods:
        assert re.fullmatch(rf"web-{digest}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", pod["metadata"]["name"])
        assert pod["metadata"]["ownerReferences"][0]["name"] == rs["metadata"]["name"]
        assert pod["status"]["phase"] == "Running"
        assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
        assert pod["status"]["containerStatuses"][0]["ready"] is True
        assert pod["spec"]["serviceAccountName"] == "default" and pod["spec"]["nodeName"] == "lab-node"
    status = apps.read_namespaced_deployment("web", ns).status
    assert (status.observed_generation, status.replicas, status.updated_replicas, status.ready_replicas,
            status.available_replicas) == (1, 2, 2, 2, 2)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"),
                          "Progressing": ("True", "NewReplicaSetAvailable")}


def test_rollout_restart_replaces_the_replicaset_and_its_pods(tools, raw, ns, tmp_path):
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(yaml.safe_dump(dict(_workload("Deployment", "web"), metadata={"name": "web", "namespace": ns})))
    tools.kubectl("apply", "-f", str(manifest))
    tools.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=20s")
    before = {p["metadata"]["name"] for p in _pods(raw, ns)}
    tools.kubectl("rollout", "restart", "deployment/web", "-n", ns)
    out = tools.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=20s").stdout
    assert 'deployment "web" successfully rolled out' in out
    pods = _pods(raw, ns)
    assert len(pods) == 2 and not before & {p["metadata"]["name"] for p in pods}
    for pod in pods:
        assert "kubectl.kubernetes.io/restartedAt" in pod["metadata"]["annotations"]
    sets = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets").json()["items"]
    revisions = sorted((s["metadata"]["annotations"]["deployment.kubernetes.io/revision"], s["spec"]["replicas"]) for s in sets)
    assert revisions == [("1", 0), ("2", 2)]


def test_rollout_status_waits_for_pods_to_become_ready(clean_lab, tools, raw):
    clean_lab.settings(pod_ready_seconds=1.0)
    try:
        raw.request("POST", "/apis/apps/v1/namespaces/default/deployments", _workload("Deployment", "slow", 1))
        status = raw.request("GET", "/apis/apps/v1/namespaces/default/deployments/slow").json()["status"]
        assert "readyReplicas" not in status and status["unavailableReplicas"] == 1
        started = time.monotonic()
        out = tools.kubectl("rollout", "status", "deployment/slow", "-n", "default", "--timeout=20s").stdout
        assert "successfully rolled out" in out and time.monotonic() - started >= 0.5
        tools.kubectl("rollout", "restart", "deployment/slow", "-n", "default")
        early = tools.kubectl("rollout", "status", "deployment/slow", "-n", "default", "--timeout=1ms", check=False)
        assert early.returncode != 0
        # RollingUpdate keeps the old pod until the new one is ready.
        assert len(raw.request("GET", "/api/v1/namespaces/default/pods").json()["items"]) == 2
        tools.kubectl("rollout", "status", "deployment/slow", "-n", "default", "--timeout=20s")
        assert len(raw.request("GET", "/api/v1/namespaces/default/pods").json()["items"]) == 1
    finally:
        clean_lab.settings(pod_ready_seconds=0.0)


def test_scaling_adds_and_removes_pods_through_the_scale_subresource(tools, raw, ns):
    raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", _workload("Deployment", "web", 1))
    tools.kubectl("scale", "deployment/web", "-n", ns, "--replicas=3")
    assert len(_pods(raw, ns)) == 3
    scale = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 3
    tools.kubectl("scale", "deployment/web", "-n", ns, "--replicas=1")
    assert len(_pods(raw, ns)) == 1


def test_missing_service_account_is_a_replica_failure_until_it_exists(raw, ns):
    raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", _workload("Deployment", "op", 1, account="keda-operator"))
    assert _pods(raw, ns) == []
    rs = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets").json()["items"][0]
    failure = next(c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert failure["reason"] == "FailedCreate"
    assert failure["message"] == (f'pods "{rs["metadata"]["name"]}-" is forbidden: error looking up service account '
                                  f'{ns}/keda-operator: serviceaccount "keda-operator" not found')
    deploy = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/op").json()
    assert "ReplicaFailure" in {c["type"] for c in deploy["status"]["conditions"]}
    raw.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "keda-operator"}})
    assert len(_pods(raw, ns)) == 1
    deploy = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/op").json()
    assert "ReplicaFailure" not in {c["type"] for c in deploy["status"]["conditions"]}


def test_deleting_a_deployment_cascades_to_replicasets_and_pods(raw, ns):
    raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", _workload("Deployment", "web"))
    response = raw.request("DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/web", {"propagationPolicy": "Foreground"})
    assert response.json()["kind"] == "Status"
    assert raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets").json()["items"] == []
    assert _pods(raw, ns) == []


def test_statefulset_and_daemonset_report_rollout_status(tools, raw, ns):
    raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/statefulsets", _workload("StatefulSet", "db", 2))
    raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/daemonsets", _workload("DaemonSet", "agent", None))
    names = {p["metadata"]["name"] for p in _pods(raw, ns)}
    assert {"db-0", "db-1"} <= names and len([n for n in names if n.startswith("agent-")]) == 1
    out = tools.kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=20s").stdout
    # RollingUpdate defaults partition to 0, so kubectl reports the partitioned form, as against a real server.
    assert "partitioned roll out complete: 2 new pods have been updated" in out
    assert "successfully rolled out" in tools.kubectl("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=20s").stdout
    tools.kubectl("rollout", "restart", "statefulset/db", "-n", ns)
    tools.kubectl("rollout", "status", "statefulset/db", "-n", ns, "--timeout=20s")
    sts = raw.request("GET", f"/apis/apps/v1/namespaces/{ns}/statefulsets/db").json()["status"]
    assert sts["currentRevision"] == sts["updateRevision"] and sts["readyReplicas"] == 2


def test_job_runs_a_pod_to_completion(raw, tools, ns):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}
    created = raw.request("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", job).json()
    assert created["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == created["metadata"]["uid"]
    tools.kubectl("wait", "--for=condition=complete", "job/once", "-n", ns, "--timeout=20s")
    status = raw.request("GET", f"/apis/batch/v1/namespaces/{ns}/jobs/once").json()["status"]
    assert status["succeeded"] == 1 and status["completionTime"]
    assert [p["status"]["phase"] for p in _pods(raw, ns)] == ["Succeeded"]
    always = dict(job, metadata={"name": "bad"})
    always["spec"] = {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    invalid = raw.request("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", always).json()
    assert invalid["code"] == 422 and ('spec.template.spec.restartPolicy: Unsupported value: "Always": '
                                       'supported values: "OnFailure", "Never"') in invalid["message"]


def test_workload_validation_rejects_a_selector_that_misses_the_template(raw, ns):
    body = _workload("Deployment", "web")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    invalid = raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body).json()
    assert invalid["code"] == 422
    assert "spec.template.metadata.labels: Invalid value: " in invalid["message"]
    assert "`selector` does not match template `labels`" in invalid["message"]


def _available(raw, name: str) -> tuple[str, str, str]:
    status = raw.request("GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{name}").json()["status"]
    condition = next(c for c in status["conditions"] if c["type"] == "Available")
    return condition["status"], condition["reason"], condition["message"]


def test_apiservice_is_available_once_its_service_has_ready_endpoints(raw, ns):
    name = f"v1beta1.{ns}.metrics.k8s.io"
    created = raw.request("POST", "/apis/apiregistration.k8s.io/v1/apiservices", {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
        "spec": {"group": f"{ns}.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                 "versionPriority": 100, "insecureSkipTLSVerify": True,
                 "service": {"name": "metrics", "namespace": ns, "port": 443}}})
    assert created.status_code == 201
    try:
        assert _available(raw, name) == ("False", "ServiceNotFound", f'service/metrics in "{ns}" is not present')
        raw.request("POST", f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "metrics"}, "spec": {
            "selector": {"app": "metrics"}, "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})
        assert _available(raw, name) == ("False", "MissingEndpoints",
                                         f'endpoints for service/metrics in "{ns}" have no addresses with port name "https"')
        raw.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", {"metadata": {"name": "metrics"}, "spec": {
            "selector": {"matchLabels": {"app": "metrics"}},
            "template": {"metadata": {"labels": {"app": "metrics"}}, "spec": {"containers": [{"name": "m", "image": "m:1"}]}}}})
        deadline = time.monotonic() + 10
        while _available(raw, name)[0] != "True" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _available(raw, name) == ("True", "Passed", "all checks passed")
    finally:
        raw.request("DELETE", f"/apis/apiregistration.k8s.io/v1/apiservices/{name}")
