from __future__ import annotations

import datetime
import json
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._acme import ari

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def make_cert(serial, aki=None):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(serial).not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=6))
    if aki:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(aki, None, None), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_cert_id_rfc9773_example():
    aki = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    assert ari.cert_id(make_cert(0x87654321, aki)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert ari.cert_id(make_cert(0x7F, aki)).endswith(".fw")  # no leading zero when the high bit is clear


def test_cert_id_needs_aki():
    with pytest.raises(ValueError, match="authority key identifier"):
        ari.cert_id(make_cert(5))


def window_body(start, end, **extra):
    return json.dumps(dict(suggestedWindow={"start": start, "end": end}, **extra)).encode()


@pytest.mark.parametrize("body", [b"{not json", b"{}", window_body("yesterday", "2026-06-02T00:00:00Z"),
                                  window_body("2026-06-02T00:00:00Z", "2026-06-01T00:00:00Z"),
                                  window_body("2026-06-02T00:00:00", "2026-06-03T00:00:00")])
def test_malformed_answers(body):
    with pytest.raises(ValueError, match="malformed renewalInfo"):
        ari.parse_renewal_info(body)


def test_window_and_pick():
    w = ari.parse_renewal_info(window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00.5+00:00",
                                           explanationURL="https://ca/why"))
    assert w.to_dict() == {"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z",
                           "explanation_url": "https://ca/why"}
    picks = [ari.pick_time(w, random.Random(i)) for i in range(50)]
    assert all(w.start <= p <= w.end for p in picks) and len(set(picks)) > 40


def test_decide():
    w = ari.Window(NOW + datetime.timedelta(days=1), NOW + datetime.timedelta(days=2))
    chosen = NOW + datetime.timedelta(hours=30)
    assert ari.decide(w, chosen, NOW)[0] is False
    assert ari.decide(w, chosen, NOW)[1] == \
        "ARI window 2026-06-02T12:00:00Z to 2026-06-03T12:00:00Z: renew at 2026-06-02T18:00:00Z"
    assert ari.decide(w, chosen, NOW + datetime.timedelta(hours=31)) == (
        True, "ARI window 2026-06-02T12:00:00Z to 2026-06-03T12:00:00Z: renew at 2026-06-02T18:00:00Z (reached)")
    assert ari.decide(w, chosen, NOW + datetime.timedelta(days=3)) == (
        True, "ARI window 2026-06-02T12:00:00Z to 2026-06-03T12:00:00Z has passed: renew now")


@pytest.mark.parametrize("header, seconds", [
    (None, 6 * 3600), ("120", 120), ("5", 60), ("999999", 86400), ("junk", 6 * 3600),
    ("Mon, 01 Jun 2026 13:00:00 GMT", 3600),
])
def test_retry_after(header, seconds):
    assert ari.retry_after(header, NOW).total_seconds() == seconds


def test_fetch_caches_for_retry_after():
    calls = []

    def get(url):
        calls.append(url)
        return 200, {"Retry-After": "3600"}, window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z")

    cache = ari.Cache()
    first = ari.fetch(get, "https://ca/renewalInfo/", "ID.X", cache, NOW, random.Random(1))
    assert calls == ["https://ca/renewalInfo/ID.X"] and not first.from_cache
    assert first.to_result() == {"window_start": "2026-06-02T00:00:00Z", "window_end": "2026-06-03T00:00:00Z",
                                 "renew_at": ari.iso(first.chosen), "explanation_url": None,
                                 "retry_after": "2026-06-01T13:00:00Z"}
    again = ari.fetch(get, "https://ca/renewalInfo", "ID.X", ari.Cache(json.loads(json.dumps(cache.data))),
                      NOW + datetime.timedelta(minutes=59))
    assert (again.chosen, again.from_cache) == (first.chosen, True) and len(calls) == 1
    later = ari.fetch(get, "https://ca/renewalInfo", "ID.X", cache, NOW + datetime.timedelta(minutes=61))
    assert len(calls) == 2 and later.chosen == first.chosen and later.from_cache is False  # same window


def test_fetch_refuses_errors():
    with pytest.raises(ValueError, match="HTTP 404"):
        ari.fetch(lambda url: (404, {}, b""), "https://ca/ri", "ID.X", ari.Cache(), NOW)
    with pytest.raises(ValueError, match="malformed"):
        ari.fetch(lambda url: (200, {}, b"garbage"), "https://ca/ri", "ID.X", ari.Cache(), NOW)


def test_the_draw_is_the_same_in_every_run_and_differs_between_certificates():
    w = ari.Window(NOW, NOW + datetime.timedelta(days=2))
    one = [ari.pick_time(w, ari.window_rng("A.%d" % i, w)) for i in range(40)]
    assert one == [ari.pick_time(w, ari.window_rng("A.%d" % i, w)) for i in range(40)]
    assert len(set(one)) > 35 and all(w.start <= p <= w.end for p in one)


def test_a_new_window_gets_a_new_time():
    bodies = iter([window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"),
                   window_body("2026-05-01T00:00:00Z", "2026-05-01T00:00:01Z")])
    cache = ari.Cache()
    ari.fetch(lambda url: (200, {"Retry-After": "60"}, next(bodies)), "https://ca/ri", "ID.X", cache, NOW)
    moved = ari.fetch(lambda url: (200, {}, next(bodies)), "https://ca/ri", "ID.X", cache,
                      NOW + datetime.timedelta(minutes=2))
    assert moved.chosen <= moved.window.end and moved.decide(NOW)[1].endswith("has passed: renew now")


def test_an_unreadable_cache_entry_is_asked_again():
    assert ari.Cache({"ID.X": {"until": "junk"}}).get("ID.X", NOW) is None
    assert ari.Cache({"ID.X": {"start": "x"}}).get("ID.X", NOW) is None


class RecordStore(object):
    def __init__(self):
        self.records = {}

    def read_record(self, name, record):
        return self.records.get((name, record))

    def write_record(self, name, record, data):
        self.records[(name, record)] = data


AKI = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")


def advisor(store, directory, answers, check_mode=False):
    reads = []

    def read_directory():
        reads.append("dir")
        if isinstance(directory, Exception):
            raise directory
        return directory

    def get(url):
        reads.append(url)
        return answers.pop(0)
    return ari.Advisor(read_directory, get, store, check_mode), reads


def test_advisor_keeps_the_answer_in_the_store_until_retry_after():
    store, pem = RecordStore(), make_cert(0x87654321, AKI)
    adv, reads = advisor(store, {"renewalInfo": "https://ca/ri"},
                         [(200, {"Retry-After": "3600"}, window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"))])
    got = adv.advise("web", pem, NOW)
    assert reads == ["dir", "https://ca/ri/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"]
    assert list(store.records[("web", "ari")]) == [got.cid]
    again, reads2 = advisor(store, {"renewalInfo": "https://ca/ri"}, [])
    assert again.advise("web", pem, NOW + datetime.timedelta(minutes=30)).chosen == got.chosen
    assert reads2 == []   # cached: not even the directory is read


def test_advisor_in_check_mode_keeps_the_answer_if_it_can():
    store = RecordStore()
    adv, reads = advisor(store, {"renewalInfo": "https://ca/ri"},
                         [(200, {}, window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"))], check_mode=True)
    checked = adv.advise("web", make_cert(9, AKI), NOW)
    assert len(reads) == 2 and list(store.records) == [("web", "ari")]
    # the same draw without the kept answer: the prediction holds whatever the store keeps
    real, _reads = advisor(RecordStore(), {"renewalInfo": "https://ca/ri"},
                           [(200, {}, window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"))])
    assert real.advise("web", make_cert(9, AKI), NOW).chosen == checked.chosen


class ReadOnlyStore(RecordStore):
    def write_record(self, name, record, data):
        raise StoreError("Store: read-only")


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_store_that_cannot_keep_the_answer(check_mode):
    adv, _reads = advisor(ReadOnlyStore(), {"renewalInfo": "https://ca/ri"},
                          [(200, {}, window_body("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"))], check_mode)
    if check_mode:
        assert adv.advise("web", make_cert(9, AKI), NOW).window.start.day == 2
    else:
        with pytest.raises(StoreError):
            adv.advise("web", make_cert(9, AKI), NOW)


class NoRenewalInfo(dict):
    pass


def test_advisor_without_ari_or_directory():
    adv, reads = advisor(RecordStore(), NoRenewalInfo(newOrder="x"), [])
    for _round in range(2):
        with pytest.raises(ari.NoAri):
            adv.advise("web", make_cert(3, AKI), NOW)
    assert reads == ["dir"]   # once per run
    adv, reads = advisor(RecordStore(), RuntimeError("unreachable"), [])
    for _round in range(2):
        with pytest.raises(RuntimeError):
            adv.advise("web", make_cert(3, AKI), NOW)
    assert reads == ["dir"]
