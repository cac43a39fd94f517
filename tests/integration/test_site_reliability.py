"""site.yml against a fresh lab, as a careful and an unlucky user would run it (issue 14).

* ``--check --diff`` previews a first install of each scenario end to end: it passes, writes nothing
  (the lab's request log, ``GET /requests?writes=1``) and shows the values only the apply can tell as
  "(known after apply)".
* A real run with one transient fault on every call class -- ARM reads and writes, Entra's token
  endpoint, Kubernetes reads, writes and TokenRequest -- converges at the first attempt, every fault
  used up, with no duplicate write, and a second run changes nothing. One run per scenario, the faults
  spread across it, to keep CI lean (the Helm path installs the real chart).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KNOWN_AFTER_APPLY = "(known after apply)"


def _kubectl() -> str:
    """kubectl from PATH: on the second ansible-core line sys.executable's venv has none; PATH (that venv's
    bin, then the main .venv's) reaches the main venv's."""
    kubectl = shutil.which("kubectl", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    assert kubectl, "kubectl is not on PATH"
    return kubectl


SCENARIOS = {
    "addon": ["-e", "@playbooks/vars/addon-servicebus.yml"],
    "helm": ["-e", "@playbooks/vars/helm-prometheus.yml"],
}

# One transient fault per call class; each matches only requests our modules send (not helm's).
FAULTS = {
    "addon": [
        {"service": "arm", "method": "GET", "path": "/managedClusters/aks-cluster-name\\?", "status": 503},
        {"service": "arm", "method": "PUT", "path": "/federatedIdentityCredentials/keda-operator", "status": 500},
        {"service": "arm", "method": "PUT", "path": "/roleAssignments/", "status": 429, "retry_after": 1},
        {"service": "entra", "method": "POST", "path": "/token", "status": 503},
        {"service": "k8s", "method": "GET", "path": "/serviceaccounts/keda-operator$", "status": 429, "retry_after": 1},
        {"service": "k8s", "method": "PATCH", "path": "/serviceaccounts/keda-operator", "status": 503},
        {"service": "k8s", "method": "POST", "path": "/triggerauthentications", "status": 500},
        {"service": "k8s", "method": "POST", "path": "/serviceaccounts/keda-operator/token", "status": 503},
    ],
    "helm": [
        {"service": "arm", "method": "GET", "path": "/managedClusters/aks-cluster-name\\?", "status": 429,
         "retry_after": 1},
        {"service": "arm", "method": "PUT", "path": "/userAssignedIdentities/[^/]+\\?", "status": 503},
        {"service": "entra", "method": "POST", "path": "/token", "status": 500},
        {"service": "k8s", "method": "GET", "path": "/scaledobjects/", "status": 503},
        {"service": "k8s", "method": "POST", "path": "/triggerauthentications", "status": 429, "retry_after": 1},
        {"service": "k8s", "method": "POST", "path": "/scaledobjects", "status": 502},
        {"service": "k8s", "method": "POST", "path": "/serviceaccounts/keda-operator/token", "status": 429,
         "retry_after": 1},
    ],
}


def site(lab, scenario: str, *extra: str, playbook: str = "playbooks/site.yml") -> subprocess.CompletedProcess:
    env = lab.process_env()
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    args = [os.path.join(bin_dir, "ansible-playbook"), "-i", "localhost,", playbook,
            *(SCENARIOS.get(scenario) or ["-e", "@playbooks/vars/arc-prometheus.yml"])]
    if scenario in ("helm", "arc"):  # the real chart through the role's defaults; only the repository is the lab's
        args += ["-e", f"keda_helm_chart_repo_url={lab.env['LAB_CHART_REPO_URL']}"]
    return subprocess.run([*args, *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
                          check=False)


def recap(proc: subprocess.CompletedProcess) -> dict[str, int]:
    match = re.search(r"localhost\s+:\s+(.*)", proc.stdout)
    assert match, proc.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_check_mode_previews_a_first_install_and_writes_nothing(lab, scenario):
    lab.reset()
    lab.clear_requests()
    proc = site(lab, scenario, "--check", "--diff")
    assert proc.returncode == 0, f"{proc.stdout[-20000:]}\n{proc.stderr[-3000:]}"
    assert recap(proc)["changed"] > 0
    assert lab.writes() == []
    assert KNOWN_AFTER_APPLY in proc.stdout, "values only the apply can tell are shown as such in the diff"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_one_transient_fault_per_call_class_converges_without_duplicates(lab, scenario):
    lab.reset()
    lab.clear_requests()
    lab.control("POST", "/faults", FAULTS[scenario])
    first = site(lab, scenario)
    assert first.returncode == 0, f"{first.stdout[-20000:]}\n{first.stderr[-3000:]}"
    assert lab.control("GET", "/faults") == [], "every injected fault was met (and retried)"
    log = lab.requests()
    faulted = [r for r in log if r["status"] in (429, 500, 502, 503, 504)]
    assert len(faulted) >= len(FAULTS[scenario])
    # No duplicate: a successful write is never sent twice to the same ARM resource, and no create
    # meets an object an earlier attempt of ours already made.
    arm_puts = collections.Counter(r["path"].split("?")[0] for r in log
                                   if r["service"] == "arm" and r["method"] == "PUT" and r["status"] < 300)
    assert [path for path, count in arm_puts.items() if count > 1] == []
    assert [r for r in log if r["service"] == "k8s" and r["method"] == "POST" and r["status"] == 409] == []
    lab.clear_requests()
    second = site(lab, scenario)
    assert second.returncode == 0, second.stdout[-20000:]
    assert recap(second)["changed"] == 0
    assert [w for w in lab.writes() if not w["path"].split("?")[0].endswith("/token")] == []


FOREIGN = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Another team's credential on the same identity
      kedaops.aks.federated_credential:
        resource_group: rg-keda-integration
        identity_name: keda-servicebus-identity
        name: other-team
        issuer: https://other.example/issuer/
        subject: system:serviceaccount:other:app
    - name: Another team's queue in the namespace the site created
      kedaops.aks.servicebus_queue:
        resource_group: rg-keda-integration
        namespace: keda-sb-orders
        name: other-team
"""


def play(lab, tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "play.yml"
    path.write_text(text)
    return site(lab, "addon", playbook=str(path))


def test_teardown_removes_only_what_the_collection_created(lab, tmp_path):
    """An identity another team also federates, a namespace another team added a queue to, and a
    service account that existed before the collection annotated it, survive teardown; only the
    collection's own parts (our queue included) are removed."""
    lab.reset()
    kubectl = [_kubectl(), "-n", "default"]
    for args in (["create", "serviceaccount", "keda-servicebus-identity"],
                 ["label", "serviceaccount", "keda-servicebus-identity", "team=payments"]):
        subprocess.run(kubectl + args, env=lab.process_env(), check=True, capture_output=True)
    proc = site(lab, "addon")
    assert proc.returncode == 0, proc.stdout[-20000:]
    proc = play(lab, tmp_path, FOREIGN)
    assert proc.returncode == 0, proc.stdout[-5000:]

    proc = site(lab, "addon", playbook="playbooks/teardown.yml")
    assert proc.returncode == 0, proc.stdout[-20000:]
    output = " ".join((proc.stdout + proc.stderr).split())  # warnings go to stderr, wrapped
    assert "kept: it carries federated credentials this run does not own (other-team)" in output
    assert "was not created by kedaops.aks" in output
    assert ("Service Bus namespace keda-sb-orders (resource group rg-keda-integration) kept: it carries queues this "
            "run does not own (other-team)") in output

    check = tmp_path / "check.yml"
    check.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - kedaops.aks.managed_identity_info:
        resource_group: rg-keda-integration
        name: keda-servicebus-identity
        credentials: true
      register: identity
    - ansible.builtin.command: kubectl get sa keda-servicebus-identity -n default -o json
      register: sa
      changed_when: false
    - kedaops.aks.servicebus_queue:
        resource_group: rg-keda-integration
        namespace: keda-sb-orders
        name: "{{ item }}"
        create: false
      loop: [other-team, orders]
      register: queues
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - identity.exists
          - identity.credentials | map(attribute='name') | list == ['other-team']
          - (sa.stdout | from_json).metadata.labels.team == 'payments'
          - "'azure.workload.identity/client-id' not in ((sa.stdout | from_json).metadata.annotations | default({}))"
          - queues.results[0] is not failed
          - queues.results[1] is failed
          - queues.results[1].msg is search('does not exist')
""")
    proc = site(lab, "addon", playbook=str(check))
    assert proc.returncode == 0, proc.stdout[-5000:]


def test_the_addon_path_refuses_next_to_a_keda_from_helm(lab):
    """The kedacore chart's operator (labelled app.kubernetes.io/name=keda-operator, not managed by
    AKS) makes the add-on path stop before it enables anything, as the Helm path does the other way."""
    lab.reset()
    kubectl = _kubectl()
    subprocess.run([kubectl, "create", "namespace", "keda"], env=lab.process_env(), capture_output=True, check=False)
    manifest = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "keda-operator", "namespace": "keda",
        "labels": {"app.kubernetes.io/name": "keda-operator", "app.kubernetes.io/managed-by": "Helm"}},
        "spec": {"selector": {"matchLabels": {"app": "keda-operator"}}, "template": {
            "metadata": {"labels": {"app": "keda-operator"}},
            "spec": {"containers": [{"name": "keda-operator", "image": "ghcr.io/kedacore/keda:2.20.2"}]}}}})
    subprocess.run([kubectl, "create", "-f", "-"], input=manifest, text=True, env=lab.process_env(), check=True,
                   capture_output=True)
    lab.clear_requests()
    proc = site(lab, "addon")
    assert proc.returncode != 0
    assert "A KEDA operator not managed by AKS runs on aks-cluster-name (namespace keda" in " ".join(proc.stdout.split())
    assert [w for w in lab.writes() if w["service"] == "arm"] == [], "refused before the add-on is enabled"


def test_check_mode_previews_the_arc_path_and_writes_nothing(lab, tmp_path):
    """Arc: once the connected cluster's issuer and the K3s issuer step are in place (the molecule
    scenario's prepare, which writes), the site preview passes and writes nothing."""
    lab.reset()
    prepare = site(lab, "arc", "-e", f"arc_k3s_config={tmp_path}/etc/rancher/k3s/config.yaml",
                   playbook="extensions/molecule/arc/prepare.yml")
    assert prepare.returncode == 0, prepare.stdout[-10000:]
    lab.clear_requests()
    proc = site(lab, "arc", "--check", "--diff")
    assert proc.returncode == 0, f"{proc.stdout[-20000:]}\n{proc.stderr[-3000:]}"
    assert lab.writes() == []
    assert KNOWN_AFTER_APPLY in proc.stdout
