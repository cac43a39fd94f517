"""``kedaops.aks.cluster_access`` through ansible-playbook against a lab fleet (issue 28, item 2): per host, a
private kubeconfig that reaches that host's own cluster. AKS through the user credential, an Entra-only AKS
cluster through an Entra token for the AKS server application (no kubelogin on PATH), Arc through the
kubeconfig path its vars give. The result carries the path only; the file is 0600 in a 0700 directory
that is the run's own and is gone when the run ends; bad input fails before any request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from lab import ids
from lab.azure.fleet import SECOND_GROUP

CLUSTERS = [
    {"kind": "aks", "name": "aks-access-a", "resource_group": ids.RESOURCE_GROUP, "oidc_issuer": True, "workload_identity": True},
    {"kind": "aks", "name": "aks-access-entra", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True, "entra_only": True},
    {"kind": "arc", "name": "arc-access-a", "resource_group": SECOND_GROUP, "location": "westeurope", "oidc_issuer": True,
     "workload_identity": True},
]

PLAYBOOK = textwrap.dedent("""\
    - hosts: clusters
      connection: local
      gather_facts: false
      tasks:
        - name: Access to this host's cluster
          kedaops.aks.cluster_access:
            kind: "{{ cluster_kind }}"
            resource_group: "{{ cluster_resource_group if cluster_kind == 'aks' else omit }}"
            name: "{{ cluster_name if cluster_kind == 'aks' else omit }}"
            kubeconfig: "{{ arc_kubeconfig if cluster_kind == 'arc' else omit }}"
          register: access

        - name: Each kubeconfig reaches its own cluster (a ConfigMap named after the host)
          kedaops.aks.workload_sa:
            kubeconfig: "{{ access.kubeconfig }}"
            namespace: default
            name: "sa-{{ inventory_hostname }}"
            client_id: 00000000-0000-0000-0000-000000000001

        - name: What the run saw, for the test (mode and directory mode of the file while the run lasts)
          ansible.builtin.copy:
            dest: "{{ report_dir }}/{{ inventory_hostname }}.json"
            content: "{{ {'result': access, 'mode': lookup('pipe', 'stat -c %a ' ~ access.kubeconfig),
                          'dir_mode': lookup('pipe', 'stat -c %a ' ~ (access.kubeconfig | dirname))} | to_json }}"
            mode: "0600"
    """)


@pytest.fixture
def access_lab(lab):
    lab.reset()
    lab.fleet(clusters=CLUSTERS)
    lab.settings(fic_propagation_seconds=0)
    yield lab
    lab.reset()


def _inventory(lab, tmp_path) -> str:
    hosts = {}
    for cluster in CLUSTERS:
        host = {"cluster_kind": cluster["kind"], "cluster_resource_group": cluster["resource_group"], "cluster_name": cluster["name"]}
        if cluster["kind"] == "arc":
            host["arc_kubeconfig"] = lab.fleet_kubeconfig(cluster["resource_group"], cluster["name"])
        hosts[cluster["name"]] = host
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"clusters": {"hosts": hosts}}))
    return str(path)


def _playbook(lab, tmp_path, text: str, *args: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(text)
    env = lab.process_env()
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path / "local-tmp")
    # No kubelogin anywhere: the Entra cluster must work without it.
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not os.path.exists(os.path.join(p, "kubelogin")))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", _inventory(lab, tmp_path),
                           str(playbook), "-e", f"report_dir={tmp_path}", *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_each_host_gets_a_private_kubeconfig_of_its_own_cluster(access_lab, tmp_path):
    lab = access_lab
    run = _playbook(lab, tmp_path, PLAYBOOK, "--forks", "3")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    reports = {c["name"]: json.loads((tmp_path / f"{c['name']}.json").read_text()) for c in CLUSTERS}
    assert {name: r["result"]["access"] for name, r in reports.items()} == {
        "aks-access-a": "user_credential", "aks-access-entra": "entra_token", "arc-access-a": "kubeconfig"}
    for name in ("aks-access-a", "aks-access-entra"):
        report = reports[name]
        assert (report["mode"], report["dir_mode"]) == ("600", "700")
        assert report["result"]["kubeconfig"].startswith(str(tmp_path / "local-tmp"))
        assert set(report["result"]) <= {"changed", "kubeconfig", "access", "server", "failed"}
        assert report["result"]["changed"] is False
        assert not os.path.exists(report["result"]["kubeconfig"])  # the run's own directory went with the run
    assert reports["arc-access-a"]["result"]["kubeconfig"] == lab.fleet_kubeconfig(SECOND_GROUP, "arc-access-a")
    # Tokens never reach the output, and each account landed on its own cluster only.
    assert ids.KUBE_ADMIN_TOKEN not in run.stdout and "eyJ" not in run.stdout
    from lab import fleetk8s  # pylint: disable=import-outside-toplevel
    if lab.lab is not None:
        rooms = [room for room in fleetk8s.rooms(lab.lab) if room.name in reports]
        assert len(rooms) == 3
        for room in rooms:
            names = {sa["metadata"]["name"] for sa in room.k8s.list_objects("v1", "ServiceAccount", "default")}
            assert {n for n in names if n.startswith("sa-")} == {f"sa-{room.name}"}
    credential_calls = [r for r in lab.requests("arm") if r["path"].split("?")[0].endswith("/listClusterUserCredential")]
    assert len(credential_calls) == 2


BAD_INPUT = [
    ({"kind": "arc"}, "kubeconfig: required with kind=arc"),
    ({"kind": "aks", "name": "aks-access-a"}, "resource_group: required with kind=aks"),
    ({"kind": "aks", "resource_group": "rg", "name": "a", "kubeconfig": "/tmp/x"}, "kubeconfig: applies to kind=arc only"),
    ({"kind": "aks", "resource_group": "rg", "name": "a", "dest_dir": "relative"}, "dest_dir: 'relative' must be an absolute path"),
    ({"kind": "aks", "resource_group": "rg", "name": "a/../b"}, "name: "),
    ({"kind": "arc", "kubeconfig": "/nonexistent/kubeconfig"}, "kubeconfig: no file at /nonexistent/kubeconfig"),
]


def test_bad_input_fails_naming_the_option_before_any_request(access_lab, tmp_path):
    lab = access_lab
    lab.clear_requests()
    tasks = "".join(f"    - kedaops.aks.cluster_access: {json.dumps(args)}\n      ignore_errors: true\n      register: bad_{i}\n"
                    for i, (args, _message) in enumerate(BAD_INPUT))
    report = "".join(f"{{{{ bad_{i}.msg }}}}\n" for i in range(len(BAD_INPUT)))
    text = ("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" + tasks
            + f"    - ansible.builtin.copy:\n        dest: \"{{{{ report_dir }}}}/bad.txt\"\n        mode: '0600'\n"
              f"        content: \"{report}\"\n")
    run = _playbook(lab, tmp_path, text)
    assert run.returncode == 0, run.stdout[-3000:]
    messages = (tmp_path / "bad.txt").read_text().splitlines()
    for (args, expected), message in zip(BAD_INPUT, messages):
        assert message.startswith(expected), (args, message)
    assert [r for r in lab.requests() if r["service"] != "control"] == []
