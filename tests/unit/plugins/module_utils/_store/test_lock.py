from __future__ import annotations

import json
import multiprocessing
import os
import socket
import time

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._store.lock import LockSet, is_stale, locked

DEAD_PID = 2 ** 22 + 12345


def test_lock_is_exclusive_and_released(tmp_path):
    with locked(str(tmp_path), ["b", "a"]) as held:
        assert sorted(os.listdir(str(tmp_path))) == ["a.lock", "b.lock"]
        other = LockSet(str(tmp_path), wait=0.3)
        with pytest.raises(StoreError, match="locked by another run"):
            other.acquire("a")
        assert len(held.held) == 2
        holder = json.loads((tmp_path / "a.lock").read_text())
        assert holder["pid"] == os.getpid() and len(holder["token"]) == 32
    assert os.listdir(str(tmp_path)) == []


def test_stale_lock_of_dead_process_is_broken_with_warning(tmp_path):
    path = tmp_path / "c.lock"
    path.write_text(json.dumps({"pid": DEAD_PID, "host": socket.gethostname(), "time": 1e12}))
    warnings = []
    locks = LockSet(str(tmp_path), wait=1, warn=warnings.append, clock=lambda: 1e12)
    locks.acquire("c")
    assert warnings and "stale lock" in warnings[0]
    locks.release()
    assert os.listdir(str(tmp_path)) == []


def test_empty_fresh_lock_file_is_not_stale(tmp_path):
    """The old code created the file empty and wrote the holder after: a waiter broke it."""
    (tmp_path / "e.lock").write_text("")
    locks = LockSet(str(tmp_path), wait=0.2, poll=0.01)
    with pytest.raises(StoreError, match="unreadable lock file"):
        locks.acquire("e")
    assert (tmp_path / "e.lock").exists()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    warnings = []
    mine = LockSet(str(tmp_path), warn=warnings.append)
    mine.acquire("r")
    (tmp_path / "r.lock").write_text(json.dumps({"pid": os.getpid(), "host": "h", "time": time.time(),
                                                 "token": "someone-else"}))
    mine.release()
    assert json.loads((tmp_path / "r.lock").read_text())["token"] == "someone-else"
    assert "no longer ours" in warnings[0]


def test_is_stale_rules():
    assert not is_stale(None, 0, 10, "h")                                          # unreadable, no age
    assert not is_stale(None, 100, 10, "h", mtime=95)                              # unreadable, fresh
    assert is_stale(None, 100, 10, "h", mtime=0)                                   # unreadable, old
    assert is_stale({"pid": os.getpid(), "host": "h", "time": 0}, 100, 10, "h")       # too old
    assert not is_stale({"pid": os.getpid(), "host": "h", "time": 95}, 100, 10, "h")  # alive, fresh
    assert is_stale({"pid": os.getpid(), "host": "h", "time": 95, "start": "-1"}, 100, 10, "h")  # pid reused
    assert not is_stale({"pid": DEAD_PID, "host": "other", "time": 95}, 100, 10, "h")  # other host: age only


ROUNDS = 200
WORKERS = 8


def _worker(lock_dir, log, counter, warn_log, go):
    go.wait()
    locks = LockSet(lock_dir, wait=60, poll=0.002,
                    warn=lambda msg: _append(warn_log, msg))
    for _round in range(ROUNDS):
        locks.acquire("shared")
        _append(log, "E %d" % os.getpid())
        with open(counter) as handle:          # read-modify-write: loses counts on overlap
            value = int(handle.read() or 0)
        with open(counter, "w") as handle:
            handle.write(str(value + 1))
        _append(log, "X %d" % os.getpid())
        locks.release()


def _append(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def test_many_processes_never_overlap_and_break_only_the_dead_lock(tmp_path):
    lock_dir = tmp_path / "locks"
    lock_dir.mkdir()
    # a lock left by a killed run: every worker races to break it at the start; one may
    (lock_dir / "shared.lock").write_text(json.dumps({"pid": DEAD_PID, "host": socket.gethostname(),
                                                      "time": time.time(), "token": "dead"}))
    log, counter, warn_log = (str(tmp_path / n) for n in ("log", "counter", "warnings"))
    open(counter, "w").close()
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(str(lock_dir), log, counter, warn_log, go)) for _worker_no in range(WORKERS)]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    lines = open(log).read().split("\n")[:-1]
    overlaps = sum(1 for i in range(0, len(lines), 2)
                   if not (lines[i].startswith("E ") and lines[i + 1] == "X" + lines[i][1:]))
    assert overlaps == 0 and len(lines) == 2 * ROUNDS * WORKERS
    assert open(counter).read() == str(ROUNDS * WORKERS)
    warnings = open(warn_log).read().splitlines() if os.path.exists(warn_log) else []
    assert len(warnings) == 1 and "pid %d" % DEAD_PID in warnings[0]   # only the dead lock was broken
    assert os.listdir(str(lock_dir)) == []
