"""Contract: the official Azure CLI runs the articles' ``az`` commands against the lab, verbatim.

azure-cli from PyPI lives in its own venv (``make az-venv`` -> ``.venv-az``; ``$AZ_CLI`` names the
binary), never in the collection's requirements. Its configuration goes to a scratch
``AZURE_CONFIG_DIR``. Setup is what README's lab section tells a user: ``az cloud register -n Lab
--endpoint-resource-manager $LAB_ARM_URL`` (the CLI reads Entra and Graph from the lab's ARM
metadata), ``.lab/env.sh``'s ``AZURE_CORE_INSTANCE_DISCOVERY=false`` (else MSAL asks a public host),
then ``az login --service-principal``. Commands are written as in the two procedures
(``../shared/reference/scenarios.md``): the Azure Monitor KEDA article (scenario A) and the AKS
KEDA workload identity article (scenario B), with their variable names.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

from lab import ids
from lab.testing import REPO_ROOT

AZ = os.environ.get("AZ_CLI") or os.path.join(REPO_ROOT, ".venv-az", "bin", "az")
SERVICEBUS_EMULATED = os.path.exists(os.path.join(REPO_ROOT, "tests", "lab", "azure", "servicebus.py"))

# Outside CI a developer without `make az-venv` is told so; under CI (CI=true, `make pytest` builds the venv) a
# missing CLI is a failure, never a skip.
REQUIRES_AZ = pytest.mark.skipif(not os.access(AZ, os.X_OK) and not os.environ.get("CI"),
                                 reason="the Azure CLI venv is missing: make az-venv")
pytestmark = REQUIRES_AZ


class Shell:
    """bash with the lab's env, the CLI on PATH and the articles' variables."""

    def __init__(self, lab, config_dir: str, variables: dict[str, str]):
        env = lab.process_env()
        env.update(variables)
        env["PATH"] = os.path.dirname(AZ) + os.pathsep + env["PATH"]
        env["AZURE_CONFIG_DIR"] = config_dir
        env["KUBECONFIG"] = os.path.join(config_dir, "kube", "config")
        # Nothing may leave 127.0.0.1: any other host goes to a proxy that is not there, and fails.
        env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
        self.env = env

    def run(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=self.env, capture_output=True,
                                text=True, timeout=180, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{script}\nfailed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def out(self, script: str) -> str:
        return self.run(script).stdout.strip()

    def json(self, script: str):
        return json.loads(self.out(script))


def _login(shell: Shell) -> None:
    shell.run("az cloud register -n Lab --endpoint-resource-manager $LAB_ARM_URL && az cloud set -n Lab")
    shell.run("az login --service-principal -u $AZURE_CLIENT_ID -p $AZURE_CLIENT_SECRET --tenant $AZURE_TENANT_ID -o none")


@pytest.fixture(scope="module")
def cli_lab(lab):
    lab.reset()
    yield lab
    lab.reset()


@pytest.fixture(scope="module")
def monitor(cli_lab, tmp_path_factory):
    """Scenario A's variables (the Azure Monitor article), logged in."""
    shell = Shell(cli_lab, str(tmp_path_factory.mktemp("az-a")), {
        "RESOURCE_GROUP": ids.RESOURCE_GROUP, "LOCATION": "eastus", "SUBSCRIPTION": ids.SUBSCRIPTION_ID,
        "USER_ASSIGNED_IDENTITY_NAME": "keda-int-identity", "FEDERATED_IDENTITY_CREDENTIAL_NAME": "kedaFedIdentity",
        "SERVICE_ACCOUNT_NAMESPACE": "keda", "SERVICE_ACCOUNT_NAME": "keda-operator", "AKS_CLUSTER_NAME": ids.AKS_NAME,
        "AZURE_MONITOR_WORKSPACE_ID": cli_lab.env["LAB_MONITOR_WORKSPACE_ID"],
    })
    _login(shell)
    return shell


def test_login_reaches_the_lab_with_tokens_whose_audience_arm_accepts(monitor, cli_lab):
    account = monitor.json("az account show -o json")
    assert (account["id"], account["tenantId"], account["user"]["type"]) == (
        ids.SUBSCRIPTION_ID, ids.TENANT_ID, "servicePrincipal")
    token = monitor.json("az account get-access-token -o json")["accessToken"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    # The CLI asks for https://management.core.windows.net//.default; Entra's aud drops "/.default".
    assert claims["aud"] == "https://management.core.windows.net/"
    hosts = {r["path"].split("?")[0] for r in cli_lab.requests("entra")}
    assert f"/{ids.TENANT_ID}/oauth2/v2.0/token" in hosts


def test_role_assignment_list_shows_the_automation_principals_own_role(monitor):
    """The CLI resolves the client id through Graph and lists that principal's assignments (its rights)."""
    listed = monitor.json("az role assignment list --assignee $AZURE_CLIENT_ID --all -o json")
    assert [(a["principalId"], a["roleDefinitionName"], a["scope"]) for a in listed] == [
        (ids.AUTOMATION_PRINCIPAL_ID, "Owner", f"/subscriptions/{ids.SUBSCRIPTION_ID}")]


def test_scenario_a_commands(monitor, cli_lab):
    monitor.run("az aks update -n $AKS_CLUSTER_NAME -g $RESOURCE_GROUP --enable-workload-identity --enable-oidc-issuer -o none")
    issuer = monitor.out('az aks show -n $AKS_CLUSTER_NAME -g $RESOURCE_GROUP --query "oidcIssuerProfile.issuerUrl" -otsv')
    assert issuer == cli_lab.env["LAB_OIDC_ISSUER"] and issuer.endswith("/")
    monitor.run("az identity create --name $USER_ASSIGNED_IDENTITY_NAME --resource-group $RESOURCE_GROUP "
                "--location $LOCATION --subscription $SUBSCRIPTION -o none")
    client_id = monitor.out("az identity show --resource-group $RESOURCE_GROUP --name $USER_ASSIGNED_IDENTITY_NAME "
                            "--query 'clientId' -otsv")
    principal_id = monitor.out("az identity show --resource-group $RESOURCE_GROUP --name $USER_ASSIGNED_IDENTITY_NAME "
                               "--query 'principalId' -otsv")
    monitor.env["USER_ASSIGNED_CLIENT_ID"], monitor.env["AKS_OIDC_ISSUER"] = client_id, issuer

    # As the article writes it: --assignee with the client id; the CLI resolves it through Graph.
    assignment = monitor.json('az role assignment create --assignee $USER_ASSIGNED_CLIENT_ID '
                              '--role "Monitoring Data Reader" --scope $AZURE_MONITOR_WORKSPACE_ID -o json')
    assert (assignment["principalId"], assignment["principalType"]) == (principal_id, "ServicePrincipal")
    assert assignment["roleDefinitionId"].endswith("/b0d8363b-8ddd-447d-831f-62ca05bff136")
    graph = [(r["method"], r["path"].split("?")[0]) for r in cli_lab.requests("graph")]
    assert ("GET", "/v1.0/servicePrincipals") in graph
    table = monitor.out("az role assignment list --scope $AZURE_MONITOR_WORKSPACE_ID -o table").splitlines()
    assert table[0].split() == ["Principal", "Role", "Scope"]
    assert table[2].split()[:4] == [client_id, "Monitoring", "Data", "Reader"]

    monitor.run("az identity federated-credential create --name $FEDERATED_IDENTITY_CREDENTIAL_NAME "
                "--identity-name $USER_ASSIGNED_IDENTITY_NAME --resource-group $RESOURCE_GROUP --issuer $AKS_OIDC_ISSUER "
                "--subject system:serviceaccount:$SERVICE_ACCOUNT_NAMESPACE:$SERVICE_ACCOUNT_NAME "
                "--audience api://AzureADTokenExchange -o none")
    credential = monitor.json("az identity federated-credential show --name $FEDERATED_IDENTITY_CREDENTIAL_NAME "
                              "--identity-name $USER_ASSIGNED_IDENTITY_NAME --resource-group $RESOURCE_GROUP -o json")
    assert (credential["issuer"], credential["subject"], credential["audiences"]) == (
        issuer, "system:serviceaccount:keda:keda-operator", ["api://AzureADTokenExchange"])


def test_aks_get_credentials_gives_a_kubeconfig_that_reaches_the_lab_cluster(monitor, cli_lab):
    merged = monitor.run("az aks get-credentials -n $AKS_CLUSTER_NAME -g $RESOURCE_GROUP")
    assert f'Merged "{ids.AKS_NAME}" as current context' in merged.stderr
    assert monitor.out("kubectl config current-context") == ids.AKS_NAME
    assert monitor.out("kubectl get namespace kube-system -o name") == "namespace/kube-system"
    monitor.run("az aks get-credentials -n $AKS_CLUSTER_NAME -g $RESOURCE_GROUP --admin")
    assert monitor.out("kubectl config current-context") == f"{ids.AKS_NAME}-admin"
    assert monitor.out("kubectl config view -o jsonpath='{.users[*].name}'").split() == [
        f"clusterAdmin_{ids.RESOURCE_GROUP}_{ids.AKS_NAME}", f"clusterUser_{ids.RESOURCE_GROUP}_{ids.AKS_NAME}"]
    missing = monitor.run("az aks get-credentials -n no-such-cluster -g $RESOURCE_GROUP", check=False)
    assert missing.returncode != 0 and "ResourceNotFound" in missing.stderr


def test_enable_keda_then_kubectl_explain_and_validation_through_the_cli_kubeconfig(monitor):
    monitor.run("az aks update --resource-group $RESOURCE_GROUP --name $AKS_CLUSTER_NAME --enable-keda -o none")
    assert monitor.out("az aks show -g $RESOURCE_GROUP --name $AKS_CLUSTER_NAME "
                       "--query 'workloadAutoScalerProfile.keda.enabled'") == "true"
    monitor.run("az aks get-credentials -n $AKS_CLUSTER_NAME -g $RESOURCE_GROUP --overwrite-existing")
    assert "type\t<string> -required-" in monitor.out("kubectl explain scaledobject.spec.triggers")
    refused = monitor.run("kubectl apply -f - <<'EOF'\n"
                          "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\n"
                          "metadata: {name: azure-managed-prometheus-scaler, namespace: default}\n"
                          "spec: {scaleTargetRef: {name: web}, minReplicaCount: one, triggers: [{metadata: {}}]}\nEOF",
                          check=False)
    assert refused.returncode == 1 and "* spec.triggers[0].type: Required value" in refused.stderr


@pytest.fixture(scope="module")
def servicebus(cli_lab, tmp_path_factory):
    """Scenario B's variables (the AKS KEDA workload identity article), in a resource group of its own."""
    shell = Shell(cli_lab, str(tmp_path_factory.mktemp("az-b")), {
        "RG_NAME": "rg-keda-sb", "LOCATION": "eastus", "AKS_NAME": ids.AKS_NAME, "AKS_RG": ids.RESOURCE_GROUP,
        "SB_NAME": "sb-keda-lab-7f3a", "SB_QUEUE_NAME": "myqueue", "MI_NAME": "keda-sb-identity",
        "FED_WORKLOAD": "fed-workload", "FED_KEDA": "fed-keda",
    })
    _login(shell)
    shell.run("az group create --name $RG_NAME --location $LOCATION -o none")
    return shell


def test_scenario_b_identity_credentials_and_role_by_object_id(servicebus, cli_lab):
    servicebus.env["AKS_OIDC_ISSUER"] = servicebus.out(
        "az aks show --name $AKS_NAME --resource-group $AKS_RG --query oidcIssuerProfile.issuerUrl --output tsv")
    identity = servicebus.json("az identity create --name $MI_NAME --resource-group $RG_NAME --output json")
    servicebus.env["MI_CLIENT_ID"], servicebus.env["MI_PRINCIPAL_ID"] = identity["clientId"], identity["principalId"]
    for name, subject in (("$FED_WORKLOAD", "system:serviceaccount:default:$MI_NAME"),
                          ("$FED_KEDA", "system:serviceaccount:kube-system:keda-operator")):
        servicebus.run(f"az identity federated-credential create --name {name} --identity-name $MI_NAME "
                       f"--resource-group $RG_NAME --issuer $AKS_OIDC_ISSUER --subject {subject} "
                       "--audience api://AzureADTokenExchange -o none")
    listed = servicebus.json("az identity federated-credential list --identity-name $MI_NAME --resource-group $RG_NAME -o json")
    assert sorted(c["subject"] for c in listed) == ["system:serviceaccount:default:keda-sb-identity",
                                                    "system:serviceaccount:kube-system:keda-operator"]
    servicebus.run('az role assignment create --role "Azure Service Bus Data Owner" --assignee-object-id $MI_PRINCIPAL_ID '
                   "--assignee-principal-type ServicePrincipal --scope $(az group show -n $RG_NAME --query id -o tsv) -o none")
    assert servicebus.out("az role assignment list --assignee $MI_CLIENT_ID --all --query '[].roleDefinitionName' -o tsv") == \
        "Azure Service Bus Data Owner"


@pytest.mark.skipif(not SERVICEBUS_EMULATED, reason="Microsoft.ServiceBus is emulated by tests/lab/azure/servicebus.py (issue 15)")
def test_scenario_b_servicebus_namespace_and_queue(servicebus):
    servicebus.run("az servicebus namespace create --name $SB_NAME --resource-group $RG_NAME --disable-local-auth -o none")
    hostname = servicebus.out("az servicebus namespace show --name $SB_NAME --resource-group $RG_NAME "
                              "--query serviceBusEndpoint --output tsv | sed -e 's/https:\\/\\///' -e 's/:443\\///'")
    assert hostname == "sb-keda-lab-7f3a.servicebus.windows.net"
    servicebus.run("az servicebus queue create --name $SB_QUEUE_NAME --namespace $SB_NAME --resource-group $RG_NAME -o none")
    assert servicebus.out("az servicebus queue show --name $SB_QUEUE_NAME --namespace $SB_NAME --resource-group $RG_NAME "
                          "--query name -o tsv") == "myqueue"


def test_namespace_root_rule_keys_and_name_availability(servicebus):
    """After the namespace create above: the CLI lists the root rule's keys (local auth disabled hides none)
    and asks CheckNameAvailability for a taken and a free name."""
    keys = servicebus.json("az servicebus namespace authorization-rule keys list --resource-group $RG_NAME "
                           "--namespace-name $SB_NAME --name RootManageSharedAccessKey -o json")
    assert keys["keyName"] == "RootManageSharedAccessKey"
    assert keys["primaryConnectionString"].startswith("Endpoint=sb://sb-keda-lab-7f3a.servicebus.windows.net/;")
    taken = servicebus.json("az servicebus namespace exists --name $SB_NAME -o json")
    assert (taken["nameAvailable"], taken["reason"]) == (False, "NameInUse")
    assert servicebus.json("az servicebus namespace exists --name sb-keda-lab-free-name -o json")["nameAvailable"] is True


def test_group_delete_is_long_running_and_takes_everything_in_the_group(servicebus, cli_lab):
    group_id = servicebus.out("az group show -n $RG_NAME --query id -o tsv")
    cli_lab.clear_requests()
    servicebus.run("az group delete --name $RG_NAME --yes")
    calls = [(r["method"], r["status"]) for r in cli_lab.requests("arm") if "operationresults" in r["path"]
             or r["path"].split("?")[0].lower() == group_id.lower()]
    assert calls[0] == ("DELETE", 202) and calls[-1] == ("GET", 200)
    assert servicebus.out("az group exists --name $RG_NAME") == "false"
    # The identity's service principal went with it, so filter by principalId rather than --assignee.
    assert servicebus.out("az role assignment list --all --query \"[?principalId=='$MI_PRINCIPAL_ID']\" -o tsv") == ""
    gone = servicebus.run("az identity show --name $MI_NAME --resource-group $RG_NAME", check=False)
    assert gone.returncode != 0 and "ResourceGroupNotFound" in gone.stderr
    servicebus.run("az group create --name $RG_NAME --location $LOCATION -o none")
    servicebus.run("az group delete --name $RG_NAME --yes --no-wait")
    assert servicebus.out("az group exists --name $RG_NAME") == "false"
    missing = servicebus.run("az group delete --name $RG_NAME --yes", check=False)
    assert missing.returncode != 0 and "ResourceGroupNotFound" in missing.stderr
