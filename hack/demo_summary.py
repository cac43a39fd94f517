"""Print what a site.yml run left in the lab (or, with --after-teardown, prove nothing is left).

Reads the same vars file the playbook used and looks at Azure and the cluster directly with the
SDKs, so the summary does not trust the playbook's own output.
Usage: python hack/demo_summary.py [--after-teardown] playbooks/vars/<scenario>.yml
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
