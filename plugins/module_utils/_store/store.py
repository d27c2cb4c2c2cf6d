# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store directory on the store host: accounts, certificates, pending orders. Private to this collection."""

from __future__ import annotations

import json
import os
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files

DIR_MODE = 0o700
KEY_MODE = 0o600
PUBLIC_MODE = 0o644

CERT_FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem")


def directory_slug(directory_url: str) -> str:
    """A readable directory name for an ACME directory URL (host, port and path)."""
    text = re.sub(r"^[a-z]+://", "", directory_url.strip().lower())
    return re.sub(r"[^a-z0-9.-]+", "_", text).strip("_") or "directory"


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


def write_json(path: str, data: t.Dict[str, t.Any]) -> bool:
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", PUBLIC_MODE)


def remove(path: str) -> bool:
    return _store_errors(lambda: files.remove_file(path))


class Store(object):
    """Layout::

        <root>/accounts/<directory-slug>/<account>/key.pem, account.json
        <root>/certs/<name>/privkey.pem, cert.pem, chain.pem, fullchain.pem, meta.json
        <root>/certs/<name>/pending.json, pending-key.pem   (an order not yet finished)
        <root>/locks/<name>.lock
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))

    def ensure_dir(self, *parts: str) -> str:
        path = os.path.join(self.root, *parts)
        try:
            os.makedirs(path, mode=DIR_MODE, exist_ok=True)
        except OSError as exc:
            raise StoreError("Cannot create the store directory %s: %s" % (path, exc.strerror))
        return path

    # accounts
    def account_dir(self, directory_url: str, account_name: str) -> str:
        return os.path.join(self.root, "accounts", directory_slug(directory_url), account_name)

    def read_account(self, directory_url: str, account_name: str) -> t.Tuple[t.Optional[str], t.Optional[dict]]:
        base = self.account_dir(directory_url, account_name)
        return read_text(os.path.join(base, "key.pem")), read_json(os.path.join(base, "account.json"))

    def write_account_key(self, directory_url: str, account_name: str, key_pem: bytes) -> str:
        base = self.ensure_dir("accounts", directory_slug(directory_url), account_name)
        path = os.path.join(base, "key.pem")
        write_atomic(path, key_pem, KEY_MODE)
        return path

    def write_account(self, directory_url: str, account_name: str, data: dict) -> bool:
        base = self.ensure_dir("accounts", directory_slug(directory_url), account_name)
        return write_json(os.path.join(base, "account.json"), data)

    def remove_account(self, directory_url: str, account_name: str) -> None:
        remove(os.path.join(self.account_dir(directory_url, account_name), "account.json"))

    # certificates
    def cert_dir(self, name: str) -> str:
        return os.path.join(self.root, "certs", name)

    def cert_paths(self, name: str) -> t.Dict[str, str]:
        base = self.cert_dir(name)
        return {f.split(".", maxsplit=1)[0]: os.path.join(base, f) for f in CERT_FILES}

    def read_cert(self, name: str) -> t.Tuple[t.Optional[dict], t.Optional[str]]:
        """``(meta, cert_pem)`` of the issued certificate, or ``(None, None)``."""
        base = self.cert_dir(name)
        meta = read_json(os.path.join(base, "meta.json"))
        if meta is None:
            return None, None
        return meta, read_text(os.path.join(base, "cert.pem"))

    def write_cert(self, name: str, key_pem: bytes, cert_pem: str, chain_pem: str, meta: dict) -> None:
        """Write the issued set; meta.json is written last so a crash leaves the old meta in place."""
        base = self.ensure_dir("certs", name)
        write_atomic(os.path.join(base, "privkey.pem"), key_pem, KEY_MODE)
        write_atomic(os.path.join(base, "cert.pem"), cert_pem, PUBLIC_MODE)
        write_atomic(os.path.join(base, "chain.pem"), chain_pem, PUBLIC_MODE)
        write_atomic(os.path.join(base, "fullchain.pem"), cert_pem + chain_pem, PUBLIC_MODE)
        write_json(os.path.join(base, "meta.json"), meta)

    def read_issued(self, name: str) -> t.Tuple[t.Optional[str], t.Optional[str]]:
        """``(cert_pem, chain_pem)`` of the issued certificate (None where a file is missing)."""
        paths = self.cert_paths(name)
        return read_text(paths["cert"]), read_text(paths["chain"])

    def read_pending(self, name: str) -> t.Tuple[t.Optional[dict], t.Optional[str]]:
        base = self.cert_dir(name)
        return read_json(os.path.join(base, "pending.json")), read_text(os.path.join(base, "pending-key.pem"))

    def write_pending(self, name: str, pending: dict, key_pem: bytes) -> None:
        base = self.ensure_dir("certs", name)
        write_atomic(os.path.join(base, "pending-key.pem"), key_pem, KEY_MODE)
        write_json(os.path.join(base, "pending.json"), pending)

    def clear_pending(self, name: str) -> None:
        base = self.cert_dir(name)
        remove(os.path.join(base, "pending.json"))
        remove(os.path.join(base, "pending-key.pem"))

    def read_key(self, name: str) -> t.Optional[str]:
        return read_text(os.path.join(self.cert_dir(name), "privkey.pem"))
