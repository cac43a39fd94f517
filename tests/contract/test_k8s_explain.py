"""Contract: ``kubectl explain`` (OpenAPI v3) for built-in kinds and the KEDA CRDs the add-on installs,
and the real KEDA 2.20.2 CRDs' validation as the API server reports it."""

from __future__ import annotations

import pytest
from lab.testing import REPO_ROOT

from lab import ids
from lab.azure import clients
from lab.k8s.testing import Tools

# An object AKS refuses with the add-on's CRDs: a string count and a trigger without a type.
INVALID_SCALED_OBJECT = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: "one"
  triggers:
    - metadata: {query: up}
"""


@pytest.fixture(scope="module")
def addon_lab(lab):
    """The lab with the KEDA add-on enabled through ARM, as `az aks update --enable-keda` does."""
    from azure.mgmt.containerservice import models  # pylint: disable=import-outside-toplevel
    lab.reset()
    aks = clients.containerservice_client(lab.env)
    cluster = aks.managed_clusters.get(ids.RESOURCE_GROUP, ids.AKS_NAME)
    cluster.workload_auto_scaler_profile = models.ManagedClusterWorkloadAutoScalerProfile(
        keda=models.ManagedClusterWorkloadAutoScalerProfileKeda(enabled=True))
    aks.managed_clusters.begin_create_or_update(ids.RESOURCE_GROUP, ids.AKS_NAME, cluster).result()
    yield lab
    lab.reset()


@pytest.fixture(scope="module")
def tools(addon_lab, tmp_path_factory):
    return Tools(addon_lab.env, REPO_ROOT, str(tmp_path_factory.mktemp("explain")))


@pytest.mark.parametrize("field, expected", [
    ("deployment.spec.strategy", ["KIND:       Deployment", "FIELD: strategy <DeploymentStrategy>",
                                  "rollingUpdate\t<RollingUpdateDeployment>"]),
    ("pods.spec.containers.ports", ["FIELD: ports <[]ContainerPort>", "containerPort\t<integer> -required-"]),
    ("serviceaccount.metadata.annotations", ["FIELD: annotations <map[string]string>"]),
    ("apiservice.spec", ["GROUP:      apiregistration.k8s.io", "KIND:       APIService"]),
])
def test_explain_builtin_kinds(tools, field, expected):
    output = tools.kubectl("explain", field).stdout
    for line in expected:
        assert line in output, output


def test_explain_the_keda_crds_the_addon_installs(tools):
    triggers = tools.kubectl("explain", "scaledobject.spec.triggers").stdout
    assert "GROUP:      keda.sh" in triggers and "FIELD: triggers <[]Object>" in triggers
    assert "type\t<string> -required-" in triggers and "metadata\t<map[string]string> -required-" in triggers
    auth = tools.kubectl("explain", "triggerauthentication.spec.podIdentity.provider").stdout
    assert "azure-workload" in auth
    recursive = tools.kubectl("explain", "scaledjob.spec.jobTargetRef.template.spec.containers", "--recursive").stdout
    assert "image\t<string>" in recursive


def test_the_addon_crds_refuse_what_aks_refuses_with_kubernetes_messages(tools):
    result = tools.kubectl("apply", "-f", "-", stdin=INVALID_SCALED_OBJECT, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'The ScaledObject "web" is invalid: ',
        '* spec.minReplicaCount: Invalid value: "string": spec.minReplicaCount in body must be of type integer: "string"',
        "* spec.triggers[0].type: Required value",
    ]


def test_the_addon_crds_carry_keda_printer_columns(tools):
    tools.kubectl("apply", "-f", "-", stdin=INVALID_SCALED_OBJECT.replace('"one"', "1").replace(
        "- metadata: {query: up}", "- {type: prometheus, metadata: {query: up, serverAddress: http://p, threshold: '1'}}"))
    table = tools.kubectl("get", "scaledobject", "web", "-n", "default").stdout.splitlines()
    assert table[0].split() == ["NAME", "SCALETARGETKIND", "SCALETARGETNAME", "MIN", "MAX", "READY", "ACTIVE",
                                "FALLBACK", "PAUSED", "TRIGGERS", "AUTHENTICATIONS", "AGE"]
    tools.kubectl("delete", "scaledobject", "web", "-n", "default")
