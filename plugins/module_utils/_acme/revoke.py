# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate revocation (RFC 8555 section 7.6, revokeCert) by stored name or by certificate,
signed by the account or, for keyCompromise, by the certificate's own key. Private to this collection.

The store (``_store.store.Store``) is passed in by the module; this layer does not import it.
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys, x509 as pki_x509
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import connection, open_account

try:
    from acme import messages
    from cryptography import x509
except ImportError:  # pragma: no cover - reported by the module
    messages = x509 = None

# RFC 5280 CRLReason codes the CA accepts from subscribers (Let's Encrypt's list).
REASONS = {"unspecified": 0, "keyCompromise": 1, "superseded": 4, "cessationOfOperation": 5}
ALREADY_REVOKED = "urn:ietf:params:acme:error:alreadyRevoked"


def _read(path: str, what: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("ascii", "replace")
    except OSError as exc:
        raise InputError("Cannot read the %s %s: %s" % (what, path, exc.strerror))


def load_target(params: t.Dict[str, t.Any], store: t.Any) -> t.Dict[str, t.Any]:
    """The certificate to revoke and, for keyCompromise, its key; every input checked first."""
    reason = params["reason"]
    name = params.get("name")
    key_pem = params.get("private_key_content") or (
        _read(params["private_key_src"], "private key") if params.get("private_key_src") else None)
    meta = None
    if name:
        got = store.read_set(name)
        if not got["cert"] or got["meta"] is None:
            raise InputError("The store %s has no certificate named %s" % (store.root, name))
        cert_pem, meta = got["cert"], got["meta"]
        key_pem = key_pem or got["privkey"]
    else:
        cert_pem = params.get("certificate_content") or _read(params["certificate_src"], "certificate")
    parts = pki_x509.split_pem_chain(cert_pem)
    if not parts:
        raise InputError("The certificate to revoke is not a PEM certificate")
    cert = x509.load_pem_x509_certificate(parts[0].encode())
    info = pki_x509.parse_certificate_pem(parts[0])
    key = None
    if reason == "keyCompromise":
        if not key_pem:
            raise InputError("keyCompromise is signed with the certificate's key: give private_key_src or "
                             "private_key_content (the store has none for this certificate)")
        key = keys.load_key(key_pem, "certificate's private key")
        if keys.spki_sha256(key) != info["spki_sha256"]:
            raise InputError("The private key does not belong to the certificate %s (serial %s)"
                             % (name or "given", info["serial"]))
    return {"name": name, "cert": cert, "serial": info["serial"], "meta": meta, "key": key, "reason": reason}


def post_revocation(conn: t.Any, cert: t.Any, code: int) -> bool:
    """POST revokeCert; True if revoked now, False if the CA says it already was."""
    try:
        conn.post(conn.directory["revokeCert"], messages.Revocation(certificate=cert, reason=code),
                  "the revocation")
    except ProtocolError as exc:
        if (exc.details.get("acme_error") or {}).get("type") == ALREADY_REVOKED:
            return False
        raise
    return True


def revoke(params: t.Dict[str, t.Any], check_mode: bool, store: t.Any,
           connect: t.Optional[t.Callable[[t.Any], t.Any]] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """The revoke module. ``connect(target)`` opens the connection (default: the certificate's
    key for keyCompromise, the account otherwise)."""
    target = load_target(params, store)
    meta = target["meta"] or {}
    result = {"name": target["name"], "serial": target["serial"], "reason": target["reason"]}
    if meta.get("revoked_at"):
        return False, dict(result, revoked=True, already_revoked=True, revoked_at=meta["revoked_at"],
                           reason=meta.get("revocation_reason") or target["reason"])
    if check_mode:
        return True, dict(result, revoked=True, already_revoked=False, revoked_at=None)
    if connect is None:
        def connect(tgt: t.Any) -> t.Any:
            return connection(params, tgt["key"]) if tgt["key"] is not None else open_account(params, store)
    now = post_revocation(connect(target), target["cert"], REASONS[target["reason"]])
    revoked_at = iso(utcnow())
    if target["name"]:
        recorded = store.record_revocation(target["name"], {"revoked_at": revoked_at,
                                                            "revocation_reason": target["reason"]})
        revoked_at = recorded["revoked_at"]
    return now, dict(result, revoked=True, already_revoked=not now, revoked_at=revoked_at)
