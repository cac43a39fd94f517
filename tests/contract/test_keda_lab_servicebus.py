"""Contract: the lab KEDA on the add-on path (seed 001 / reference/scenarios.md B) reaches the seed's end
state — the producer Job publishes 100 messages, the ScaledJob creates 10 jobs (``Created 10 jobs``),
the consumers drain the queue — and each broken link shows the error KEDA users meet.

Everything goes through the public clients over HTTPS: azure-mgmt-* for ARM, the kubernetes client
for the cluster (events, pods/log), as a user would look with ``kubectl``.
"""

from __future__ import annotations

import kubernetes
import pytest
from lab.testing import REPO_ROOT

from lab import ids, kedascene as scene
from lab.k8s.testing import Tools

MI = "keda-servicebus-identity"
SB_SCOPE = (f"/subscriptions/{ids.SUBSCRIPTION_ID}/resourceGroups/{ids.RESOURCE_GROUP}"
            f"/providers/Microsoft.ServiceBus/namespaces/{ids.SERVICEBUS_NAMESPACE_NAME}")


@pytest.fixture
def kube(clean_lab):
    api = kubernetes.config.new_client_from_config(config_file=clean_lab.env["KUBECONFIG"])
    yield (kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api), kubernetes.client.CustomObjectsApi(api),
           kubernetes.client.BatchV1Api(api))
    api.close()
    # Leave no add-on, chart or KEDA objects behind for tests that do not reset the lab.
    clean_lab.reset()


def converge(lab, kube, subject_namespace: str = "kube-system", role: bool = True):
    """Scenario B steps 1-8 (the add-on path), optionally with one link broken."""
    core, apps, custom, _batch = kube
    env = lab.env
    lab.settings(fic_propagation_seconds=0)  # the propagation delay is the doctor target's subject
    issuer = scene.enable_cluster(env)
    identity = scene.identity(env, MI)
    scene.credential(env, MI, MI, issuer, f"system:serviceaccount:default:{MI}")
    scene.credential(env, MI, "keda-operator", issuer, f"system:serviceaccount:{subject_namespace}:keda-operator")
    assignment = scene.assign(env, SB_SCOPE, scene.DATA_OWNER, identity.principal_id) if role else None
    scene.annotate_account(core, "kube-system", "keda-operator", identity.client_id)
    scene.restart(apps, "kube-system", "keda-operator")
    scene.annotate_account(core, "default", MI, identity.client_id, create=True)
    scene.trigger_auth(custom, "default", "azure-servicebus-auth", identity.client_id)
    return identity, assignment


def produce(kube, count: int = 100):
    _core, _apps, _custom, batch = kube
    batch.create_namespaced_job("default", scene.producer_job(MI, count=count))


def test_producer_then_scaledjob_creates_10_jobs_and_drains_the_queue(clean_lab, kube, tmp_path):
    core, _apps, custom, batch = kube
    converge(clean_lab, kube)
    produce(kube)
    scene.wait_for("the producer Job to complete", lambda: (batch.read_namespaced_job("myproducer", "default").status.succeeded or 0) == 1)
    assert scene.queue_count(clean_lab.env) == 100

    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs",
                                           scene.consumer_scaled_job(MI, "azure-servicebus-auth"))
    created = scene.wait_for("KEDAJobsCreated", lambda: [e for e in scene.events(core, "default", "myconsumer-scaledjob")
                                                         if e.reason == "KEDAJobsCreated"])
    assert created[0].message == "Created 10 jobs"
    assert created[0].source.component == "scale-handler"  # the add-on's KEDA (2.17) writes core/v1 events
    scene.wait_for("the queue to drain", lambda: scene.queue_count(clean_lab.env) == 0)
    jobs = batch.list_namespaced_job("default", label_selector="scaledjob.keda.sh/name=myconsumer-scaledjob").items
    assert len(jobs) == 10
    scene.wait_for("every consumer to complete", lambda: all(
        (j.status.succeeded or 0) == 1 for j in batch.list_namespaced_job(
            "default", label_selector="scaledjob.keda.sh/name=myconsumer-scaledjob").items))
    sj = custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs", "myconsumer-scaledjob")
    ready = next(c for c in sj["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "ScaledJobReady")
    reasons = [e.reason for e in scene.events(core, "default", "myconsumer-scaledjob")]
    assert {"KEDAScalersStarted", "ScaledJobReady", "KEDAJobsCreated"} <= set(reasons)
    pod = core.list_namespaced_pod("default", label_selector="job-name=myproducer").items[0]
    assert "Sent 100 messages to orders" in core.read_namespaced_pod_log(pod.metadata.name, "default")
    assert "Scaling Jobs" in scene.operator_log(core, "kube-system")
    # What a user types: kubectl get events / kubectl logs.
    tools = Tools(clean_lab.env, REPO_ROOT, str(tmp_path))
    table = tools.kubectl("get", "events", "-n", "default").stdout
    assert any(line.split()[1:4] == ["Normal", "KEDAJobsCreated", "scaledjob/myconsumer-scaledjob"] and line.endswith("Created 10 jobs")
               for line in table.splitlines())
    log = tools.kubectl("logs", "-n", "kube-system", "deploy/keda-operator").stdout
    assert '\tINFO\tscaleexecutor\tCreated jobs\t{"scaledJob.Name": "myconsumer-scaledjob", "scaledJob.Namespace": "default", ' \
           '"Number of jobs": 10}' in log


def test_operator_credential_subject_in_the_wrong_namespace_is_aadsts70021_in_events_and_log(clean_lab, kube):
    core, _apps, custom, _batch = kube
    converge(clean_lab, kube, subject_namespace="keda")
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs",
                                           scene.consumer_scaled_job(MI, "azure-servicebus-auth"))
    failed = scene.wait_for("KEDAScalerFailed", lambda: [e for e in scene.events(core, "default", "myconsumer-scaledjob")
                                                         if e.reason == "KEDAScalerFailed"])
    assert failed[0].type == "Warning"
    assert "AADSTS70021: No matching federated identity record found for presented assertion." in failed[0].message
    assert failed[0].message.startswith("ChainedTokenCredential: failed to acquire a token.")
    log = scene.operator_log(core, "kube-system")
    assert "ERROR\tazure_servicebus_scaler\terror getting service bus entity length" in log
    assert "Assertion Subject: 'system:serviceaccount:kube-system:keda-operator'" in log or "AADSTS70021" in log
    sj = custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs", "myconsumer-scaledjob")
    ready = next(c for c in sj["status"]["conditions"] if c["type"] == "Ready")
    # The add-on's 2.17.2 marks any trigger error Unknown/PartialTriggerError (pkg/scaling/executor/scale_jobs.go@v2.17.2
    # RequestJobScale); False/TriggerError when all triggers fail is 2.20's rule.
    assert (ready["status"], ready["reason"]) == ("Unknown", "PartialTriggerError")


def test_without_the_role_the_scaler_gets_servicebus_401_manage_claims(clean_lab, kube):
    core, _apps, custom, _batch = kube
    converge(clean_lab, kube, role=False)
    custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs",
                                           scene.consumer_scaled_job(MI, "azure-servicebus-auth"))
    failed = scene.wait_for("KEDAScalerFailed", lambda: [e for e in scene.events(core, "default", "myconsumer-scaledjob")
                                                         if e.reason == "KEDAScalerFailed"])
    assert failed[0].message.startswith(f"GET https://{ids.SERVICEBUS_NAMESPACE_NAME}.servicebus.windows.net/orders\n")
    assert "RESPONSE 401: 401 Unauthorized" in failed[0].message
    assert "Manage,EntityRead claims required for this operation." in failed[0].message


def test_producer_without_the_role_fails_with_the_send_claim_error_in_its_log(clean_lab, kube):
    core, _apps, _custom, batch = kube
    converge(clean_lab, kube, role=False)
    produce(kube, count=1)
    scene.wait_for("a failed producer pod", lambda: [p for p in core.list_namespaced_pod("default", label_selector="job-name=myproducer").items
                                                     if p.status.phase == "Failed"])
    pod = next(p for p in core.list_namespaced_pod("default", label_selector="job-name=myproducer").items if p.status.phase == "Failed")
    log = core.read_namespaced_pod_log(pod.metadata.name, "default")
    assert "Unauthorized access. 'Send' claim(s) are required to perform this operation." in log
    assert scene.queue_count(clean_lab.env) == 0
    assert batch.read_namespaced_job("myproducer", "default").status.succeeded is None
