"""The playbooks run the way AWX / Ansible Automation Platform runs a job template: through ansible-runner.

An AWX job is an ansible-runner invocation on a private data dir that AWX lays out before the run
(awx/main/tasks/jobs.py, BaseTask.run and RunJob.build_env / build_inventory / build_extra_vars_file):

    project/                   the synced project (here: this repository's playbooks/)
    requirements_collections/  collections/requirements.yml, installed at project sync
    inventory/hosts            an executable script that prints the inventory as JSON
    env/extravars              the job template's variables (here: a scenario's vars file)
    env/envvars                the job's environment: AWX's own variables and what the credential
                               types inject (awx/main/models/credential/injectors.py)
    env/settings, env/cmdline  runner settings and the ansible-playbook arguments AWX builds
    env/tmpXXXXXXXX            files a credential writes (the cluster's CA certificate)

and ansible-runner runs with the execution environment's clean process environment, so nothing
of the developer's shell (KUBECONFIG, AZURE_CLIENT_SECRET, ...) reaches the job. The Azure
credential is a "Microsoft Azure Resource Manager" credential (AZURE_SUBSCRIPTION_ID,
AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT, AZURE_CLOUD_ENVIRONMENT); the cluster credential is an
"OpenShift or Kubernetes API Bearer Token" (K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL,
K8S_AUTH_SSL_CA_CERT pointing at a file under env/). docs/awx.md describes the same set-up for users.

One scenario (the add-on path, with hack/demo.sh's inputs) runs site, doctor and teardown once each.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import yaml

from lab.testing import REPO_ROOT

BIN = os.path.dirname(sys.executable)
# The scenario and the extra variables hack/demo.sh gives the add-on path.
SCENARIO_VARS = os.path.join(REPO_ROOT, "playbooks", "vars", "addon-servicebus.yml")
SCENARIO_EXTRA_VARS = {"keda_addon_disable_on_absent": True}
# doctor.yml's wait for credential propagation (a survey answer in AWX), as molecule's verify waits.
DOCTOR_EXTRA_VARS = {"doctor_wait_timeout": 60}
# An access token, an ID token or a service account token: any JWT in an artifact is a leak.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def _kube_credential(kubeconfig_path: str) -> dict[str, str]:
    """host, bearer token and CA of the lab cluster: what a user types into AWX's bearer token credential."""
    with open(kubeconfig_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    return {
        "host": cluster["server"],
        "bearer_token": user["token"],
        "ssl_ca_cert": base64.b64decode(cluster["certificate-authority-data"]).decode("ascii"),
    }


def _write(path: str, content: str, mode: int = 0o600) -> str:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(path, mode)
    return path


def _credential_file(pdd: str, content: str) -> str:
    """A file a credential injects, as AWX writes it: a temporary file under env/, owner-only."""
    handle, path = tempfile.mkstemp(dir=os.path.join(pdd, "env"))
    with os.fdopen(handle, "w") as f:
        f.write(content)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


class AwxJobs:
    """A project synced once, and one private data dir per job, as AWX prepares them."""

    def __init__(self, lab, workdir: str):
        self.lab = lab
        self.workdir = workdir
        self.next_job_id = 100
        self.azure = {
            "subscription": lab.env["AZURE_SUBSCRIPTION_ID"],
            "client": lab.env["AZURE_CLIENT_ID"],
            "secret": lab.env["AZURE_CLIENT_SECRET"],
            "tenant": lab.env["AZURE_TENANT_ID"],
            # The credential's "Azure Cloud Environment" field: an ARM URL finds the authority
            # through the cloud's /metadata/endpoints, as for Azure Stack.
            "cloud_environment": lab.env["AZURE_CLOUD_ENVIRONMENT"],
        }
        self.kube = _kube_credential(lab.env["KUBECONFIG"])
        with open(lab.env["KUBECONFIG"], encoding="utf-8") as f:
            self.kubeconfig = f.read()
        with open(SCENARIO_VARS, encoding="utf-8") as f:
            self.extra_vars = {**yaml.safe_load(f), **SCENARIO_EXTRA_VARS, **DOCTOR_EXTRA_VARS}
        self.ee_collections = self._execution_environment()
        self.project, self.requirements_collections = self._project_sync()

    # -- what exists before any job: the execution environment and the project ----------------------

    def _execution_environment(self) -> str:
        """The collections the EE image carries (meta/execution-environment.yml): kubernetes.core."""
        path = os.path.join(self.workdir, "ee", "collections")
        os.makedirs(os.path.join(path, "ansible_collections", "kubernetes"))
        shutil.copytree(os.path.join(REPO_ROOT, ".venv", "collections", "ansible_collections", "kubernetes", "core"),
                        os.path.join(path, "ansible_collections", "kubernetes", "core"))
        return path

    def _project_sync(self) -> tuple[str, str]:
        """The project as AWX syncs it: the playbooks, and kedaops.aks from collections/requirements.yml."""
        dist = os.path.join(self.workdir, "dist")
        subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", dist, REPO_ROOT],
                       check=True, capture_output=True, text=True, env=self._ee_env())
        tarball = os.path.join(dist, next(n for n in os.listdir(dist) if n.endswith(".tar.gz")))
        project = os.path.join(self.workdir, "project")
        shutil.copytree(os.path.join(REPO_ROOT, "playbooks"), os.path.join(project, "playbooks"))
        requirements = {"collections": [{"name": tarball, "type": "file"}]}
        _write(os.path.join(project, "collections", "requirements.yml"), yaml.safe_dump(requirements), 0o644)
        installed = os.path.join(self.workdir, "requirements_collections")
        env = self._ee_env()
        env["ANSIBLE_COLLECTIONS_PATH"] = self.ee_collections
        subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline",
                        "-r", os.path.join(project, "collections", "requirements.yml"), "-p", installed],
                       check=True, capture_output=True, text=True, env=env)
        return project, installed

    def _ee_env(self) -> dict[str, str]:
        """The execution environment's process environment: nothing from the developer's shell."""
        home = os.path.join(self.workdir, "home")
        os.makedirs(home, exist_ok=True)
        return {"PATH": BIN + os.pathsep + "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}

    # -- one job ------------------------------------------------------------------------------------

    def private_data_dir(self, job_id: int, cluster_credential: str) -> str:
        pdd = tempfile.mkdtemp(prefix=f"awx_{job_id}_", dir=self.workdir)
        os.chmod(pdd, stat.S_IRWXU)
        shutil.copytree(self.project, os.path.join(pdd, "project"))
        shutil.copytree(self.requirements_collections, os.path.join(pdd, "requirements_collections"))
        inventory = {
            "all": {"hosts": ["localhost"]},
            "_meta": {"hostvars": {"localhost": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "remote_tower_enabled": "true",
                "remote_tower_id": 1,
            }}},
        }
        _write(os.path.join(pdd, "inventory", "hosts"),
               "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory), 0o700)
        _write(os.path.join(pdd, "env", "extravars"), yaml.safe_dump(self.extra_vars))
        _write(os.path.join(pdd, "env", "settings"), json.dumps(
            {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}))
        _write(os.path.join(pdd, "env", "cmdline"), "-u root")
        _write(os.path.join(pdd, "env", "envvars"), yaml.safe_dump(self.job_env(pdd, job_id, cluster_credential)))
        return pdd

    def job_env(self, pdd: str, job_id: int, cluster_credential: str) -> dict[str, str]:
        env = {
            # RunJob.build_env
            "JOB_ID": str(job_id),
            "INVENTORY_ID": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "AWX_HOST": "https://awx.example.com",
            "AWX_PRIVATE_DATA_DIR": pdd,
            "ANSIBLE_COLLECTIONS_PATHS": os.pathsep.join([os.path.join(pdd, "requirements_collections"),
                                                          self.ee_collections]),
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(pdd, "requirements_collections"),
                                                         self.ee_collections]),
            "ANSIBLE_FORCE_COLOR": "False",
            # Settings > Jobs > "Extra Environment Variables" (AWX_TASK_ENV): the lab's CA, which an
            # EE for a private cloud would carry in its trust store instead.
            "REQUESTS_CA_BUNDLE": self.lab.env["REQUESTS_CA_BUNDLE"],
            "SSL_CERT_FILE": self.lab.env["SSL_CERT_FILE"],
            # Microsoft Azure Resource Manager credential (injectors.azure_rm)
            "AZURE_SUBSCRIPTION_ID": self.azure["subscription"],
            "AZURE_CLIENT_ID": self.azure["client"],
            "AZURE_TENANT": self.azure["tenant"],
            "AZURE_SECRET": self.azure["secret"],
            "AZURE_CLOUD_ENVIRONMENT": self.azure["cloud_environment"],
        }
        if cluster_credential == "bearer_token":
            # OpenShift or Kubernetes API Bearer Token credential (injectors.kubernetes_bearer_token):
            # with "Verify SSL" and a CA, the CA goes to a temporary file under env/.
            env.update(K8S_AUTH_HOST=self.kube["host"], K8S_AUTH_API_KEY=self.kube["bearer_token"],
                       K8S_AUTH_VERIFY_SSL="True")
            env["K8S_AUTH_SSL_CA_CERT"] = _credential_file(pdd, self.kube["ssl_ca_cert"])
        else:
            # A custom credential type (docs/awx.md): one secret multi-line field, a file injector
            # ({{ tower.filename.kubeconfig }}, written under env/) and K8S_AUTH_KUBECONFIG pointing at it.
            env["K8S_AUTH_KUBECONFIG"] = _credential_file(pdd, self.kubeconfig)
        return env

    def run(self, playbook: str, cluster_credential: str = "bearer_token") -> "Job":
        self.next_job_id += 1
        job_id = self.next_job_id
        pdd = self.private_data_dir(job_id, cluster_credential)
        with open(os.path.join(pdd, "env", "envvars"), encoding="utf-8") as f:
            job_env = yaml.safe_load(f)
        proc = subprocess.run(
            [os.path.join(BIN, "ansible-runner"), "run", pdd, "-p", playbook, "--ident", str(job_id),
             "--inventory", os.path.join(pdd, "inventory", "hosts")],
            env=self._ee_env(), capture_output=True, text=True, timeout=900, check=False)
        return Job(pdd, job_id, proc, job_env)

    @property
    def secrets(self) -> dict[str, str]:
        """What must stay secret: the service principal's secret and the cluster's bearer token."""
        return {"the Azure client secret": self.azure["secret"], "the cluster bearer token": self.kube["bearer_token"]}


class Job:
    """The artifacts of one finished job: status, rc, job events."""

    def __init__(self, pdd: str, job_id: int, proc: subprocess.CompletedProcess, env: dict[str, str]):
        self.pdd = pdd
        self.env = env
        self.artifacts = os.path.join(pdd, "artifacts", str(job_id))
        self.proc = proc

    def read(self, name: str) -> str:
        with open(os.path.join(self.artifacts, name), encoding="utf-8") as f:
            return f.read().strip()

    @property
    def status(self) -> str:
        return self.read("status")

    @property
    def events(self) -> list[dict]:
        folder = os.path.join(self.artifacts, "job_events")
        events = []
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                events.append(json.load(f))
        return sorted(events, key=lambda e: e["counter"])

    def task_result(self, task: str) -> dict:
        """The runner_on_ok event_data of a task, as AWX stores it for the job output's task detail."""
        found = [e for e in self.events if e["event"] == "runner_on_ok" and e["event_data"].get("task") == task]
        assert len(found) == 1, f"{len(found)} runner_on_ok events for task {task!r}"
        return found[0]

    def output(self) -> str:
        """The job output as AWX shows it: the events' stdout, in order."""
        return "\n".join(e.get("stdout", "") for e in self.events)

    def explain(self) -> str:
        return f"runner rc={self.proc.returncode}\n{self.output()[-15000:]}\n{self.proc.stderr[-3000:]}"

    def artifact_files(self) -> list[str]:
        found = []
        for entry in os.walk(self.artifacts):
            found.extend(os.path.join(entry[0], name) for name in entry[2])
        return found


@pytest.fixture(scope="module")
def awx(lab, tmp_path_factory):
    lab.reset()
    return AwxJobs(lab, str(tmp_path_factory.mktemp("awx")))


@pytest.fixture(scope="module")
def site_job(awx):
    return awx.run("playbooks/site.yml")


@pytest.fixture(scope="module")
def doctor_job(awx, site_job):
    assert site_job.status == "successful", site_job.explain()
    # The cluster credential of the other kind: a kubeconfig through a custom credential type.
    return awx.run("playbooks/doctor.yml", cluster_credential="kubeconfig")


@pytest.fixture(scope="module")
def teardown_job(awx, doctor_job):
    return awx.run("playbooks/teardown.yml")


def assert_no_secret_in_artifacts(job: Job, secrets: dict[str, str]) -> None:
    """No credential secret and no token (JWT) in any artifact: job events, status, fact cache, ...

    One file records the job's environment by ansible-runner's design: ``command`` ({command,
    cwd, env}). AWX keeps that map only redacted (the job's ``job_env``) and deletes the private
    data dir at the end of the job, so there the secrets may stand as the values of the variables
    the credentials injected, and nowhere else.
    """
    files = job.artifact_files()
    assert any("/job_events/" in path for path in files), "the job left no events"
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if os.path.relpath(path, job.artifacts) == "command":
            record = json.loads(text)
            for name, value in secrets.items():
                holders = sorted(k for k, v in record["env"].items() if value in str(v))
                injected = sorted(k for k, v in job.env.items() if v == value)
                assert holders == injected, f"{name} is in the job environment as {holders}, injected as {injected}"
            text = json.dumps({k: v for k, v in record.items() if k != "env"})
        for name, value in secrets.items():
            assert value not in text, f"{name} is in the artifact {os.path.relpath(path, job.pdd)}"
        token = JWT.search(text)
        assert token is None, f"a token is in the artifact {os.path.relpath(path, job.pdd)}: {token.group()[:20]}..."


def test_site_runs_as_an_awx_job_and_keeps_its_secrets(awx, site_job):
    assert site_job.status == "successful", site_job.explain()
    assert site_job.read("rc") == "0"
    stats = [e for e in site_job.events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    assert stats[0]["event_data"]["failures"] == {} and stats[0]["event_data"]["dark"] == {}
    assert stats[0]["event_data"]["changed"].get("localhost", 0) > 0, "a first run on a fresh lab changes something"
    # The credentials reached the job only as AWX injects them, none of the developer's shell.
    command = json.loads(site_job.read("command"))
    assert "KUBECONFIG" not in command["env"] and "AZURE_CLIENT_SECRET" not in command["env"]
    assert command["env"]["AZURE_SECRET"] == awx.azure["secret"]
    assert command["env"]["K8S_AUTH_API_KEY"] == awx.kube["bearer_token"]
    # The collection came from the project's requirements, not from this checkout.
    task_paths = {e["event_data"].get("task_path", "") for e in site_job.events if e["event"] == "playbook_on_task_start"}
    role_paths = [p for p in task_paths if "/roles/" in p]
    assert role_paths and all(p.startswith(os.path.join(site_job.pdd, "requirements_collections")) for p in role_paths), \
        sorted(role_paths)[:3]
    assert_no_secret_in_artifacts(site_job, awx.secrets)


def test_doctor_job_events_carry_every_link(awx, doctor_job):
    assert doctor_job.status == "successful", doctor_job.explain()
    assert "K8S_AUTH_KUBECONFIG" in doctor_job.env and "K8S_AUTH_API_KEY" not in doctor_job.env
    result = doctor_job.task_result("Check the chain")["event_data"]["res"]
    assert result["ok"] is True
    checks = result["checks"]
    assert len(checks) >= 5 and all(c["ok"] for c in checks), [c for c in checks if not c["ok"]]
    # What an AWX user reads in the job output: one line per link, with its mark.
    shown = doctor_job.task_result("The chain")["stdout"]
    for check in checks:
        assert f"✓  {check['id']}" in shown, f"{check['id']} is not in the job output"
    assert doctor_job.task_result("Verdict")["event_data"]["res"]["msg"] == "Every link holds; KEDA can authenticate."
    assert_no_secret_in_artifacts(doctor_job, awx.secrets)


def test_teardown_job_removes_what_site_created(awx, teardown_job):
    assert teardown_job.status == "successful", teardown_job.explain()
    identity = awx.extra_vars["keda_identity_name"]
    deletes = [r for r in awx.lab.requests("arm")
               if r["method"] == "DELETE" and r["path"].split("?")[0].endswith(f"/userAssignedIdentities/{identity}")]
    assert deletes and deletes[-1]["status"] in (200, 204), deletes
    assert_no_secret_in_artifacts(teardown_job, awx.secrets)
