"""Azure steps of `make live-test` (hack/live_test.sh) that are not the collection's job.

The throw-away resource group and the event sources the scenarios point at (a Service Bus
namespace and queue, an Azure Monitor workspace), the messages that make KEDA scale, the scenario
variables, and the final check that nothing the run created remains. Authenticates exactly as the
collection's modules do (their module_utils: a service principal from AZURE_*, workload identity,
managed identity or `az login`; AZURE_CLOUD_ENVIRONMENT) and talks to ARM's REST API, so it needs
nothing beyond requirements.txt.

    python hack/live_azure.py <command> <state.json> [args]

Every command reads and extends state.json, which records what the run created.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid

# API versions: Microsoft.Resources 2021-04-01, Microsoft.ServiceBus 2021-11-01, Microsoft.Monitor
# 2023-04-03, Microsoft.Authorization 2022-04-01, Microsoft.ContainerService 2024-09-01,
# Microsoft.ManagedIdentity 2023-01-31 (all GA;
# https://github.com/Azure/azure-rest-api-specs/tree/main/specification).
API = {"resources": "2021-04-01", "servicebus": "2021-11-01", "monitor": "2023-04-03",
       "authorization": "2022-04-01", "aks": "2024-09-01", "msi": "2023-01-31"}
# Built-in role "Azure Service Bus Data Sender" (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles)
SERVICEBUS_DATA_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
MARKER = {"managed-by": "kedaops.aks-live-test"}


class Azure:
    """ARM REST calls authenticated as the collection's modules authenticate (AZURE_* environment,
    auth_source auto, AZURE_CLOUD_ENVIRONMENT), so the script also runs against the lab."""

    def __init__(self, subscription: str):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        sys.path.insert(0, os.path.join(root, ".venv", "collections"))
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth, build_credential, resolve_cloud
        auth = AzureAuth.from_env()
        self.cloud = resolve_cloud(auth)
        self.arm_url = self.cloud.resource_manager.rstrip("/")
        self.subscription = subscription
        self.credential = build_credential(auth, self.cloud)

    def token(self, scope: str | None = None) -> str:
        return self.credential.get_token(scope or self.cloud.scope).token

    def request(self, method: str, url: str, body=None, scope: str | None = None,
                headers: dict | None = None, ok=(200, 201, 202, 204)):
        import requests  # pylint: disable=import-outside-toplevel
        full = url if url.startswith("https://") else self.arm_url + url
        sent = {"Authorization": "Bearer " + self.token(scope), **(headers or {})}
        if body is not None and not isinstance(body, (str, bytes)):
            sent["Content-Type"] = "application/json"
            body = json.dumps(body)
        for attempt in range(8):
            resp = requests.request(method, full, data=body, headers=sent, timeout=60)
            if resp.status_code == 429 or resp.status_code >= 500:
                time.sleep(min(60, int(resp.headers.get("Retry-After", 2 ** attempt))))
                continue
            break
        if resp.status_code not in ok:
            raise SystemExit(f"{method} {full}: {resp.status_code} {resp.text[:500]}")
        return resp

    def arm(self, method: str, path: str, api: str, body=None, ok=(200, 201, 202, 204)):
        sep = "&" if "?" in path else "?"
        return self.request(method, f"{path}{sep}api-version={API[api]}", body, ok=ok)

    def wait_provisioned(self, path: str, api: str, timeout: int = 900) -> dict:
        deadline = time.time() + timeout
        while True:
            current = self.arm("GET", path, api).json()
            state = current.get("properties", {}).get("provisioningState", "Succeeded")
            if state in ("Succeeded", "Active"):
                return current
            if state in ("Failed", "Canceled") or time.time() > deadline:
                raise SystemExit(f"{path}: provisioningState {state}")
            time.sleep(10)

    def caller(self) -> tuple[str, str]:
        """The object id and principal type of whoever runs this (from the ARM token's claims)."""
        payload = self.token().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims["oid"], "User" if claims.get("idtyp") == "user" or "upn" in claims else "ServicePrincipal"


def load(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path: str, state: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)


def group_path(state: dict) -> str:
    return f"/subscriptions/{state['subscription']}/resourceGroups/{state['resource_group']}"


def cmd_cluster(az: Azure, state: dict, rg: str, name: str) -> None:
    """Record the cluster's location and its features before the run (to restore only what we changed)."""
    cluster = az.arm("GET", f"/subscriptions/{az.subscription}/resourceGroups/{rg}/providers/"
                            f"Microsoft.ContainerService/managedClusters/{name}", "aks").json()
    props = cluster["properties"]
    state["cluster"] = {
        "resource_group": rg, "name": name, "location": cluster["location"],
        "keda_before": bool(props.get("workloadAutoScalerProfile", {}).get("keda", {}).get("enabled")),
        "oidc_before": bool(props.get("oidcIssuerProfile", {}).get("enabled")),
        "workload_identity_before": bool(props.get("securityProfile", {}).get("workloadIdentity", {}).get("enabled")),
    }
    print(f"cluster {name}: {cluster['location']}, KEDA add-on {'on' if state['cluster']['keda_before'] else 'off'}")


def cmd_group(az: Azure, state: dict, name: str, location: str) -> None:
    """Create the throw-away resource group; refuse one that exists (it would not be ours to delete)."""
    state.update(subscription=az.subscription, resource_group=name)
    exists = az.arm("HEAD", group_path(state), "resources", ok=(204, 404)).status_code == 204
    if exists:
        raise SystemExit(f"resource group {name} already exists: name a new one in LIVE_RESOURCE_GROUP")
    az.arm("PUT", group_path(state), "resources", {"location": location, "tags": MARKER})
    state["group_created"] = True
    print(f"created resource group {name} ({location})")


def cmd_servicebus(az: Azure, state: dict, namespace: str, queue: str) -> None:
    location = state["cluster"]["location"]
    ns_path = f"{group_path(state)}/providers/Microsoft.ServiceBus/namespaces/{namespace}"
    az.arm("PUT", ns_path, "servicebus", {"location": location, "tags": MARKER,
                                          "sku": {"name": "Standard", "tier": "Standard"},
                                          "properties": {"disableLocalAuth": True}})
    ns = az.wait_provisioned(ns_path, "servicebus")
    az.arm("PUT", f"{ns_path}/queues/{queue}", "servicebus", {"properties": {}})
    # The runner sends the test messages: Azure Service Bus Data Sender on the namespace.
    principal, principal_type = az.caller()
    assignment = f"{ns['id']}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    az.arm("PUT", assignment, "authorization", {"properties": {
        "roleDefinitionId": f"/subscriptions/{az.subscription}/providers/Microsoft.Authorization/roleDefinitions/"
                            f"{SERVICEBUS_DATA_SENDER}",
        "principalId": principal, "principalType": principal_type}})
    state["servicebus"] = {"id": ns["id"], "namespace": namespace, "queue": queue,
                           "endpoint": ns["properties"]["serviceBusEndpoint"], "sender_assignment": assignment}
    print(f"created Service Bus namespace {namespace} with queue {queue}")


def cmd_workspace(az: Azure, state: dict, name: str) -> None:
    path = f"{group_path(state)}/providers/Microsoft.Monitor/accounts/{name}"
    az.arm("PUT", path, "monitor", {"location": state["cluster"]["location"], "tags": MARKER})
    workspace = az.wait_provisioned(path, "monitor")
    state["workspace"] = {"id": workspace["id"],
                          "query_endpoint": workspace["properties"]["metrics"]["prometheusQueryEndpoint"]}
    print(f"created Azure Monitor workspace {name}")


def cmd_vars(az: Azure, state: dict, scenario: str, source: str, out: str) -> None:  # pylint: disable=unused-argument
    """The scenario's vars file with this subscription's names: the cluster, the throw-away group, the sources."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(source, encoding="utf-8") as f:
        variables = yaml.safe_load(f)
    cluster = state["cluster"]
    variables.update(aks_resource_group=cluster["resource_group"], aks_cluster_name=cluster["name"],
                     keda_identity_resource_group=state["resource_group"],
                     keda_identity_location=cluster["location"], doctor_wait_timeout=300)
    # The run's own sources (created above, deleted with the throw-away group), described once: the site
    # reads them (create: false) and derives their ids, roles and trigger metadata itself.
    if scenario == "addon":
        sb = state["servicebus"]
        variables["keda_event_sources"] = [dict(source, resource_group=state["resource_group"], namespace=sb["namespace"],
                                                queue=sb["queue"], create=False)
                                           for source in variables["keda_event_sources"] if source["type"] == "servicebus"]
        variables["keda_addon_disable_on_absent"] = not cluster["keda_before"]
    else:
        name = state["workspace"]["id"].rsplit("/", 1)[-1]
        variables["keda_event_sources"] = [dict(source, resource_group=state["resource_group"], workspace=name, create=False)
                                           for source in variables["keda_event_sources"] if source["type"] == "prometheus"]
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(variables, f, sort_keys=False)
    state.setdefault("scenarios", {})[scenario] = {"vars": out, "identity": variables["keda_identity_name"]}


def cmd_identity(az: Azure, state: dict, scenario: str) -> None:
    """Record the principal of the identity site.yml created, for the final check."""
    name = state["scenarios"][scenario]["identity"]
    identity = az.arm("GET", f"{group_path(state)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
                      "msi").json()
    state["scenarios"][scenario]["principal_id"] = identity["properties"]["principalId"]


def cmd_send(az: Azure, state: dict, count: str) -> None:
    sb = state["servicebus"]
    url = f"{sb['endpoint'].rstrip('/').replace(':443', '')}/{sb['queue']}/messages"
    deadline = time.time() + 600  # the sender role takes minutes to reach the data plane
    sent = 0
    while sent < int(count):
        resp = az.request("POST", url, body=f"kedaops live test {sent}", scope="https://servicebus.azure.net/.default",
                          headers={"Content-Type": "application/atom+xml;type=entry;charset=utf-8"},
                          ok=(201, 401, 403))
        if resp.status_code == 201:
            sent += 1
        elif time.time() > deadline:
            raise SystemExit(f"sending to {url}: {resp.status_code} {resp.text[:300]}")
        else:
            time.sleep(15)
    print(f"sent {sent} messages to {sb['queue']}")


def cmd_check_clean(az: Azure, state: dict, scenario: str) -> None:
    """After teardown: the scenario's identity and its role assignments are gone."""
    info = state["scenarios"][scenario]
    left = [r["id"] for r in az.arm("GET", f"{group_path(state)}/providers/Microsoft.ManagedIdentity/"
                                           "userAssignedIdentities", "msi").json()["value"]]
    assignments = az.arm("GET", f"/subscriptions/{az.subscription}/providers/Microsoft.Authorization/roleAssignments"
                                f"?$filter=principalId eq '{info['principal_id']}'", "authorization").json()["value"]
    if left or assignments:
        raise SystemExit(f"{scenario}: teardown left {left + [a['id'] for a in assignments]}")
    print(f"{scenario}: no identity and no role assignment of it remain")


def cmd_delete_group(az: Azure, state: dict) -> None:
    """Delete the throw-away group (the event sources with it) and wait until Azure says it is gone."""
    if not state.get("group_created"):
        return
    if state.get("servicebus", {}).get("sender_assignment"):
        az.arm("DELETE", state["servicebus"]["sender_assignment"], "authorization", ok=(200, 204))
    az.arm("DELETE", group_path(state), "resources", ok=(200, 202, 204, 404))
    deadline = time.time() + 1800
    while az.arm("HEAD", group_path(state), "resources", ok=(204, 404)).status_code == 204:
        if time.time() > deadline:
            raise SystemExit(f"resource group {state['resource_group']} still exists after 30 minutes")
        time.sleep(20)
    state["group_created"] = False
    print(f"resource group {state['resource_group']} deleted; nothing this run created remains in Azure")


COMMANDS = {"cluster": cmd_cluster, "group": cmd_group, "servicebus": cmd_servicebus, "workspace": cmd_workspace,
            "vars": cmd_vars, "identity": cmd_identity, "send": cmd_send, "check-clean": cmd_check_clean,
            "delete-group": cmd_delete_group}


def main(argv: list[str]) -> None:
    command, state_file, args = argv[0], argv[1], argv[2:]
    state = load(state_file)
    az = Azure(os.environ["AZURE_SUBSCRIPTION_ID"])
    try:
        COMMANDS[command](az, state, *args)
    finally:
        save(state_file, state)


if __name__ == "__main__":
    main(sys.argv[1:])
