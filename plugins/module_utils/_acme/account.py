# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME account state: present (create, update contact) or absent (deactivate). Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme import rollover
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AccountDeactivated, require_terms
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import (
    connection, given_account_key, key_id)


def normalize_contact(contact: t.Sequence[str]) -> t.List[str]:
    out = []
    for item in contact or []:
        item = item.strip()
        if not item:
            continue
        if "@" in item and ":" not in item:
            item = "mailto:" + item
        if not item.startswith(("mailto:", "tel:", "https:")):
            raise InputError("Invalid contact %r: use an e-mail address or a mailto: URI" % item)
        out.append(item)
    return out


def ensure_account(params: t.Dict[str, t.Any], check_mode: bool,
                   store: t.Any) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """``store`` is the ``_store.store.Store`` the caller opened (this layer does not import it)."""
    url, name = params["directory_url"], params["account_name"]
    contact = normalize_contact(params.get("contact") or [])
    eab = params.get("external_account_binding")
    state = params["state"]
    new_key, _new_generated = rollover.wanted_new_key(params)

    key = given_account_key(params)
    stored_pem, _stored = store.read_account(url, name)
    key_generated = False
    from_store = key is None and stored_pem is not None
    if from_store:
        key = keys.load_key(stored_pem, "stored account key")
    if key is None:
        if state == "absent":
            return False, {"account_uri": None, "status": "absent", "diff": {"before": {}, "after": {}}}
        key = keys.generate_key(params["account_key_type"])
        key_generated = True

    def find(candidate: t.Any) -> t.Tuple[t.Any, t.Any]:
        other = connection(params, candidate)
        return other, other.find_account()

    old_thumbprint = keys.jwk_thumbprint(key)
    conn = connection(params, key)
    healed = False
    try:
        found = None if key_generated else conn.find_account()
        if found is None and from_store:
            # A rollover the CA confirmed but the store never recorded: the new key is the account's.
            got = rollover.heal(store, url, name, [rollover.staged_key(store, url, name), new_key],
                                find, check_mode)
            if got is not None:
                key, conn, found = got
                healed = True
        elif found is not None and from_store and not check_mode:
            store.discard_staged_account_key(url, name)   # a rollover the CA never took
    except AccountDeactivated:
        if state == "absent":
            gone = {"status": "deactivated"}
            return False, {"account_uri": None, "status": "deactivated", "diff": {"before": gone, "after": gone}}
        raise
    before = {"status": "absent"} if found is None else {
        "status": found[1].status or "valid", "contact": list(found[1].contact or ()),
        "key_thumbprint": old_thumbprint}

    if state == "absent":
        if found is None:
            return False, {"account_uri": None, "status": "absent", "diff": {"before": before, "after": before}}
        after = {"status": "deactivated", "contact": before.get("contact", [])}
        if not check_mode:
            conn.update_account({"status": "deactivated"}, "the account deactivation")
            store.remove_account(url, name)
        return True, {"account_uri": found[0], "status": "deactivated", "diff": {"before": before, "after": after}}

    if found is not None and before["status"] != "valid":
        raise ProtocolError("The account %s is %s at the CA; it cannot be used again. Use another key."
                            % (found[0], before["status"]))
    if found is None and new_key is not None:
        raise InputError("There is no account for account %r at %s to roll over to a new key: create it "
                         "first (without new_key_src, new_key_content or rollover)" % (name, url))
    changed = healed
    if found is None:
        require_terms(conn, params["terms_agreed"])
        if conn.external_account_required() and not eab:
            raise InputError("The CA requires External Account Binding: set external_account_binding "
                             "(kid and hmac_key from your CA)")
        changed = True
        uri = None
        if not check_mode:
            if key_generated and not (params.get("account_key_src") or params.get("account_key_content")):
                store.write_account_key(url, name, keys.key_to_pem(key))
            uri, _reg = conn.create_account(contact, params["terms_agreed"], eab)
        after = {"status": "valid", "contact": contact}
    else:
        uri = found[0]
        after = dict(before)
        if params.get("contact") is not None and sorted(before.get("contact", [])) != sorted(contact):
            changed = True
            after["contact"] = contact
            if not check_mode:
                conn.update_account({"contact": tuple(contact)}, "the contact update")
    rolled = new_key is not None and keys.spki_sha256(new_key) != keys.spki_sha256(key)
    if rolled:
        changed = True
        if not check_mode:
            rollover.roll_over(store, url, name, conn, new_key, find)
        key = new_key
    after["key_thumbprint"] = keys.jwk_thumbprint(key)
    if uri and not check_mode:
        store.write_account(url, name, {"uri": uri, "key_id": key_id(key), "directory_url": url,
                                        "contact": after.get("contact", [])})
    return changed, {
        "account_uri": uri,
        "status": after["status"],
        "contact": after.get("contact", []),
        "created": found is None,
        "thumbprint": after["key_thumbprint"],
        "key_thumbprint": after["key_thumbprint"],
        "rolled_over": rolled,
        "healed": healed,
        "diff": {"before": before, "after": after},
    }
