# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-certificate locks in the store, with stale-lock breaking. Private to this collection."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: t.Optional[dict], now: float, stale_after: float, hostname: str) -> bool:
    """A lock is stale when its holder is gone (same host, dead pid) or it is older than stale_after."""
    if not holder:
        return True
    if now - float(holder.get("time", 0)) > stale_after:
        return True
    if holder.get("host") == hostname and isinstance(holder.get("pid"), int):
        return not _pid_alive(holder["pid"])
    return False


class LockSet(object):
    """Locks for several certificate names, taken in sorted order (no deadlock between runs)."""

    def __init__(self, lock_dir: str, wait: float = 60.0, stale_after: float = 3600.0,
                 warn: t.Callable[[str], None] = lambda msg: None,
                 sleep: t.Callable[[float], None] = time.sleep,
                 clock: t.Callable[[], float] = time.time) -> None:
        self.lock_dir = lock_dir
        self.wait = wait
        self.stale_after = stale_after
        self.warn = warn
        self._sleep = sleep
        self._clock = clock
        self.held: t.List[str] = []
        self.hostname = socket.gethostname()

    def _path(self, name: str) -> str:
        return os.path.join(self.lock_dir, name + ".lock")

    def _read(self, path: str) -> t.Optional[dict]:
        try:
            with open(path) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def acquire(self, name: str) -> None:
        path = self._path(name)
        deadline = self._clock() + self.wait
        me = json.dumps({"pid": os.getpid(), "host": self.hostname, "time": self._clock()}).encode()
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                holder = self._read(path)
                if is_stale(holder, self._clock(), self.stale_after, self.hostname):
                    self.warn("Breaking the stale lock of certificate %s held by %s" % (name, holder))
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                    continue
                if self._clock() >= deadline:
                    raise StoreError("Certificate %s is locked by another run (%s); waited %.0f s"
                                     % (name, holder, self.wait), lock=path)
                self._sleep(0.2)
                continue
            except OSError as exc:
                raise StoreError("Cannot create the lock %s: %s" % (path, exc.strerror))
            with os.fdopen(fd, "wb") as handle:
                handle.write(me)
            self.held.append(path)
            return

    def release(self) -> None:
        while self.held:
            path = self.held.pop()
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


@contextlib.contextmanager
def locked(lock_dir: str, names: t.Iterable[str], **kwargs: t.Any) -> t.Iterator[LockSet]:
    try:
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StoreError("Cannot create the lock directory %s: %s" % (lock_dir, exc.strerror))
    locks = LockSet(lock_dir, **kwargs)
    try:
        for name in sorted(set(names)):
            locks.acquire(name)
        yield locks
    finally:
        locks.release()
