#!/usr/bin/env bash
# Seed 002 by hand: KEDA from the kedacore/keda Helm chart with workload identity and an Azure Managed
# Prometheus ScaledObject, as Microsoft's "Integrate KEDA with your Azure Kubernetes Service cluster"
# article types it (../shared/reference/scenarios.md, A), with playbooks/vars/helm-prometheus.yml's
# names so that site.yml on the same lab does the same work. Run by bench/scenarios.py with the real
# Azure CLI (.venv-az), kubectl and helm from .venv, after `az login` (not timed). Each step starts with
# "MARK <epoch seconds> <name>"; the chart comes from $CHART_REPO_URL (the lab's copy of kedacore's).
set -euo pipefail

: "${RESOURCE_GROUP:=rg-keda-integration}" "${LOCATION:=eastus}" "${AKS_CLUSTER_NAME:=aks-cluster-name}"
: "${USER_ASSIGNED_IDENTITY_NAME:=keda-int-identity}" "${FEDERATED_IDENTITY_CREDENTIAL_NAME:=kedaFedIdentity}"
: "${SERVICE_ACCOUNT_NAMESPACE:=keda}" "${SERVICE_ACCOUNT_NAME:=keda-operator}"
: "${AZURE_MONITOR_WORKSPACE_ID:?the Azure Monitor workspace id}" "${CHART_REPO_URL:?the kedacore chart repository}"

mark() { echo "MARK $EPOCHREALTIME $*"; }

# 2. OIDC issuer and workload identity on the cluster; its issuer URL.
mark "az aks update --enable-workload-identity --enable-oidc-issuer"
az aks update -n "$AKS_CLUSTER_NAME" -g "$RESOURCE_GROUP" --enable-workload-identity --enable-oidc-issuer -o none
mark "az aks show (the issuer URL)"
AKS_OIDC_ISSUER=$(az aks show -n "$AKS_CLUSTER_NAME" -g "$RESOURCE_GROUP" --query "oidcIssuerProfile.issuerUrl" -o tsv)

# 3. The identity, its client and tenant ids (the article reads each with its own `az identity show`).
mark "az identity create"
az identity create --name "$USER_ASSIGNED_IDENTITY_NAME" --resource-group "$RESOURCE_GROUP" --location "$LOCATION" -o none
mark "az identity show (clientId)"
USER_ASSIGNED_CLIENT_ID=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$USER_ASSIGNED_IDENTITY_NAME" \
  --query 'clientId' -o tsv)
mark "az identity show (tenantId)"
USER_ASSIGNED_TENANT_ID=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$USER_ASSIGNED_IDENTITY_NAME" \
  --query 'tenantId' -o tsv)

# 4. Monitoring Data Reader on the workspace (the article's --assignee with the client id: Graph resolves it).
mark "az role assignment create (Monitoring Data Reader)"
az role assignment create --assignee "$USER_ASSIGNED_CLIENT_ID" --role "Monitoring Data Reader" \
  --scope "$AZURE_MONITOR_WORKSPACE_ID" -o none

# 5. The cluster's credentials; namespace keda and the annotated keda-operator service account.
mark "az aks get-credentials"
az aks get-credentials -n "$AKS_CLUSTER_NAME" -g "$RESOURCE_GROUP" --overwrite-existing
mark "kubectl create namespace keda"
kubectl create namespace "$SERVICE_ACCOUNT_NAMESPACE"
mark "kubectl apply (ServiceAccount keda-operator)"
kubectl apply -f - <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    azure.workload.identity/client-id: $USER_ASSIGNED_CLIENT_ID
  name: $SERVICE_ACCOUNT_NAME
  namespace: $SERVICE_ACCOUNT_NAMESPACE
YAML

# 6. The federated credential.
mark "az identity federated-credential create"
az identity federated-credential create --name "$FEDERATED_IDENTITY_CREDENTIAL_NAME" \
  --identity-name "$USER_ASSIGNED_IDENTITY_NAME" --resource-group "$RESOURCE_GROUP" --issuer "$AKS_OIDC_ISSUER" \
  --subject "system:serviceaccount:$SERVICE_ACCOUNT_NAMESPACE:$SERVICE_ACCOUNT_NAME" --audience api://AzureADTokenExchange -o none

# 7. The chart, with the service account not created by it and workload identity on (current keys).
mark "helm repo add / update"
helm repo add kedacore "$CHART_REPO_URL" >/dev/null
helm repo update >/dev/null
mark "helm install keda kedacore/keda"
helm install keda kedacore/keda --namespace "$SERVICE_ACCOUNT_NAMESPACE" \
  --set serviceAccount.operator.create=false --set serviceAccount.operator.name="$SERVICE_ACCOUNT_NAME" \
  --set podIdentity.azureWorkload.enabled=true --set podIdentity.azureWorkload.clientId="$USER_ASSIGNED_CLIENT_ID" \
  --set podIdentity.azureWorkload.tenantId="$USER_ASSIGNED_TENANT_ID" >/dev/null

# 8. The three deployments running.
mark "kubectl wait (three deployments Available)"
kubectl wait --for=condition=Available deployment/keda-operator deployment/keda-operator-metrics-apiserver \
  deployment/keda-admission-webhooks -n "$SERVICE_ACCOUNT_NAMESPACE" --timeout=300s >/dev/null

# 9. The TriggerAuthentication and the ScaledObject.
mark "kubectl apply (TriggerAuthentication, ScaledObject)"
kubectl apply -f - <<YAML
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: azure-managed-prometheus-trigger-auth
  namespace: default
spec:
  podIdentity:
    provider: azure-workload
    identityId: $USER_ASSIGNED_CLIENT_ID
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: azure-managed-prometheus-scaler
  namespace: default
spec:
  scaleTargetRef:
    name: deployment-name-to-be-scaled
  minReplicaCount: 1
  maxReplicaCount: 20
  triggers:
  - type: prometheus
    metadata:
      serverAddress: https://test-azure-monitor-workspace-name-1234.eastus.prometheus.monitor.azure.com
      metricName: http_requests_total
      query: sum(rate(http_requests_total{deployment="my-deployment"}[2m]))
      threshold: '100.50'
      activationThreshold: '5.5'
    authenticationRef:
      name: azure-managed-prometheus-trigger-auth
YAML
mark end
