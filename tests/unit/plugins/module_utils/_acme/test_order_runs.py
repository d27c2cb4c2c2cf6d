"""Runs between their two order calls: leases, challenges handed out, abandoned orders."""
from __future__ import annotations

import datetime
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import CertfleetError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme import orders
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import OrderRunner, Want
from ansible_collections.certfleet.acme.plugins.module_utils._store import lock, runs
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

DIR = "https://ca.example/dir"
NAME = "example.test"
WAIT = {"seconds": lock.DEFAULT_WAIT}   # how long call() lets a run wait for another run's lease


def status(name):
    return types.SimpleNamespace(name=name)


def self_signed(key, names):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class FakeConn(object):
    """Orders whose authorizations stay pending until answered; ``wrong_key`` issues a certificate
    for another key (a stuck order)."""

    directory = {}
    account_uri = "https://ca.example/acct/1"

    def __init__(self, wrong_key=False):
        self.orders = {}
        self.authz_status = "pending"
        self.wrong_key = wrong_key
        self.csr_key = None

    def new_order(self, identifiers, profile=None, replaces=None):
        url = "https://ca.example/order/%d" % (len(self.orders) + 1)
        self.orders[url] = "pending"
        return url, self.get_order(url)

    def get_order(self, url):
        return types.SimpleNamespace(status=status(self.orders[url]), authorizations=[url + "/authz"],
                                     certificate=url + "/cert", error=None)

    def get_authorization(self, url):
        chall = types.SimpleNamespace(typ="http-01", path="/.well-known/acme-challenge/tok-" + url[-7:-6],
                                      encode=lambda field, u=url: "tok-" + u[-7:-6])
        return types.SimpleNamespace(status=status(self.authz_status), identifier=types.SimpleNamespace(value=NAME),
                                     wildcard=False, challenges=[types.SimpleNamespace(chall=chall, uri=url + "/c")])

    def key_authorization(self, chall):
        return chall.encode("token") + ".thumb"

    def answer(self, url):
        self.authz_status = "valid"
        self.orders = dict((u, "ready" if s == "pending" else s) for u, s in self.orders.items())

    def poller(self):
        return None

    def wait_authorizations(self, urls, poller):
        return {u: self.get_authorization(u) for u in urls}

    def finalize(self, url, order, csr, poller):
        self.csr_key = csr.public_key()
        self.orders[url] = "valid"
        return self.get_order(url)

    def download_chain(self, url):
        key = keys.generate_key("ec-p256") if self.wrong_key else None
        if key is not None:
            return self_signed(key, [NAME])
        return self.cert_for_csr_key()

    def cert_for_csr_key(self):
        raise AssertionError("set by the test")


def params(state, run_id=None):
    return {"state": state, "run_id": run_id, "lease_seconds": 900}


def call(store, conn, state, run_id=None):
    want = Want({"name": NAME, "identifiers": [NAME]}, {})
    runner = OrderRunner(store, DIR, lambda: conn)
    work = runner.prepare if state == "pending" else runner.complete
    return orders._run_leased(store, runner, [want], work, params(state, run_id), run_id,
                              lambda names: lock.locked(store.ensure_dir("locks"), names), runs, WAIT["seconds"])


def test_a_killed_runs_tokens_are_reported_by_the_run_that_resumes(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn()
    results, cleanup = call(store, conn, "pending", "run-1")
    handed = results[0]["challenges"]
    assert cleanup == [] and len(handed) == 1
    # run-1 is killed during validation: the CA validated the authorization meanwhile
    conn.authz_status = "valid"
    store.write_record(NAME, "lease", None)      # its lease expired
    results, cleanup = call(store, conn, "pending", "run-2")
    assert results[0]["resumed"] is True and results[0]["challenges"] == []
    assert cleanup == handed                     # the resumed order has nothing left to answer
    assert runs.handed_out(store, NAME)          # kept until the state=valid call reports it


def test_a_token_still_needed_is_not_reported_for_cleanup(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn()
    call(store, conn, "pending")
    results, cleanup = call(store, conn, "pending")     # resumed, authorization still pending
    assert results[0]["challenges"] and cleanup == []


def test_another_run_waits_for_the_lease_then_fails_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.setitem(WAIT, "seconds", 0.0)
    monkeypatch.setattr(orders.time, "sleep", lambda s: None)
    store, conn = Store(str(tmp_path)), FakeConn()
    results, _cleanup = call(store, conn, "pending", "run-a")
    assert results[0]["lease_expires"].endswith("Z")
    for state in ("pending", "valid"):
        with pytest.raises(CertfleetError, match="held by run run-a until"):
            call(store, conn, state, "run-b")
    assert call(store, conn, "pending")[0][0]["status"] == "pending"   # without run_id: as before


def test_the_valid_call_releases_the_lease_also_on_failure(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn(wrong_key=True)
    call(store, conn, "pending", "run-a")
    results, _cleanup = call(store, conn, "valid", "run-a")
    assert results[0]["status"] == "failed"
    assert store.read_record(NAME, "lease") is None
    assert runs.lease_holder(store, NAME, "run-b", 0) is None


def test_a_stuck_order_is_abandoned_and_the_next_call_orders_anew(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn(wrong_key=True)
    first = call(store, conn, "pending")[0][0]["order_url"]
    results, _cleanup = call(store, conn, "valid")
    assert "abandoned" in results[0]["error"] and results[0]["abandoned_order"] == first
    assert store.read_pending(NAME) == (None, None)
    assert store.read_record(NAME, "abandoned")["reason"] == "the issued certificate does not match the order's key"
    results, cleanup = call(store, conn, "pending")
    assert results[0]["order_url"] != first and results[0]["resumed"] is False
    assert [c["token"] for c in cleanup] == ["tok-1"]   # the abandoned order's token goes


def test_valid_reports_earlier_runs_challenges_and_clears_the_record(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn()
    handed = call(store, conn, "pending", "run-1")[0][0]["challenges"]
    store.write_record(NAME, "lease", None)
    call(store, conn, "pending", "run-2")

    def issue():
        return self_signed_for(conn)
    conn.cert_for_csr_key = issue
    results, cleanup = call(store, conn, "valid", "run-2")
    assert results[0]["status"] == "valid" and cleanup == handed
    assert runs.handed_out(store, NAME) == [] and store.read_record(NAME, "lease") is None


def self_signed_for(conn):
    """A certificate for the CSR's key, signed by a throwaway CA key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = keys.generate_key("ec-p256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(conn.csr_key)
            .serial_number(9).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(ca, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_run_that_stops_before_validation_releases_its_leases(tmp_path):
    store, conn = Store(str(tmp_path)), FakeConn()
    call(store, conn, "pending", "run-a")
    assert runs.holds_lease(store, NAME, "run-a")

    def released(run_id, check):
        return orders.release_leases(store, lambda names: lock.locked(store.ensure_dir("locks"), names),
                                     runs, [NAME], run_id, check)

    assert released("run-b", False) == (False, {"certificates": [], "challenges": [], "cleanup_challenges": [],
                                                "due": [], "released": []})   # not its lease
    assert released("run-a", True)[0] is True and runs.holds_lease(store, NAME, "run-a")   # check mode
    changed, out = released("run-a", False)
    assert changed and out["released"] == [NAME] and not runs.holds_lease(store, NAME, "run-a")
    assert released("run-a", False)[0] is False   # again: nothing to release
    results, _cleanup = call(store, conn, "pending", "run-b")   # the next run goes on at once
    assert results[0]["status"] == "pending"
