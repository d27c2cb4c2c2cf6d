"""ARI in the orders: the window decides, answers are kept in the store, renewals carry replaces."""
from __future__ import annotations

import datetime
import json
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso
from ansible_collections.certfleet.acme.plugins.module_utils._acme import ari
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import (
    ALREADY_REPLACED, NOT_THE_REQUESTER, OrderRunner, Want, renewal_decision)
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

UTC = datetime.timezone.utc
DIR = "https://ca.example/dir"
RI = "https://ca.example/renewal-info"
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
NAMES = ["ari.example.test"]
DAY = datetime.timedelta(days=1)


def make_cert(names=tuple(NAMES)):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x1234).not_valid_before(NOW - 10 * DAY).not_valid_after(NOW + 80 * DAY)
            .add_extension(x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def stored(tmp_path, names=tuple(NAMES), directory_url=DIR):
    store = Store(str(tmp_path))
    pem = make_cert(names)
    store.write_cert("ari-one", b"KEY", pem, "", {
        "name": "ari-one", "identifiers": list(names), "key_type": "ec-p256", "directory_url": directory_url,
        "not_before": iso(NOW - 10 * DAY), "not_after": iso(NOW + 80 * DAY), "serial": "1234"})
    return store, ari.cert_id(pem)


def window(start, end, **extra):
    return json.dumps(dict(suggestedWindow={"start": iso(start), "end": iso(end)}, **extra)).encode()


class CA(object):
    """The directory and renewalInfo of a fake CA; ``asked`` lists every request."""

    def __init__(self, body=None, has_ari=True):
        self.body, self.asked = body, []
        self.directory = {"newOrder": DIR + "/new-order"}
        if has_ari:
            self.directory["renewalInfo"] = RI

    def read_directory(self):
        self.asked.append("directory")
        return self.directory

    def get(self, url):
        self.asked.append(url)
        return 200, {"Retry-After": "21600"}, self.body


class OrderingConn(object):
    """Records newOrder calls; ``refuse_replaces`` answers the first with alreadyReplaced."""

    account_uri = "https://ca.example/acct/1"
    directory = {}

    def __init__(self, refuse_replaces=False, error=ALREADY_REPLACED):
        self.sent, self.refuse_replaces, self.error = [], refuse_replaces, error

    def new_order(self, identifiers, profile=None, replaces=None):
        self.sent.append(replaces)
        if replaces and self.refuse_replaces:
            raise ProtocolError("ACME server refused a new order: refused: replaced",
                                acme_error={"type": self.error, "detail": "replaced"})
        return "https://ca.example/order/1", types.SimpleNamespace(status=types.SimpleNamespace(name="ready"),
                                                                   authorizations=[])


def runner(store, ca, conn=None, check_mode=False, ari_on=True):
    advisor = ari.Advisor(ca.read_directory, ca.get, store, check_mode) if ari_on else None
    return OrderRunner(store, DIR, lambda: conn or pytest.fail("no connection"), check_mode=check_mode,
                       now=NOW, advisor=advisor)


def want(**over):
    return Want(dict({"name": "ari-one", "identifiers": NAMES}, **over), {})


def test_nothing_inside_its_window_asks_ari_and_orders_nothing(tmp_path):
    store, cid = stored(tmp_path)
    ca = CA(window(NOW + 5 * DAY, NOW + 6 * DAY, explanationURL="https://ca.example/why"))
    run = runner(store, ca)
    result = run.run_all([want()], run.prepare)[0]
    assert ca.asked == ["directory", RI + "/" + cid]
    assert (result["action"], result["changed"], result["status"]) == ("none", False, "valid")
    assert result["reason"] == "ARI window 2026-06-06T12:00:00Z to 2026-06-07T12:00:00Z: renew at %s" \
        % result["ari"]["renew_at"]
    assert result["ari"]["window_start"] == "2026-06-06T12:00:00Z"
    assert result["ari"]["explanation_url"] == "https://ca.example/why"
    assert result["ari"]["retry_after"] == "2026-06-01T18:00:00Z"
    assert json.loads((tmp_path / "certs" / "ari-one" / "ari.json").read_text())[cid]["chosen"] == \
        result["ari"]["renew_at"]
    # the next run (before Retry-After) asks nobody and keeps the same time
    ca2 = CA(b"unused")
    again = runner(store, ca2)
    assert again.run_all([want()], again.prepare)[0]["ari"] == result["ari"] and ca2.asked == []


def test_a_passed_window_renews_with_replaces(tmp_path):
    store, cid = stored(tmp_path)
    conn = OrderingConn()
    run = runner(store, CA(window(NOW - 2 * DAY, NOW - DAY)), conn)
    result = run.run_all([want()], run.prepare)[0]
    assert result["action"] == "renew" and result["reason"].endswith("has passed: renew now")
    assert conn.sent == [cid] and result["replaces"] == cid
    assert store.read_pending("ari-one")[0]["replaces"] == cid


@pytest.mark.parametrize("error", [ALREADY_REPLACED, NOT_THE_REQUESTER])   # NOT_THE_REQUESTER: a new account
def test_already_replaced_orders_again_without_replaces(tmp_path, error):
    store, cid = stored(tmp_path)
    conn = OrderingConn(refuse_replaces=True, error=error)
    run = runner(store, CA(window(NOW - 2 * DAY, NOW - DAY)), conn)
    result = run.run_all([want()], run.prepare)[0]
    assert conn.sent == [cid, None] and result["status"] == "pending" and result["replaces"] is None


def test_other_errors_with_replaces_are_not_retried(tmp_path):
    store, _cid = stored(tmp_path)
    conn = OrderingConn()
    conn.new_order = lambda *a, **k: (_x for _x in ()).throw(ProtocolError("refused", acme_error={"type": "x"}))
    run = runner(store, CA(window(NOW - 2 * DAY, NOW - DAY)), conn)
    assert run.run_all([want()], run.prepare)[0]["status"] == "failed"


def test_no_replaces_for_a_certificate_of_other_names(tmp_path):
    store, _cid = stored(tmp_path)
    conn = OrderingConn()
    run = runner(store, CA(window(NOW + 5 * DAY, NOW + 6 * DAY)), conn)
    result = run.run_all([want(identifiers=["other.example.test"])], run.prepare)[0]
    assert result["reason"].startswith("identifiers changed") and conn.sent == [None]
    assert result["ari"] is not None


@pytest.mark.parametrize("body", [b"{not json", b'{"suggestedWindow": {"start": "soon"}}'])
def test_a_malformed_answer_falls_back_to_the_lifetime_rule_with_a_warning(tmp_path, body):
    store, _cid = stored(tmp_path)
    run = runner(store, CA(body))
    result = run.run_all([want()], run.prepare)[0]
    assert result["ari"] is None and result["reason"].startswith("valid until")
    assert len(run.warnings) == 1 and "Certificate ari-one: no usable ARI answer (malformed renewalInfo" \
        in run.warnings[0] and run.warnings[0].endswith("the lifetime rule decides")
    assert not (tmp_path / "certs" / "ari-one" / "ari.json").exists()


def test_a_ca_without_ari_uses_the_lifetime_rule_silently(tmp_path):
    store, _cid = stored(tmp_path)
    ca = CA(has_ari=False)
    run = runner(store, ca)
    result = run.run_all([want()], run.prepare)[0]
    assert result["ari"] is None and result["reason"].startswith("valid until") and run.warnings == []
    assert ca.asked == ["directory"]


def test_an_unreadable_directory_warns_once_and_uses_the_lifetime_rule(tmp_path):
    store, _cid = stored(tmp_path)
    ca = CA()
    ca.read_directory = lambda: (_x for _x in ()).throw(ProtocolError("Cannot use the ACME directory x: down"))
    run = runner(store, ca)
    assert run.run_all([want()], run.prepare)[0]["reason"].startswith("valid until")
    assert run.warnings == ["ARI: Cannot use the ACME directory x: down; the lifetime rule decides"]


def test_check_mode_asks_ari_and_keeps_only_the_answer(tmp_path):
    store, _cid = stored(tmp_path)
    ca = CA(window(NOW - 2 * DAY, NOW - DAY))
    run = runner(store, ca, check_mode=True)
    result = run.run_all([want()], run.prepare)[0]
    assert len(ca.asked) == 2 and result["status"] == "would_order" and result["action"] == "renew"
    assert (tmp_path / "certs" / "ari-one" / "ari.json").exists()
    assert store.read_pending("ari-one") == (None, None)


def test_ari_off_and_other_directories_ask_nothing(tmp_path):
    store, _cid = stored(tmp_path)
    ca = CA(b"unused")
    run = runner(store, ca, ari_on=False)
    assert run.run_all([want()], run.prepare)[0]["ari"] is None
    store2, _cid = stored(tmp_path / "two", directory_url="https://other.example/dir")
    run = runner(store2, ca, conn=OrderingConn())
    assert run.run_all([want()], run.prepare)[0]["reason"].startswith("issued by another ACME directory")
    assert ca.asked == []


HAVE = {"not_before": iso(NOW - 10 * DAY), "not_after": iso(NOW + 80 * DAY)}


def advice(start, end, chosen):
    return ari.Advice("ID.X", ari.Window(start, end), chosen, NOW + DAY, False)


@pytest.mark.parametrize("have, w, adv, due, reason", [
    (HAVE, want(), None, False, "valid until"),
    (HAVE, want(), advice(NOW + DAY, NOW + 2 * DAY, NOW + DAY), False, "renew at 2026-06-02T12:00:00Z"),
    (HAVE, want(), advice(NOW - DAY, NOW + DAY, NOW - DAY), True, "(reached)"),
    # an explicit renew_before_days still renews earlier than the window
    (HAVE, want(renew_before_days=85), advice(NOW + DAY, NOW + 2 * DAY, NOW + DAY), True, "inside renewal window"),
    (HAVE, want(renew_before_days=5), advice(NOW + DAY, NOW + 2 * DAY, NOW + DAY), False, "ARI window"),
    # expired is expired, whatever the window says
    (dict(HAVE, not_after=iso(NOW - DAY)), want(), advice(NOW + DAY, NOW + 2 * DAY, NOW + DAY), True, "expired"),
])
def test_renewal_decision(have, w, adv, due, reason):
    got = renewal_decision(have, w, NOW, adv)
    assert got[0] is due and reason in got[1]
