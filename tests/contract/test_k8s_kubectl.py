"""Contract: issue 2's "Done when" walk-through, with kubectl only (as a user with env.sh sourced)."""

from __future__ import annotations

import json
import os
import uuid

import jwt
import requests
import yaml
from lab.testing import REPO_ROOT

from lab.k8s.testing import Tools

KEDA = os.path.join(os.path.dirname(REPO_ROOT), "shared", "reference", "keda")
CLIENT_ID = "3b9d8c7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"


def test_done_when_sequence_with_kubectl(lab, tmp_path):
    tools = Tools(lab.env, REPO_ROOT, str(tmp_path))
    ns = f"done-{uuid.uuid4().hex[:6]}"

    names = tools.kubectl("get", "ns", "-o", "name").stdout.split()
    assert "namespace/default" in names and "namespace/kube-system" in names

    tools.kubectl("apply", "--server-side", "-f", os.path.join(KEDA, "keda.sh_scaledobjects.yaml"))
    tools.kubectl("create", "namespace", ns)
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "web", "namespace": ns},
              "spec": {"scaleTargetRef": {"name": "web"},
                       "triggers": [{"type": "prometheus", "metadata": {
                           "serverAddress": "https://amw.eastus.prometheus.monitor.azure.com",
                           "query": "sum(rate(http_requests_total[1m]))", "threshold": "100"},
                           "authenticationRef": {"name": "keda-prom"}}]}}
    out = tools.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(scaled)).stdout
    assert "scaledobject.keda.sh/web serverside-applied" in out

    tools.kubectl("create", "serviceaccount", "web", "-n", ns)
    token = tools.kubectl("create", "token", "web", "-n", ns, "--audience", "api://AzureADTokenExchange").stdout.strip()
    issuer = tools.env["LAB_OIDC_ISSUER"]
    ca = tools.env["LAB_CA_FILE"]
    metadata = requests.get(issuer + ".well-known/openid-configuration", verify=ca, timeout=10).json()
    keys = requests.get(metadata["jwks_uri"], verify=ca, timeout=10).json()["keys"]
    key = next(k for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience="api://AzureADTokenExchange", issuer=issuer)
    assert claims["sub"] == f"system:serviceaccount:{ns}:web"

    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web", "azure.workload.identity/use": "true"}},
                      "spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    tools.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(deployment))
    tools.kubectl("annotate", "serviceaccount", "web", "-n", ns, f"azure.workload.identity/client-id={CLIENT_ID}")
    tools.kubectl("rollout", "restart", "deployment/web", "-n", ns)
    tools.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")
    pod = json.loads(tools.kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "json").stdout)["items"][0]
    env = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"} <= env
    tools.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=30s")
    assert tools.kubectl("get", "namespace", ns, check=False).returncode != 0


def test_kubectl_get_prints_server_side_columns(lab, tmp_path):
    tools = Tools(lab.env, REPO_ROOT, str(tmp_path))
    namespaces = tools.kubectl("get", "ns").stdout.splitlines()
    assert namespaces[0].split() == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["kube-system", "Active"] for line in namespaces[1:])
    ns = f"cols-{uuid.uuid4().hex[:6]}"
    tools.kubectl("create", "namespace", ns)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    tools.kubectl("apply", "-f", "-", stdin=json.dumps(deployment))
    deployments = tools.kubectl("get", "deployments", "-n", ns).stdout.splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[:4] == ["web", "2/2", "2", "2"]
    pods = tools.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout.splitlines()
    assert pods[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(line.split()[1:3] == ["1/1", "Running"] for line in pods[1:])
    tools.kubectl("apply", "--server-side", "-f", os.path.join(KEDA, "keda.sh_scaledobjects.yaml"))
    scaled = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "web", "namespace": ns},
              "spec": {"scaleTargetRef": {"name": "web"}, "minReplicaCount": 1, "maxReplicaCount": 4,
                       "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}}
    tools.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(scaled))
    header, row = tools.kubectl("get", "scaledobjects", "-n", ns).stdout.splitlines()[:2]
    assert header.split()[:5] == ["NAME", "SCALETARGETKIND", "SCALETARGETNAME", "MIN", "MAX"]
    assert row.split()[:4] == ["web", "web", "1", "4"]  # ScaleTargetKind is empty until KEDA sets status
    tools.kubectl("delete", "namespace", ns)
