"""Contract: the external metrics API aggregated to the lab KEDA's metrics server, as kubectl reads it.

keda-docs' troubleshooting step: ``kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/
<ns>/<metric>?labelSelector=scaledobject.keda.sh%2Fname%3D<so>"`` shows the value the HPA gets. The chart
registers APIService ``v1beta1.external.metrics.k8s.io``; it is Available once the metrics server's pod
runs, and the aggregator proxies the group to it (scene A of the seeds, Helm path, KEDA 2.20.2).
"""

from __future__ import annotations

import json
from urllib.parse import quote

# kube is a fixture
from test_keda_lab_prometheus import QUERY, SO, condition, converge, kube  # noqa: F401  pylint: disable=unused-import

from lab import kedascene as scene
from lab.k8s.testing import Tools
from lab.testing import REPO_ROOT


def test_kubectl_get_raw_external_metric_shows_what_the_hpa_gets(clean_lab, kube, tmp_path):  # noqa: F811
    _core, _apps, custom, _hpa = kube
    converge(clean_lab, kube, tmp_path)
    tools = Tools(clean_lab.env, REPO_ROOT, str(tmp_path))
    scene.wait_for("Ready", lambda: condition(custom, "Ready") == ("True", "ScaledObjectReady"))
    apiservice = tools.kubectl("get", "apiservice", "v1beta1.external.metrics.k8s.io", "-o", "json")
    available = next(c for c in json.loads(apiservice.stdout)["status"]["conditions"] if c["type"] == "Available")
    assert (available["status"], available["reason"]) == ("True", "Passed")
    resources = json.loads(tools.kubectl("get", "--raw", "/apis/external.metrics.k8s.io/v1beta1").stdout)
    assert [(r["name"], r["kind"], r["verbs"]) for r in resources["resources"]] == [
        ("externalmetrics", "ExternalMetricValueList", ["get"])]
    assert "external.metrics.k8s.io/v1beta1" in tools.kubectl("api-versions").stdout.split()

    clean_lab.control("PUT", "/services/prometheus/metrics", {"query": QUERY, "value": 350.25})
    selector = quote(f"scaledobject.keda.sh/name={SO}", safe="")
    path = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/default/s0-prometheus?labelSelector={selector}"
    metrics = json.loads(tools.kubectl("get", "--raw", path).stdout)
    assert metrics["kind"] == "ExternalMetricValueList"
    assert [(m["metricName"], m["value"]) for m in metrics["items"]] == [("s0-prometheus", "350250m")]

    # kubectl get hpa / get apiservice print the server's columns.
    scene.wait_for("scaled", lambda: "/100500m (avg)" in tools.kubectl("get", "hpa", "-n", "default").stdout
                   and "<unknown>" not in tools.kubectl("get", "hpa", "-n", "default").stdout)
    hpa = tools.kubectl("get", "hpa", "-n", "default").stdout.splitlines()
    assert hpa[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    row = hpa[1].split()
    assert row[:2] == [f"keda-hpa-{SO}", "Deployment/deployment-name-to-be-scaled"]
    assert row[2].endswith("/100500m") and row[3:6] == ["(avg)", "1", "20"]
    services = tools.kubectl("get", "apiservice", "v1beta1.external.metrics.k8s.io").stdout.splitlines()
    assert services[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
    assert services[1].split()[:3] == ["v1beta1.external.metrics.k8s.io", "keda/keda-operator-metrics-apiserver", "True"]

    unknown = tools.kubectl("get", "--raw", path.replace("s0-prometheus", "s1-prometheus"), check=False)
    assert unknown.returncode != 0
    assert ("rpc error: code = Unknown desc = error when getting metric values no matching metrics found for "
            "s1-prometheus") in unknown.stderr
    # The metrics server's pod gone: the APIService turns unavailable and the aggregator answers 503.
    tools.kubectl("scale", "deployment/keda-operator-metrics-apiserver", "-n", "keda", "--replicas=0")
    scene.wait_for("MissingEndpoints", lambda: "MissingEndpoints" in tools.kubectl(
        "get", "apiservice", "v1beta1.external.metrics.k8s.io", "-o", "jsonpath={.status.conditions[0].reason}").stdout)
    down = tools.kubectl("get", "--raw", path, check=False)
    assert down.returncode != 0 and "ServiceUnavailable" in down.stderr
    assert tools.kubectl("get", "apiservice", "v1beta1.external.metrics.k8s.io").stdout.splitlines()[1].split()[2:4] \
        == ["False", "(MissingEndpoints)"]
