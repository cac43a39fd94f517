"""Contract: KEDA's admission webhooks, called by the lab's API server, answer kubectl with KEDA's texts.

The add-on (KEDA 2.17.2) and the kedacore/keda chart 2.20.2 both register the ``keda-admission``
ValidatingWebhookConfiguration; the API server calls it on create and update of the four keda.sh
kinds and kubectl prints the denial as ``Error from server (Forbidden): ... admission webhook
"vscaledobject.kb.io" denied the request: <KEDA's message>`` (texts: kedacore/keda
apis/keda/v1alpha1/*_webhook.go at each version).
"""

from __future__ import annotations

import json
import os

import pytest

from lab import ids
from lab import kedascene as scene
from lab.azure.keda_addon import crd_dir
from lab.k8s.testing import Tools
from lab.testing import REPO_ROOT

PROMETHEUS = {"type": "prometheus", "metadata": {"serverAddress": "https://amw.eastus.prometheus.monitor.azure.com",
                                                 "query": "sum(up)", "threshold": "10"}}


def scaled_object(name: str, target: str, **spec) -> str:
    return json.dumps({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                       "metadata": {"name": name, "namespace": "default"},
                       "spec": {"scaleTargetRef": {"name": target}, "triggers": [PROMETHEUS], **spec}})


def deployment(tools: Tools, name: str) -> None:
    tools.kubectl("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]}}}}))


def denied(tools: Tools, manifest: str, *args: str) -> str:
    result = tools.kubectl("apply", *args, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr.strip()


@pytest.fixture
def tools(clean_lab, tmp_path):
    yield Tools(clean_lab.env, REPO_ROOT, str(tmp_path))
    clean_lab.reset()


def test_addon_webhook_refuses_what_keda_2_17_refuses(clean_lab, tools):
    scene.enable_cluster(clean_lab.env, keda=True)
    hooks = tools.kubectl_json("get", "validatingwebhookconfiguration", "keda-admission")["webhooks"]
    assert [h["name"] for h in hooks] == ["vscaledobject.kb.io", "vscaledjob.kb.io", "vstriggerauthentication.kb.io",
                                          "vsclustertriggerauthentication.kb.io"]
    tools.kubectl("rollout", "status", "deployment/keda-admission-webhooks", "-n", "kube-system", "--timeout=30s")
    deployment(tools, "web")
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("first", "web"))

    assert denied(tools, scaled_object("second", "web")) == (
        'Error from server (Forbidden): error when creating "STDIN": admission webhook "vscaledobject.kb.io" denied '
        "the request: the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'")
    # Server-side dry-run is admitted by the same webhook (sideEffects: None); nothing is stored.
    refusal = denied(tools, scaled_object("second", "web"), "--dry-run=server")
    assert "already managed by the ScaledObject 'first'" in refusal
    assert tools.kubectl("get", "scaledobject", "second", check=False).returncode != 0

    deployment(tools, "api")
    tools.kubectl("create", "-f", "-", stdin=json.dumps({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api-hpa", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "maxReplicas": 3}}))
    assert denied(tools, scaled_object("api", "api")).endswith(
        "denied the request: the workload 'api' of type 'apps/v1.Deployment' is already managed by the hpa 'api-hpa'")

    deployment(tools, "bounds")
    assert denied(tools, scaled_object("bounds", "bounds", minReplicaCount=5, maxReplicaCount=2)).endswith(
        "denied the request: MinReplicaCount=5 must be less than MaxReplicaCount=2")
    assert denied(tools, scaled_object("bounds", "bounds", idleReplicaCount=0)).endswith(
        "denied the request: IdleReplicaCount=0 must be less than MinReplicaCount=0")
    # An update is checked too: first's bounds made invalid.
    assert denied(tools, scaled_object("first", "web", minReplicaCount=3, maxReplicaCount=1)).startswith(
        'Error from server (Forbidden): error when applying patch:')
    # 2.17.2 has no verifyName: a 70-character name is accepted (the HPA name would be 79).
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("n" * 70, "bounds"))

    auth = {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "metadata": {"name": "ta", "namespace": "default"},
            "spec": {"podIdentity": {"provider": "azure-workload", "identityId": ""}}}
    assert denied(tools, json.dumps(auth)).endswith(
        'admission webhook "vstriggerauthentication.kb.io" denied the request: identityId of PodIdentity should not be '
        'empty. If it\'s set, identityId has to be different than ""')
    job = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": "job", "namespace": "default"},
           "spec": {"jobTargetRef": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
                    "triggers": [dict(PROMETHEUS, name="t"), dict(PROMETHEUS, name="t")]}}
    assert denied(tools, json.dumps(job)).endswith(
        'admission webhook "vscaledjob.kb.io" denied the request: triggerName "t" is defined multiple times in the '
        "ScaledObject/ScaledJob, but it must be unique")


def test_failure_policy_and_namespace_selector_decide_whether_keda_is_asked(clean_lab, tools):
    scene.enable_cluster(clean_lab.env, keda=True)
    deployment(tools, "web")
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("first", "web"))
    tools.kubectl("rollout", "status", "deployment/keda-admission-webhooks", "-n", "kube-system", "--timeout=30s")
    tools.kubectl("create", "namespace", "elsewhere")
    tools.kubectl("label", "namespace", "default", "keda-webhooks=on")
    patch = [{"op": "add", "path": "/webhooks/0/namespaceSelector", "value": {"matchLabels": {"keda-webhooks": "on"}}}]
    tools.kubectl("patch", "validatingwebhookconfiguration", "keda-admission", "--type=json", "-p", json.dumps(patch))
    # default still matches the selector: refused.
    assert "already managed by the ScaledObject 'first'" in denied(tools, scaled_object("second", "web"))
    tools.kubectl("label", "namespace", "default", "keda-webhooks-")
    # The webhook is no longer called for default: the API server accepts what KEDA would refuse.
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("second", "web"))

    tools.kubectl("label", "namespace", "default", "keda-webhooks=on")
    tools.kubectl("scale", "deployment/keda-admission-webhooks", "-n", "kube-system", "--replicas=0")
    scene.wait_for("no webhook pod", lambda: not tools.kubectl_json(
        "get", "pods", "-n", "kube-system", "-l", "app=keda-admission-webhooks")["items"])
    # failurePolicy Ignore (KEDA's default): an unreachable webhook admits.
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("third", "web"))
    patch = [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Fail"}]
    tools.kubectl("patch", "validatingwebhookconfiguration", "keda-admission", "--type=json", "-p", json.dumps(patch))
    assert denied(tools, scaled_object("fourth", "web")) == (
        'Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook '
        '"vscaledobject.kb.io": failed to call webhook: Post "https://keda-admission-webhooks.kube-system.svc:443'
        '/validate-keda-sh-v1alpha1-scaledobject?timeout=10s": no endpoints available for service "keda-admission-webhooks"')


def test_no_webhook_without_keda(clean_lab, tools):
    tools.kubectl("apply", "--server-side", "-f", os.path.join(crd_dir(), "keda.sh_scaledobjects.yaml"))
    deployment(tools, "web")
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("first", "web"))
    tools.kubectl("apply", "-f", "-", stdin=scaled_object("second", "web"))
    assert tools.kubectl("get", "validatingwebhookconfigurations", "-o", "name").stdout.strip() == ""


def test_chart_webhook_refuses_what_keda_2_20_refuses(clean_lab, tools):
    tools.kubectl("create", "namespace", "keda")
    tools.helm("install", "keda", "keda", "--repo", clean_lab.env["LAB_CHART_REPO_URL"], "--version", "2.20.2", "-n", "keda",
               "--wait", "--timeout", "60s", "--set", f"podIdentity.azureWorkload.tenantId={ids.TENANT_ID}")
    deployment(tools, "web")
    name = "n" * 56
    assert denied(tools, scaled_object(name, "web")).endswith(
        f'denied the request: HPA name "keda-hpa-{name}" derived from scaledobject is 65 characters long; must be no '
        "more than 63 characters; set spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or shorten "
        "the scaledobject name")
    # 2.20.2's warnings reach kubectl.
    applied = tools.kubectl("apply", "-f", "-", stdin=scaled_object("warned", "web", minReplicaCount=1, pollingInterval=5))
    assert ("Warning: PollingInterval is configured but is not relevant. PollingInterval is only relevant when "
            "minReplicaCount = 0 or idleReplicaCount = 0 or useCachedMetrics is enabled") in applied.stderr
    assert denied(tools, scaled_object("again", "web")).endswith(
        "the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'warned'")
