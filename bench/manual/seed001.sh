#!/usr/bin/env bash
# Seed 001 by hand: the AKS KEDA add-on with workload identity and an Azure Service Bus ScaledJob, as
# Microsoft's "Securely scale your applications using the KEDA add-on and workload identity" article
# types it (../shared/reference/scenarios.md, B), with playbooks/vars/addon-servicebus.yml's names so
# that site.yml on the same lab does the same work. Run by bench/scenarios.py with the real Azure CLI
# (.venv-az) and kubectl from .venv, after `az login` (not timed). Each step starts with a line
# "MARK <epoch seconds> <name>" (bench/scenarios.py times a step up to the next mark, the last up to "MARK <t> end").
# SKIP_SERVICEBUS=1 skips only the two Service Bus commands (a lab without Microsoft.ServiceBus).
set -euo pipefail

: "${AKS_RG:=rg-keda-integration}" "${AKS_NAME:=aks-cluster-name}" "${RG_NAME:=rg-keda-integration}"
: "${LOCATION:=eastus}" "${MI_NAME:=keda-servicebus-identity}" "${SB_NAME:=sb-keda-demo}" "${SB_QUEUE_NAME:=orders}"
: "${FED_WORKLOAD:=$MI_NAME}" "${FED_KEDA:=keda-operator}"

mark() { echo "MARK $EPOCHREALTIME $*"; }

# 1. The cluster: workload identity, OIDC issuer and the KEDA add-on.
mark "az aks update --enable-workload-identity --enable-oidc-issuer --enable-keda"
az aks update --name "$AKS_NAME" --resource-group "$AKS_RG" --enable-workload-identity --enable-oidc-issuer \
  --enable-keda -o none
mark "az aks show (the issuer URL)"
AKS_OIDC_ISSUER=$(az aks show --name "$AKS_NAME" --resource-group "$AKS_RG" --query oidcIssuerProfile.issuerUrl -o tsv)

# 2. The Service Bus namespace (local auth off) and its queue.
if [ "${SKIP_SERVICEBUS:-0}" != 1 ]; then
  mark "az servicebus namespace create --disable-local-auth"
  az servicebus namespace create --name "$SB_NAME" --resource-group "$RG_NAME" --disable-local-auth -o none
  mark "az servicebus queue create"
  az servicebus queue create --name "$SB_QUEUE_NAME" --namespace "$SB_NAME" --resource-group "$RG_NAME" -o none
else
  echo "SKIPPED az servicebus namespace create / queue create: the lab does not serve Microsoft.ServiceBus"
fi

# 3. One identity for the workload and KEDA.
mark "az identity create"
read -r MI_CLIENT_ID MI_PRINCIPAL_ID < <(az identity create --name "$MI_NAME" --resource-group "$RG_NAME" \
  --location "$LOCATION" --query '[clientId, principalId]' -o tsv | paste -sd' ')

# 4. Its two federated credentials: the workload's service account and KEDA's operator.
mark "az identity federated-credential create (workload)"
az identity federated-credential create --name "$FED_WORKLOAD" --identity-name "$MI_NAME" \
  --resource-group "$RG_NAME" --issuer "$AKS_OIDC_ISSUER" --subject "system:serviceaccount:default:$MI_NAME" \
  --audience api://AzureADTokenExchange -o none
mark "az identity federated-credential create (keda-operator)"
az identity federated-credential create --name "$FED_KEDA" --identity-name "$MI_NAME" \
  --resource-group "$RG_NAME" --issuer "$AKS_OIDC_ISSUER" --subject system:serviceaccount:kube-system:keda-operator \
  --audience api://AzureADTokenExchange -o none

# 5. Azure Service Bus Data Owner on the namespace.
mark "az servicebus namespace show (its id)"
SB_ID=$(az servicebus namespace show --name "$SB_NAME" --resource-group "$RG_NAME" --query id -o tsv 2>/dev/null \
  || az resource show --name "$SB_NAME" --resource-group "$RG_NAME" --resource-type Microsoft.ServiceBus/namespaces \
     --query id -o tsv)
mark "az role assignment create (Azure Service Bus Data Owner)"
az role assignment create --role "Azure Service Bus Data Owner" --assignee-object-id "$MI_PRINCIPAL_ID" \
  --assignee-principal-type ServicePrincipal --scope "$SB_ID" -o none

# 6. The cluster's credentials, KEDA's operator annotated and restarted.
mark "az aks get-credentials"
az aks get-credentials --name "$AKS_NAME" --resource-group "$AKS_RG" --overwrite-existing
mark "kubectl annotate sa keda-operator"
kubectl annotate serviceaccount keda-operator -n kube-system \
  "azure.workload.identity/client-id=$MI_CLIENT_ID" --overwrite
mark "kubectl rollout restart deploy keda-operator"
kubectl rollout restart deploy keda-operator -n kube-system

# 7-9. The TriggerAuthentication, the workload's ServiceAccount, the ScaledJob.
manifests() {
  cat <<YAML
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: azure-servicebus-auth
  namespace: default
spec:
  podIdentity:
    provider: azure-workload
    identityId: $MI_CLIENT_ID
---
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    azure.workload.identity/client-id: $MI_CLIENT_ID
  name: $MI_NAME
  namespace: default
---
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata:
  name: myconsumer-scaledjob
  namespace: default
spec:
  jobTargetRef:
    template:
      metadata:
        labels:
          azure.workload.identity/use: "true"
      spec:
        serviceAccountName: $MI_NAME
        containers:
        - image: ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest
          name: myconsumer
          env:
          - {name: OPERATION_MODE, value: "consumer"}
          - {name: MESSAGE_COUNT, value: "10"}
          - {name: AZURE_SERVICEBUS_QUEUE_NAME, value: $SB_QUEUE_NAME}
          - {name: AZURE_SERVICEBUS_HOSTNAME, value: $SB_NAME.servicebus.windows.net}
        restartPolicy: Never
  triggers:
  - type: azure-servicebus
    metadata:
      queueName: $SB_QUEUE_NAME
      namespace: $SB_NAME
      messageCount: "10"
    authenticationRef:
      name: azure-servicebus-auth
YAML
}
mark "kubectl apply (TriggerAuthentication, ServiceAccount, ScaledJob)"
kubectl apply -f <(manifests)
mark end
