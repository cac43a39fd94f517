# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a no-op task's time goes, and whether the lab distorts it.

``profile_module``: runs a module directly (``python -X importtime -m <module> args.json``, the
way AnsiballZ finally runs it, without Ansible's per-task overhead, which the ping floor
measures) a few times, and splits its median wall time into interpreter start-up, imports (by
package, from ``-X importtime``), authentication (from the first Entra request, tenant discovery,
to the token) and API calls (from the token to the last request), using the timestamps of the
lab's request log.

``lab_latency``: the round trip of one request on a kept-alive HTTPS connection to the lab, with
the servers' ``disable_nagle_algorithm`` as the lab sets it and, for comparison, switched off.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\| ( *)(\S+)")


def import_groups(trace: str, own: tuple[str, ...] = ("kedaops.aks",)) -> dict[str, float]:
    """Import seconds by the package that asked for them.

    Each module's own (self) time is counted for its outermost importer that is a third-party
    package (so yaml imported by kubernetes counts as kubernetes, msal by azure.identity as
    azure.identity, the stdlib modules ansible.module_utils.basic pulls in as ansible); code of
    the collection itself (``own``) and the stdlib count as themselves.
    """
    groups: dict[str, float] = {}
    stack: list[str] = []
    # -X importtime prints a module after everything it imported (post-order): read it backwards
    # to meet each importer before its imports.
    for line in reversed(trace.splitlines()):
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        depth = len(match.group(3)) // 2
        group = _group(match.group(4))
        del stack[depth:]
        stack.append(group)
        owner = next((g for g in stack if g not in ("stdlib", "runpy") and g not in own), group)
        groups[owner] = groups.get(owner, 0.0) + int(match.group(1)) / 1e6
    return groups


def _group(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "ansible_collections" and len(parts) > 2:
        return f"{parts[1]}.{parts[2]}"
    if parts[0] == "azure" and len(parts) > 1:
        return ".".join(parts[:3]) if parts[1] == "mgmt" and len(parts) > 2 else ".".join(parts[:2])
    if parts[0] in sys.stdlib_module_names or parts[0].startswith("_"):
        return "stdlib"
    return parts[0]


def interpreter_startup(python: str, runs: int = 5) -> float:
    samples = []
    for _run in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def profile_module(python: str, module: str, args: dict[str, Any], env: dict[str, str],
                   requests: Callable[[], list[dict[str, Any]]], clear: Callable[[], None],
                   runs: int = 3) -> dict[str, Any]:
    """Median wall time of a direct module run, and its split (seconds)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
        args_file = f.name
    try:
        walls, phases, trace = [], [], ""
        for _run in range(runs):
            clear()
            started = time.perf_counter()
            proc = subprocess.run([python, "-X", "importtime", "-m", module, args_file], env=env,
                                  capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - started)
            try:
                result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
            except ValueError:
                result = {}
            if proc.returncode != 0 or result.get("failed"):
                raise RuntimeError(f"{module}: {result.get('msg') or proc.stdout[-2000:] or proc.stderr[-2000:]}")
            trace = proc.stderr
            phases.append(_phases([r for r in requests() if r["service"] != "control"]))
        imports = import_groups(trace)
        return {
            "wall": statistics.median(walls),
            "imports": imports,
            "imports_total": sum(imports.values()),
            "auth": statistics.median(p["auth"] for p in phases),
            "calls": statistics.median(p["calls"] for p in phases),
            "requests": phases[-1]["requests"],
            "changed": bool(result.get("changed")),
        }
    finally:
        os.unlink(args_file)


def _phases(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Auth = from the first to the last Entra request (tenant discovery, then the token; the
    credential's own imports are already counted as imports); calls = from the token (or the
    first request) to the last request. A late import inside that span is counted in both."""
    times = [entry["time"] for entry in log]
    entra = [i for i, entry in enumerate(log) if entry["service"] == "entra"]
    auth = times[entra[-1]] - times[entra[0]] if entra else 0.0
    calls = 0.0
    if log:
        first = times[entra[-1]] if entra else times[0]
        calls = max(0.0, times[-1] - first)
    counts: dict[str, int] = {}
    for entry in log:
        key = f"{entry['service']} {entry['method']}"
        counts[key] = counts.get(key, 0) + 1
    return {"auth": auth, "calls": calls, "requests": counts}


def lab_latency(handler_class: Any, url: str, headers: dict[str, str], ca_file: str,
                samples: int = 200) -> dict[str, float]:
    """Median and 90th percentile (ms) of GET ``url`` on one kept-alive connection, with Nagle's
    algorithm disabled on the server (as the lab runs) and enabled (the http.server default)."""
    import urllib3  # pylint: disable=import-outside-toplevel

    results = {}
    original = handler_class.disable_nagle_algorithm
    try:
        for label, nodelay in (("nodelay", True), ("nagle", False)):
            # Read per accepted connection (StreamRequestHandler.setup), so a new pool sees it.
            handler_class.disable_nagle_algorithm = nodelay
            pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_file, maxsize=1,
                                       ssl_context=ssl.create_default_context(cafile=ca_file))
            pool.request("GET", url, headers=headers)  # connect and handshake outside the timing
            times = []
            for _sample in range(samples):
                started = time.perf_counter()
                response = pool.request("GET", url, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                if response.status >= 400:
                    raise RuntimeError(f"GET {url}: HTTP {response.status}")
            pool.clear()
            times.sort()
            results[f"{label}_median_ms"] = statistics.median(times)
            results[f"{label}_p90_ms"] = times[int(len(times) * 0.9) - 1]
    finally:
        handler_class.disable_nagle_algorithm = original
    return results


def ca_load_ms(path: str, samples: int = 5) -> float:
    """Median milliseconds to build a TLS client context trusting ``path`` (what urllib3 does for
    every new connection when requests is given a CA bundle path)."""
    times = []
    for _sample in range(samples):
        started = time.perf_counter()
        ssl.create_default_context(cafile=path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
