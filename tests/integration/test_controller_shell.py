"""The controller shell against the lab, through real ``ansible-playbook`` runs (docs/performance.md).

A module with a same-named action plugin (plugins/action/) runs its core in the controller's worker
when the task runs on the controller, and runs as a module otherwise. These tests prove, from the
outside (the ``-vvv`` output, the lab's request log, the run's local temp directory):

- which shell ran a task: the controller shell for a local connection and ``delegate_to: localhost``;
  the module (``AnsiballZ_<module>.py`` shipped and run) for another connection, ``async`` and the
  ``kedaops_aks_shell: module`` opt-out (shell/fallbacks.yml, shell/connection_plugins/);
- that both shells behave the same (shell/behaviour.yml run once in each): the same result keys and
  values, check mode, diff, ``module_defaults`` through the action group, the ``no_log`` option
  ``secret`` masked, a warning, an argument error and a service error with the same ``msg``;
- that one run of N Azure tasks through the controller shell asks Entra for one token and ARM for its
  endpoint metadata once in all, and the module shell once per task;
- that neither the ``-vvv`` output nor the run's local temp directory during the run holds the token
  or the client secret in clear, and that the per-run directory is gone after the run, which here
  ends with a failed task.

Each behaviour run applies workload_sa to a fresh lab (``lab.reset()``), so both see the same state.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SHELL_DIR = os.path.join(HERE, "shell")
BIN = os.path.dirname(sys.executable)
# Any JWT: the lab's Entra issues its access tokens as JWTs (tests/lab/azure/entra.py).
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
TASK = re.compile(r"^TASK \[(.+?)\] \*+$", re.M)
# Tasks of shell/behaviour.yml that call Azure (each authenticates once in the module shell).
AZURE_TASKS = 6


def _run(lab, playbook: str, tmp_path, shell: str | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """ansible-playbook -vvv on one of shell/*.yml with its local temp in ``tmp_path``/local."""
    env = lab.process_env()
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    # ANSIBLE_INJECT_INVOCATION: ansible-core 2.21 adds a module's ``invocation`` only when asked (earlier
    # lines always do); both shells follow the setting, and the -vvv check below reads the invocation.
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"), ANSIBLE_INJECT_INVOCATION="1")
    secret = env.get("AZURE_CLIENT_SECRET") or env["AZURE_SECRET"]
    # The secret reaches the modules only through module_defaults (group/kedaops.aks.azure).
    for name in ("AZURE_CLIENT_SECRET", "AZURE_SECRET", "KEDAOPS_AKS_SHELL"):
        env.pop(name, None)
    if shell:
        env["KEDAOPS_AKS_SHELL"] = shell
    paths = {"results_file": str(tmp_path / "results.json"), "snapshot_dir": str(tmp_path / "snapshot")}
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(dict(paths, lab_client_secret=secret)), encoding="utf-8")
    os.chmod(vars_file, 0o600)
    os.makedirs(tmp_path / "local", exist_ok=True)
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", os.path.join(SHELL_DIR, playbook),
         "-e", f"@{vars_file}"],
        env=env, capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp_path))
    return proc, dict(paths, secret=secret, local=str(tmp_path / "local"))


def _tasks(output: str) -> dict[str, str]:
    """The -vvv output of each task, by task name."""
    marks = list(TASK.finditer(output))
    return {m.group(1): output[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(output))]
            for i, m in enumerate(marks)}


def _requests(lab) -> dict[str, int]:
    log = lab.requests()
    return {
        "token": sum(1 for r in log if r["service"] == "entra" and r["method"] == "POST"
                     and r["path"].split("?")[0].endswith("/oauth2/v2.0/token")),
        "metadata": sum(1 for r in log if r["service"] == "arm" and r["path"].startswith("/metadata/endpoints")),
        "tenant_discovery": sum(1 for r in log if r["service"] == "entra"
                                and "/.well-known/openid-configuration" in r["path"]),
    }


def _lab_token(lab) -> str:
    """An access token as the lab's Entra issues it to the automation principal (what the modules hold)."""
    env = lab.process_env()
    authority = env["AZURE_AUTHORITY_HOST"].rstrip("/")
    body = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": env["AZURE_CLIENT_ID"],
        "client_secret": env.get("AZURE_CLIENT_SECRET") or env["AZURE_SECRET"],
        "scope": "https://management.core.windows.net//.default"}).encode()
    request = urllib.request.Request(f"{authority}/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token", data=body)
    context = ssl.create_default_context(cafile=env["LAB_CA_FILE"])
    with urllib.request.urlopen(request, context=context) as response:  # nosec - the lab on 127.0.0.1
        return str(json.load(response)["access_token"])


def _assert_nothing_in_clear(text: str, secret: str, where: str) -> None:
    assert secret not in text, f"the client secret is in {where}"
    token = JWT.search(text)
    assert token is None, f"a token is in {where}: {token.group()[:24]}..."


def _files(root: str) -> list[str]:
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]


def _per_run_dirs(local: str) -> list[str]:
    return [name for name in os.listdir(local) if name.startswith("ansible-local-")]


@pytest.fixture(scope="module")
def behaviour(lab, tmp_path_factory):
    """shell/behaviour.yml through each shell on a freshly reset lab: results, output, request counts."""
    runs = {}
    for shell in ("controller", "module"):
        lab.reset()
        tmp_path = tmp_path_factory.mktemp(f"shell-{shell}")
        proc, paths = _run(lab, "behaviour.yml", tmp_path, None if shell == "controller" else shell)
        results = None
        if os.path.exists(paths["results_file"]):
            with open(paths["results_file"], encoding="utf-8") as f:
                results = json.load(f)
        runs[shell] = {"proc": proc, "paths": paths, "results": results, "requests": _requests(lab)}
    return runs


def test_a_task_runs_as_a_module_unless_it_runs_on_the_controller(lab, tmp_path):
    lab.reset()
    proc, paths = _run(lab, "fallbacks.yml", tmp_path)
    assert proc.returncode == 0, proc.stdout[-15000:] + proc.stderr[-3000:]
    assert _per_run_dirs(paths["local"]) == [], "the per-run directory outlived a successful run"
    tasks = _tasks(proc.stdout)
    expected = {
        "Shell probe: local connection": "controller",
        "Shell probe: delegate_to localhost": "controller",
        "Shell probe: another connection": "module",
        "Shell probe: async": "module",
        "Shell probe: kedaops_aks_shell module": "module",
    }
    ran = {name: ("module" if "AnsiballZ_aks_cluster.py" in tasks[name] else "controller") for name in expected}
    assert ran == expected
    assert "ESTABLISH LOCAL CONNECTION" in tasks["Shell probe: another connection"] or \
        "lab_elsewhere" in tasks["Shell probe: another connection"]
    # The lab agrees: the two controller tasks share one token, each module asks for its own.
    assert _requests(lab)["token"] == 1 + 3


def test_both_shells_return_the_same_results(behaviour):
    controller, module = behaviour["controller"], behaviour["module"]
    for run in (controller, module):
        assert run["results"] is not None, run["proc"].stdout[-15000:] + run["proc"].stderr[-3000:]
    assert controller["results"] == module["results"]


def test_both_shells_keep_the_module_contract(behaviour):
    """What the equal results hold: each feature the shells must agree on is really exercised."""
    results = behaviour["controller"]["results"]
    # module_defaults through the action group carried the secret (the environment holds none): the reads
    # authenticated; the -vvv output shows each task's invocation with the no_log option masked.
    assert results["read_1"]["changed"] is False and results["read_1"]["cluster"]["name"]
    for shell in ("controller", "module"):
        shown = _tasks(behaviour[shell]["proc"].stdout)["Read the cluster (1)"]
        assert '"secret": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in shown, f"{shell} shell: {shown[-3000:]}"
    # Check mode with diff: a predicted change with before/after, nothing written (the apply below is first).
    assert results["aks_check"]["changed"] is True
    assert results["aks_check"]["diff"]["before"] != results["aks_check"]["diff"]["after"]
    assert results["sa_check"]["changed"] is True and "diff" in results["sa_check"]
    assert results["sa_apply"]["changed"] is True and results["sa_again"]["changed"] is False
    assert "Both option validate_certs and its alias verify_ssl are set." in results["sa_apply"]["warnings"]
    assert results["sa_unsupported"]["failed"] is True
    assert results["sa_unsupported"]["msg"].startswith("Unsupported parameters for (kedaops.aks.workload_sa) module: colour")
    assert results["sa_wrong_type"]["failed"] is True
    assert results["sa_wrong_type"]["msg"].startswith("argument 'token_expiration' is of type str and we were unable")
    assert results["aks_missing"]["failed"] is True
    assert results["aks_missing"]["msg"].startswith("Error reading AKS cluster aks-does-not-exist: (ResourceNotFound)")
    assert results["aks_missing"]["error"]["status"] == 404
    for name, result in results.items():
        # ansible-core's placeholder when a failure carries no traceback: never a controller traceback.
        assert result.get("exception", "(traceback unavailable)") == "(traceback unavailable)", name


def test_one_token_and_one_metadata_discovery_per_run(behaviour):
    assert behaviour["controller"]["requests"]["token"] == 1
    assert behaviour["controller"]["requests"]["metadata"] == 1
    assert behaviour["controller"]["requests"]["tenant_discovery"] <= 1
    assert behaviour["module"]["requests"]["token"] == AZURE_TASKS
    assert behaviour["module"]["requests"]["metadata"] == AZURE_TASKS


@pytest.mark.parametrize("shell", ["controller", "module"])
def test_no_token_or_secret_in_clear_and_the_per_run_directory_goes(lab, behaviour, shell):
    run = behaviour[shell]
    proc, paths = run["proc"], run["paths"]
    # The run ends with a failed task (a cluster that does not exist), after everything else passed.
    assert proc.returncode == 2, proc.stdout[-15000:] + proc.stderr[-3000:]
    assert "failed=1" in proc.stdout and run["results"] is not None
    # The check can fail: a token the lab issues is caught by the pattern.
    assert JWT.search(_lab_token(lab))
    _assert_nothing_in_clear(proc.stdout + proc.stderr, paths["secret"], "the -vvv output")
    with open(paths["results_file"], encoding="utf-8") as f:
        _assert_nothing_in_clear(f.read(), paths["secret"], "the registered results")
    # The copy of the local temp directory taken during the run, while the run held its token.
    snapshot = _files(paths["snapshot_dir"])
    cache = [p for p in snapshot if f"{os.sep}kedaops-aks{os.sep}" in p]
    if shell == "controller":
        assert cache, f"the run's cache was not in its per-run directory: {snapshot}"
    for path in snapshot:
        with open(path, "rb") as f:
            _assert_nothing_in_clear(f.read().decode("latin-1"), paths["secret"], os.path.relpath(path, paths["snapshot_dir"]))
    assert _per_run_dirs(paths["local"]) == [], "the per-run directory outlived the run"
