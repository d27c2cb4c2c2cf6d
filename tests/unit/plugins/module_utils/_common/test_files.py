# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_sha256_file(tmp_path):
    path = tmp_path / "a"
    assert files.sha256_file(str(path)) is None
    path.write_bytes(b"hello")
    assert files.sha256_file(str(path)) == hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize("value, expected", [("0644", 0o644), ("600", 0o600), (0o640, 0o640),
                                             (None, 0o755), ("", 0o755), ("01777", 0o1777)])
def test_parse_mode(value, expected):
    assert files.parse_mode(value, 0o755) == expected


@pytest.mark.parametrize("value", ["u+rw", "0999", "12345", 0o17777, "rw-r--r--"])
def test_parse_mode_rejects(value):
    with pytest.raises(InputError):
        files.parse_mode(value, 0o644)


def test_write_atomic_mode_and_content(tmp_path):
    path = str(tmp_path / "key.pem")
    old_umask = os.umask(0o077)
    try:
        files.write_atomic(path, b"one", 0o644)
    finally:
        os.umask(old_umask)
    assert open(path, "rb").read() == b"one"
    assert _mode(path) == 0o644
    files.write_atomic(path, b"two", 0o600)
    assert open(path, "rb").read() == b"two" and _mode(path) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["key.pem"]  # no temporary files left


def test_write_atomic_replaces_symlink_not_target(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    files.write_atomic(str(link), b"new", 0o644)
    assert target.read_bytes() == b"keep"
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_write_atomic_owner_by_name(tmp_path):
    import grp
    import pwd
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    path = str(tmp_path / "f")
    files.write_atomic(path, b"x", 0o640, owner=user, group=group)
    assert files.attrs_match(path, 0o640, os.geteuid(), os.getegid())
    with pytest.raises(InputError, match="does not exist"):
        files.write_atomic(path, b"x", 0o640, owner="no-such-user-certfleet")
    with pytest.raises(InputError, match="does not exist"):
        files.resolve_group("no-such-group-certfleet")


def test_write_atomic_missing_directory(tmp_path):
    with pytest.raises(TargetError, match="temporary file"):
        files.write_atomic(str(tmp_path / "missing" / "f"), b"x", 0o644)


def test_file_needs_update(tmp_path):
    path = str(tmp_path / "f")
    assert files.file_needs_update(path, b"x", 0o644)
    files.write_atomic(path, b"x", 0o644)
    assert not files.file_needs_update(path, b"x", 0o644)
    assert files.file_needs_update(path, b"y", 0o644)
    assert files.file_needs_update(path, b"x", 0o600)
    assert files.file_needs_update(path, b"x", 0o644, uid=os.geteuid() + 1)


def test_ensure_dir(tmp_path):
    path = str(tmp_path / "a" / "b")
    assert files.ensure_dir(path, 0o700, check_mode=True)
    assert not os.path.exists(path)
    old_umask = os.umask(0o077)
    try:
        assert files.ensure_dir(path, 0o755)
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o755 and _mode(tmp_path / "a") == 0o755
    assert not files.ensure_dir(path, 0o755)
    # An existing directory keeps its mode (issue 10), in check mode too.
    assert not files.ensure_dir(path, 0o700, check_mode=True) and _mode(path) == 0o755
    assert not files.ensure_dir(path, 0o700) and _mode(path) == 0o755
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(TargetError, match="not a directory"):
        files.ensure_dir(str(tmp_path / "file"), 0o755)


def test_staged_writes_are_invisible_until_commit(tmp_path):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    files.write_atomic(one, b"old", 0o644)
    staged = [(files.stage_file(one, b"new1", 0o644), one), (files.stage_file(two, b"new2", 0o600), two)]
    assert open(one, "rb").read() == b"old" and not os.path.exists(two)
    files.commit_staged(staged)
    assert open(one, "rb").read() == b"new1" and open(two, "rb").read() == b"new2"
    assert _mode(two) == 0o600
    staged = [(files.stage_file(one, b"never", 0o644), one)]
    files.discard_staged(staged)
    assert sorted(os.listdir(str(tmp_path))) == ["one", "two"]


def test_backup_and_restore_set(tmp_path):
    paths = [str(tmp_path / name) for name in ("cert.pem", "chain.pem", "privkey.pem")]
    assert files.backup_set(paths) == [] and not files.has_backup(paths)
    assert files.restore_set(paths) is False
    files.write_atomic(paths[0], b"cert-1", 0o644)
    files.write_atomic(paths[2], b"key-1", 0o600)
    assert files.backup_set(paths) == [paths[0] + ".certfleet-prev", paths[2] + ".certfleet-prev"]
    assert _mode(paths[2] + ".certfleet-prev") == 0o600
    # the set changes: a chain appears, cert and key are replaced
    files.write_atomic(paths[0], b"cert-2", 0o644)
    files.write_atomic(paths[1], b"chain-2", 0o644)
    files.write_atomic(paths[2], b"key-2", 0o600)
    assert files.restore_set(paths, dry_run=True) is True
    assert open(paths[0], "rb").read() == b"cert-2"
    assert files.restore_set(paths) is True
    assert open(paths[0], "rb").read() == b"cert-1"
    assert open(paths[2], "rb").read() == b"key-1" and _mode(paths[2]) == 0o600
    assert not os.path.exists(paths[1])  # did not exist in the saved set
    assert files.restore_set(paths) is False  # backups stay: a second restore is a no-op


def test_backup_set_drops_stale_backups(tmp_path):
    paths = [str(tmp_path / "cert.pem"), str(tmp_path / "chain.pem")]
    for path in paths:
        files.write_atomic(path, b"v1", 0o644)
    files.backup_set(paths)
    os.unlink(paths[1])
    files.backup_set(paths)
    assert os.path.exists(paths[0] + ".certfleet-prev")
    assert not os.path.exists(paths[1] + ".certfleet-prev")


def test_restore_notices_mode_change(tmp_path):
    path = str(tmp_path / "privkey.pem")
    files.write_atomic(path, b"k", 0o600)
    files.backup_set([path])
    os.chmod(path, 0o644)
    assert files.restore_set([path]) is True and _mode(path) == 0o600
