# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-certificate locks in the store, with safe stale-lock breaking. Private to this collection.

A lock is ``<lock_dir>/<name>.lock``, holding JSON ``{host, pid, start, time, token}``:

- acquire: the holder is written to a private temporary file first, then hard-linked to the lock
  path; ``link()`` fails when the lock exists, so a lock file is never seen empty or half written.
- break: a waiter that judges a lock stale (holder on this host and its process gone, or the lock
  older than ``stale_after``; a holder on another host is judged by age only) takes the short
  breaker lock ``<name>.lock.break`` and removes the lock only if it is still the exact file it
  judged (same inode and token), so two waiters cannot both break it, nor break a new holder's.
- release: only if the lock still carries our token.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import socket
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError

DEFAULT_WAIT = 60.0    # how long a run waits for a certificate another run holds
BREAK_STALE = 30.0     # a breaker lock older than this was left by a killed breaker
UNREADABLE_GRACE = 30.0  # a lock file we cannot parse (not written by this code) is stale after this


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start(pid: int) -> t.Optional[str]:
    """The start time of ``pid`` in clock ticks since boot (Linux), so a reused pid is told apart."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def is_stale(holder: t.Optional[dict], now: float, stale_after: float, hostname: str,
             mtime: t.Optional[float] = None) -> bool:
    """Whether a lock may be broken: its holder is gone (same host: dead pid or a reused pid) or
    the lock is older than ``stale_after`` (the only rule for a holder on another host)."""
    if not holder:
        return mtime is not None and now - mtime > UNREADABLE_GRACE
    if now - float(holder.get("time", 0)) > stale_after:
        return True
    if holder.get("host") == hostname and isinstance(holder.get("pid"), int):
        if not _pid_alive(holder["pid"]):
            return True
        start = holder.get("start")
        return bool(start) and process_start(holder["pid"]) not in (None, start)
    return False


def _read_exact(path: str) -> t.Tuple[t.Optional[int], t.Optional[dict], t.Optional[float]]:
    """``(inode, holder, mtime)`` of the file at ``path`` read through one descriptor; inode None if absent."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        raise StoreError("Cannot read the lock %s: %s" % (path, exc.strerror))
    try:
        info = os.fstat(fd)
        raw = os.read(fd, 65536)
    finally:
        os.close(fd)
    try:
        holder = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        holder = None
    return info.st_ino, holder if isinstance(holder, dict) else None, info.st_mtime


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class LockSet(object):
    """Locks for several certificate names, taken in sorted order (no deadlock between runs)."""

    def __init__(self, lock_dir: str, wait: float = DEFAULT_WAIT, stale_after: float = 3600.0,
                 warn: t.Callable[[str], None] = lambda msg: None,
                 sleep: t.Callable[[float], None] = time.sleep,
                 clock: t.Callable[[], float] = time.time, poll: float = 0.2) -> None:
        self.lock_dir = lock_dir
        self.wait = wait
        self.stale_after = stale_after
        self.warn = warn
        self._sleep = sleep
        self._clock = clock
        self.poll = poll
        self.held: t.List[t.Tuple[str, str]] = []   # (path, token)
        self.hostname = socket.gethostname()

    def _path(self, name: str) -> str:
        return os.path.join(self.lock_dir, name + ".lock")

    def _holder(self) -> t.Tuple[bytes, str]:
        token = secrets.token_hex(16)
        pid = os.getpid()
        return json.dumps({"pid": pid, "host": self.hostname, "start": process_start(pid),
                           "time": self._clock(), "token": token}).encode(), token

    def _try_link(self, path: str) -> t.Optional[str]:
        """Put a complete holder file in place at ``path``; return our token, or None if held."""
        data, token = self._holder()
        tmp = "%s.%s.tmp" % (path, token)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return None
        except OSError as exc:
            raise StoreError("Cannot create the lock %s: %s" % (path, exc.strerror))
        finally:
            _unlink_quietly(tmp)
        return token

    def _break(self, path: str, inode: int, holder: t.Optional[dict]) -> bool:
        """Remove the lock at ``path`` if it is still the file judged stale; True if we did."""
        guard = path + ".break"
        try:
            fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            g_inode, _g, g_mtime = _read_exact(guard)
            if g_inode is not None and g_mtime is not None and self._clock() - g_mtime > BREAK_STALE:
                self._remove_if_same(guard, g_inode)
            return False
        os.close(fd)
        try:
            now_inode, now_holder, _mtime = _read_exact(path)
            if now_inode != inode or (now_holder or {}).get("token") != (holder or {}).get("token"):
                return False   # released or broken meanwhile: judge again
            return self._remove_if_same(path, inode)
        finally:
            _unlink_quietly(guard)

    def _remove_if_same(self, path: str, inode: int) -> bool:
        """Rename ``path`` aside and delete it if it is the file ``inode``; put it back otherwise."""
        aside = "%s.%s.broken" % (path, secrets.token_hex(8))
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if os.stat(aside).st_ino == inode:
            os.unlink(aside)
            return True
        try:
            os.link(aside, path)   # not ours to remove: restore it (fails only if a new lock exists)
        except FileExistsError:
            pass
        os.unlink(aside)
        return False

    def acquire(self, name: str) -> None:
        path = self._path(name)
        deadline = self._clock() + self.wait
        interval = min(self.poll, 0.01)
        while True:
            token = self._try_link(path)
            if token is not None:
                self.held.append((path, token))
                return
            inode, holder, mtime = _read_exact(path)
            if inode is None:
                continue   # released between our link and our read
            if is_stale(holder, self._clock(), self.stale_after, self.hostname, mtime):
                if self._break(path, inode, holder):
                    self.warn("Broke the stale lock of certificate %s held by %s"
                              % (name, _describe(holder)))
                continue
            if self._clock() >= deadline:
                raise StoreError("Certificate %s is locked by another run (%s); waited %.0f s"
                                 % (name, _describe(holder), self.wait), lock=path)
            self._sleep(interval * (0.5 + random.random()))
            interval = min(interval * 2, self.poll)

    def release(self) -> None:
        while self.held:
            path, token = self.held.pop()
            inode, holder, _mtime = _read_exact(path)
            if inode is None or (holder or {}).get("token") != token:
                self.warn("The lock %s was no longer ours (broken as stale); left it alone" % path)
                continue
            self._remove_if_same(path, inode)


def _describe(holder: t.Optional[dict]) -> str:
    if not holder:
        return "an unreadable lock file"
    return "pid %s on %s since %s" % (holder.get("pid"), holder.get("host"), time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(holder.get("time", 0)))))


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
