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


def decommission(store: Store, names: t.Sequence[str], check_mode: bool = False,
                 now: t.Optional[str] = None) -> t.Tuple[bool, t.List[t.Dict[str, t.Any]]]:
    """The store's record of certificates that are decommissioned: per name whether the store
    knows it, its serial and revocation, and ``decommissioned_at`` (recorded once, in meta.json;
    the set itself stays as a record). A name the store does not know is reported, not an error."""
    out, changed = [], False
    for name in names:
        validate_certificate_name(name)
        stored = store.read_set(name)
        meta = stored["meta"]
        if meta is None or not stored["cert"]:
            out.append({"name": name, "known": False, "serial": None, "revoked_at": None,
                        "revocation_reason": None, "decommissioned_at": None, "changed": False})
            continue
        serial = x509.parse_certificate_pem(stored["cert"])["serial"]
        when = meta.get("decommissioned_at")
        if not when:
            changed = True
            when = now or iso(utcnow())
            if not check_mode:
                when = store.record_revocation(name, {"decommissioned_at": when})["decommissioned_at"]
        out.append({"name": name, "known": True, "serial": serial, "revoked_at": meta.get("revoked_at"),
                    "revocation_reason": meta.get("revocation_reason"),
                    "decommissioned_at": when if (meta.get("decommissioned_at") or not check_mode) else None,
                    "changed": not meta.get("decommissioned_at")})
    return changed, out
