# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: records when every task starts and when it ends on every host.

Enabled by bench/driver.py for the profiled certfleet runs only (ANSIBLE_CALLBACK_PLUGINS=
bench/callback_plugins, ANSIBLE_CALLBACKS_ENABLED=bench_profile); writes JSON to the file
named by BENCH_PROFILE_FILE when the playbook ends. Not part of the collection.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_profile
type: aggregate
short_description: task and host timings for the certfleet benchmark
description:
  - Writes one record per task (start, end) and per task and host (start, end, status) as JSON.
requirements:
  - environment variable BENCH_PROFILE_FILE
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._t0 = time.monotonic()
        self._tasks = []
        self._by_uuid = {}

    def _now(self):
        return round(time.monotonic() - self._t0, 4)

    def _task(self, task):
        uuid = task._uuid
        rec = self._by_uuid.get(uuid)
        if rec is None:
            rec = {"name": task.get_name(), "action": task.action, "start": self._now(), "end": None, "hosts": {}}
            self._by_uuid[uuid] = rec
            self._tasks.append(rec)
        return rec

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def v2_runner_on_start(self, host, task):
        self._task(task)["hosts"].setdefault(host.get_name(), {})["start"] = self._now()

    def _done(self, result, status):
        now = self._now()
        rec = self._task(result._task)
        entry = rec["hosts"].setdefault(result._host.get_name(), {})
        entry.setdefault("start", now)
        entry["end"] = now
        entry["status"] = status
        rec["end"] = now

    def v2_runner_on_ok(self, result):
        self._done(result, "changed" if result._result.get("changed") else "ok")
        # certfleet.acme.order (state=valid) reports per certificate how long its order took.
        seconds = [c["seconds"] for c in result._result.get("certificates") or []
                   if isinstance(c, dict) and isinstance(c.get("seconds"), (int, float))]
        if seconds:
            self._task(result._task)["acme_seconds"] = seconds

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._done(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_PROFILE_FILE")
        if not path:
            return
        with open(path, "w") as handle:
            json.dump({"total": self._now(), "tasks": self._tasks}, handle, indent=1)
