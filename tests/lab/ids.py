"""Fixed identifiers of the lab's seeded world (stable across starts, so docs and vars files can name them)."""

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION_ID = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"

# The automation service principal that playbooks authenticate as (client credentials).
AUTOMATION_CLIENT_ID = "5a3e2f0c-9d1b-4c7e-8a6f-2b4d6e8f0a1c"
AUTOMATION_CLIENT_SECRET = "lab-secret-not-for-production"
AUTOMATION_PRINCIPAL_ID = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"

RESOURCE_GROUP = "rg-keda-integration"
LOCATION = "eastus"
AKS_NAME = "aks-cluster-name"
# The OIDC issuer's path component, as AKS builds it: /<tenant>/<guid>/
AKS_ISSUER_GUID = "3f1e6b0a-5c2d-4e7f-9a8b-1c2d3e4f5a6b"
MONITOR_WORKSPACE_NAME = "test-azure-monitor-workspace-name"
SERVICEBUS_NAMESPACE_NAME = "sb-keda-demo"

# The kubeconfig's bearer token for the cluster-admin user.
KUBE_ADMIN_TOKEN = "lab-admin-token"

ARM_AUDIENCE = "https://management.azure.com/"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
