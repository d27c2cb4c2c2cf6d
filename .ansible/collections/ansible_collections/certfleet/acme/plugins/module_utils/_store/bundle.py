# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issued bundles read from the store and checked before they go to nodes. Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import validate_certificate_name
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys, x509
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store


def read_bundles(store: Store, names: t.Sequence[str]) -> t.List[t.Dict[str, t.Any]]:
    """Key, certificate and chain of every name; the key must match and the certificate be valid now.

    Everything is checked before anything is returned, so a bad bundle never reaches a node.
    """
    if not names:
        raise InputError("names must list at least one certificate")
    now = utcnow()
    bundles = []
    for name in names:
        validate_certificate_name(name)
        stored = store.read_set(name)   # one version: never a key of one set and a cert of another
        key_pem, cert_pem, chain_pem = stored["privkey"], stored["cert"], stored["chain"]
        if not key_pem or not cert_pem:
            raise StoreError("The store %s has no issued certificate %s: run certfleet.acme.order first"
                             % (store.root, name))
        info = x509.parse_certificate_pem(cert_pem)
        if keys.spki_sha256(keys.load_key(key_pem, "stored key of %s" % name)) != info["spki_sha256"]:
            raise StoreError("The stored key of %s does not match its certificate" % name)
        if not info["not_before"] <= now < info["not_after"]:
            raise StoreError("The stored certificate %s is not valid now (%s to %s)"
                             % (name, iso(info["not_before"]), iso(info["not_after"])))
        bundles.append({"name": name, "cert": cert_pem, "chain": chain_pem or "", "privatekey": key_pem,
                        "serial": info["serial"], "names": info["names"], "not_after": iso(info["not_after"])})
    return bundles
