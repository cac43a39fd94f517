#!/usr/bin/env bash
# make demo: lab up -> add-on path (Service Bus ScaledJob) -> teardown -> Helm path (Managed
# Prometheus ScaledObject) -> teardown -> Arc path (Helm on a connected cluster) -> teardown -> lab down.
# Each site run goes twice; the second must report changed=0. Prints what each path created and
# KEDA's outcome (jobs created and the queue drained; the target scaled up and back down).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/.venv/bin"
export PATH="$bin:$PATH"

PYTHONPATH=tests "$bin/python" -m lab up --dir .lab --collections-path .venv/collections \
  --python "$bin/python" --path-prepend "$bin"
trap 'PYTHONPATH=tests "$bin/python" -m lab down --dir .lab' EXIT
# shellcheck disable=SC1091
source .lab/env.sh
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_DISPLAY_SKIPPED_HOSTS=false

run() {  # run LABEL PLAYBOOK VARS [extra args...]
  local label=$1 playbook=$2 vars=$3
  shift 3
  local log
  log=$(mktemp)
  echo "==> $label"
  if ! "$bin/ansible-playbook" -i localhost, "$playbook" -e "@$vars" "$@" >"$log" 2>&1; then
    cat "$log"
    echo "FAILED: $label" >&2
    exit 1
  fi
  grep -A2 '^PLAY RECAP' "$log" | tail -n +2 | sed 's/^/    /'
  RECAP=$(grep -E '^localhost +:' "$log" | tail -1)
  rm -f "$log"
}

converge() {  # converge NAME VARS [extra args...]
  local name=$1 vars=$2
  shift 2
  run "$name: site.yml (first run)" playbooks/site.yml "$vars" "$@"
  run "$name: site.yml (second run, must change nothing)" playbooks/site.yml "$vars" "$@"
  if ! grep -q ' changed=0 ' <<<"$RECAP"; then
    echo "FAILED: the second run of $name changed something: $RECAP" >&2
    exit 1
  fi
  "$bin/python" hack/demo_summary.py "$vars"
  echo "==> $name: outcome (the lab KEDA scales as the seed ends)"
  "$bin/python" hack/demo_summary.py --outcome "$vars"
  run "$name: teardown.yml" playbooks/teardown.yml "$vars" "$@"
  "$bin/python" hack/demo_summary.py --after-teardown "$vars"
}

converge "Add-on path + Azure Service Bus ScaledJob" playbooks/vars/addon-servicebus.yml \
  -e keda_addon_disable_on_absent=true
# The real kedacore/keda chart through the role's defaults; only the repository URL is the lab's.
converge "Helm path + Azure Managed Prometheus ScaledObject" playbooks/vars/helm-prometheus.yml \
  -e keda_helm_chart_repo_url="$LAB_CHART_REPO_URL"
# Arc path: the lab's Kubernetes API stands for the Arc-enabled K3s cluster arc-cluster-name. Its
# issuer is enabled and the k3s_issuer role writes the "node's" K3s config (restart disabled, there is
# no K3s here; the lab's API server then signs with the file's issuers) before the site runs.
arc_node=$(mktemp -d)
run "Arc path: connected cluster's issuer + the K3s issuer step" extensions/molecule/arc/prepare.yml \
  playbooks/vars/arc-prometheus.yml -e arc_k3s_config="$arc_node/etc/rancher/k3s/config.yaml"
converge "Arc path (Helm on a connected cluster) + Azure Managed Prometheus ScaledObject" \
  playbooks/vars/arc-prometheus.yml -e keda_helm_chart_repo_url="$LAB_CHART_REPO_URL"
rm -rf "$arc_node"
echo "demo: the three paths (add-on, Helm, Arc) converged, re-ran with no change, and were torn down."
