# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file writes, ownership checks and backup sets on nodes. Private to this collection."""

from __future__ import annotations

import errno
import grp
import hashlib
import os
import pwd
import re
import stat
import tempfile
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError

BACKUP_SUFFIX = ".certfleet-prev"
# path -> (content, mode, uid, gid) of a file before a change, None when it did not exist.
Snapshot = t.Dict[str, t.Optional[t.Tuple[bytes, int, int, int]]]
_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")


def parse_mode(mode: t.Union[str, int, None], default: int) -> int:
    """An octal mode from an option ('0644', '644' or an int as YAML gives it)."""
    if mode is None or mode == "":
        return default
    if isinstance(mode, int):
        value = mode
    elif isinstance(mode, str) and _MODE_RE.fullmatch(mode):
        value = int(mode, 8)
    else:
        raise InputError("mode %r is not an octal mode such as '0644'" % (mode,))
    if not 0 <= value <= 0o7777:
        raise InputError("mode %r is out of range" % (mode,))
    return value


def key_file_mode(mode: t.Union[str, int, None], what: str) -> int:
    """The mode of a file that holds a private key: the option's mode (default 0600), refused when
    it would let the group or others read or write the file (or sets special bits)."""
    value = parse_mode(mode, 0o600)
    if value & ~0o700 or not value & 0o400:
        raise InputError("mode %s is not allowed for %s, which holds the private key: use 0600 or "
                         "0400 (never readable by group or others)" % (format(value, "04o"), what))
    return value


def check_path(value: t.Any, option: str) -> str:
    """An absolute path option without NUL or line breaks (one line of a list file)."""
    if not isinstance(value, str) or not os.path.isabs(value) or any(c in value for c in "\0\r\n"):
        raise InputError("%s must be an absolute path on one line, got %r"
                         % (option, value if not isinstance(value, str) or len(value) <= 80
                            else value[:80] + "..."))
    return value


def resolve_owner(owner: t.Optional[t.Union[str, int]]) -> t.Optional[int]:
    """The uid for a user name or number; None leaves ownership alone."""
    if owner is None or owner == "":
        return None
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(str(owner)).pw_uid
    except KeyError:
        raise InputError("user %r does not exist on this host" % owner) from None


def resolve_group(group: t.Optional[t.Union[str, int]]) -> t.Optional[int]:
    """The gid for a group name or number; None leaves the group alone."""
    if group is None or group == "":
        return None
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(str(group)).gr_gid
    except KeyError:
        raise InputError("group %r does not exist on this host" % group) from None


def read_bytes(path: str) -> t.Optional[bytes]:
    """The content of ``path``, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TargetError("cannot read %s: %s" % (path, exc.strerror or exc), path=path) from None


def sha256_file(path: str) -> t.Optional[str]:
    """SHA-256 (hex) of the file at ``path``, or None if it does not exist."""
    data = read_bytes(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


def attrs_match(path: str, mode: t.Optional[int], uid: t.Optional[int] = None,
                gid: t.Optional[int] = None) -> bool:
    """Whether ``path`` exists with this mode, owner and group (None means "any")."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if mode is not None and stat.S_IMODE(info.st_mode) != mode:
        return False
    if uid is not None and info.st_uid != uid:
        return False
    return gid is None or info.st_gid == gid


def file_needs_update(path: str, data: bytes, mode: int, uid: t.Optional[int] = None,
                      gid: t.Optional[int] = None) -> bool:
    """Whether ``path`` is not yet a regular file with exactly this content, mode and owner."""
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isfile(path)):
        return True
    return read_bytes(path) != data or not attrs_match(path, mode, uid, gid)


def set_attrs(path: str, mode: int, uid: t.Optional[int] = None, gid: t.Optional[int] = None) -> bool:
    """Apply mode/owner/group to an existing path; return whether anything changed."""
    if attrs_match(path, mode, uid, gid):
        return False
    try:
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(path, mode)
    except OSError as exc:
        raise TargetError("cannot set mode/owner of %s: %s" % (path, exc.strerror or exc),
                          path=path) from None
    return True


def ensure_dir(path: str, mode: int, uid: t.Optional[int] = None, gid: t.Optional[int] = None,
               check_mode: bool = False) -> bool:
    """Create ``path`` (and missing parents, 0755) with ``mode`` and owner; return whether it did.

    An existing directory, or a symlink to one, is left exactly as it is: its mode and owner are
    the administrator's (a 0700 directory stays 0700), and nothing follows a link to change them.
    """
    if os.path.isdir(path):
        return False
    if os.path.lexists(path):
        raise TargetError("%s exists and is not a directory" % path, path=path)
    if check_mode:
        return True
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        ensure_dir(parent, 0o755)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    except OSError as exc:
        raise TargetError("cannot create directory %s: %s" % (path, exc.strerror or exc),
                          path=path) from None
    set_attrs(path, mode, uid, gid)  # mkdir's mode is filtered by the umask
    return True


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stage_file(path: str, data: bytes, mode: int, uid: t.Optional[int] = None,
               gid: t.Optional[int] = None) -> str:
    """Write ``data`` to a temporary file next to ``path`` (mode and owner set before the content
    goes in, then fsync); return the temporary path for :func:`commit_staged`."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise TargetError("cannot create a temporary file in %s: %s" % (directory, exc.strerror or exc),
                          path=path) from None
    try:
        try:
            os.fchmod(fd, mode)
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise TargetError("cannot write %s: %s" % (path, exc.strerror or exc), path=path) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def commit_staged(staged: t.Sequence[t.Tuple[str, str]]) -> None:
    """Rename every ``(tmp, path)`` pair into place, then fsync the directories."""
    directories = set()
    try:
        for tmp, path in staged:
            os.replace(tmp, path)
            directories.add(os.path.dirname(os.path.abspath(path)))
    except OSError as exc:
        discard_staged(staged)
        raise TargetError("cannot rename into %s: %s" % (exc.filename, exc.strerror or exc)) from None
    for directory in sorted(directories):
        _fsync_dir(directory)


def discard_staged(staged: t.Sequence[t.Tuple[str, str]]) -> None:
    for tmp, _path in staged:
        _unlink_quietly(tmp)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(path: str, data: bytes, mode: int, owner: t.Optional[t.Union[str, int]] = None,
                 group: t.Optional[t.Union[str, int]] = None) -> None:
    """Replace ``path`` atomically: readers see the old or the new file, never a partial one."""
    tmp = stage_file(path, data, mode, resolve_owner(owner), resolve_group(group))
    commit_staged([(tmp, path)])


def remove_file(path: str) -> bool:
    """Remove ``path`` if it exists; return whether it did."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise TargetError("%s is a directory, expected a file" % path, path=path) from None
        raise TargetError("cannot remove %s: %s" % (path, exc.strerror or exc), path=path) from None
    return True


def _copy_atomic(source: str, dest: str) -> None:
    """Copy content, mode and (as root) ownership of ``source`` to ``dest`` atomically."""
    data = read_bytes(source)
    if data is None:
        raise TargetError("%s disappeared while copying it" % source, path=source)
    info = os.stat(source)
    owned = os.geteuid() == 0
    tmp = stage_file(dest, data, stat.S_IMODE(info.st_mode),
                     info.st_uid if owned else None, info.st_gid if owned else None)
    commit_staged([(tmp, dest)])


def _same_file(one: str, two: str) -> bool:
    """Same content and mode (and owner when we could set it)."""
    if read_bytes(one) != read_bytes(two):
        return False
    info_one, info_two = os.stat(one), os.stat(two)
    if stat.S_IMODE(info_one.st_mode) != stat.S_IMODE(info_two.st_mode):
        return False
    if os.geteuid() == 0:
        return (info_one.st_uid, info_one.st_gid) == (info_two.st_uid, info_two.st_gid)
    return True


def backup_path(path: str) -> str:
    return path + BACKUP_SUFFIX


def backup_set(paths: t.Sequence[str], backup_of: t.Callable[[str], str] = backup_path) -> t.List[str]:
    """Copy each existing file of a set to its backup (default ``<path>.certfleet-prev``).

    A backup left from an older set is removed when its file no longer exists, so the backups
    always describe one consistent set. Returns the backups written.
    """
    written = []
    for path in paths:
        if os.path.isfile(path):
            _copy_atomic(path, backup_of(path))
            written.append(backup_of(path))
        else:
            remove_file(backup_of(path))
    return written


def has_backup(paths: t.Sequence[str], backup_of: t.Callable[[str], str] = backup_path) -> bool:
    return any(os.path.isfile(backup_of(path)) for path in paths)


def restore_set(paths: t.Sequence[str], dry_run: bool = False,
                backup_of: t.Callable[[str], str] = backup_path) -> bool:
    """Restore a set saved by :func:`backup_set`; return whether anything changed (or would).

    Files without a backup did not exist when the set was saved and are removed. The backups
    stay in place, so a second restore changes nothing. Without any backup nothing happens.
    """
    if not has_backup(paths, backup_of):
        return False
    changed = False
    for path in paths:
        saved = backup_of(path)
        if os.path.isfile(saved):
            if os.path.isfile(path) and _same_file(saved, path):
                continue
            changed = True
            if not dry_run:
                _copy_atomic(saved, path)
        elif os.path.lexists(path):
            changed = True
            if not dry_run:
                remove_file(path)
    return changed


def snapshot(paths: t.Iterable[str]) -> Snapshot:
    """Content, mode and owner of each path (None when absent), for :func:`restore_snapshot`."""
    saved = {}  # type: Snapshot
    for path in paths:
        data = read_bytes(path)
        if data is None:
            saved[path] = None
        else:
            info = os.stat(path)
            saved[path] = (data, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    return saved


def restore_snapshot(saved: Snapshot, order: t.Optional[t.Sequence[str]] = None) -> t.List[str]:
    """Put the files of a :func:`snapshot` back exactly (removing files that did not exist);
    return the paths that had to be put back."""
    restored = []
    for path in order if order is not None else sorted(saved):
        before = saved.get(path)
        if before is None:
            if os.path.lexists(path):
                remove_file(path)
                restored.append(path)
            continue
        data, mode, uid, gid = before
        if read_bytes(path) == data and attrs_match(path, mode, uid, gid) and not os.path.islink(path):
            continue
        owned = os.geteuid() == 0
        tmp = stage_file(path, data, mode, uid if owned else None, gid if owned else None)
        commit_staged([(tmp, path)])
        restored.append(path)
    return restored


def missing_dirs(path: str) -> t.List[str]:
    """``path`` and its ancestors that do not exist yet, outermost first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    return missing[::-1]


def remove_empty_dirs(paths: t.Sequence[str]) -> None:
    """Remove the directories of :func:`missing_dirs` again, innermost first, if empty."""
    for path in reversed(paths):
        try:
            os.rmdir(path)
        except OSError:
            pass
