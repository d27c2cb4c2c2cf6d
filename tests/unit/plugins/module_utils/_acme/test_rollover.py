from __future__ import annotations

import json
import os

import pytest
from acme import messages

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme import account, rollover
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

DIR = "https://ca.example/dir"
KEY_CHANGE = "https://ca.example/key-change"


class FakeCA(object):
    """Accounts by key (SPKI hash); keyChange checks both signatures as RFC 8555 7.3.5 says."""

    def __init__(self):
        self.accounts = {}   # spki -> uri
        self.key_changes = 0

    def register(self, key):
        uri = "https://ca.example/acct/%d" % (len(self.accounts) + 1)
        self.accounts[keys.spki_sha256(key)] = uri
        return uri


class FakeConn(object):
    def __init__(self, ca, key):
        self.ca, self.key = ca, key
        self.jwk, self.alg = keys.jwk_and_alg(key)
        self.account_uri = None
        self.directory = {"keyChange": KEY_CHANGE}
        self.directory_url = DIR

    def find_account(self):
        uri = self.ca.accounts.get(keys.spki_sha256(self.key))
        if uri is None:
            return None
        self.account_uri = uri
        return uri, messages.Registration(status="valid", contact=("mailto:a@example.test",))

    def create_account(self, contact, terms_agreed, eab=None):
        self.account_uri = self.ca.register(self.key)
        return self.account_uri, messages.Registration(status="valid", contact=tuple(contact))

    def update_account(self, update, what):
        return messages.Registration(**update)

    def terms_of_service(self):
        return None

    def external_account_required(self):
        return False

    def post(self, url, body, what, **kwargs):
        assert url == KEY_CHANGE and kwargs.get("idempotent") is False
        assert self.ca.accounts.get(keys.spki_sha256(self.key)) == self.account_uri, "outer key is the account's"
        assert body.verify(), "inner JWS signed by the key in its jwk"
        header = body.signature.combined
        assert header.url == KEY_CHANGE and header.nonce is None and header.kid is None
        inner = json.loads(body.payload)
        assert inner["account"] == self.account_uri
        assert inner["oldKey"] == self.jwk.public_key().to_partial_json()
        new_spki = keys.spki_sha256(header.jwk.key)
        del self.ca.accounts[keys.spki_sha256(self.key)]
        self.ca.accounts[new_spki] = self.account_uri
        self.ca.key_changes += 1


@pytest.fixture
def ca(monkeypatch):
    fake = FakeCA()
    monkeypatch.setattr(account, "connection", lambda params, key: FakeConn(fake, key))
    return fake


def params(**over):
    out = {"directory_url": DIR, "account_name": "default", "state": "present", "contact": None,
           "terms_agreed": True, "account_key_type": "ec-p256", "external_account_binding": None,
           "account_key_src": None, "account_key_content": None,
           "new_key_src": None, "new_key_content": None, "rollover": False}
    out.update(over)
    return out


def account_files(store):
    base = store.account_dir(DIR, "default")
    return sorted(os.listdir(base))


def stored_key(store):
    return keys.load_key(store.read_account(DIR, "default")[0])


@pytest.fixture
def store(tmp_path, ca):
    store = Store(str(tmp_path))
    changed, _result = account.ensure_account(params(), False, store)
    assert changed
    return store


def new_pem(key_type="ec-p256"):
    return keys.key_to_pem(keys.generate_key(key_type)).decode()


def test_rollover_to_given_key_then_nothing_to_do(store, ca):
    old = stored_key(store)
    pem = new_pem()
    changed, result = account.ensure_account(params(new_key_content=pem), True, store)
    assert changed and result["rolled_over"] and ca.key_changes == 0, "check mode asks nothing"
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(old)
    assert result["diff"]["before"]["key_thumbprint"] == keys.jwk_thumbprint(old)
    assert result["diff"]["after"]["key_thumbprint"] == keys.jwk_thumbprint(keys.load_key(pem))

    changed, result = account.ensure_account(params(new_key_content=pem), False, store)
    assert changed and result["rolled_over"] and ca.key_changes == 1
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(keys.load_key(pem))
    assert account_files(store) == ["account.json", "key.pem"], "the old key is gone once confirmed"
    assert store.read_account(DIR, "default")[1]["key_id"] == keys.spki_sha256(keys.load_key(pem))
    assert pem not in json.dumps(result)
    assert oct(os.stat(os.path.join(store.account_dir(DIR, "default"), "key.pem")).st_mode & 0o777) == "0o600"

    for check_mode in (False, True):
        changed, result = account.ensure_account(params(new_key_content=pem), check_mode, store)
        assert not changed and not result["rolled_over"] and ca.key_changes == 1


def test_rollover_from_file_and_generated(store, ca, tmp_path):
    path = tmp_path / "new.pem"
    path.write_text(new_pem("rsa-2048"))
    assert account.ensure_account(params(new_key_src=str(path)), False, store)[0]
    assert keys.key_type_of(stored_key(store)) == "rsa-2048"
    changed, result = account.ensure_account(params(rollover=True, account_key_type="ec-p384"), False, store)
    assert changed and result["rolled_over"] and ca.key_changes == 2
    assert keys.key_type_of(stored_key(store)) == "ec-p384"


def test_crash_after_confirmation_heals_on_next_run(store, ca, monkeypatch):
    old = stored_key(store)
    pem = new_pem()

    def crash(*args):
        raise KeyboardInterrupt("killed between the CA's answer and the store write")

    monkeypatch.setattr(store, "commit_account_key", crash)
    with pytest.raises(KeyboardInterrupt):
        account.ensure_account(params(new_key_content=pem), False, store)
    monkeypatch.undo()
    monkeypatch.setattr(account, "connection", lambda params, key: FakeConn(ca, key))
    assert ca.key_changes == 1
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(old), "key.pem still the old key"
    assert account_files(store) == ["account.json", "key.pem", "key.pem.new", "key.pem.old"]

    changed, result = account.ensure_account(params(), True, store)
    assert changed and result["healed"] and account_files(store)[-1] == "key.pem.old", "check mode writes nothing"
    changed, result = account.ensure_account(params(), False, store)
    assert changed and result["healed"] and not result["rolled_over"]
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(keys.load_key(pem))
    assert account_files(store) == ["account.json", "key.pem"]
    assert not account.ensure_account(params(new_key_content=pem), False, store)[0]


def test_heal_with_the_requested_key_when_nothing_was_staged(store, ca):
    pem = new_pem()
    ca.accounts = {keys.spki_sha256(keys.load_key(pem)): "https://ca.example/acct/1"}   # rolled elsewhere
    changed, result = account.ensure_account(params(new_key_content=pem), False, store)
    assert changed and result["healed"] and not result["rolled_over"] and ca.key_changes == 0
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(keys.load_key(pem))


def test_a_rollover_the_ca_never_took_is_discarded(store, ca):
    old = stored_key(store)
    store.stage_account_key(DIR, "default", new_pem().encode())
    changed, _result = account.ensure_account(params(), False, store)
    assert not changed and account_files(store) == ["account.json", "key.pem"]
    assert keys.spki_sha256(stored_key(store)) == keys.spki_sha256(old)


@pytest.mark.parametrize("over, message", [
    ({"rollover": True, "new_key_content": "x"}, "do not pass new_key_src"),
    ({"rollover": True, "account_key_content": "x"}, "do not pass account_key_src"),
    ({"rollover": True, "state": "absent"}, "needs state=present"),
    ({"new_key_content": "not a key"}, "not a readable PEM private key"),
    ({"new_key_src": "/nonexistent/k.pem"}, "Cannot read the new account key /nonexistent/k.pem"),
])
def test_bad_input_fails_before_anything(store, ca, over, message):
    with pytest.raises(InputError, match=message):
        account.ensure_account(params(**over), False, store)
    assert ca.key_changes == 0 and account_files(store) == ["account.json", "key.pem"]


def test_no_account_to_roll_over(tmp_path, ca):
    with pytest.raises(InputError, match="no account .* to roll over"):
        account.ensure_account(params(rollover=True), True, Store(str(tmp_path)))


def test_directory_without_key_change(store):
    conn = FakeConn(FakeCA(), stored_key(store))
    conn.directory = messages.Directory.from_json({"newNonce": "https://ca.example/nonce"})
    conn.account_uri = "https://ca.example/acct/1"
    with pytest.raises(ProtocolError, match="offers no keyChange"):
        rollover.key_change(conn, keys.generate_key("ec-p256"), lambda: False)
