# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store directory on the store host: accounts, certificates, pending orders. Private to this collection."""

from __future__ import annotations

import json
import os
import re
import secrets
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    validate_certificate_name, validate_safe_name)

DIR_MODE = 0o700
KEY_MODE = 0o600
PUBLIC_MODE = 0o644

CERT_FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem")
SET_FILES = CERT_FILES + ("meta.json",)
CURRENT = "current"
VERSIONS = "versions"
PARTIAL = ".partial-"


def directory_slug(directory_url: str) -> str:
    """A readable directory name for an ACME directory URL (host, port and path)."""
    text = re.sub(r"^[a-z]+://", "", directory_url.strip().lower())
    return re.sub(r"[^a-z0-9.-]+", "_", text).strip("_.") or "directory"


def _store_errors(call: t.Callable[[], t.Any]) -> t.Any:
    """The file helpers raise TargetError; in the store that is a StoreError."""
    try:
        return call()
    except TargetError as exc:
        raise StoreError("Store: " + exc.msg, **exc.details)


def write_atomic(path: str, data: t.Union[str, bytes], mode: int) -> bool:
    """Write ``data`` to ``path`` via a temporary file and rename; False if already identical."""
    raw = data.encode() if isinstance(data, str) else data
    if not _store_errors(lambda: files.file_needs_update(path, raw, mode)):
        return False
    _store_errors(lambda: files.write_atomic(path, raw, mode))
    return True


def read_text(path: str) -> t.Optional[str]:
    raw = _store_errors(lambda: files.read_bytes(path))
    return None if raw is None else raw.decode()


def read_json(path: str) -> t.Optional[t.Dict[str, t.Any]]:
    text = read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise StoreError("The store file %s is not valid JSON; move it away to start over" % path)


def _dumps(data: t.Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(path: str, data: t.Dict[str, t.Any]) -> bool:
    return write_atomic(path, _dumps(data), PUBLIC_MODE)


def remove(path: str) -> bool:
    return _store_errors(lambda: files.remove_file(path))


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create ``path`` (which must not exist) with ``mode`` and ``data``, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)   # the umask filters the mode given to open()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        for entry in os.listdir(path):
            _remove_tree(os.path.join(path, entry))
        os.rmdir(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _replace_symlink(target: str, path: str) -> None:
    """Point the symlink ``path`` at ``target`` in one rename (readers see the old or the new one)."""
    tmp = os.path.join(os.path.dirname(path), ".%s.%s.tmp" % (os.path.basename(path), secrets.token_hex(6)))
    os.symlink(target, tmp)
    os.replace(tmp, path)


def _version_number(entry: str) -> t.Optional[int]:
    return int(entry) if entry.isdigit() else None


class Store(object):
    """Layout::

        <root>/accounts/<directory-slug>/<account>/key.pem, account.json
        <root>/certs/<name>/versions/<n>/privkey.pem, cert.pem, chain.pem, fullchain.pem, meta.json
        <root>/certs/<name>/current -> versions/<n>        (switched by one rename)
        <root>/certs/<name>/privkey.pem ... meta.json -> current/...   (stable paths for people)
        <root>/certs/<name>/pending.json, pending-key.pem   (an order not yet finished)
        <root>/certs/<name>/lease.json, challenges.json     (the run holding it; challenges handed out)
        <root>/certs/<name>/ari.json                        (the CA's renewalInfo answer, kept until Retry-After)
        <root>/locks/<name>.lock

    A certificate set changes as a whole: a new version directory is written complete under a
    temporary name, renamed to its number, and ``current`` is switched to it by one rename. A
    crash leaves the old set or the new one. The next write removes what a crash left (temporary
    files, partial or unreferenced versions) and keeps one previous version. The flat layout of
    older releases (regular files in ``certs/<name>/``) is read as it is and moved into
    ``versions/`` on the first write.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))

    def ensure_dir(self, *parts: str) -> str:
        """Create the directory and every missing one on the way (the store root too) with 0700."""
        path = os.path.join(self.root, *parts)
        missing = []
        here = path
        while not os.path.isdir(here):
            missing.append(here)
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
        for directory in reversed(missing):
            try:
                os.mkdir(directory, DIR_MODE)
                os.chmod(directory, DIR_MODE)   # mkdir's mode is filtered by the umask
            except FileExistsError:
                pass
            except OSError as exc:
                raise StoreError("Cannot create the store directory %s: %s" % (directory, exc.strerror))
        return path

    # accounts
    def account_dir(self, directory_url: str, account_name: str) -> str:
        validate_safe_name(account_name, "account_name")
        return os.path.join(self.root, "accounts", directory_slug(directory_url), account_name)

    def read_account(self, directory_url: str, account_name: str) -> t.Tuple[t.Optional[str], t.Optional[dict]]:
        base = self.account_dir(directory_url, account_name)
        return read_text(os.path.join(base, "key.pem")), read_json(os.path.join(base, "account.json"))

    def _ensure_account_dir(self, directory_url: str, account_name: str) -> str:
        return self.ensure_dir(os.path.relpath(self.account_dir(directory_url, account_name), self.root))

    def write_account_key(self, directory_url: str, account_name: str, key_pem: bytes) -> str:
        path = os.path.join(self._ensure_account_dir(directory_url, account_name), "key.pem")
        write_atomic(path, key_pem, KEY_MODE)
        return path

    def write_account(self, directory_url: str, account_name: str, data: dict) -> bool:
        return write_json(os.path.join(self._ensure_account_dir(directory_url, account_name), "account.json"), data)

    def remove_account(self, directory_url: str, account_name: str) -> None:
        remove(os.path.join(self.account_dir(directory_url, account_name), "account.json"))

    # account key rollover: key.pem stays the key the CA knows until it confirmed the change
    def read_staged_account_key(self, directory_url: str, account_name: str) -> t.Optional[str]:
        """The new key of a rollover begun but not committed (``key.pem.new``), or None."""
        return read_text(os.path.join(self.account_dir(directory_url, account_name), "key.pem.new"))

    def stage_account_key(self, directory_url: str, account_name: str, new_pem: bytes) -> None:
        """Before the keyChange request: the new key in ``key.pem.new``, the old one copied to
        ``key.pem.old`` (both 0600), so neither is lost whatever happens next."""
        base = self._ensure_account_dir(directory_url, account_name)
        old = read_text(os.path.join(base, "key.pem"))
        if old is not None:
            write_atomic(os.path.join(base, "key.pem.old"), old, KEY_MODE)
        write_atomic(os.path.join(base, "key.pem.new"), new_pem, KEY_MODE)

    def commit_account_key(self, directory_url: str, account_name: str, new_pem: bytes) -> None:
        """After the CA confirmed the change: ``key.pem`` becomes the new key in one rename, and
        the old key is removed."""
        base = self._ensure_account_dir(directory_url, account_name)
        staged = os.path.join(base, "key.pem.new")
        write_atomic(staged, new_pem, KEY_MODE)
        try:
            os.replace(staged, os.path.join(base, "key.pem"))
            _fsync_dir(base)
        except OSError as exc:
            raise StoreError("Cannot switch the account key in %s: %s" % (base, exc.strerror))
        remove(os.path.join(base, "key.pem.old"))

    def discard_staged_account_key(self, directory_url: str, account_name: str) -> bool:
        """Forget a rollover the CA never took (``key.pem`` is still its key); True if one was staged."""
        base = self.account_dir(directory_url, account_name)
        removed = remove(os.path.join(base, "key.pem.new"))
        return remove(os.path.join(base, "key.pem.old")) or removed

    # certificates: reading
    def cert_dir(self, name: str) -> str:
        return os.path.join(self.root, "certs", validate_certificate_name(name))

    def cert_paths(self, name: str) -> t.Dict[str, str]:
        """Paths through ``current``: they always name files of one complete set."""
        base = os.path.join(self.cert_dir(name), CURRENT)
        return {f.split(".", maxsplit=1)[0]: os.path.join(base, f) for f in CERT_FILES}

    def read_set(self, name: str) -> t.Dict[str, t.Any]:
        """The issued set ``{privkey, cert, chain, fullchain, meta}`` (values None when absent),
        all read from the one version ``current`` named when reading started."""
        base = self.cert_dir(name)
        for _attempt in range(5):
            try:
                target = os.readlink(os.path.join(base, CURRENT))
            except FileNotFoundError:
                target = None   # never written by this release: the flat layout (or nothing)
            except OSError as exc:
                raise StoreError("Cannot read %s: %s" % (os.path.join(base, CURRENT), exc.strerror))
            directory = os.path.join(base, target) if target else base
            out: t.Dict[str, t.Any] = {f.split(".", maxsplit=1)[0]: read_text(os.path.join(directory, f))
                                       for f in CERT_FILES}
            out["meta"] = read_json(os.path.join(directory, "meta.json"))
            if target is None or all(v is not None for v in out.values()):
                return out
            # the version was pruned while we read (two writes meanwhile): read the new one
        raise StoreError("The certificate set of %s keeps changing or is incomplete in %s" % (name, base))

    def read_cert(self, name: str) -> t.Tuple[t.Optional[dict], t.Optional[str]]:
        """``(meta, cert_pem)`` of the issued certificate, or ``(None, None)``."""
        got = self.read_set(name)
        if got["meta"] is None:
            return None, None
        return got["meta"], got["cert"]

    def read_key(self, name: str) -> t.Optional[str]:
        return self.read_set(name)["privkey"]

    # certificates: writing
    def _current_number(self, base: str) -> t.Optional[int]:
        try:
            target = os.readlink(os.path.join(base, CURRENT))
        except OSError:
            return None
        return _version_number(os.path.basename(target))

    def clean_leftovers(self, name: str) -> None:
        """Remove what a killed write left: temporary files, partial versions, and every version
        but ``current`` and the newest one before it."""
        base = self.cert_dir(name)
        if not os.path.isdir(base):
            return
        current = self._current_number(base)
        versions = os.path.join(base, VERSIONS)
        for entry in os.listdir(base):
            if entry.endswith(".tmp"):
                os.unlink(os.path.join(base, entry))
        if not os.path.isdir(versions):
            return
        numbers = sorted(n for n in map(_version_number, os.listdir(versions)) if n is not None)
        older = [n for n in numbers if current is not None and n < current]
        keep = {current, older[-1] if older else None}
        for entry in os.listdir(versions):
            if _version_number(entry) not in keep or _version_number(entry) is None:
                _remove_tree(os.path.join(versions, entry))

    def _stage_version(self, versions: str, number: int, contents: t.Dict[str, bytes]) -> str:
        partial = os.path.join(versions, "%s%d" % (PARTIAL, number))
        os.mkdir(partial, DIR_MODE)
        os.chmod(partial, DIR_MODE)
        for filename in SET_FILES:   # meta.json last
            _write_new(os.path.join(partial, filename), contents[filename],
                       KEY_MODE if filename == "privkey.pem" else PUBLIC_MODE)
        _fsync_dir(partial)
        final = os.path.join(versions, str(number))
        os.rename(partial, final)
        return str(number)

    def _legacy_set(self, base: str) -> t.Optional[t.Dict[str, bytes]]:
        """The files of the flat layout, when they are regular files and complete."""
        out = {}
        for filename in SET_FILES:
            path = os.path.join(base, filename)
            if os.path.islink(path) or not os.path.isfile(path):
                return None
            with open(path, "rb") as handle:
                out[filename] = handle.read()
        return out

    def write_cert(self, name: str, key_pem: bytes, cert_pem: str, chain_pem: str, meta: dict) -> None:
        """Write the issued set as a new version and switch ``current`` to it in one rename."""
        contents = {"privkey.pem": key_pem, "cert.pem": cert_pem.encode(), "chain.pem": chain_pem.encode(),
                    "fullchain.pem": (cert_pem + chain_pem).encode(), "meta.json": _dumps(meta).encode()}
        base = self.cert_dir(name)
        versions = self.ensure_dir("certs", name, VERSIONS)
        try:
            self.clean_leftovers(name)
            previous = self._current_number(base)
            numbers = [n for n in map(_version_number, os.listdir(versions)) if n is not None]
            number = max(numbers + [0]) + 1
            if previous is None:
                legacy = self._legacy_set(base)
                if legacy is not None:   # keep the flat set as the previous version
                    previous = int(self._stage_version(versions, number, legacy))
                    number += 1
            target = os.path.join(VERSIONS, self._stage_version(versions, number, contents))
            _fsync_dir(versions)
            _replace_symlink(target, os.path.join(base, CURRENT))
            for filename in SET_FILES:   # stable flat paths (and the migration of the old layout)
                flat = os.path.join(base, filename)
                link = os.path.join(CURRENT, filename)
                if not (os.path.islink(flat) and os.readlink(flat) == link):
                    _replace_symlink(link, flat)
            _fsync_dir(base)
            self.clean_leftovers(name)
        except OSError as exc:
            raise StoreError("Cannot write the certificate set of %s in %s: %s"
                             % (name, base, exc.strerror or exc))

    def record_revocation(self, name: str, fields: t.Dict[str, t.Any]) -> dict:
        """Add ``fields`` (``revoked_at``, ``revocation_reason``) to the current set's meta.json,
        replaced in one rename; return the new meta."""
        meta = self.read_set(name)["meta"]
        if meta is None:
            raise StoreError("The store %s has no certificate %s" % (self.root, name))
        meta = dict(meta, **fields)
        write_json(os.path.realpath(os.path.join(self.cert_dir(name), "meta.json")), meta)
        return meta

    def read_issued(self, name: str) -> t.Tuple[t.Optional[str], t.Optional[str]]:
        """``(cert_pem, chain_pem)`` of the issued certificate, both of one set (None when absent)."""
        got = self.read_set(name)
        return got["cert"], got["chain"]

    # pending orders, leases, challenges handed out
    def read_pending(self, name: str) -> t.Tuple[t.Optional[dict], t.Optional[str]]:
        base = self.cert_dir(name)
        return read_json(os.path.join(base, "pending.json")), read_text(os.path.join(base, "pending-key.pem"))

    def write_pending(self, name: str, pending: dict, key_pem: bytes) -> None:
        base = self.ensure_dir("certs", validate_certificate_name(name))
        write_atomic(os.path.join(base, "pending-key.pem"), key_pem, KEY_MODE)
        write_json(os.path.join(base, "pending.json"), pending)

    def clear_pending(self, name: str) -> None:
        base = self.cert_dir(name)
        remove(os.path.join(base, "pending.json"))
        remove(os.path.join(base, "pending-key.pem"))

    def read_record(self, name: str, record: str) -> t.Optional[dict]:
        """A small JSON record of a certificate (``lease``, ``challenges``, ``ari``: the CA's
        renewalInfo answer kept until its Retry-After)."""
        return read_json(os.path.join(self.cert_dir(name), record + ".json"))

    def write_record(self, name: str, record: str, data: t.Optional[dict]) -> None:
        """Write the record, or remove it when ``data`` is None."""
        path = os.path.join(self.cert_dir(name), record + ".json")
        if data is None:
            remove(path)
            return
        self.ensure_dir("certs", validate_certificate_name(name))
        write_json(path, data)
