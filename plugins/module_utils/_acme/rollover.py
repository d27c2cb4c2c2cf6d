# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account key rollover (RFC 8555 section 7.3.5, keyChange), which certbot's acme library lacks,
and the store's side of it: staged, confirmed, healed after a crash. Private to this collection.

The store (``_store.store.Store``) is passed in by the module; this layer does not import it.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme.network import AmbiguousRequest

try:
    from acme import jws
except ImportError:  # pragma: no cover - reported by the module
    jws = None


def inner_jws(account_uri: str, old_jwk: t.Any, new_key: t.Any, url: str) -> t.Any:
    """The inner JWS of keyChange: ``{account, oldKey}`` signed by the new key, with its ``jwk``
    and the keyChange ``url`` in the protected header and no nonce."""
    new_jwk, new_alg = keys.jwk_and_alg(new_key)
    payload = json.dumps({"account": account_uri, "oldKey": old_jwk.public_key().to_partial_json()},
                         sort_keys=True).encode()
    return jws.JWS.sign(payload, key=new_jwk, alg=new_alg, nonce=None, url=url)


def key_change(conn: t.Any, new_key: t.Any, confirm: t.Callable[[], bool]) -> None:
    """POST keyChange: the inner JWS as payload of an outer JWS signed by the current key (kid).

    ``confirm()`` tells whether the CA now knows the new key; it is asked when the request got no
    usable answer (a second request signed with the old key would fail once the first one worked).
    """
    try:
        url = conn.directory["keyChange"]
    except KeyError:
        url = None
    if not url:
        raise ProtocolError("The ACME directory %s offers no keyChange: it cannot roll account keys over"
                            % conn.directory_url)
    if not conn.account_uri:
        raise ProtocolError("Account key rollover needs the account URL; none is known")
    body = inner_jws(conn.account_uri, conn.jwk, new_key, url)
    try:
        conn.post(url, body, "the account key rollover", idempotent=False)
    except AmbiguousRequest as lost:
        if not confirm():
            raise ProtocolError("The keyChange request got no answer (%s) and the CA does not know the "
                                "new key: run again" % lost.cause)


def wanted_new_key(params: t.Dict[str, t.Any]) -> t.Tuple[t.Optional[t.Any], bool]:
    """``(key, generated)``: the key to roll over to, from ``new_key_content``, ``new_key_src`` or
    generated (``rollover``), or ``(None, False)`` when no rollover is asked for. Checks the input
    before anything changes."""
    content, src, generate = params.get("new_key_content"), params.get("new_key_src"), params.get("rollover")
    if not (content or src or generate):
        return None, False
    if generate and (content or src):
        raise InputError("rollover generates the new key: do not pass new_key_src or new_key_content with it")
    if params.get("state") == "absent":
        raise InputError("Account key rollover needs state=present")
    if params.get("account_key_src") or params.get("account_key_content"):
        raise InputError("Account key rollover replaces the store's account key: do not pass "
                         "account_key_src or account_key_content with it")
    if content:
        return keys.load_key(content, "new account key (new_key_content)"), False
    if src:
        try:
            with open(src, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise InputError("Cannot read the new account key %s: %s" % (src, exc.strerror))
        return keys.load_key(data, "new account key %s" % src), False
    return keys.generate_key(params["account_key_type"]), True


def heal(store: t.Any, url: str, name: str, candidates: t.Sequence[t.Any],
         find: t.Callable[[t.Any], t.Optional[t.Tuple[t.Any, t.Any]]],
         check_mode: bool) -> t.Optional[t.Tuple[t.Any, t.Any, t.Any]]:
    """The CA refused the stored key: a rollover was confirmed but not recorded (a crash between
    the CA's answer and the store write). Return ``(key, conn, found)`` of the first candidate the
    CA knows, committed to the store, or None. ``find(key)`` returns ``(conn, found)``."""
    for key in candidates:
        if key is None:
            continue
        conn, found = find(key)
        if found is not None:
            if not check_mode:
                store.commit_account_key(url, name, keys.key_to_pem(key))
            return key, conn, found
    return None


def roll_over(store: t.Any, url: str, name: str, conn: t.Any, new_key: t.Any,
              find: t.Callable[[t.Any], t.Optional[t.Tuple[t.Any, t.Any]]]) -> None:
    """Stage the new key, ask the CA, then commit: key.pem is the old key until the CA confirmed."""
    new_pem = keys.key_to_pem(new_key)
    store.stage_account_key(url, name, new_pem)
    key_change(conn, new_key, lambda: find(new_key)[1] is not None)
    store.commit_account_key(url, name, new_pem)


def staged_key(store: t.Any, url: str, name: str) -> t.Optional[t.Any]:
    pem = store.read_staged_account_key(url, name)
    return None if pem is None else keys.load_key(pem, "staged account key (key.pem.new)")
