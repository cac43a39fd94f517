# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark only (bench/scenarios.py): each task's wall time, written as JSON lines to $BENCH_TIMER_FILE."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: task wall times for the benchmark
description: Appends one JSON line per finished task (name, action, seconds, status) to $BENCH_TIMER_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}
        self._path = os.environ.get("BENCH_TIMER_FILE")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.perf_counter()  # pylint: disable=protected-access

    def _done(self, result, status):
        task = result._task  # pylint: disable=protected-access
        started = self._started.get(task._uuid)  # pylint: disable=protected-access
        if started is None or not self._path:
            return
        entry = {"task": task.get_name(), "action": task.action, "status": status,
                 "seconds": round(time.perf_counter() - started, 3)}
        with open(self._path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result):
        self._done(result, "changed" if result._result.get("changed") else "ok")  # pylint: disable=protected-access

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")
