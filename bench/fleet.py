# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench-fleet` (and `bench.py --fleet` in `make bench`): the fleet figures of issue 28.

For a fleet of 1 cluster (AKS) and of 25 clusters (20 AKS, 5 Arc), each with its own API server in the lab
(tests/lab/fleetk8s.py), at a latency profile (default: the realistic one, ARM 100 / Entra 50 / K8s 5 ms):
the inventory's wall time (``ansible-inventory --list`` through the real ``kedaops.aks.clusters`` plugin), then
``site.yml`` over the inventory with ``playbooks/vars/fleet.yml`` and ``--forks 10``: the converge's and the
no-op re-run's wall time, and each run's requests. One run each (no rounds: a converge changes the lab), so the
figures are indicative on a shared machine; the load average is printed with them. The target (issue 28):
the 25-cluster re-run at most 5x the 1-cluster re-run.

Output: a table on stdout, bench/results/fleet.json, and with ``--docs`` docs/fleet.md's generated section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the lab
sys.path.insert(0, BENCH_DIR)

import scenarios  # noqa: E402  pylint: disable=wrong-import-position

VENV = os.path.join(ROOT, ".venv")
BIN = os.path.join(VENV, "bin")
DOCS = os.path.join(ROOT, "docs", "fleet.md")
RESULTS = os.path.join(BENCH_DIR, "results")
TARGET = "deployment-name-to-be-scaled"
SIZES = ((1, 0), (20, 5))  # (AKS, Arc)
RATIO_TARGET = 5.0


def fleet_clusters(aks: int, arc: int) -> list[dict[str, Any]]:
    from lab import ids  # pylint: disable=import-outside-toplevel
    from lab.azure.fleet import SECOND_GROUP  # pylint: disable=import-outside-toplevel

    clusters = []
    for kind, count in (("aks", aks), ("arc", arc)):
        for number in range(1, count + 1):
            west = number % 2 == 0
            clusters.append({"kind": kind, "name": f"bench-{kind}-{number:02d}",
                             "resource_group": SECOND_GROUP if west else ids.RESOURCE_GROUP,
                             "location": "westeurope" if west else ids.LOCATION,
                             "oidc_issuer": True, "workload_identity": True})
    return clusters


def stand_up(lab: Any, clusters: list[dict[str, Any]], workdir: str) -> str:
    """The fleet in the lab (each cluster with the workload the fleet vars scale), and its inventory."""
    from lab import fleetk8s  # pylint: disable=import-outside-toplevel
    from lab.azure import fleet  # pylint: disable=import-outside-toplevel

    fleet.add_clusters(lab.services["arm"], clusters, api_servers=True)
    for room in fleetk8s.rooms(lab):
        room.k8s.apply_object({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": TARGET, "namespace": "default"},
                               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": TARGET}},
                                        "template": {"metadata": {"labels": {"app": TARGET}},
                                                     "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}})
    inventory = os.path.join(workdir, "inventory")
    os.makedirs(os.path.join(inventory, "host_vars"), exist_ok=True)
    with open(os.path.join(ROOT, "playbooks", "inventory", "fleet.kedaops_aks.yml"), encoding="utf-8") as f:
        source = yaml.safe_load(f)
    source["name_pattern"] = "bench-*"
    path = os.path.join(inventory, "fleet.kedaops_aks.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(source, f)
    for cluster in clusters:
        if cluster["kind"] == "arc":
            room = fleetk8s.room_for(lab, f"/subscriptions/{_subscription()}/resourceGroups/{cluster['resource_group']}"
                                          f"/providers/Microsoft.Kubernetes/connectedClusters/{cluster['name']}")
            with open(os.path.join(inventory, "host_vars", cluster["name"] + ".yml"), "w", encoding="utf-8") as f:
                yaml.safe_dump({"arc_kubeconfig": room.kubeconfig_path}, f)
    return path


def _subscription() -> str:
    from lab import ids  # pylint: disable=import-outside-toplevel
    return ids.SUBSCRIPTION_ID


def timed(command: list[str], env: dict[str, str], log: str) -> float:
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=3600)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed (rc {done.returncode}); see {log}")
    return elapsed


def requests_since(lab: Any, mark: int) -> int:
    with lab.lock:
        return sum(1 for e in lab.requests[mark:] if e["service"] != "control" and not e.get("actor"))


def measure(profile: str, docs: bool, sizes: tuple[tuple[int, int], ...] = SIZES) -> dict[str, Any]:
    from lab.core import Lab  # pylint: disable=import-outside-toplevel

    workdir = tempfile.mkdtemp(prefix="kedaops-bench-fleet-")
    lab = Lab(os.path.join(workdir, "lab"), extra_env={"ANSIBLE_PYTHON_INTERPRETER": os.path.join(BIN, "python")}).start()
    rows = []
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    try:
        env = dict(os.environ)
        env.update(lab.env())
        env.update({"ANSIBLE_COLLECTIONS_PATH": os.path.join(VENV, "collections"), "ANSIBLE_NOCOLOR": "1",
                    "PATH": BIN + os.pathsep + env.get("PATH", "")})
        for aks, arc in sizes:
            lab.reset()
            inventory = stand_up(lab, fleet_clusters(aks, arc), os.path.join(workdir, f"fleet-{aks + arc}"))
            with lab.lock:
                lab.settings.update(scenarios.PROFILES[profile])
            log = os.path.join(RESULTS, f"fleet-{aks + arc}")
            with lab.lock:
                mark = len(lab.requests)
            inventory_s = timed([os.path.join(BIN, "ansible-inventory"), "-i", inventory, "--list"], env, log + "-inventory.log")
            inventory_requests = requests_since(lab, mark)
            site = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml"),
                    "-e", "keda_hosts=aks:arc", "-e", "@" + os.path.join(ROOT, "playbooks", "vars", "fleet.yml"),
                    "-e", f"keda_helm_chart_repo_url={lab.env()['LAB_CHART_REPO_URL']}", "--forks", "10"]
            with lab.lock:
                mark = len(lab.requests)
            converge_s = timed(site, env, log + "-converge.log")
            converge_requests = requests_since(lab, mark)
            with lab.lock:
                mark = len(lab.requests)
            rerun_s = timed(site, env, log + "-rerun.log")
            rows.append({"clusters": aks + arc, "aks": aks, "arc": arc, "inventory_s": round(inventory_s, 1),
                         "inventory_requests": inventory_requests, "converge_s": round(converge_s, 1),
                         "converge_requests": converge_requests, "rerun_s": round(rerun_s, 1),
                         "rerun_requests": requests_since(lab, mark)})
            print(f"  {aks + arc:>2} clusters: inventory {inventory_s:.1f} s, converge {converge_s:.1f} s, re-run {rerun_s:.1f} s",
                  flush=True)
    finally:
        lab.stop()
    result = {"profile": profile, "load_start": load_start, "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
              "rows": rows}
    with open(os.path.join(RESULTS, "fleet.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    text = report(result)
    print("\n" + text + "\n")
    if docs:
        from bench import replace_section  # pylint: disable=import-outside-toplevel
        with open(DOCS, encoding="utf-8") as f:
            current = f.read()
        with open(DOCS, "w", encoding="utf-8") as f:
            f.write(replace_section(current, "bench-fleet", text))
    return result


def report(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        f"Measured by `make bench-fleet` at latency {scenarios.PROFILE_TEXT[result['profile']]}, `--forks 10`, "
        f"`playbooks/vars/fleet.yml` (an identity per cluster); one run each; load average at start "
        f"{result['load_start']}, at end {result['load_end']} (2 shared CPUs).",
        "",
        "| clusters | inventory (s) | inventory requests | site.yml converge (s) | requests | site.yml re-run (s) | requests |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['clusters']} ({row['aks']} AKS, {row['arc']} Arc) | {row['inventory_s']} | {row['inventory_requests']} | "
                     f"{row['converge_s']} | {row['converge_requests']} | {row['rerun_s']} | {row['rerun_requests']} |")
    if len(rows) == 2 and rows[0]["clusters"] == 1 and rows[0]["rerun_s"]:
        ratio = rows[1]["rerun_s"] / rows[0]["rerun_s"]
        verdict = "met" if ratio <= RATIO_TARGET else f"MISSED by {ratio / RATIO_TARGET:.2f}x"
        lines += ["", f"25-cluster re-run / 1-cluster re-run: {ratio:.1f}x (target at most {RATIO_TARGET:.0f}x: {verdict})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/fleet.py")
    parser.add_argument("--profile", default="realistic", choices=sorted(scenarios.PROFILES))
    parser.add_argument("--docs", action="store_true", help="write the figures into docs/fleet.md")
    parser.add_argument("--sizes", default="1:0,20:5", help="fleets to measure, AKS:Arc, comma-separated")
    args = parser.parse_args(argv)
    sizes = tuple((int(a), int(b)) for a, b in (size.split(":") for size in args.sizes.split(",")))
    os.makedirs(RESULTS, exist_ok=True)
    measure(args.profile, args.docs, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
