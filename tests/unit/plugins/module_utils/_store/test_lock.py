from __future__ import annotations

import json
import os
import socket

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._store.lock import LockSet, is_stale, locked


def test_lock_is_exclusive_and_released(tmp_path):
    with locked(str(tmp_path), ["b", "a"]) as held:
        assert sorted(os.listdir(str(tmp_path))) == ["a.lock", "b.lock"]
        other = LockSet(str(tmp_path), wait=0.3)
        with pytest.raises(StoreError, match="locked by another run"):
            other.acquire("a")
        assert len(held.held) == 2
    assert os.listdir(str(tmp_path)) == []


def test_stale_lock_of_dead_process_is_broken_with_warning(tmp_path):
    path = tmp_path / "c.lock"
    path.write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": socket.gethostname(), "time": 1e12}))
    warnings = []
    locks = LockSet(str(tmp_path), wait=1, warn=warnings.append, clock=lambda: 1e12)
    locks.acquire("c")
    assert warnings and "stale lock" in warnings[0]
    locks.release()


def test_is_stale_rules():
    assert is_stale(None, 0, 10, "h")
    assert is_stale({"pid": os.getpid(), "host": "h", "time": 0}, 100, 10, "h")       # too old
    assert not is_stale({"pid": os.getpid(), "host": "h", "time": 95}, 100, 10, "h")  # alive, fresh
    assert not is_stale({"pid": 1, "host": "other", "time": 95}, 100, 10, "h")        # other host
