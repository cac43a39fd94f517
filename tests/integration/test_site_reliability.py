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
    - name: Another team's ScaledJob in place of the site's, with the same name and no managed-by label
      kubernetes.core.k8s:
        state: "{{ item }}"
        wait: "{{ item == 'absent' }}"
        definition:
          apiVersion: keda.sh/v1alpha1
          kind: ScaledJob
          metadata: {name: myconsumer-scaledjob, namespace: default, labels: {team: payments}}
          spec:
            jobTargetRef:
              template:
                spec:
                  containers: [{name: consumer, image: "ghcr.io/azure-samples/aks-app-samples/servicebusdemo:latest"}]
                  restartPolicy: Never
            triggers: [{type: azure-servicebus, metadata: {queueName: other-team, namespace: keda-sb-orders}}]
      loop: [absent, present]
"""


def play(lab, tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "play.yml"
    path.write_text(text)
    return site(lab, "addon", playbook=str(path))


def test_teardown_removes_only_what_the_collection_created(lab, tmp_path):
    """An identity another team also federates, a namespace another team added a queue to, a
    service account that existed before the collection annotated it, and a ScaledJob another team made
    with the site's name, survive teardown; only the collection's own parts (our queue and our
    TriggerAuthentication included) are removed."""
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
    assert ("ScaledJob default/myconsumer-scaledjob was not created by kedaops.aks (no "
            "app.kubernetes.io/managed-by=kedaops.aks label): kept") in output
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
    - kubernetes.core.k8s_info:
        api_version: keda.sh/v1alpha1
        kind: "{{ item }}"
        namespace: default
      loop: [ScaledJob, TriggerAuthentication]
      register: keda_objects
    - ansible.builtin.assert:
        that:
          - identity.exists
          - identity.credentials | map(attribute='name') | list == ['other-team']
          - (sa.stdout | from_json).metadata.labels.team == 'payments'
          - "'azure.workload.identity/client-id' not in ((sa.stdout | from_json).metadata.annotations | default({}))"
          - queues.results[0] is not failed
          - queues.results[1] is failed
          - queues.results[1].msg is search('does not exist')
          - keda_objects.results[0].resources | map(attribute='metadata.name') | list == ['myconsumer-scaledjob']
          - "keda_objects.results[0].resources[0].metadata.labels == {'team': 'payments'}"
          - keda_objects.results[1].resources == []
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


# -- a second life cycle (issue 23) ------------------------------------------------------------------
# path -> (the operator's namespace, the teardown's extra arguments at the end of the path). The first
# teardown runs with the roles' defaults: the add-on stays enabled and its operator keeps running, which is
# what made the second site.yml fail for ever after (the operator kept the first identity's client id).
LIFE_CYCLE = {
    "addon": ("kube-system", ["-e", "keda_addon_disable_on_absent=true"]),
    "helm": ("keda", []),
    "arc": ("keda", []),
}
VARS = {"addon": "playbooks/vars/addon-servicebus.yml", "helm": "playbooks/vars/helm-prometheus.yml",
        "arc": "playbooks/vars/arc-prometheus.yml"}


def operator_client_ids(lab, namespace: str) -> tuple[str | None, set[str]]:
    """The client id the operator's service account names, and the ones its live pods run with."""
    def get(*args: str) -> dict:
        out = subprocess.run([_kubectl(), "-n", namespace, "get", *args, "-o", "json"], env=lab.process_env(),
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)
    annotations = get("serviceaccount", "keda-operator")["metadata"].get("annotations") or {}
    pods = [p for p in get("pods", "-l", "app=keda-operator")["items"]
            if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") in ("Pending", "Running")]
    running = {e.get("value") for p in pods for c in p["spec"]["containers"] for e in c.get("env") or []
               if e["name"] == "AZURE_CLIENT_ID"}
    return annotations.get("azure.workload.identity/client-id"), running


def summary(lab, *args: str) -> subprocess.CompletedProcess:
    """hack/demo_summary.py --outcome: the seed's end state driven and KEDA's answer watched with the SDKs."""
    return subprocess.run([sys.executable, "hack/demo_summary.py", *args], cwd=ROOT, env=lab.process_env(),
                          capture_output=True, text=True, timeout=300, check=False)


# What "the cluster as found" is made of: every kind a site run or the chart may create, by name with its
# labels and annotations; pods, ReplicaSets and events are left out (controllers name them at random and
# events are history). Azure: what ARM lists in the resource group and the subscription's role assignments.
K8S_KINDS = ("namespaces,serviceaccounts,configmaps,secrets,services,deployments,statefulsets,daemonsets,jobs,"
             "cronjobs,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,roles,rolebindings,clusterroles,"
             "clusterrolebindings,customresourcedefinitions,apiservices,mutatingwebhookconfigurations,"
             "validatingwebhookconfigurations")
VOLATILE_ANNOTATIONS = ("deployment.kubernetes.io/revision",)


def cluster_objects(lab) -> set[tuple]:
    out = subprocess.run([_kubectl(), "get", K8S_KINDS, "-A", "-o", "json"], env=lab.process_env(), check=True,
                         capture_output=True, text=True).stdout
    objects = set()
    for item in json.loads(out)["items"]:
        meta = item["metadata"]
        if (meta.get("labels") or {}).get("kubernetes.azure.com/managedby") == "aks":
            # The cluster's own add-on objects (the workload identity webhook) follow its feature switches,
            # which teardown leaves on by design (playbooks/teardown.yml; AKS cannot disable an OIDC issuer).
            continue
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in VOLATILE_ANNOTATIONS}
        objects.add((item["kind"], meta.get("namespace", ""), meta["name"],
                     json.dumps(meta.get("labels") or {}, sort_keys=True), json.dumps(annotations, sort_keys=True)))
    return objects


def azure_resources(lab, scenario: str) -> set[tuple]:
    from lab.azure import clients  # pylint: disable=import-outside-toplevel

    env = lab.env
    token = clients.arm_token(env)
    group = clients.group_path("rg-keda-integration")

    def listed(path: str, version: str) -> list[dict]:
        answer = clients.arm(env, "GET", path, api_version=version, token=token)
        assert answer.status == 200, (path, answer.status, answer.body[:500])
        return answer.json()["value"]
    found: set[tuple] = set()
    for identity in listed(f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "2023-01-31"):
        found.add(("identity", identity["name"], json.dumps(identity.get("tags") or {}, sort_keys=True)))
        for credential in listed(f"{identity['id']}/federatedIdentityCredentials", "2023-01-31"):
            found.add(("credential", identity["name"], credential["name"]))
    subscription = group.rsplit("/resourceGroups/", 1)[0]
    for assignment in listed(f"{subscription}/providers/Microsoft.Authorization/roleAssignments", "2022-04-01"):
        found.add(("role assignment", assignment["properties"]["scope"], assignment["properties"]["principalId"],
                   assignment["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]))
    for namespace in listed(f"{group}/providers/Microsoft.ServiceBus/namespaces", "2021-11-01"):
        found.add(("servicebus namespace", namespace["name"], json.dumps(namespace.get("tags") or {}, sort_keys=True)))
        for queue in listed(f"{namespace['id']}/queues", "2021-11-01"):
            found.add(("queue", namespace["name"], queue["name"]))
    for workspace in listed(f"{group}/providers/Microsoft.Monitor/accounts", "2023-04-03"):
        found.add(("monitor workspace", workspace["name"], json.dumps(workspace.get("tags") or {}, sort_keys=True)))
    if scenario != "arc":
        cluster = clients.arm(env, "GET", f"{group}/providers/Microsoft.ContainerService/managedClusters/aks-cluster-name",
                              api_version="2025-04-01", token=token).json()
        keda = ((cluster["properties"].get("workloadAutoScalerProfile") or {}).get("keda") or {}).get("enabled")
        found.add(("KEDA add-on enabled", bool(keda)))
    return found


def as_found(lab, scenario: str) -> tuple[set[tuple], set[tuple]]:
    return cluster_objects(lab), azure_resources(lab, scenario)


def follow_the_doctors_fix_for_a_stale_operator(lab, namespace: str, client_id: str) -> None:
    """An operator left on a client id its account no longer names: the doctor fails that link alone, and
    the command it prints for it, run as printed, makes the doctor pass."""
    kubectl = [_kubectl(), "-n", namespace]
    annotate = kubectl + ["annotate", "serviceaccount", "keda-operator", "--overwrite"]
    for args in (annotate + ["azure.workload.identity/client-id=0b6c1d2e-3f40-4a5b-8c7d-9e0f1a2b3c4d"],
                 ["rollout", "restart", "deployment/keda-operator"], ["rollout", "status", "deployment/keda-operator"],
                 annotate + [f"azure.workload.identity/client-id={client_id}"]):
        subprocess.run(args if args[0] == kubectl[0] else kubectl + args, env=lab.process_env(), check=True,
                       capture_output=True)
    assert operator_client_ids(lab, namespace) == (client_id, {"0b6c1d2e-3f40-4a5b-8c7d-9e0f1a2b3c4d"})
    broken = site(lab, "addon", playbook="playbooks/doctor.yml")
    assert broken.returncode != 0
    output = " ".join(broken.stdout.split())
    assert "1 link(s) broken" in output and "✗ operator_pods" in output, output[-5000:]
    fix = re.search(r"operator_pods: restart the operator so the webhook injects what its service account names "
                    r"now: (kubectl rollout restart .+?) \(or kedaops\.aks\.rollout_restart", output)
    assert fix, output[-5000:]
    env = lab.process_env()
    env["PATH"] = os.path.dirname(_kubectl()) + os.pathsep + env.get("PATH", "")
    subprocess.run(fix.group(1), shell=True, env=env, check=True, capture_output=True)
    mended = site(lab, "addon", playbook="playbooks/doctor.yml")
    assert mended.returncode == 0, mended.stdout[-10000:]
    assert "Every link holds; KEDA can authenticate." in mended.stdout
    assert operator_client_ids(lab, namespace) == (client_id, {client_id})


@pytest.mark.parametrize("scenario", list(LIFE_CYCLE))
def test_a_second_life_cycle_converges_like_the_first(lab, tmp_path, scenario):
    """site -> teardown -> site -> doctor passes on each path: the second identity has a new client id and
    the operator runs with it (restarted, where it outlived the teardown), the doctor finds every link, the
    lab KEDA authenticates and scales as the seed ends, and the last teardown leaves the cluster and Azure as
    they were found (the Kubernetes objects and the Azure resources, compared before and after)."""
    namespace, last_teardown = LIFE_CYCLE[scenario]
    lab.reset()
    if scenario == "arc":
        prepare = site(lab, "arc", "-e", f"arc_k3s_config={tmp_path}/etc/rancher/k3s/config.yaml",
                       playbook="extensions/molecule/arc/prepare.yml")
        assert prepare.returncode == 0, prepare.stdout[-10000:]
    found = as_found(lab, scenario)
    first = site(lab, scenario)
    assert first.returncode == 0, f"{first.stdout[-20000:]}\n{first.stderr[-3000:]}"
    first_id, running = operator_client_ids(lab, namespace)
    assert first_id and running == {first_id}

    torn = site(lab, scenario, playbook="playbooks/teardown.yml")
    assert torn.returncode == 0, f"{torn.stdout[-20000:]}\n{torn.stderr[-3000:]}"

    second = site(lab, scenario)
    assert second.returncode == 0, f"{second.stdout[-20000:]}\n{second.stderr[-3000:]}"
    second_id, running = operator_client_ids(lab, namespace)
    assert second_id and second_id != first_id, "the identity was made again, with a new client id"
    assert running == {second_id}, f"the operator runs with {running}, its account names {second_id}"

    if scenario == "addon":
        # One doctor run less: the run before the fix fails this one link alone, the one after passes.
        follow_the_doctors_fix_for_a_stale_operator(lab, namespace, second_id)
    else:
        doctor = site(lab, scenario, playbook="playbooks/doctor.yml")
        assert doctor.returncode == 0, f"{doctor.stdout[-20000:]}\n{doctor.stderr[-3000:]}"
        assert "Every link holds; KEDA can authenticate." in doctor.stdout

    outcome = summary(lab, "--outcome", VARS[scenario])
    assert outcome.returncode == 0, f"{outcome.stdout}\n{outcome.stderr[-3000:]}"

    last = site(lab, scenario, *last_teardown, playbook="playbooks/teardown.yml")
    assert last.returncode == 0, f"{last.stdout[-20000:]}\n{last.stderr[-3000:]}"
    objects, resources = as_found(lab, scenario)
    assert (sorted(objects - found[0]), sorted(found[0] - objects)) == ([], []), "Kubernetes: (left behind, removed)"
    assert (sorted(resources - found[1]), sorted(found[1] - resources)) == ([], []), "Azure: (left behind, removed)"
