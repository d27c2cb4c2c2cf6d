from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme import revoke as rv
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

DIR = "https://ca.example/dir"


class FakeCA(object):
    def __init__(self):
        self.revoked = {}   # serial -> reason
        self.requests = []


class FakeConn(object):
    def __init__(self, ca, signer):
        self.ca, self.signer = ca, signer
        self.directory = {"revokeCert": "https://ca.example/revoke"}

    def post(self, url, body, what, **kwargs):
        assert url == "https://ca.example/revoke"
        serial = format(body.certificate.serial_number, "x")
        self.ca.requests.append((serial, body.reason, self.signer))
        if serial in self.ca.revoked:
            raise ProtocolError("ACME server refused the revocation: alreadyRevoked",
                                acme_error={"type": rv.ALREADY_REVOKED, "detail": "already"})
        self.ca.revoked[serial] = body.reason


def params(**over):
    out = {"directory_url": DIR, "name": None, "certificate_src": None, "certificate_content": None,
           "reason": "unspecified", "private_key_src": None, "private_key_content": None}
    out.update(over)
    return out


@pytest.fixture
def setup(tmp_path, pki, ca):
    store = Store(str(tmp_path / "store"))
    issued = pki.make_cert(names=("a.example.test",), issuer=ca, serial=0xA1)
    store.write_cert("a", issued.key_pem.encode(), issued.cert_pem, ca.cert_pem,
                     {"name": "a", "serial": "a1", "identifiers": ["a.example.test"]})
    fake = FakeCA()

    def connect(target):
        return FakeConn(fake, "certificate key" if target["key"] is not None else "account")
    return store, issued, fake, connect


@pytest.mark.parametrize("reason, code, signer", [
    ("superseded", 4, "account"), ("keyCompromise", 1, "certificate key"),
    ("unspecified", 0, "account"), ("cessationOfOperation", 5, "account")])
def test_revoke_by_name_records_it_then_sends_nothing(setup, reason, code, signer):
    store, _issued, ca, connect = setup
    changed, result = rv.revoke(params(name="a", reason=reason), True, store, connect)
    assert changed and result["revoked_at"] is None and ca.requests == [], "check mode sends nothing"
    changed, result = rv.revoke(params(name="a", reason=reason), False, store, connect)
    assert changed and result["serial"] == "a1" and not result["already_revoked"]
    assert ca.requests == [("a1", code, signer)]
    meta = store.read_cert("a")[0]
    assert meta["revocation_reason"] == reason and meta["revoked_at"] == result["revoked_at"]
    assert meta["identifiers"] == ["a.example.test"], "the rest of meta.json is kept"
    for check_mode in (False, True):
        changed, again = rv.revoke(params(name="a", reason=reason), check_mode, store, connect)
        assert not changed and again["already_revoked"] and len(ca.requests) == 1


def test_already_revoked_at_the_ca_is_no_change(setup, tmp_path):
    store, issued, ca, connect = setup
    ca.revoked["a1"] = 4
    path = tmp_path / "cert.pem"
    path.write_text(issued.cert_pem)
    changed, result = rv.revoke(params(certificate_src=str(path)), False, store, connect)
    assert not changed and result["already_revoked"] and result["name"] is None
    changed, result = rv.revoke(params(name="a"), False, store, connect)
    assert not changed and store.read_cert("a")[0]["revoked_at"], "recorded all the same"


def test_key_compromise_by_file_with_the_key(setup, tmp_path):
    store, issued, ca, connect = setup
    changed, _result = rv.revoke(params(certificate_content=issued.cert_pem, private_key_content=issued.key_pem,
                                        reason="keyCompromise"), False, store, connect)
    assert changed and ca.requests == [("a1", 1, "certificate key")]


def test_the_real_connection_for_key_compromise_signs_with_the_certificate_key(setup, monkeypatch):
    store, issued, _ca, _connect = setup
    used = []
    monkeypatch.setattr(rv, "connection", lambda params, key: used.append(keys.spki_sha256(key)) or FakeConn(FakeCA(), "k"))
    monkeypatch.setattr(rv, "open_account", lambda params, store: pytest.fail("no account for keyCompromise"))
    rv.revoke(params(name="a", reason="keyCompromise"), False, store)
    assert used == [keys.spki_sha256(issued.key)]


@pytest.mark.parametrize("over, message", [
    ({"name": "nothere"}, "has no certificate named nothere"),
    ({"certificate_src": "/nonexistent/c.pem"}, "Cannot read the certificate /nonexistent/c.pem"),
    ({"certificate_content": "junk"}, "not a PEM certificate"),
    ({"certificate_content": "CERT", "reason": "keyCompromise"}, "private_key_src"),
])
def test_bad_input(setup, over, message):
    store, issued, ca, connect = setup
    if over.get("certificate_content") == "CERT":
        over["certificate_content"] = issued.cert_pem
    with pytest.raises(InputError, match=message):
        rv.revoke(params(**over), False, store, connect)
    assert ca.requests == []


def test_key_of_another_certificate_is_refused(setup, pki):
    store, _issued, ca, connect = setup
    other = pki.key_pem(pki.make_key())
    with pytest.raises(InputError, match="does not belong to the certificate a"):
        rv.revoke(params(name="a", reason="keyCompromise", private_key_content=other), False, store, connect)
    assert ca.requests == []
