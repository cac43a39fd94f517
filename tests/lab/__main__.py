"""Run the lab: ``python -m lab serve --dir .lab`` (foreground), ``up`` (background), ``down``.

``up`` returns once ``<dir>/env.sh`` and the pid file exist, i.e. every server is listening (with
``LAB_FLEET=<aks>,<arc>``, every fleet cluster's API server too).
``down`` stops the background process and waits until it is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from .core import Lab


def _pid_file(directory: str) -> str:
    return os.path.join(directory, "lab.pid")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(directory: str) -> int | None:
    try:
        with open(_pid_file(directory), encoding="utf-8") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def serve(args: argparse.Namespace) -> int:
    extra = {}
    if args.collections_path:
        extra["ANSIBLE_COLLECTIONS_PATH"] = os.path.abspath(args.collections_path)
    if args.python:
        extra["ANSIBLE_PYTHON_INTERPRETER"] = args.python
    if args.path_prepend:
        extra["PATH"] = os.path.abspath(args.path_prepend) + os.pathsep + os.environ.get("PATH", "")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    lab = Lab(args.dir, extra_env=extra).start()
    fleet = os.environ.get("LAB_FLEET", "").strip()
    if fleet:
        # LAB_FLEET=<aks>,<arc>: that many AKS and Arc clusters, each with its own API server (azure/fleet.py).
        from . import services as lab_services  # pylint: disable=import-outside-toplevel
        from .azure import fleet as arm_fleet  # pylint: disable=import-outside-toplevel
        arm = lab_services.arm(lab)
        if arm is None:
            raise SystemExit("LAB_FLEET needs the lab's ARM")
        aks, _comma, arc = fleet.partition(",")
        arm_fleet.add_clusters(arm, arm_fleet.standard_fleet(int(aks), int(arc or 1)), api_servers=True)
    with open(_pid_file(args.dir), "w", encoding="utf-8") as f:
        f.write(str(os.getpid()))
    print(f"lab up: {lab.control.url} (env: {os.path.join(lab.state_dir, 'env.sh')})", flush=True)
    done.wait()
    lab.stop()
    for name in ("env.sh", "lab.pid"):
        try:
            os.remove(os.path.join(args.dir, name))
        except OSError:
            pass
    return 0


def up(args: argparse.Namespace) -> int:
    os.makedirs(args.dir, exist_ok=True)
    pid = _read_pid(args.dir)
    env_file = os.path.join(args.dir, "env.sh")
    if pid and _alive(pid) and os.path.exists(env_file):
        print(f"lab already up (pid {pid}); source {env_file}")
        return 0
    if os.path.exists(env_file):
        os.remove(env_file)
    log = open(os.path.join(args.dir, "lab.log"), "ab")  # pylint: disable=consider-using-with
    command = [sys.executable, "-m", "lab", "serve", "--dir", args.dir]
    for flag in ("collections_path", "python", "path_prepend"):
        value = getattr(args, flag)
        if value:
            command += ["--" + flag.replace("_", "-"), value]
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__file__))),
    )
    deadline = time.monotonic() + 60 + (5 if os.environ.get("LAB_FLEET") else 0)
    while time.monotonic() < deadline:
        # The pid file comes last (after a LAB_FLEET's clusters): env.sh alone is written at Lab.start().
        if os.path.exists(env_file) and _read_pid(args.dir) == proc.pid:
            print(f"lab up (pid {proc.pid}); source {env_file}")
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    print(f"lab failed to start; see {os.path.join(args.dir, 'lab.log')}", file=sys.stderr)
    return 1


def down(args: argparse.Namespace) -> int:
    pid = _read_pid(args.dir)
    if not pid or not _alive(pid):
        print("lab not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    print(f"lab down (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab")
    parser.add_argument("command", choices=("serve", "up", "down"))
    parser.add_argument("--dir", default=".lab")
    parser.add_argument("--collections-path", dest="collections_path")
    parser.add_argument("--python")
    parser.add_argument("--path-prepend", dest="path_prepend")
    args = parser.parse_args(argv)
    args.dir = os.path.abspath(args.dir)
    return {"serve": serve, "up": up, "down": down}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
