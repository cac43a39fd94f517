# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench` / `make bench-smoke`: per-task cost of a no-op task, ours beside the anchors.

Method (issues 8 and 25): for each configuration, playbooks of 1 and of N (25) identical no-op tasks;
per task = (median T_N - median T_1) / (N - 1), which cancels ansible-playbook's own start-up and the
play's set-up. Counted rounds after a warm-up round of the 1-task playbooks (discarded); within a round
every configuration runs once (round-robin), so a burst of load on this shared 2-core machine hits all
of them instead of one configuration's runs back to back. Requests and writes per task come from
the lab's request log the same way: (count in the N-task run - count in the 1-task run) / (N - 1).

The anchors: ``ansible.builtin.debug`` (the controller's floor: an action plugin, no module) and
``ansible.builtin.ping`` (the module floor). Each of our modules with an action plugin
(plugins/action/<module>.py) runs through it, the controller shell, and once more with
``kedaops_aks_shell: module`` (the module shell column); a module without one has only the module
shell. Issue 25's target: a no-op task through the controller shell costs at most 2x debug's per-task
cost plus its own requests at zero latency (the lab's measured per-request time, kept-alive HTTPS).

The lab runs in this process (tests/lab), the objects the tasks find are created first by
bench/setup.yml, and azure.azcollection runs from its own venv (bench/azcollection.py).
``--scale`` also runs the 100-binding converge (bench/scale/). Results: a table on stdout,
bench/results/latest.json, and with ``--docs`` the generated sections of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the lab
sys.path.insert(0, BENCH_DIR)

import azcollection  # noqa: E402  pylint: disable=wrong-import-position
import breakdown  # noqa: E402  pylint: disable=wrong-import-position
import scenarios  # noqa: E402  pylint: disable=wrong-import-position

from lab.control import LabControl  # noqa: E402  pylint: disable=wrong-import-position
from lab.core import is_write  # noqa: E402  pylint: disable=wrong-import-position

VENV = os.path.join(ROOT, ".venv")
BENCH_VENV = os.path.join(ROOT, ".venv-bench")
RESULTS = os.path.join(BENCH_DIR, "results")
DOCS = os.path.join(ROOT, "docs", "performance.md")

# The anchors measured on this machine class (issue 8, Nov 2026), in s/task.
REFERENCE = {"floor": 0.34, "k8s": 0.74, "azure_rm_resource": 2.54, "lean azure-identity + azure-mgmt-msi": 0.60}
AZURE_TARGET_RATIO = 0.25
ACTION_PLUGINS = os.path.join(ROOT, "plugins", "action")
# Issue 25: a controller-shell no-op <= DEBUG_TARGET_FACTOR x debug + its requests at zero latency.
DEBUG_TARGET_FACTOR = 2.0
# Issue 25: 100 bindings at the realistic profile (issue 19 measured 24.5 s and 21.3 s).
SCALE_TARGETS = {"converge": 15.0, "rerun": 8.0}


def has_action_plugin(module: str) -> bool:
    """Whether ``kedaops.aks.<name>`` runs through the controller shell (its action plugin exists now)."""
    namespace, collection, name = module.split(".")
    return (namespace, collection) == ("kedaops", "aks") and os.path.isfile(os.path.join(ACTION_PLUGINS, name + ".py"))


@dataclass
class Config:
    """One row of the table: a task repeated 1 and 10 times."""

    name: str
    module: str
    args: dict[str, Any]
    family: str  # floor | k8s | azure | both | anchor
    anchor: str | None = None  # the anchor row this one is compared with
    python: str | None = None  # interpreter for this task (azure.azcollection runs in .venv-bench)
    note: str = ""
    task_vars: dict[str, Any] = field(default_factory=dict)
    twin_of: str | None = None  # the module shell run of this controller-shell configuration
    t1: list[float] = field(default_factory=list)
    t10: list[float] = field(default_factory=list)
    counts1: list[dict[str, int]] = field(default_factory=list)
    counts10: list[dict[str, int]] = field(default_factory=list)
    changed: int = 0
    error: str | None = None

    def task(self) -> dict[str, Any]:
        task: dict[str, Any] = {"name": self.name, self.module: self.args}
        task_vars = dict(self.task_vars)
        if self.python:
            task_vars["ansible_python_interpreter"] = self.python
        if task_vars:
            task["vars"] = task_vars
        if self.module.startswith("azure.azcollection."):
            # The lab's AZURE_CLOUD_ENVIRONMENT is its ARM URL, which azure.azcollection 3.x cannot
            # resolve; it talks to the lab through the patched AzureCloud instead.
            task["environment"] = {"AZURE_CLOUD_ENVIRONMENT": "AzureCloud"}
        return task


# --- the lab -----------------------------------------------------------------------------------


class LabClient(LabControl):
    """The lab's control client (tests/lab/control.py) plus the request counts the tables show."""

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        return self.control(method, path, payload)

    def clear(self) -> None:
        self.clear_requests()

    def counts(self) -> dict[str, int]:
        """Requests by "service METHOD", plus the totals the table shows."""
        counts: dict[str, int] = {"requests": 0, "writes": 0}
        for entry in self.requests():
            if entry["service"] == "control":
                continue
            key = f"{entry['service']} {entry['method']}"
            counts[key] = counts.get(key, 0) + 1
            counts["requests"] += 1
            if is_write(entry):
                counts["writes"] += 1
        return counts


def start_lab(state_dir: str) -> tuple[Any, dict[str, str]]:
    from lab.core import Lab  # pylint: disable=import-outside-toplevel

    extra = {"ANSIBLE_PYTHON_INTERPRETER": os.path.join(VENV, "bin", "python")}
    lab = Lab(state_dir, extra_env=extra).start()
    return lab, lab.env()


def playbook_env(lab_env: dict[str, str], lab_ca_only: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.update(lab_env)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(VENV, "collections"),
                                                    os.path.join(BENCH_VENV, "collections")]),
        "ANSIBLE_PYTHON_INTERPRETER": os.path.join(VENV, "bin", "python"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", ""),
        # azure.azcollection's names for the service principal, and its switch for a non-Microsoft
        # authority; AzureCloud itself is patched to the lab (bench/azcollection.py).
        "AZURE_SECRET": lab_env["AZURE_CLIENT_SECRET"],
        "AZURE_TENANT": lab_env["AZURE_TENANT_ID"],
        "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
    })
    # As users run it (issue 19): env.sh's full bundle, certifi's ~150 roots plus the lab CA, the cost
    # every real user pays with the system or certifi bundle (loading it is 25-50 ms per TLS context).
    # --lab-ca-only trusts the lab CA alone, the issue 8 figures' setting.
    if lab_ca_only:
        env.update(REQUESTS_CA_BUNDLE=lab_env["LAB_CA_FILE"], SSL_CERT_FILE=lab_env["LAB_CA_FILE"])
    return env


# --- playbooks ---------------------------------------------------------------------------------


def write_playbook(path: str, tasks: list[dict[str, Any]], extra_env: dict[str, str] | None = None) -> None:
    play: dict[str, Any] = {"name": "bench", "hosts": "localhost", "connection": "local", "gather_facts": False,
                            "tasks": tasks}
    if extra_env:
        play["environment"] = extra_env
    with open(path, "w", encoding="utf-8") as f:
        json.dump([play], f, indent=1)  # JSON is YAML; no PyYAML needed here


RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def run_playbook(path: str, env: dict[str, str], extra_args: list[str] | None = None,
                 log: str | None = None) -> tuple[float, int, str]:
    """(seconds, changed count, output); raises on failure."""
    command = [os.path.join(VENV, "bin", "ansible-playbook"), "-i", "localhost,", path] + (extra_args or [])
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=RESULTS)
    elapsed = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    if log:
        with open(log, "w", encoding="utf-8") as f:
            f.write(output)
    match = RECAP.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"{path} failed (rc {proc.returncode}):\n{output[-4000:]}")
    return elapsed, int(match.group(2)), output


# --- configurations ----------------------------------------------------------------------------


def configurations(env: dict[str, str], facts: dict[str, Any], with_azcollection: bool) -> list[Config]:
    rg = env["LAB_RESOURCE_GROUP"]
    identity = facts["identity"]
    issuer = facts["issuer"]
    shared = setup_vars(env)
    fic = {"resource_group": rg, "identity_name": "mi-bench", "name": "bench-fic", "issuer": issuer,
           "subject": "system:serviceaccount:kube-system:keda-operator"}
    sa_annotations = {"azure.workload.identity/client-id": identity["client_id"],
                      "azure.workload.identity/tenant-id": identity["tenant_id"]}
    configs = [
        Config("ansible.builtin.debug", "ansible.builtin.debug", {"msg": "no-op"}, "floor",
               note="the controller's floor: an action plugin, no module"),
        Config("ansible.builtin.ping", "ansible.builtin.ping", {}, "floor", note="the module floor"),
        # -- Kubernetes ------------------------------------------------------------------------
        Config("kubernetes.core.k8s (anchor)", "kubernetes.core.k8s", {
            "state": "present",
            "definition": {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": "workload", "namespace": "bench", "annotations": sa_annotations}},
        }, "anchor", note="same ServiceAccount, same annotations"),
        Config("workload_sa", "kedaops.aks.workload_sa", {
            "namespace": "bench", "name": "workload", "client_id": identity["client_id"],
            "tenant_id": identity["tenant_id"], "create_namespace": True}, "k8s", anchor="kubernetes.core.k8s (anchor)"),
        Config("keda_trigger_auth", "kedaops.aks.keda_trigger_auth", {
            "name": "bench-ta", "namespace": "bench", "identity_id": identity["client_id"]},
            "k8s", anchor="kubernetes.core.k8s (anchor)"),
        Config("keda_scaled_object", "kedaops.aks.keda_scaled_object", shared["bench_scaled_object"],
               "k8s", anchor="kubernetes.core.k8s (anchor)"),
        Config("keda_scaled_job", "kedaops.aks.keda_scaled_job", shared["bench_scaled_job"],
               "k8s", anchor="kubernetes.core.k8s (anchor)"),
        Config("rollout_restart", "kedaops.aks.rollout_restart", {
            "namespace": "kube-system", "name": "keda-operator",
            "unless_env_present": ["AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"]},
            "k8s", anchor="kubernetes.core.k8s (anchor)", note="reads the Deployment and its pods"),
        Config("keda_operator_info", "kedaops.aks.keda_operator_info", {}, "k8s", anchor="kubernetes.core.k8s (anchor)",
               note="lists the KEDA operators of every namespace"),
        # -- Azure -----------------------------------------------------------------------------
        Config("azure_rm_resource (anchor)", "azure.azcollection.azure_rm_resource", {
            "api_version": "2023-01-31", "resource_group": rg, "provider": "ManagedIdentity",
            "resource_type": "userAssignedIdentities", "resource_name": "mi-bench",
            "subresource": [{"type": "federatedIdentityCredentials", "name": "bench-fic"}],
            "body": {"properties": {"issuer": issuer, "subject": fic["subject"],
                                    "audiences": ["api://AzureADTokenExchange"]}},
            "idempotency": True,
        }, "anchor", python=azcollection.python_of(BENCH_VENV), note="same federated credential; its own venv"),
        Config("managed_identity", "kedaops.aks.managed_identity", {
            "resource_group": rg, "name": "mi-bench", "location": "eastus"}, "azure", anchor="azure_rm_resource (anchor)"),
        Config("managed_identity_info", "kedaops.aks.managed_identity_info", {
            "resource_group": rg, "name": "mi-bench", "credentials": True}, "azure", anchor="azure_rm_resource (anchor)"),
        Config("federated_credential", "kedaops.aks.federated_credential", fic, "azure",
               anchor="azure_rm_resource (anchor)"),
        Config("role_assignment", "kedaops.aks.role_assignment", {
            "scope": env["LAB_SERVICEBUS_NAMESPACE_ID"], "role": "Azure Service Bus Data Owner",
            "principal_id": identity["principal_id"]}, "azure", anchor="azure_rm_resource (anchor)"),
        Config("aks_cluster", "kedaops.aks.aks_cluster", {
            "resource_group": rg, "name": env["LAB_AKS_NAME"], "oidc_issuer": True, "workload_identity": True,
            "keda": True}, "azure", anchor="azure_rm_resource (anchor)"),
        # -- both --------------------------------------------------------------------------------
        Config("workload_identity_info", "kedaops.aks.workload_identity_info", {
            "cluster_resource_group": rg, "cluster_name": env["LAB_AKS_NAME"], "identity_resource_group": rg,
            "identity_name": "mi-bench", "operator_namespace": "kube-system",
            "operator_service_account": "keda-operator"}, "both", anchor="azure_rm_resource (anchor)",
            note="reads the whole chain (Azure and Kubernetes)"),
        Config("workload_bindings (1 binding)", "kedaops.aks.workload_bindings", shared["bench_bindings"], "both",
               anchor="azure_rm_resource (anchor)", note="the bulk module; one binding = 6 objects"),
    ]
    if not with_azcollection:
        for config in configs:
            if config.module.startswith("azure.azcollection."):
                config.error = "skipped (--no-azcollection)"
    # The module shell beside the controller shell, for every module that has an action plugin now.
    twins = [Config(f"{c.name} (module shell)", c.module, c.args, c.family, anchor=c.anchor, note=c.note,
                    task_vars={"kedaops_aks_shell": "module"}, twin_of=c.name)
             for c in configs if has_action_plugin(c.module)]
    return configs + twins


def setup_vars(env: dict[str, str]) -> dict[str, Any]:
    """The arguments setup.yml and the timed tasks share (identical, so the timed runs are no-ops)."""
    trigger = {"type": "azure-servicebus", "metadata": {"namespace": "sb-keda-demo", "queueName": "orders",
                                                        "messageCount": "5"},
               "authentication_ref": {"name": "bench-ta"}}
    return {
        "bench_scaled_object": {"name": "bench-so", "namespace": "bench", "scale_target": {"name": "bench-app"},
                                "min_replicas": 0, "max_replicas": 10, "triggers": [trigger]},
        "bench_scaled_job": {"name": "bench-sj", "namespace": "bench", "max_replicas": 5,
                             "job_target": {"template": {"spec": {"containers": [
                                 {"name": "worker", "image": "mcr.microsoft.com/k8se/quickstart-jobs:latest"}],
                                 "restartPolicy": "Never"}}},
                             "triggers": [trigger]},
        "bench_bindings": {
            "resource_group": env["LAB_RESOURCE_GROUP"], "issuer": env["LAB_OIDC_ISSUER"],
            "bindings": [{
                "namespace": "bench-bulk", "service_account": "workload", "identity": "mi-bench",
                "trigger_auth": {"name": "bench-ta"},
                "scaled_object": {"name": "bench-so", "scale_target": {"name": "bench-app"}, "max_replicas": 10,
                                  "triggers": [trigger]},
                "role_assignments": [{"scope": env["LAB_SERVICEBUS_NAMESPACE_ID"],
                                      "role": "Azure Service Bus Data Owner"}],
            }],
        },
    }


# --- measuring ---------------------------------------------------------------------------------


def measure(configs: list[Config], env: dict[str, str], lab: LabClient, rounds: int, warmup: int,
            workdir: str, tasks: int) -> None:
    active = [c for c in configs if not c.error]
    paths = {}
    for index, config in enumerate(active):
        for count in (1, tasks):
            path = os.path.join(workdir, f"{index:02d}-{count:02d}.json")
            write_playbook(path, [config.task()] * count)
            paths[(config.name, count)] = path
    total = warmup + rounds
    for round_number in range(total):
        counted = round_number >= warmup
        label = f"round {round_number + 1 - warmup}/{rounds}" if counted else "warm-up round (discarded)"
        print(f"  {label} ...", flush=True)
        for config in active:
            if config.error:
                continue
            # The warm-up round runs the 1-task playbooks only: it fills the page cache and the
            # lab's connections at a fraction of a counted round's cost.
            for count in ((1, tasks) if counted else (1,)):
                lab.clear()
                try:
                    elapsed, changed, _output = run_playbook(paths[(config.name, count)], env)
                except RuntimeError as e:
                    config.error = str(e).splitlines()[0] + " (see bench/results/errors.log)"
                    with open(os.path.join(RESULTS, "errors.log"), "a", encoding="utf-8") as f:
                        f.write(f"== {config.name} x{count}\n{e}\n")
                    break
                if not counted:
                    continue
                config.changed += changed
                (config.t1 if count == 1 else config.t10).append(elapsed)
                (config.counts1 if count == 1 else config.counts10).append(lab.counts())


def per_task(config: Config, tasks: int) -> dict[str, Any] | None:
    """(median T_N - median T_1) / (N - 1), and the same per round for min and max."""
    if config.error or not config.t1 or not config.t10:
        return None
    extra = tasks - 1
    median = (statistics.median(config.t10) - statistics.median(config.t1)) / extra
    rounds = [(t10 - t1) / extra for t1, t10 in zip(config.t1, config.t10)]
    keys = set().union(*config.counts1, *config.counts10)
    per_kind = {}
    for key in sorted(keys):
        c1 = statistics.median([c.get(key, 0) for c in config.counts1])
        c10 = statistics.median([c.get(key, 0) for c in config.counts10])
        per_kind[key] = round((c10 - c1) / extra, 2)
    return {"median": median, "min": min(rounds), "max": max(rounds), "rounds": rounds,
            "t1": statistics.median(config.t1), "t10": statistics.median(config.t10), "counts": per_kind}


def controller_verdict(config: Config, stats: dict[str, Any], debug: dict[str, Any] | None,
                       request_s: float | None) -> str:
    """Issue 25: a no-op through the controller shell <= 2x debug's per-task cost + its requests at 0 ms."""
    if config.twin_of or not has_action_plugin(config.module):
        return ""
    if not debug or request_s is None:
        return "no debug or latency figure"
    limit = DEBUG_TARGET_FACTOR * debug["median"] + stats["counts"].get("requests", 0) * request_s
    if stats["median"] <= limit:
        return f"met (<= {limit:.3f} s)"
    return f"MISSED by {stats['median'] - limit:.3f} s ({stats['median'] / limit:.2f}x the {limit:.3f} s limit)"


def verdict(config: Config, stats: dict[str, Any], anchor: dict[str, Any] | None) -> str:
    if config.family == "k8s" and anchor:
        problems = []
        if stats["median"] > anchor["median"]:
            problems.append(f"{(stats['median'] / anchor['median'] - 1) * 100:.0f}% slower than k8s")
        if round(stats["counts"].get("requests", 0)) != 1:
            problems.append(f"{stats['counts'].get('requests', 0):g} requests")
        if stats["counts"].get("writes", 0):
            problems.append(f"{stats['counts']['writes']:g} writes")
        return "met" if not problems else "MISSED: " + ", ".join(problems)
    if config.family == "azure" and anchor:
        limit = AZURE_TARGET_RATIO * anchor["median"]
        if stats["median"] <= limit:
            return "met"
        return f"MISSED by {stats['median'] - limit:.3f} s ({stats['median'] / anchor['median']:.2f}x)"
    return ""


def table(configs: list[Config], tasks: int, request_s: float | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The per-task table: one row per configuration, the module shell of a controller-shell module in
    its row's "module shell" column (and as its own entry in the returned rows)."""
    stats = {c.name: per_task(c, tasks) for c in configs}
    floor = stats.get("ansible.builtin.ping")
    debug = stats.get("ansible.builtin.debug")
    twins = {c.twin_of: c.name for c in configs if c.twin_of}
    rows = []
    for config in configs:
        s = stats[config.name]
        shell = "module" if config.twin_of or not has_action_plugin(config.module) else "controller"
        if config.module == "ansible.builtin.debug":
            shell = "controller"
        elif not config.module.startswith("kedaops.aks."):
            shell = "module"
        row: dict[str, Any] = {"name": config.name, "family": config.family, "note": config.note, "shell": shell,
                               "twin_of": config.twin_of}
        if s is None:
            row["error"] = config.error or "no data"
            rows.append(row)
            continue
        anchor = stats.get(config.anchor) if config.anchor else None
        others = {k: v for k, v in s["counts"].items() if k not in ("requests", "writes") and v}
        twin = stats.get(twins[config.name]) if config.name in twins else None
        row.update({
            "median": s["median"], "min": s["min"], "max": s["max"], "t1": s["t1"], "t10": s["t10"],
            "x_debug": s["median"] / debug["median"] if debug and debug["median"] > 0 else None,
            "x_floor": s["median"] / floor["median"] if floor and floor["median"] > 0 else None,
            "x_anchor": s["median"] / anchor["median"] if anchor and anchor["median"] > 0 else None,
            "module_shell": twin["median"] if twin else None,
            "requests": s["counts"].get("requests", 0), "writes": s["counts"].get("writes", 0),
            "breakdown": ", ".join(f"{k} {v:g}" for k, v in others.items()),
            "target_25": controller_verdict(config, s, debug, request_s),
            "target": "" if config.twin_of else verdict(config, s, anchor), "changed": config.changed,
        })
        rows.append(row)
    header = ("| task | shell | median s/task | min | max | module shell s/task | x debug | x ping | x anchor |"
              " requests/task | writes/task | issue 25 target (<= 2x debug + requests) | issue 8 target |"
              " requests by service |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    lines = [header]

    def ratio(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else ""

    for row in rows:
        if row["twin_of"]:
            continue  # shown in its controller-shell row's "module shell" column
        if "error" in row:
            lines.append(f"| {row['name']} | {row['shell']} | — | | | | | | | | | | | {row['error']} |")
            continue
        module_shell = f"{row['module_shell']:.2f}" if row["module_shell"] is not None else ""
        lines.append(f"| {row['name']} | {row['shell']} | {row['median']:.3f} | {row['min']:.3f} | {row['max']:.3f} | "
                     f"{module_shell} | {ratio(row['x_debug'])} | {ratio(row['x_floor'])} | {ratio(row['x_anchor'])} | "
                     f"{row['requests']:g} | {row['writes']:g} | {row['target_25']} | {row['target']} | {row['breakdown']} |")
        if row["changed"]:
            lines[-1] += f" **{row['changed']} task(s) reported changed: not a no-op**"
    for row in rows:
        if row["twin_of"] and "error" in row:
            lines.append(f"| {row['name']} | module | — | | | | | | | | | | | {row['error']} |")
        elif row["twin_of"] and row["changed"]:
            lines.append(f"| {row['name']} | module | {row['median']:.3f} | | | | | | | | | | | "
                         f"**{row['changed']} task(s) reported changed: not a no-op** |")
    return "\n".join(lines), rows


# --- machine and versions ----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": memory, "os": platform.platform(),
            "loadavg": " ".join(f"{v:.2f}" for v in os.getloadavg())}


def versions() -> dict[str, str]:
    def dist(python: str, names: list[str]) -> dict[str, str]:
        code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in sys.argv[1:]:\n"
                "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))")
        if not os.path.exists(python):
            return {}
        proc = subprocess.run([python, "-c", code] + names, capture_output=True, text=True, check=False)
        return json.loads(proc.stdout or "{}")

    ours = dist(os.path.join(VENV, "bin", "python"), [
        "ansible-core", "kubernetes", "azure-core", "azure-identity", "msal", "azure-mgmt-core", "azure-mgmt-msi",
        "azure-mgmt-authorization", "urllib3", "requests"])
    theirs = dist(azcollection.python_of(BENCH_VENV), [
        "azure-core", "azure-identity", "msal", "azure-cli-core", "azure-mgmt-core", "azure-mgmt-msi",
        "azure-mgmt-authorization", "azure-mgmt-resource", "azure-mgmt-network", "azure-mgmt-compute"])
    result = {"python": platform.python_version()}
    result.update(ours)
    result.update({f"{k} (.venv-bench)": v for k, v in theirs.items()})
    for collection, base in (("kubernetes.core", os.path.join(VENV, "collections")),
                             ("azure.azcollection", os.path.join(BENCH_VENV, "collections"))):
        manifest = os.path.join(base, "ansible_collections", *collection.split("."), "MANIFEST.json")
        try:
            with open(manifest, encoding="utf-8") as f:
                result[collection] = json.load(f)["collection_info"]["version"]
        except (OSError, ValueError, KeyError):
            pass
    return result


# --- docs ----------------------------------------------------------------------------------------


def replace_section(text: str, name: str, content: str) -> str:
    begin, end = f"<!-- BEGIN GENERATED {name} -->", f"<!-- END GENERATED {name} -->"
    block = f"{begin}\n{content.rstrip()}\n{end}"
    if begin in text and end in text:
        return text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    return text.rstrip() + "\n\n" + block + "\n"


def update_docs(name: str, content: str) -> None:
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    with open(DOCS, "w", encoding="utf-8") as f:
        f.write(replace_section(text, name, content))


def report(rows_table: str, meta: dict[str, Any], rounds: int, warmup: int, tasks: int,
           request_s: float | None = None) -> str:
    m, v = meta["machine"], meta["versions"]
    lines = [
        f"Measured {meta['date']} by `make bench`: playbooks of 1 and {tasks} identical no-op tasks, per task = "
        f"(median T{tasks} - median T1) / {tasks - 1}; min and max are the same difference per round; "
        f"{rounds} counted round(s) after {warmup} warm-up round(s) of the 1-task playbooks, configurations "
        f"interleaved; load average at start {meta['load_start']}, at end {m['loadavg']}. Shell: controller = the "
        "module's action plugin ran its core in the controller's worker; module = a module process (the module "
        "shell column: the same task with `kedaops_aks_shell: module`). The issue 25 limit is 2x debug's median "
        "plus requests/task x the lab's measured per-request time at zero latency"
        + (f" ({request_s * 1000:.1f} ms, kept-alive HTTPS, the slower of a Kubernetes and an ARM GET)."
           if request_s is not None else "."),
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory']}, {m['os']}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Reference anchors (issue 8, this machine class, Nov 2026): "
        + ", ".join(f"{k} {val:.2f} s/task" for k, val in REFERENCE.items()) + ".",
        "",
        rows_table,
    ]
    return "\n".join(lines)


# --- scale -----------------------------------------------------------------------------------------


def run_scale(env: dict[str, str], lab: LabClient, bindings: int, per_item: int, identities: int,
              settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bulk converge of ``bindings`` bindings (then its no-change re-run), and the per-item
    baseline on ``per_item`` bindings (converge and re-run), each on a freshly reset lab."""
    sys.path.insert(0, os.path.join(BENCH_DIR, "scale"))
    from bindings import scale_vars  # pylint: disable=import-outside-toplevel,import-error

    scale_dir = os.path.join(BENCH_DIR, "scale")
    results: dict[str, Any] = {"bindings": bindings, "identities": identities}
    for label, playbook, count in (("bulk", "converge.yml", bindings), ("per_item", "per_item.yml", per_item)):
        if count <= 0:
            continue
        lab.call("POST", "/reset")
        if settings:
            lab.call("PUT", "/settings", settings)  # the latency profile (--scale-profile)
        variables = os.path.join(RESULTS, f"scale-{label}-vars.json")
        with open(variables, "w", encoding="utf-8") as f:
            json.dump(scale_vars(count, min(identities, count), env), f)
        args = ["-e", "@" + variables]
        run_playbook(os.path.join(scale_dir, "prepare.yml"), env, args, log=os.path.join(RESULTS, "scale-prepare.log"))
        runs = []
        for attempt in ("converge", "rerun"):
            lab.clear()
            log = os.path.join(RESULTS, f"scale-{label}-{attempt}.log")
            elapsed, changed, _output = run_playbook(os.path.join(scale_dir, playbook), env, args, log=log)
            counts = lab.counts()
            runs.append({"run": attempt, "seconds": round(elapsed, 2), "changed_tasks": changed,
                         "requests": counts["requests"], "writes": counts["writes"]})
            print(f"  scale {label} ({count} bindings) {attempt}: {elapsed:.1f} s, {counts['requests']} requests, "
                  f"{counts['writes']} writes", flush=True)
        results[label] = {"bindings": count, "runs": runs}
    return results


def scale_target(scale: dict[str, Any], label: str, run: dict[str, Any]) -> str:
    """Issue 25's targets for 100 bulk bindings at the realistic profile."""
    if label != "bulk" or scale.get("profile") != "realistic" or scale[label]["bindings"] != 100:
        return ""
    limit = SCALE_TARGETS.get(run["run"])
    if limit is None:
        return ""
    return f"<= {limit:g} s: " + ("met" if run["seconds"] <= limit else f"MISSED by {run['seconds'] - limit:.1f} s")


def scale_table(scale: dict[str, Any]) -> str:
    lines = ["| form | bindings | run | seconds | target | changed tasks | requests | writes |",
             "|---|---:|---|---:|---|---:|---:|---:|"]
    for label, title in (("bulk", "workload_bindings role (bulk)"), ("per_item", "per-item module tasks")):
        if label not in scale:
            continue
        for run in scale[label]["runs"]:
            lines.append(f"| {title} | {scale[label]['bindings']} | {run['run']} | {run['seconds']:.1f} | "
                         f"{scale_target(scale, label, run)} | {run['changed_tasks']} | {run['requests']} | "
                         f"{run['writes']} |")
    if "per_item" in scale and scale["per_item"]["bindings"] < scale["bindings"]:
        factor = scale["bindings"] / scale["per_item"]["bindings"]
        for run in scale["per_item"]["runs"]:
            lines.append(f"| per-item, extrapolated (x{factor:g}, linear) | {scale['bindings']} | {run['run']} | "
                         f"~{run['seconds'] * factor:.0f} | | | ~{run['requests'] * factor:.0f} | "
                         f"~{run['writes'] * factor:.0f} |")
    return "\n".join(lines)


# --- where the time goes ------------------------------------------------------------------------


def module_import_path(fqcn: str) -> str:
    namespace, collection, name = fqcn.split(".")
    if (namespace, collection) == ("ansible", "builtin"):
        return f"ansible.modules.{name}"
    return f"ansible_collections.{namespace}.{collection}.plugins.modules.{name}"


def profile_configs(configs: list[Config], env: dict[str, str], lab: LabClient) -> list[dict[str, Any]]:
    ours = os.path.join(VENV, "bin", "python")
    rows = [{"name": "python -c pass (interpreter start-up)", "wall": breakdown.interpreter_startup(ours)}]
    for config in configs:
        if config.error or config.twin_of or config.module == "ansible.builtin.debug":
            continue  # a module shell twin is the same module run; debug has no module to run
        run_env = dict(env)
        python = ours
        run_env["PYTHONPATH"] = os.path.join(VENV, "collections")
        if config.module.startswith("azure.azcollection."):
            python = azcollection.python_of(BENCH_VENV)
            run_env["PYTHONPATH"] = azcollection.module_path(BENCH_VENV)
            run_env["AZURE_CLOUD_ENVIRONMENT"] = "AzureCloud"
        try:
            profile = breakdown.profile_module(python, module_import_path(config.module), config.args, run_env,
                                               lambda: lab.call("GET", "/requests"), lab.clear)
        except RuntimeError as e:
            rows.append({"name": config.name, "error": str(e)[:300]})
            continue
        rows.append(dict(profile, name=config.name))
        print(f"  profiled {config.name}: {profile['wall']:.2f} s", flush=True)
    return rows


def profile_table(rows: list[dict[str, Any]]) -> str:
    startup = rows[0]["wall"]
    lines = [f"Interpreter start-up (`python -c pass`): {startup * 1000:.0f} ms.", "",
             "| module (run directly) | wall s | imports s | auth s | calls s | rest s | largest imports (s) |"
             " requests |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for row in rows[1:]:
        if "error" in row:
            lines.append(f"| {row['name']} | — | | | | | {row['error']} | |")
            continue
        rest = row["wall"] - startup - row["imports_total"] - row["auth"] - row["calls"]
        largest = sorted(row["imports"].items(), key=lambda kv: -kv[1])[:4]
        top = ", ".join(f"{k} {v:.2f}" for k, v in largest)
        calls = ", ".join(f"{k} {v}" for k, v in row["requests"].items())
        lines.append(f"| {row['name']} | {row['wall']:.2f} | {row['imports_total']:.2f} | {row['auth']:.2f} | "
                     f"{row['calls']:.2f} | {rest:.2f} | {top} | {calls} |")
    return "\n".join(lines)


def latency(lab_env: dict[str, str]) -> dict[str, Any]:
    from lab import ids  # pylint: disable=import-outside-toplevel
    from lab.core import _Handler  # pylint: disable=import-outside-toplevel

    k8s = breakdown.lab_latency(_Handler, lab_env["LAB_KUBE_URL"] + "/api/v1/namespaces/bench/serviceaccounts/workload",
                                {"Authorization": f"Bearer {ids.KUBE_ADMIN_TOKEN}", "Accept": "application/json"},
                                lab_env["LAB_CA_FILE"])
    arm = breakdown.lab_latency(_Handler, lab_env["LAB_ARM_URL"] + "/metadata/endpoints?api-version=2022-09-01",
                                {"Accept": "application/json"}, lab_env["LAB_CA_FILE"])
    return {"k8s GET ServiceAccount": k8s, "arm GET metadata/endpoints": arm,
            "ca_bundle_ms": breakdown.ca_load_ms(lab_env["REQUESTS_CA_BUNDLE"]),
            "lab_ca_ms": breakdown.ca_load_ms(lab_env["LAB_CA_FILE"])}


def latency_table(measured: dict[str, Any]) -> str:
    lines = ["| request (kept-alive HTTPS, 200 sequential) | as the lab runs (TCP_NODELAY): median / p90 ms |"
             " with Nagle (http.server default): median / p90 ms |", "|---|---:|---:|"]
    for name, row in measured.items():
        if isinstance(row, dict):
            lines.append(f"| {name} | {row['nodelay_median_ms']:.1f} / {row['nodelay_p90_ms']:.1f} | "
                         f"{row['nagle_median_ms']:.1f} / {row['nagle_p90_ms']:.1f} |")
    lines += ["", f"A TLS context trusting env.sh's REQUESTS_CA_BUNDLE (certifi + lab CA): {measured['ca_bundle_ms']:.0f} ms "
              f"to build; trusting the lab CA alone (what the benchmark sets): {measured['lab_ca_ms']:.0f} ms."]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench.py")
    parser.add_argument("--smoke", action="store_true",
                        help="one round, no warm-up, 1 and 3 tasks; both seeds' site.yml converge and re-run at 0 ms")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=25, help="tasks in the long playbook (the short one has 1)")
    parser.add_argument("--only", help="regular expression: run only matching configurations (and the floor)")
    parser.add_argument("--docs", action="store_true", help="write the results into docs/performance.md")
    parser.add_argument("--no-azcollection", action="store_true", help="skip the azure.azcollection anchor")
    parser.add_argument("--no-tasks", action="store_true", help="skip the per-task table")
    parser.add_argument("--profile", action="store_true",
                        help="also split each module's direct run into imports, auth and calls, and time the lab")
    parser.add_argument("--scale", action="store_true", help="also run the 100-binding converge (bench/scale)")
    parser.add_argument("--fleet", action="store_true",
                        help="also the fleet figures (bench/fleet.py: inventory, converge and re-run of 1 and 25 clusters)")
    parser.add_argument("--scale-bindings", type=int, default=100)
    parser.add_argument("--scale-identities", type=int, default=5)
    parser.add_argument("--scale-profile", default="0 ms",
                        help="latency profile for --scale: " + ", ".join(scenarios.PROFILES))
    parser.add_argument("--per-item-bindings", type=int, default=10,
                        help="bindings in the per-item baseline (extrapolated to --scale-bindings); 0 skips it")
    parser.add_argument("--scenarios", action="store_true",
                        help="also run both seeds: the manual procedure (az, kubectl, helm) beside site.yml's first "
                             "run and re-run, at 0 ms and at the realistic latency profile (bench/scenarios.py)")
    parser.add_argument("--scenario-profiles", default="0 ms,realistic",
                        help="comma-separated latency profiles for --scenarios: " + ", ".join(scenarios.PROFILES))
    parser.add_argument("--no-manual", action="store_true", help="--scenarios without the manual procedure")
    parser.add_argument("--token-cache", action="store_true",
                        help="--scenarios: also run site.yml with the opt-in run cache (KEDAOPS_AZURE_TOKEN_CACHE)")
    parser.add_argument("--lab-ca-only", action="store_true",
                        help="trust the lab CA alone instead of env.sh's full bundle (the issue 8 setting)")
    args = parser.parse_args(argv)
    if args.fleet:
        # The rest of the bench first, then the fleet figures on a lab of their own (bench/fleet.py).
        status = main([a for a in (sys.argv[1:] if argv is None else argv) if a != "--fleet"])
        import fleet  # pylint: disable=import-outside-toplevel
        fleet.main(["--docs"] if args.docs else [])
        return status
    if args.smoke:
        # A smoke of the whole pipeline within CI's budget (about 2 minutes with the .venv-bench
        # install on an idle machine): every row, the request counts exact, the timings indicative.
        args.rounds, args.warmup, args.tasks = 1, 0, 3
        # Both seeds' site.yml, converge and no-op re-run, at 0 ms: the request counts (issue 19, item 5).
        args.scenarios, args.no_manual, args.scenario_profiles = True, True, "0 ms"
    if args.tasks < 2:
        parser.error("--tasks must be at least 2")

    os.makedirs(RESULTS, exist_ok=True)
    if os.path.exists(os.path.join(RESULTS, "errors.log")):
        os.remove(os.path.join(RESULTS, "errors.log"))
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with_azcollection = not args.no_azcollection and not args.no_tasks
    if with_azcollection:
        print("azure.azcollection venv (.venv-bench) ...", flush=True)
        azcollection.install(BENCH_VENV, os.path.join(ROOT, ".cache"))
    state_dir = tempfile.mkdtemp(prefix="kedaops-bench-lab-")
    lab, lab_env = start_lab(state_dir)
    try:
        env = playbook_env(lab_env, args.lab_ca_only)
        client = LabClient(lab_env)
        if with_azcollection:
            azcollection.patch(BENCH_VENV, lab_env["LAB_ARM_URL"], lab_env["LAB_ENTRA_URL"])
        meta: dict[str, Any] = {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
                                "load_start": load_start}
        output: dict[str, Any] = {"meta": meta}
        if not args.no_tasks:
            print("setting up the objects (bench/setup.yml) ...", flush=True)
            facts_file = os.path.join(RESULTS, "setup-facts.json")
            with open(os.path.join(RESULTS, "setup-vars.json"), "w", encoding="utf-8") as f:
                json.dump(dict(setup_vars(lab_env), bench_facts_file=facts_file), f)
            run_playbook(os.path.join(BENCH_DIR, "setup.yml"), env,
                         ["-e", "@" + os.path.join(RESULTS, "setup-vars.json")], log=os.path.join(RESULTS, "setup.log"))
            with open(facts_file, encoding="utf-8") as f:
                facts = json.load(f)
            configs = configurations(lab_env, facts, with_azcollection)
            if args.only:
                pattern = re.compile(args.only)
                configs = [c for c in configs if c.family == "floor" or c.family == "anchor" or pattern.search(c.name)]
            workdir = os.path.join(RESULTS, "playbooks")
            shutil.rmtree(workdir, ignore_errors=True)
            os.makedirs(workdir)
            print(f"measuring {len(configs)} configurations, {args.warmup} warm-up + {args.rounds} counted "
                  f"round(s) of 1 and {args.tasks} tasks each ...", flush=True)
            measure(configs, env, client, args.rounds, args.warmup, workdir, args.tasks)
            # The per-request time at zero latency the issue 25 limit allows each request.
            measured = latency(lab_env)
            request_s = max(measured["k8s GET ServiceAccount"]["nodelay_median_ms"],
                            measured["arm GET metadata/endpoints"]["nodelay_median_ms"]) / 1000
            rows_table, rows = table(configs, args.tasks, request_s)
            meta.update(machine=machine(), versions=versions())
            text = report(rows_table, meta, args.rounds, args.warmup, args.tasks, request_s)
            print("\n" + text + "\n")
            output["tasks"] = rows
            if args.docs:
                update_docs("bench-tasks", text)
            if args.profile:
                print("where the time goes (direct module runs, -X importtime, the request log) ...", flush=True)
                profile = profile_configs(configs, env, client)
                text = profile_table(profile) + "\n\nPer-request latency of the lab:\n\n" + latency_table(measured)
                print("\n" + text + "\n")
                output["profile"], output["latency"] = profile, measured
                if args.docs:
                    update_docs("bench-profile", text)
        if args.scenarios:
            profiles = [p.strip() for p in args.scenario_profiles.split(",") if p.strip()]
            unknown = [p for p in profiles if p not in scenarios.PROFILES]
            if unknown:
                parser.error(f"--scenario-profiles: unknown {', '.join(unknown)}")
            manual = not args.no_manual
            if manual and not scenarios.az_available():
                print("the Azure CLI venv (.venv-az) is missing: `make az-venv`; the manual procedure is skipped",
                      flush=True)
                manual = False
            print(f"scenarios: both seeds at {', '.join(profiles)} ({'manual procedure and ' if manual else ''}"
                  "site.yml first run and re-run) ...", flush=True)
            result = scenarios.run_scenarios(env, client, run_playbook, RESULTS, profiles, manual, args.token_cache)
            text = (f"Measured {meta['date']} by `make bench` with env.sh's full CA bundle "
                    f"(load average at end {machine()['loadavg']}).\n\n" + scenarios.table(result))
            step_text = scenarios.steps_table(result)
            where = scenarios.where_table(result, "realistic" if "realistic" in profiles else profiles[0])
            if where and not args.smoke:
                step_text = (step_text + "\n\n" if step_text else "") + "site.yml's slowest tasks:\n\n" + where
            print("\n" + text + "\n\nRequests per run (the stable figure):\n" + scenarios.counts_summary(result) + "\n")
            if step_text:
                print(step_text + "\n")
            output["scenarios"] = result
            if args.docs:
                update_docs("bench-scenarios", text)
                if step_text:
                    update_docs("bench-scenario-steps", step_text)
        if args.scale:
            print("scale: bench/scale ...", flush=True)
            if args.scale_profile not in scenarios.PROFILES:
                parser.error(f"--scale-profile: unknown {args.scale_profile}")
            scale = run_scale(env, client, args.scale_bindings, args.per_item_bindings, args.scale_identities,
                              scenarios.PROFILES[args.scale_profile])
            scale["profile"] = args.scale_profile
            meta.setdefault("machine", machine())
            text = (f"Measured {meta['date']} by `make bench` at latency {scenarios.PROFILE_TEXT[args.scale_profile]} "
                    f"(load average at end {machine()['loadavg']}).\n\n"
                    + scale_table(scale))
            print("\n" + text + "\n")
            output["scale"] = scale
            if args.docs:
                update_docs("bench-scale", text)
        with open(os.path.join(RESULTS, "latest.json"), "w", encoding="utf-8") as f:
            json.dump(output, f, indent=1)
        failed = [r["name"] for r in output.get("tasks", []) if "error" in r and "skipped" not in r["error"]]
        if failed:
            print(f"failed configurations: {', '.join(failed)} (bench/results/errors.log)", file=sys.stderr)
            return 1
        return 0
    finally:
        lab.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
