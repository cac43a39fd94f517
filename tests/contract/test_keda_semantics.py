"""Contract: the lab KEDA does what kedacore/keda's source does, per version — 2.17.2 (the AKS add-on) and
2.20.2 (the chart) — for the options ``keda_scaling`` forwards. Each table row is input → KEDA's observable
outcome (objects, conditions, events, log lines) with the source it follows; reference/keda-behaviour.md
§1-§3 are the facts.

The rule tables at the top check the lab's arithmetic against the source's (``scale_jobs.go``,
``metrics.go``, ``fallback.go``) without a cluster; the scene tests below drive the lab KEDA through the
kubernetes client over HTTPS with a Prometheus trigger on both versions (the add-on's operator in
kube-system, the chart's in keda), setting the metric through the lab's Prometheus and the KEDA clock
through ``POST /services/keda/clock`` so a 300 s cooldown takes no wall time.
"""

from __future__ import annotations

import uuid
from typing import Any

import kubernetes
import pytest

from lab import ids
from lab import kedascene as scene
from lab.azure import seed
from lab.k8s.testing import Raw, Tools
from lab.keda import fallback, pause, scaledjob, scaledobject
from lab.testing import REPO_ROOT

MI = "keda-semantics-identity"
TA = "prometheus-auth"


# -- the rules as tables ---------------------------------------------------------------------------------

# (scalingStrategy, min, max, queue, target, running, pending) → (Jobs created this poll), scale_jobs.go@v2.20.2 :422-496
# and metrics.go (maxScale = ceil(min(queue/target, MaxReplicaCount()))); the same code at v2.17.2.
STRATEGY_ROWS = [
    # The issue's case: 23 messages, messageCount 5, max 10 → maxScale 5 on the first poll for every strategy.
    ({}, 0, 10, 23, 5, 0, 0, 5),
    ({"strategy": "accurate"}, 0, 10, 23, 5, 0, 0, 5),
    ({"strategy": "eager"}, 0, 10, 23, 5, 0, 0, 5),
    # Second poll, 5 Jobs running (not pending), queue unchanged: default 0, accurate 5 (→ 10), eager 5 (→ 10).
    ({}, 0, 10, 23, 5, 5, 0, 0),
    ({"strategy": "default"}, 0, 10, 23, 5, 5, 0, 0),
    ({"strategy": "accurate"}, 0, 10, 23, 5, 5, 0, 5),
    ({"strategy": "eager"}, 0, 10, 23, 5, 5, 0, 5),
    # accurate over the cap: maxScale + running - pending > max → max - running.
    ({"strategy": "accurate"}, 0, 10, 100, 5, 8, 0, 2),
    # pending Jobs count against accurate and eager.
    ({"strategy": "accurate"}, 0, 10, 23, 5, 5, 5, 0),
    ({"strategy": "eager"}, 0, 10, 23, 5, 5, 5, 0),
    ({"strategy": "eager"}, 0, 10, 23, 5, 3, 2, 5),
    # custom: min(maxScale - deduction - int(running × percentage), max).
    ({"strategy": "custom", "customScalingQueueLengthDeduction": 1, "customScalingRunningJobPercentage": "0.5"}, 0, 10, 23, 5, 0, 0, 4),
    ({"strategy": "custom", "customScalingQueueLengthDeduction": 1, "customScalingRunningJobPercentage": "0.5"}, 0, 10, 23, 5, 4, 0, 2),
    # an unparsable percentage falls back to default.
    ({"strategy": "custom", "customScalingRunningJobPercentage": "half"}, 0, 10, 23, 5, 2, 0, 3),
    # maxReplicaCount caps maxScale; minReplicaCount: below it, create the difference; MaxReplicaCount() = max - min.
    ({}, 0, 3, 100, 5, 0, 0, 3),
    ({}, 2, 10, 0, 5, 0, 0, 2),
    ({}, 2, 10, 100, 5, 2, 0, 8),
]


@pytest.mark.parametrize("strategy,minimum,maximum,queue,target,running,pending,created", STRATEGY_ROWS)
def test_scaledjob_strategy_table(strategy, minimum, maximum, queue, target, running, pending, created):
    spec = {"minReplicaCount": minimum, "maxReplicaCount": maximum, "scalingStrategy": strategy}
    low, max_replicas = scaledjob.replica_bounds(spec)
    active, scale_to, max_scale = scaledjob.combine([(float(queue), min(queue / target, max_replicas), queue > 0)],
                                                    "max", low, max_replicas)
    effective, scale_to = scaledjob.decision(spec, running, pending, scale_to, max_scale)
    assert (min(scale_to, effective) if active and effective > 0 else 0) == created


# multipleScalersCalculation over (queueLength, maxValue, isActive) per scaler (metrics.go IsScaledJobActive).
COMBINE_ROWS = [
    ("max", [(10.0, 2.0, True), (30.0, 6.0, True)], (True, 30, 6)),
    ("min", [(10.0, 2.0, True), (30.0, 6.0, True)], (True, 10, 2)),
    ("avg", [(10.0, 2.0, True), (30.0, 6.0, True)], (True, 20, 4)),
    ("sum", [(10.0, 2.0, True), (30.0, 6.0, True)], (True, 40, 8)),
    ("max", [(10.0, 2.0, True), (30.0, 6.0, False)], (True, 10, 2)),  # only active scalers count
    ("sum", [(0.0, 0.0, False)], (False, 0, 0)),
]


@pytest.mark.parametrize("calculation,metrics,expected", COMBINE_ROWS)
def test_multiple_scalers_calculation_table(calculation, metrics, expected):
    assert scaledjob.combine(metrics, calculation, 0, 100) == expected


# Pause annotations: paused-replicas pauses whatever its value; paused follows strconv.ParseBool, unparsable = true.
PAUSE_ROWS = [
    ({pause.PAUSED: "true"}, True, None), ({pause.PAUSED: "false"}, False, None), ({pause.PAUSED: "yes"}, True, None),
    ({pause.PAUSED_REPLICAS: "0"}, True, 0), ({pause.PAUSED_REPLICAS: "3", pause.PAUSED: "false"}, True, 3), ({}, False, None),
]


@pytest.mark.parametrize("annotations,paused,count", PAUSE_ROWS)
def test_pause_annotation_table(annotations, paused, count):
    obj = {"metadata": {"annotations": annotations}}
    assert (pause.wanted(obj), pause.count(obj)) == (paused, count)
    assert scaledjob.pause_wanted(obj) == (annotations.get(pause.PAUSED) not in (None, "false"))


# Fallback replicas by behavior with fallback.replicas 4 (fallback.go doFallback).
FALLBACK_ROWS = [("static", 7, 4), (None, 7, 4), ("currentReplicas", 7, 7), ("currentReplicasIfHigher", 7, 7),
                 ("currentReplicasIfHigher", 2, 4), ("currentReplicasIfLower", 7, 4), ("currentReplicasIfLower", 2, 2)]


@pytest.mark.parametrize("behavior,current,replicas", FALLBACK_ROWS)
def test_fallback_behavior_table(behavior, current, replicas):
    spec: dict[str, Any] = {"fallback": {"failureThreshold": 1, "replicas": 4}}
    if behavior:
        spec["fallback"]["behavior"] = behavior
    assert fallback.replicas({"spec": spec}, current) == replicas


# Scale in to zero (scaleToZeroOrIdle): (spec, seconds since creation, seconds since lastActiveTime or None) → scales in.
COOLDOWN_ROWS = [
    ({}, 10, 299, False), ({}, 10, 301, True),  # cooldownPeriod defaults to 300
    ({"cooldownPeriod": 30}, 100, 31, True), ({"cooldownPeriod": 30}, 100, 29, False),
    ({}, 1, None, True),  # never active, initialCooldownPeriod 0: at once
    ({"initialCooldownPeriod": 120}, 60, None, False), ({"initialCooldownPeriod": 120}, 121, None, True),
    ({"initialCooldownPeriod": 120, "cooldownPeriod": 0}, 10, 1, True),  # once active, initialCooldownPeriod no longer counts
]


@pytest.mark.parametrize("spec,since_creation,since_active,scales_in", COOLDOWN_ROWS)
def test_cooldown_table(spec, since_creation, since_active, scales_in):
    now = 1_000_000.0
    last = None if since_active is None else now - since_active
    assert scaledobject.cooldown_over(spec, now - since_creation, last, now) is scales_in


# -- the lab KEDA per version, through the API -------------------------------------------------------------

# What each version has (kedacore/keda at the tag): events API, triggersActivity / ScaledJobActive (2.19+),
# HPAActive (2.20.2), ScaledObjectPaused and fallback events (2.20), SJ all-triggers-fail Ready (2.20: False TriggerError).
VERSIONS = {
    "2.17.2": {"operator_ns": "kube-system", "source": True, "triggers_activity": False, "hpa_active": False,
               "pause_events": False, "fallback_events": False, "sj_error": ("Unknown", "PartialTriggerError")},
    "2.20.2": {"operator_ns": "keda", "source": False, "triggers_activity": True, "hpa_active": True,
               "pause_events": True, "fallback_events": True, "sj_error": ("False", "TriggerError")},
}


class Scene:
    def __init__(self, lab, version: str, tmp_path):
        self.lab, self.version, self.facts = lab, version, VERSIONS[version]
        api = kubernetes.config.new_client_from_config(config_file=lab.env["KUBECONFIG"])
        self.api = api
        self.core = kubernetes.client.CoreV1Api(api)
        self.apps = kubernetes.client.AppsV1Api(api)
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.hpa = kubernetes.client.AutoscalingV2Api(api)
        self.query = f'sum(rate(jobs_waiting{{run="{uuid.uuid4().hex[:8]}"}}[1m]))'
        env = lab.env
        lab.settings(fic_propagation_seconds=0)
        if version == "2.17.2":
            issuer = scene.enable_cluster(env)
            identity = scene.identity(env, MI)
            scene.credential(env, MI, "keda-operator", issuer, "system:serviceaccount:kube-system:keda-operator")
            self.assignment = scene.assign(env, seed.monitor_workspace_id(), scene.MONITORING_DATA_READER, identity.principal_id)
            scene.annotate_account(self.core, "kube-system", "keda-operator", identity.client_id)
            scene.restart(self.apps, "kube-system", "keda-operator")
        else:
            issuer = scene.enable_cluster(env, keda=False)
            identity = scene.identity(env, MI)
            self.assignment = scene.assign(env, seed.monitor_workspace_id(), scene.MONITORING_DATA_READER, identity.principal_id)
            self.core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name="keda")))
            scene.credential(env, MI, "keda-operator", issuer, "system:serviceaccount:keda:keda-operator")
            Tools(env, REPO_ROOT, str(tmp_path)).helm(
                "install", "keda", "keda", "--repo", env["LAB_CHART_REPO_URL"], "--version", "2.20.2", "-n", "keda",
                "--wait", "--timeout", "60s", "--set", "podIdentity.azureWorkload.enabled=true",
                "--set", f"podIdentity.azureWorkload.clientId={identity.client_id}",
                "--set", f"podIdentity.azureWorkload.tenantId={ids.TENANT_ID}")
        scene.trigger_auth(self.custom, "default", TA, identity.client_id)

    def metric(self, value: float) -> None:
        self.lab.control("PUT", "/services/prometheus/metrics", {"query": self.query, "value": value})

    def advance(self, seconds: float) -> None:
        self.lab.control("POST", "/services/keda/clock", {"advance": seconds})

    def trigger(self, threshold: str = "5", activation: str = "0") -> dict[str, Any]:
        return {"type": "prometheus", "metadata": {"serverAddress": seed.PROMETHEUS_QUERY_ENDPOINT, "query": self.query,
                                                   "threshold": threshold, "activationThreshold": activation},
                "authenticationRef": {"name": TA}}

    def deployment(self, name: str, replicas: int) -> None:
        self.apps.create_namespaced_deployment("default", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})

    def create(self, plural: str, body: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object("keda.sh", "v1alpha1", "default", plural, body)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object("keda.sh", "v1alpha1", "default", plural, name)

    def condition(self, plural: str, name: str, ctype: str) -> tuple[str, str]:
        found = next((c for c in (self.get(plural, name).get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})
        return found.get("status", ""), found.get("reason", "")

    def replicas(self, name: str) -> int:
        return self.apps.read_namespaced_deployment(name, "default").spec.replicas or 0

    def events(self, name: str) -> list[Any]:
        return scene.events(self.core, "default", name)

    def reasons(self, name: str) -> list[str]:
        return [e.reason for e in self.events(name)]

    def log(self) -> str:
        return scene.operator_log(self.core, self.facts["operator_ns"])


@pytest.fixture(params=sorted(VERSIONS))
def keda(clean_lab, request, tmp_path):
    built = Scene(clean_lab, request.param, tmp_path)
    yield built
    built.api.close()
    clean_lab.reset()


def scaled_job(keda: Scene, name: str, strategy: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": name},
            "spec": {"pollingInterval": 1, "maxReplicaCount": 10, "scalingStrategy": strategy,
                     "jobTargetRef": {"template": {"spec": {"containers": [{"name": "worker", "image": "busybox"}],
                                                            "restartPolicy": "Never"}}},
                     "triggers": [keda.trigger("5")]}}


# name → (scalingStrategy, Jobs after the polls settle) for 23 waiting items, threshold 5, max 10, Jobs that keep running.
SJ_ROWS = {
    "sj-default": ({}, 5),
    "sj-accurate": ({"strategy": "accurate"}, 10),
    "sj-eager": ({"strategy": "eager"}, 10),
    "sj-custom": ({"strategy": "custom", "customScalingQueueLengthDeduction": 1, "customScalingRunningJobPercentage": "1"}, 4),
    # pendingPodConditions: a Job whose pod is not yet Ready is pending, so accurate waits for it.
    "sj-accurate-pending": ({"strategy": "accurate", "pendingPodConditions": ["Ready"]}, 5),
}


def test_scaledjob_strategies_and_version_facts(keda):
    # Job pods stay Running (not Ready) for a minute: the consumers are busy and consume nothing.
    keda.lab.settings(pod_ready_seconds=60)
    keda.metric(23)
    for name, (strategy, _jobs) in SJ_ROWS.items():
        keda.create("scaledjobs", scaled_job(keda, name, strategy))
    batch = kubernetes.client.BatchV1Api(keda.api)

    def jobs(name: str) -> int:
        return len(batch.list_namespaced_job("default", label_selector=f"scaledjob.keda.sh/name={name}").items)
    for name, (_strategy, expected) in SJ_ROWS.items():
        scene.wait_for(f"{expected} Jobs of {name}", lambda name=name, expected=expected: jobs(name) == expected)
    # Settled: a few more polls create nothing more.
    scene.wait_for("default's 'No need to create jobs'", lambda: '"scaledJob.Name": "sj-default", "scaledJob.Namespace": "default", '
                   '"jobs": 0}' in keda.log())
    scene.wait_for("two more polls", lambda: keda.log().count('"scaledJob.Name": "sj-eager", "scaledJob.Namespace": "default", '
                                                              '"Number of running Jobs": 10}') >= 2)
    assert {name: jobs(name) for name in SJ_ROWS} == {name: row[1] for name, row in SJ_ROWS.items()}
    assert "INFO\tscaleexecutor\tNo need to create jobs - all requested jobs already exist" in keda.log()
    assert '"Number of pending Jobs": 5}' in keda.log()  # sj-accurate-pending's pods are not Ready
    created = [e.message for e in keda.events("sj-accurate") if e.reason == "KEDAJobsCreated"]
    assert created and set(created) == {"Created 5 jobs"}
    sj = keda.get("scaledjobs", "sj-accurate")
    assert sj["metadata"]["finalizers"] == ["finalizer.keda.sh"]
    assert ("triggersActivity" in sj["status"]) is keda.facts["triggers_activity"]
    assert ("ScaledJobActive" in keda.reasons("sj-accurate")) is keda.facts["triggers_activity"]
    assert keda.condition("scaledjobs", "sj-accurate", "Active") == ("True", "ScalerActive")
    # 2.20 writes through events.k8s.io/v1 (reportingController, reportingInstance <recorder>-<pod>, action); 2.17 core/v1 with a source.
    raw = Raw(keda.lab.env["LAB_KUBE_URL"], keda.lab.ca_file, ids.KUBE_ADMIN_TOKEN)
    written = next(e for e in raw.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events").json()["items"]
                   if e["regarding"]["name"] == "sj-accurate" and e["reason"] == "KEDAJobsCreated")
    if keda.facts["source"]:
        assert (written["deprecatedSource"], "reportingController" in written) == ({"component": "scale-handler"}, False)
    else:
        assert (written["reportingController"], written["action"]) == ("scale-handler", "KEDAJobsCreated")
        assert written["reportingInstance"].startswith("scale-handler-keda-operator-") and written["eventTime"]

    # Paused by annotation: Paused True, no more Jobs, the scale loop stopped.
    keda.custom.patch_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs", "sj-default",
                                               {"metadata": {"annotations": {"autoscaling.keda.sh/paused": "true"}}})
    scene.wait_for("ScaledJobPaused", lambda: keda.condition("scaledjobs", "sj-default", "Paused") == ("True", "ScaledJobPaused"))
    scene.wait_for("KEDAScalersStopped", lambda: "KEDAScalersStopped" in keda.reasons("sj-default"))

    # Deleted: the finalizer's pass stops the scalers and reports the deletion.
    keda.custom.delete_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledjobs", "sj-eager")
    deleted = scene.wait_for("ScaledJobDeleted", lambda: [e for e in keda.events("sj-eager") if e.reason == "ScaledJobDeleted"])
    assert (deleted[0].type, deleted[0].message) == ("Warning", "ScaledJob was deleted")


def test_scaledobject_activation_hpa_pause_and_cooldown(keda):
    keda.deployment("web", 0)
    keda.metric(0)
    keda.create("scaledobjects", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "web"},
                                  "spec": {"scaleTargetRef": {"name": "web"}, "pollingInterval": 1, "minReplicaCount": 0,
                                           "maxReplicaCount": 10, "cooldownPeriod": 300, "triggers": [keda.trigger("5", "1")]}})
    scene.wait_for("Ready", lambda: keda.condition("scaledobjects", "web", "Ready") == ("True", "ScaledObjectReady"))
    so = keda.get("scaledobjects", "web")
    assert so["metadata"]["labels"]["scaledobject.keda.sh/name"] == "web"
    assert so["metadata"]["finalizers"] == ["finalizer.keda.sh"]
    # At zero the HPA disables itself (horizontal.go), and 2.20.2 mirrors it as HPAActive True ScalingDisabled.
    scene.wait_for("ScalingDisabled", lambda: any(c.reason == "ScalingDisabled" for c in (
        keda.hpa.read_namespaced_horizontal_pod_autoscaler("keda-hpa-web", "default").status.conditions or [])))
    if keda.facts["hpa_active"]:
        scene.wait_for("HPAActive", lambda: keda.condition("scaledobjects", "web", "HPAActive") == ("True", "ScalingDisabled"))
    else:
        assert keda.condition("scaledobjects", "web", "HPAActive") == ("", "")
    assert ("triggersActivity" in keda.get("scaledobjects", "web")["status"]) is keda.facts["triggers_activity"]

    # Activation: 0 → 1 by KEDA, then the HPA to ceil(23/5) = 5.
    keda.metric(23)
    scene.wait_for("5 replicas", lambda: keda.replicas("web") == 5)
    activated = [e.message for e in keda.events("web") if e.reason == "KEDAScaleTargetActivated"]
    assert activated == ["Scaled apps/v1.Deployment default/web from 0 to 1, triggered by s0-prometheus"]
    assert any(e.reason == "SuccessfulRescale" and e.message.startswith("New size: 5;") for e in keda.events("keda-hpa-web"))

    # Paused at 2 replicas: the HPA goes, the target is held at 2.
    keda.custom.patch_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", "web",
                                               {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "2"}}})
    scene.wait_for("Paused", lambda: keda.condition("scaledobjects", "web", "Paused") == ("True", "ScaledObjectPaused"))
    assert keda.replicas("web") == 2
    assert keda.get("scaledobjects", "web")["status"]["pausedReplicaCount"] == 2
    scene.wait_for("the HPA deleted", lambda: not keda.hpa.list_namespaced_horizontal_pod_autoscaler("default").items)
    assert ("ScaledObjectPaused" in keda.reasons("web")) is keda.facts["pause_events"]
    assert "KEDAScalersStopped" in keda.reasons("web")
    keda.custom.patch_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", "web",
                                               {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": None}}})
    scene.wait_for("Unpaused", lambda: keda.condition("scaledobjects", "web", "Paused") == ("False", "ScaledObjectUnpaused"))
    scene.wait_for("the HPA back at 5", lambda: keda.replicas("web") == 5)

    # Inactive: the HPA goes down to its minimum 1, KEDA holds it for cooldownPeriod, then scales to zero.
    keda.metric(0)
    scene.wait_for("ScalerCooldown", lambda: keda.condition("scaledobjects", "web", "Active") == ("False", "ScalerCooldown"))
    scene.wait_for("1 replica", lambda: keda.replicas("web") == 1)
    assert keda.condition("scaledobjects", "web", "Active") == ("False", "ScalerCooldown")
    keda.advance(301)
    scene.wait_for("zero", lambda: keda.replicas("web") == 0)
    deactivated = scene.wait_for("KEDAScaleTargetDeactivated", lambda: [
        e.message for e in keda.events("web") if e.reason == "KEDAScaleTargetDeactivated"])
    assert deactivated == ["Deactivated apps/v1.Deployment default/web from 1 to 0"]
    assert "Successfully set ScaleTarget replicas count to ScaledObject minReplicaCount" in keda.log()

    keda.custom.delete_namespaced_custom_object("keda.sh", "v1alpha1", "default", "scaledobjects", "web")
    deleted = scene.wait_for("ScaledObjectDeleted", lambda: [e for e in keda.events("web") if e.reason == "ScaledObjectDeleted"])
    assert (deleted[0].type, deleted[0].message) == ("Warning", "ScaledObject was deleted")


def test_fallback_health_and_correlated_events(keda):
    keda.deployment("api", 1)
    keda.metric(8)
    keda.create("scaledobjects", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "api"},
                                  "spec": {"scaleTargetRef": {"name": "api"}, "pollingInterval": 1, "minReplicaCount": 1,
                                           "maxReplicaCount": 10, "fallback": {"failureThreshold": 2, "replicas": 6},
                                           "triggers": [keda.trigger("4")]}})
    scene.wait_for("2 replicas", lambda: keda.replicas("api") == 2)
    health = keda.get("scaledobjects", "api")["status"]["health"]
    assert health == {"s0-prometheus": {"numberOfFailures": 0, "status": "Happy"}}
    assert keda.condition("scaledobjects", "api", "Fallback") == ("False", "NoFallbackFound")

    # The role goes: every poll fails (403); after failureThreshold failures the HPA is given 6 × 4 → 6 replicas.
    scene.unassign(keda.lab.env, seed.monitor_workspace_id(), keda.assignment)
    scene.wait_for("FallbackExists", lambda: keda.condition("scaledobjects", "api", "Fallback") == ("True", "FallbackExists"))
    scene.wait_for("6 replicas", lambda: keda.replicas("api") == 6)
    status = keda.get("scaledobjects", "api")["status"]
    assert status["health"]["s0-prometheus"]["status"] == "Failing"
    assert status["health"]["s0-prometheus"]["numberOfFailures"] > 2
    # With a fallback the failing trigger does not turn Ready False (scale_scaledobjects.go RequestScale).
    assert keda.condition("scaledobjects", "api", "Ready") == ("True", "ScaledObjectReady")
    assert ("ScaledObjectFallbackActivated" in keda.reasons("api")) is keda.facts["fallback_events"]

    # One failing trigger polled every second: client-go correlates, no event per poll.
    failures = scene.wait_for("repeated KEDAScalerFailed", lambda: [
        e for e in keda.events("api") if e.reason == "KEDAScalerFailed" and ((e.count or 0) > 2 or (e.series and e.series.count > 2))])
    assert len([e for e in keda.events("api") if e.reason == "KEDAScalerFailed"]) == 1
    if keda.facts["source"]:
        assert failures[0].source.component == "keda-operator"
    else:
        assert (failures[0].reporting_component, failures[0].action) == ("keda-operator", "KEDAScalerFailed")


def test_add_on_client_go_aggregates_and_rate_limits_a_failing_trigger(clean_lab, tmp_path):
    """2.17.2 writes core/v1 events through client-go's EventCorrelator (events_cache.go): a Service Bus 401
    differs per poll (its TrackingId), so after 10 distinct messages the rest are one "(combined from similar
    events)" event, and the source+object token bucket (25, one more per 300 s) stops the writes."""
    keda = Scene(clean_lab, "2.17.2", tmp_path)
    try:
        clean_lab.settings(keda_polling_cap_seconds=0.2)
        keda.create("scaledjobs", scene.consumer_scaled_job(MI, TA))  # no Service Bus role: 401 every poll
        name = "myconsumer-scaledjob"

        def writes() -> int:  # the scale loop's recorder (source scale-handler) has its own bucket
            return sum(e.count or 1 for e in keda.events(name) if e.source.component == "scale-handler")
        combined = scene.wait_for("the combined event", lambda: [
            e for e in keda.events(name) if e.message.startswith("(combined from similar events): GET https://")])
        assert "RESPONSE 401: 401 Unauthorized" in combined[0].message
        assert len([e for e in keda.events(name) if e.reason == "KEDAScalerFailed"]) == 10  # 9 distinct + the combined one
        scene.wait_for("the spam filter's 25 writes", lambda: writes() == 25)
        polls = keda.log().count("error getting service bus entity length")
        scene.wait_for("more polls", lambda: keda.log().count("error getting service bus entity length") >= polls + 6)
        assert writes() == 25
        keda.advance(300)  # one more token
        scene.wait_for("one more write", lambda: writes() == 26)
    finally:
        keda.api.close()
        clean_lab.reset()
