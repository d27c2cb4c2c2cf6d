from __future__ import annotations

import contextlib
import datetime

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import (
    OrderRunner, Want, _pending_matches, check_profiles, needs_issuance, parse_wants, run_orders)
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

DIR = "https://ca.example/dir"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def have(**over):
    meta = {"identifiers": ["example.test", "www.example.test"], "key_type": "ec-p256", "directory_url": DIR,
            "not_before": "2026-05-20T00:00:00Z", "not_after": "2026-08-18T00:00:00Z", "serial": "ab"}
    meta.update(over)
    return meta


def want(**over):
    item = {"name": "example.test", "identifiers": ["example.test", "www.example.test"]}
    item.update(over)
    return Want(item, {})


@pytest.mark.parametrize("meta, w, due, reason", [
    (None, want(), True, "no certificate"),
    (have(), want(), False, "valid until"),
    (have(), want(force=True), True, "forced"),
    (have(directory_url="https://other/dir"), want(), True, "another ACME directory"),
    (have(), want(identifiers=["example.test", "api.example.test"]), True,
     "identifiers changed (added api.example.test; removed www.example.test)"),
    (have(), want(key_type="rsa-2048"), True, "key type changed"),
    (have(), want(renew_before_days=80), True, "inside renewal window"),
    (have(not_after="2026-06-05T00:00:00Z"), want(), True, "inside renewal window"),
    (have(not_after="2026-05-30T00:00:00Z"), want(), True, "expired"),
    (have(), want(identifiers=["WWW.example.test", "example.test"]), False, "valid until"),
])
def test_needs_issuance(meta, w, due, reason):
    got_due, got_reason = needs_issuance(meta, "PEM" if meta else None, w, DIR, NOW)
    assert got_due is due
    assert reason in got_reason


def test_missing_cert_file_is_due():
    assert needs_issuance(have(), None, want(), DIR, NOW)[0] is True


def test_parse_wants_rejects_bad_input_before_anything():
    with pytest.raises(InputError, match="unique"):
        parse_wants([{"name": "a", "identifiers": ["a.example"]}, {"name": "a", "identifiers": ["b.example"]}], {})
    with pytest.raises(InputError, match="key_type"):
        parse_wants([{"name": "a", "identifiers": ["a.example"], "key_type": "dsa"}], {})
    with pytest.raises(InputError, match="non-empty"):
        parse_wants([], {})
    wants = parse_wants([{"name": "a", "identifiers": ["a.example"]}], {"key_type": "ec-p384", "renew_before_days": 5})
    assert wants[0].key_type == "ec-p384" and wants[0].renew_before_days == 5.0


def test_nothing_due_never_connects(tmp_path):
    store = Store(str(tmp_path))
    store.write_cert("example.test", b"KEY", "CERT", "CHAIN", dict(have(), name="example.test"))

    def connect():
        raise AssertionError("no ACME connection may be opened when nothing is due")

    runner = OrderRunner(store, DIR, connect, now=NOW)
    results = runner.run_all([want()], runner.prepare)
    assert results[0]["action"] == "none" and results[0]["changed"] is False
    results = runner.run_all([want()], runner.complete)
    assert results[0]["status"] == "valid" and results[0]["serial"] == "ab"


def test_check_mode_predicts_without_connecting(tmp_path):
    def no_connection():
        raise AssertionError("check mode must not connect")

    runner = OrderRunner(Store(str(tmp_path)), DIR, no_connection, check_mode=True, now=NOW)
    result = runner.run_all([want()], runner.prepare)[0]
    assert result["status"] == "would_order" and result["changed"] is True and result["action"] == "issue"
    assert not (tmp_path / "certs").exists()


class DirectoryOnly(object):
    directory = {}


def test_valid_without_pending_order_is_a_clear_error(tmp_path):
    runner = OrderRunner(Store(str(tmp_path)), DIR, DirectoryOnly, now=NOW)
    result = runner.run_all([want()], runner.complete)[0]
    assert result["status"] == "failed" and "no pending order" in result["error"]


@pytest.mark.parametrize("meta, w, due, reason", [
    (have(profile="classic"), want(profile="shortlived"), True, "profile changed to shortlived"),
    (have(), want(profile="shortlived"), True, "profile changed to shortlived"),
    (have(profile="shortlived"), want(profile="shortlived"), False, "valid until"),
    (have(profile="shortlived"), want(), False, "valid until"),  # no profile asked: keep what is there
])
def test_profile_change_reissues(meta, w, due, reason):
    got_due, got_reason = needs_issuance(meta, "PEM", w, DIR, NOW)
    assert got_due is due and reason in got_reason


OFFERED = {"classic": "90 days", "shortlived": "6 days", "tlsserver": ""}


def test_check_profiles():
    check_profiles([want(), want(profile="shortlived")], OFFERED, DIR)
    check_profiles([want()], None, DIR)  # nothing asked: any CA will do
    with pytest.raises(InputError) as exc:
        check_profiles([want(profile="sixmonths")], OFFERED, DIR)
    assert exc.value.msg == ("Certificate example.test: unknown profile 'sixmonths'; the ACME directory "
                             "https://ca.example/dir offers: classic (90 days), shortlived (6 days), tlsserver")
    with pytest.raises(InputError, match="offers no profiles"):
        check_profiles([want(profile="classic")], None, DIR)


class ProfilesConnection(object):
    directory = {}
    opened = 0

    def __init__(self, offered):
        self.offered = offered

    def profiles(self):
        return self.offered


@pytest.mark.parametrize("check_mode", [False, True])
def test_unknown_profile_fails_before_any_order(tmp_path, check_mode):
    asked = []

    def read_profiles():
        asked.append("directory")
        return OFFERED

    conn = ProfilesConnection(OFFERED)
    conn.new_order = lambda *a, **k: pytest.fail("no order may be placed")
    runner = OrderRunner(Store(str(tmp_path)), DIR, lambda: conn, check_mode=check_mode, now=NOW,
                         read_profiles=read_profiles)
    with pytest.raises(InputError, match="unknown profile 'nope'"):
        runner.run_all([want(profile="nope")], runner.prepare)
    assert asked == (["directory"] if check_mode else [])
    assert not (tmp_path / "certs").exists()


def test_profile_not_checked_when_nothing_is_due(tmp_path):
    store = Store(str(tmp_path))
    store.write_cert("example.test", b"KEY", "CERT", "CHAIN", dict(have(profile="classic"), name="example.test"))
    runner = OrderRunner(store, DIR, lambda: pytest.fail("no connection"), now=NOW,
                         read_profiles=lambda: pytest.fail("no directory"))
    assert runner.run_all([want(profile="classic")], runner.prepare)[0]["action"] == "none"


def test_pending_order_of_another_profile_is_not_resumed():
    pending = {"directory_url": DIR, "identifiers": ["example.test", "www.example.test"], "key_type": "ec-p256",
               "challenge": "http-01", "profile": "classic"}
    assert _pending_matches(pending, want(profile="classic"), DIR)
    assert not _pending_matches(pending, want(profile="shortlived"), DIR)


def test_run_orders_uses_the_store_and_the_lock_it_is_given(tmp_path):
    store = Store(str(tmp_path))
    now = utcnow()
    store.write_cert("example.test", b"KEY", "CERT\n", "CHAIN\n", dict(have(
        not_before=iso(now - datetime.timedelta(days=1)), not_after=iso(now + datetime.timedelta(days=80))),
        name="example.test"))
    held = []

    @contextlib.contextmanager
    def lock(names):
        held.append(names)
        yield

    params = {"certificates": [{"name": "example.test", "identifiers": ["example.test", "www.example.test"]}],
              "directory_url": DIR, "state": "valid", "return_content": True, "concurrency": 2}
    changed, result = run_orders(params, False, store, lock)
    assert changed is False and held == [["example.test"]]
    cert = result["certificates"][0]
    assert (cert["status"], cert["cert"], cert["chain"]) == ("valid", "CERT\n", "CHAIN\n")
    assert cert["files"]["fullchain"] == str(tmp_path / "certs" / "example.test" / "current" / "fullchain.pem")
