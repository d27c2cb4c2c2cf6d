# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared ACME option group and the connection it builds. Private to this collection.

The doc fragment plugins/doc_fragments/acme.py documents exactly ACME_OPTIONS; a unit test keeps
the two in step.
"""

from __future__ import annotations

import os
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    ACME_IMPORT_ERROR, HAS_ACME, AcmeConnection)

DEFAULT_STORE = "~/.certfleet"

ACME_OPTIONS: t.Dict[str, t.Dict[str, t.Any]] = {
    "directory_url": {"type": "str", "required": True},
    "store_dir": {"type": "path", "default": DEFAULT_STORE},
    "account_name": {"type": "str", "default": "default"},
    "account_key_src": {"type": "path"},
    "account_key_content": {"type": "str", "no_log": True},
    "ca_bundle": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "request_timeout": {"type": "float", "default": 20.0},
    "poll_timeout": {"type": "float", "default": 120.0},
}

ACME_MUTUALLY_EXCLUSIVE = [("account_key_src", "account_key_content")]


def acme_argument_spec(**extra: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    spec = {name: dict(opts) for name, opts in ACME_OPTIONS.items()}
    spec.update(extra)
    return spec


def check_libraries(module: t.Any) -> None:
    if not keys.HAS_CRYPTO:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(keys.CRYPTO_IMPORT_ERROR))
    if not HAS_ACME:
        module.fail_json(msg=missing_required_lib("acme (certbot's ACME library)"), exception=str(ACME_IMPORT_ERROR))


def verify_setting(params: t.Dict[str, t.Any]) -> t.Union[bool, str]:
    if params.get("ca_bundle"):
        if not os.path.isfile(params["ca_bundle"]):
            raise InputError("ca_bundle %s does not exist" % params["ca_bundle"])
        return params["ca_bundle"]
    return bool(params.get("validate_certs", True))


def given_account_key(params: t.Dict[str, t.Any]) -> t.Optional[t.Any]:
    """The account key passed as content or path, or None when the store's key is to be used."""
    if params.get("account_key_content"):
        return keys.load_key(params["account_key_content"], "account key (account_key_content)")
    if params.get("account_key_src"):
        path = params["account_key_src"]
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise InputError("Cannot read the account key %s: %s" % (path, exc.strerror))
        return keys.load_key(data, "account key %s" % path)
    return None


def key_id(key: t.Any) -> str:
    return keys.spki_sha256(key)


def connection(params: t.Dict[str, t.Any], key: t.Any) -> AcmeConnection:
    url = params["directory_url"]
    if not url.startswith(("https://", "http://")):
        raise InputError("directory_url must be an http(s) URL, got %r" % url)
    return AcmeConnection(url, key, verify=verify_setting(params),
                          timeout=params["request_timeout"], poll_timeout=params["poll_timeout"])


def open_account(params: t.Dict[str, t.Any], store: t.Any) -> AcmeConnection:
    """A connection for an existing account: key from the options or the ``store`` (a
    ``_store.store.Store``), URI from the store (looked up at the CA when the store does not know
    it). Raises InputError if there is no account."""
    url, name = params["directory_url"], params["account_name"]
    key = given_account_key(params)
    stored_pem, stored = store.read_account(url, name)
    if key is None:
        if stored_pem is None:
            raise InputError("No account key for account %r at %s in the store %s: run "
                             "certfleet.acme.account first or pass account_key_src/account_key_content"
                             % (name, url, store.root))
        key = keys.load_key(stored_pem, "stored account key")
    conn = connection(params, key)
    if stored and stored.get("uri") and stored.get("key_id") == key_id(key):
        conn.account_uri = stored["uri"]
        conn.account_uri_cached = True
        return conn
    found = conn.find_account()
    if found is None:
        raise InputError("The ACME server has no account for this key: run certfleet.acme.account "
                         "with state=present first")
    return conn


__all__ = ["ACME_OPTIONS", "ACME_MUTUALLY_EXCLUSIVE", "acme_argument_spec", "check_libraries",
           "connection", "open_account", "given_account_key", "key_id", "StoreError"]
