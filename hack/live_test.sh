#!/usr/bin/env bash
# make live-test: both scenarios on real Azure, for whoever has a subscription and an AKS cluster
# they may change. Not part of `make test`. Without its inputs it says what it needs and exits 0
# before it installs, reads or creates anything.
#
# Per scenario: site.yml twice (the second must report changed=0), doctor.yml (a real token
# exchange at Entra), the KEDA outcome where it can be observed (add-on path: messages on a real
# Service Bus queue make the ScaledJob start a Job), teardown.yml, and a check that the scenario's
# identity, its role assignments and its Kubernetes objects are gone. Everything Azure-side that
# the run creates lives in a throw-away resource group, deleted (and checked gone) at the end,
# also when a step fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

missing=()
[ -n "${AZURE_SUBSCRIPTION_ID:-}" ] || missing+=("AZURE_SUBSCRIPTION_ID")
[ -n "${LIVE_AKS_RESOURCE_GROUP:-}" ] || missing+=("LIVE_AKS_RESOURCE_GROUP")
[ -n "${LIVE_AKS_CLUSTER:-}" ] || missing+=("LIVE_AKS_CLUSTER")
[ -n "${LIVE_RESOURCE_GROUP:-}" ] || missing+=("LIVE_RESOURCE_GROUP")
if [ -z "${AZURE_CLIENT_SECRET:-}${AZURE_FEDERATED_TOKEN_FILE:-}${IDENTITY_ENDPOINT:-}" ] \
   && ! { command -v az >/dev/null 2>&1 && az account show >/dev/null 2>&1; }; then
  missing+=("Azure credentials")
fi
if [ -z "${KUBECONFIG:-}${K8S_AUTH_HOST:-}" ] && [ ! -f "$HOME/.kube/config" ]; then
  missing+=("cluster credentials")
fi
if [ ${#missing[@]} -gt 0 ]; then
  cat <<EOF
make live-test runs both scenarios (AKS add-on + Service Bus, Helm + Managed Prometheus) on real
Azure. Nothing was installed, read or created: these inputs are missing: ${missing[*]}

  AZURE_SUBSCRIPTION_ID     the subscription to work in
  Azure credentials         a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET),
                            workload or managed identity, or an \`az login\` session; it needs Contributor
                            and User Access Administrator (or Role Based Access Control Administrator)
                            on the subscription, or on the cluster and LIVE_RESOURCE_GROUP
  LIVE_AKS_RESOURCE_GROUP   resource group of an AKS cluster you may change
  LIVE_AKS_CLUSTER          its name; site.yml turns on its OIDC issuer and workload identity (AKS cannot
                            turn the issuer off again); the KEDA add-on is turned off again at the end
                            when it was off before
  cluster credentials       KUBECONFIG for that cluster (az aks get-credentials -g RG -n NAME), or K8S_AUTH_*
  LIVE_RESOURCE_GROUP       a new resource group name, created for the run and deleted at its end; it must
                            not exist (the identities, a Service Bus namespace and an Azure Monitor
                            workspace live there)
Optional:
  LIVE_SCENARIOS            "addon helm" (default), or one of them; the Helm path is skipped when the
                            cluster has the KEDA add-on on (two KEDA operators cannot share a cluster)
  LIVE_SUFFIX               suffix of the globally unique Service Bus namespace name (default: random)
EOF
  exit 0
fi

make venv >/dev/null
bin="$root/.venv/bin"
export PATH="$bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$root/.venv/collections"
export ANSIBLE_PYTHON_INTERPRETER="$bin/python" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
work="$root/.build/live"
mkdir -p "$work"
state="$work/state.json"
rm -f "$state"
suffix=${LIVE_SUFFIX:-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')}
azure() { "$bin/python" hack/live_azure.py "$1" "$state" "${@:2}"; }
torn_down=()

play() {  # play LABEL PLAYBOOK VARS -> RECAP
  local label=$1 playbook=$2 vars=$3 log="$work/$(basename "$2" .yml)-$(date +%s).log"
  echo "==> $label"
  if ! "$bin/ansible-playbook" -i localhost, "$playbook" -e "@$vars" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "FAILED: $label (log: $log)" >&2
    return 1
  fi
  RECAP=$(grep -E '^localhost +:' "$log" | tail -1)
  echo "    $RECAP"
}

cleanup() {
  local rc=$?
  set +e
  for scenario in "${!started[@]}"; do
    if [[ ! " ${torn_down[*]} " =~ " $scenario " ]]; then
      echo "==> $scenario: teardown after a failure"
      "$bin/ansible-playbook" -i localhost, playbooks/teardown.yml -e "@$work/$scenario.yml" >"$work/cleanup-$scenario.log" 2>&1
    fi
  done
  azure delete-group
  exit "$rc"
}
declare -A started=()
trap cleanup EXIT

azure cluster "$LIVE_AKS_RESOURCE_GROUP" "$LIVE_AKS_CLUSTER"
location=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cluster"]["location"])' "$state")
keda_before=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cluster"]["keda_before"])' "$state")
azure group "$LIVE_RESOURCE_GROUP" "$location"

no_kedaops_objects() {  # what the scenario labelled as ours in Kubernetes is gone
  local left
  left=$(kubectl get serviceaccounts,triggerauthentications.keda.sh,scaledobjects.keda.sh,scaledjobs.keda.sh \
    -A -l app.kubernetes.io/managed-by=kedaops.aks -o name 2>/dev/null || true)
  if [ -n "$left" ]; then
    echo "FAILED: teardown left Kubernetes objects: $left" >&2
    return 1
  fi
}

run_scenario() {  # run_scenario NAME VARS_SOURCE
  local name=$1 vars="$work/$1.yml"
  azure vars "$name" "$2" "$vars"
  started[$name]=1
  play "$name: site.yml (first run)" playbooks/site.yml "$vars"
  play "$name: site.yml (second run, must change nothing)" playbooks/site.yml "$vars"
  if ! grep -q ' changed=0 ' <<<"$RECAP"; then
    echo "FAILED: the second run of $name changed something: $RECAP" >&2
    return 1
  fi
  azure identity "$name"
  play "$name: doctor.yml" playbooks/doctor.yml "$vars"
  if [ "$name" = addon ]; then
    azure send 12
    echo "==> $name: waiting for KEDA to start a Job for the queue"
    local deadline=$((SECONDS + 600)) jobs=""
    while [ $SECONDS -lt $deadline ]; do
      jobs=$(kubectl get jobs -n default -l scaledjob.keda.sh/name=myconsumer-scaledjob -o name 2>/dev/null || true)
      [ -n "$jobs" ] && break
      sleep 15
    done
    if [ -z "$jobs" ]; then
      kubectl get scaledjob myconsumer-scaledjob -n default -o yaml || true
      echo "FAILED: KEDA started no Job within 10 minutes" >&2
      return 1
    fi
    echo "    KEDA scaled: $jobs"
  fi
  play "$name: teardown.yml" playbooks/teardown.yml "$vars"
  torn_down+=("$name")
  azure check-clean "$name"
  no_kedaops_objects
  if [ "$name" = helm ] && helm status keda -n keda >/dev/null 2>&1; then
    echo "FAILED: the keda Helm release is still installed" >&2
    return 1
  fi
}

for scenario in ${LIVE_SCENARIOS:-addon helm}; do
  case $scenario in
    addon)
      azure servicebus "kedaops-live-$suffix" orders
      run_scenario addon playbooks/vars/addon-servicebus.yml ;;
    helm)
      if [ "$keda_before" = True ]; then
        echo "==> helm: skipped, the cluster runs the KEDA add-on (two KEDA operators cannot share a cluster)"
        continue
      fi
      azure workspace "kedaops-live-$suffix"
      run_scenario helm playbooks/vars/helm-prometheus.yml ;;
    *) echo "unknown scenario $scenario (addon, helm)" >&2; exit 2 ;;
  esac
done
echo "live-test: every scenario converged, re-ran with no change, passed the doctor and was torn down."
