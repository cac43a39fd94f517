"""Print what a site.yml run left in the lab (or, with --after-teardown, prove nothing is left).

Reads the same vars file the playbook used and looks at Azure and the cluster directly with the
SDKs, so the summary does not trust the playbook's own output.
With --outcome it then drives the seed's end state and prints what KEDA did (the lab KEDA, issue 15):
add-on path: the seed's producer Job publishes 100 messages, the ScaledJob's "Created 10 jobs" event
and the queue draining to 0; Helm path: the article's target deployment, a Prometheus metric above
the threshold (set through the lab's control API) scaling it up through keda-hpa-<name>, and back down.
Usage: python hack/demo_summary.py [--after-teardown|--outcome] playbooks/vars/<scenario>.yml
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

import jinja2
import yaml
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from kubernetes import client, config

INJECTED = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")


def load_vars(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)

    def lookup(kind: str, name: str) -> str:
        assert kind in ("env", "ansible.builtin.env")
        return os.environ.get(name, "")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(value, context):
        if isinstance(value, str) and "{{" in value:
            return env.from_string(value).render(lookup=lookup, **context)
        if isinstance(value, list):
            return [render(v, context) for v in value]
        if isinstance(value, dict):
            return {k: render(v, context) for k, v in value.items()}
        return value

    rendered = dict(raw)
    for _pass in range(3):  # variables refer to each other; a few passes settle them
        rendered = {k: render(v, {**raw, **rendered}) for k, v in raw.items()}
    return rendered


def main(argv: list[str]) -> int:
    after_teardown = "--after-teardown" in argv
    scenario = load_vars([a for a in argv if not a.startswith("--")][0])
    if "--outcome" in argv:
        return outcome(scenario)
    method = scenario["keda_install_method"]
    operator_ns = "kube-system" if method == "addon" else "keda"

    credential = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"], disable_instance_discovery=True)
    arm = dict(base_url=os.environ["AZURE_CLOUD_ENVIRONMENT"],
               credential_scopes=["https://management.azure.com/.default"])
    msi = ManagedServiceIdentityClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"], **arm)
    auth = AuthorizationManagementClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"], **arm)
    config.load_kube_config(os.environ["KUBECONFIG"])
    core = client.CoreV1Api()
    custom = client.CustomObjectsApi()

    group = scenario.get("keda_identity_resource_group", scenario["aks_resource_group"])
    name = scenario["keda_identity_name"]
    leftovers = []
    try:
        identity = msi.user_assigned_identities.get(group, name)
    except ResourceNotFoundError:
        identity = None

    if after_teardown:
        if identity:
            leftovers.append(f"identity {name}")
        for sa in scenario.get("keda_service_accounts", []):
            if core.list_namespaced_service_account(sa["namespace"], field_selector=f"metadata.name={sa['name']}").items:
                leftovers.append(f"service account {sa['namespace']}/{sa['name']}")
        for plural, key in (("scaledobjects", "keda_scaled_objects"), ("scaledjobs", "keda_scaled_jobs"),
                            ("triggerauthentications", "keda_trigger_auths")):
            for obj in scenario.get(key, []):
                try:
                    custom.get_namespaced_custom_object("keda.sh", "v1alpha1", obj.get("namespace", "default"),
                                                        plural, obj["name"])
                    leftovers.append(f"{plural} {obj['name']}")
                except client.ApiException as exc:
                    if exc.status != 404:
                        raise
        if method == "helm" and core.list_namespace(field_selector="metadata.name=keda").items:
            leftovers.append("namespace keda")
        sa = core.list_namespaced_service_account(operator_ns, field_selector="metadata.name=keda-operator").items
        if sa and "azure.workload.identity/client-id" in (sa[0].metadata.annotations or {}):
            leftovers.append(f"client-id annotation on {operator_ns}/keda-operator")
        if leftovers:
            print("    teardown left behind: " + ", ".join(leftovers))
            return 1
        print("    torn down: identity, credentials, role assignments, service accounts, KEDA objects"
              + (", the keda namespace" if method == "helm" else "") + " are gone")
        return 0

    if identity is None:
        print(f"    identity {name} is missing")
        return 1
    print(f"    identity      {identity.name}  client_id={identity.client_id}")
    for cred in msi.federated_identity_credentials.list(group, name):
        print(f"    credential    {cred.name}  subject={cred.subject}")
    for assignment in auth.role_assignments.list_for_subscription(filter=f"principalId eq '{identity.principal_id}'"):
        role = assignment.role_definition_id.rsplit("/", 1)[-1]
        print(f"    role          {role} on {assignment.scope.rsplit('/', 1)[-1]}")
    for sa in [{"namespace": operator_ns, "name": "keda-operator"}] + scenario.get("keda_service_accounts", []):
        obj = core.read_namespaced_service_account(sa["name"], sa["namespace"])
        client_id = (obj.metadata.annotations or {}).get("azure.workload.identity/client-id", "-")
        print(f"    sa            {sa['namespace']}/{sa['name']}  client-id={client_id}")
    if method == "helm":
        listed = subprocess.run(["helm", "list", "-n", operator_ns, "-o", "json"], capture_output=True, text=True,
                                check=True).stdout
        for release in json.loads(listed):
            print(f"    helm release  {operator_ns}/{release['name']}  chart={release['chart']}  "
                  f"from {os.environ.get('LAB_CHART_REPO_URL', '?')}")
    for pod in core.list_namespaced_pod(operator_ns, label_selector="app=keda-operator").items:
        env = {e.name for c in pod.spec.containers for e in (c.env or [])}
        marks = " ".join(f"{v}{'=ok' if v in env else '=MISSING'}" for v in INJECTED)
        print(f"    operator pod  {pod.metadata.name}  {marks}")
    for plural in ("triggerauthentications", "scaledobjects", "scaledjobs"):
        for obj in custom.list_cluster_custom_object("keda.sh", "v1alpha1", plural)["items"]:
            print(f"    {plural[:-1]:<13} {obj['metadata']['namespace']}/{obj['metadata']['name']}")
    return 0


def _wait(what: str, probe, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"    timed out waiting for {what}")


def _https(method: str, url: str, token: str | None = None, payload=None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if payload is None else json.dumps(payload).encode()
    context = ssl.create_default_context(cafile=os.environ["LAB_CA_FILE"])
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), context=context) as resp:
        body = resp.read()
    return json.loads(body) if body else {}


def _events(core, namespace: str, name: str) -> list:
    return [e for e in core.list_namespaced_event(namespace).items if e.involved_object.name == name]


def outcome(scenario: dict) -> int:
    """The seeds' end state, as a user would produce and watch it (kubectl apply, kubectl get events)."""
    credential = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"], disable_instance_discovery=True)
    config.load_kube_config(os.environ["KUBECONFIG"])
    core, batch, apps = client.CoreV1Api(), client.BatchV1Api(), client.AppsV1Api()
    custom, autoscaling = client.CustomObjectsApi(), client.AutoscalingV2Api()
    if scenario["keda_install_method"] == "addon":
        queue, sb = scenario["sb_queue_name"], scenario["sb_namespace"]
        queue_url = (f"{os.environ['AZURE_CLOUD_ENVIRONMENT']}/subscriptions/{os.environ['AZURE_SUBSCRIPTION_ID']}/resourceGroups/"
                     f"{scenario['aks_resource_group']}/providers/Microsoft.ServiceBus/namespaces/{sb}/queues/{queue}?api-version=2021-11-01")
        arm_token = credential.get_token("https://management.azure.com/.default").token

        def active() -> int:
            return _https("GET", queue_url, arm_token)["properties"]["countDetails"]["activeMessageCount"]
        sj = scenario["keda_scaled_jobs"][0]
        # The seed's producer Job, verbatim (azure-aks-docs keda-workload-identity.md).
        env = [{"name": "OPERATION_MODE", "value": "producer"}, {"name": "MESSAGE_COUNT", "value": "100"},
               {"name": "AZURE_SERVICEBUS_QUEUE_NAME", "value": queue},
               {"name": "AZURE_SERVICEBUS_HOSTNAME", "value": f"{sb}.servicebus.windows.net"}]
        pod_spec = {"serviceAccountName": scenario["keda_identity_name"], "restartPolicy": "Never", "containers": [{
            "image": "ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest", "name": "myproducer",
            "resources": {}, "env": env}]}
        template = {"metadata": {"labels": {"azure.workload.identity/use": "true"}}, "spec": pod_spec}
        batch.create_namespaced_job("default", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "myproducer"},
                                                "spec": {"template": template}})
        _wait("the producer Job", lambda: (batch.read_namespaced_job("myproducer", "default").status.succeeded or 0) == 1)
        print(f"    producer      Job myproducer completed; queue {queue} has {active()} active messages")
        created = _wait("KEDAJobsCreated", lambda: [e for e in _events(core, sj["namespace"], sj["name"]) if e.reason == "KEDAJobsCreated"])
        print(f"    event         {created[0].type} {created[0].reason} ({created[0].source.component or created[0].reporting_component}) "
              f"{created[0].message}")
        _wait("the queue to drain", lambda: active() == 0)
        selector = f"scaledjob.keda.sh/name={sj['name']}"
        _wait("the consumers to complete", lambda: all((j.status.succeeded or 0) == 1 for j in batch.list_namespaced_job(
            sj["namespace"], label_selector=selector).items))
        jobs = batch.list_namespaced_job(sj["namespace"], label_selector=selector).items
        print(f"    consumers     {len(jobs)} Jobs of {sj['name']} completed; queue {queue} has {active()} active messages")
        batch.delete_namespaced_job("myproducer", "default", propagation_policy="Background")
        return 0
    so = scenario["keda_scaled_objects"][0]
    namespace, target = so["namespace"], so["scale_target"]["name"]
    query = so["triggers"][0]["metadata"]["query"]
    # The application the article's ScaledObject scales (the article assumes it exists).
    template = {"metadata": {"labels": {"app": target}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
    apps.create_namespaced_deployment(namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": target},
                                                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": target}},
                                                           "template": template}})

    def ready() -> bool:
        obj = custom.get_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects", so["name"])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions") or [])
    _wait("the ScaledObject to be Ready", ready)
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(f"keda-hpa-{so['name']}", namespace)
    metric = hpa.spec.metrics[0].external
    print(f"    hpa           {hpa.metadata.name}  min={hpa.spec.min_replicas} max={hpa.spec.max_replicas} "
          f"metric={metric.metric.name} target={metric.target.average_value}")
    control = os.environ["LAB_CONTROL_URL"] + "/services/prometheus/metrics"

    def replicas() -> int:
        return apps.read_namespaced_deployment(target, namespace).spec.replicas
    for value in (350, 0):
        _https("PUT", control, payload={"query": query, "value": value})
        expected = max(1, -(-value * 1000 // 100500)) if value else 1
        _wait(f"{target} at {expected} replicas", lambda: replicas() == expected)
        print(f"    metric {value:<6} {target} scaled to {replicas()} replicas")
    for event in _events(core, namespace, so["name"]) + _events(core, namespace, hpa.metadata.name):
        print(f"    event         {event.type} {event.reason} x{event.count or 1}: {event.message}")
    apps.delete_namespaced_deployment(target, namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
