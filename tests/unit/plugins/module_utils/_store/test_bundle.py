from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._store.bundle import read_bundles
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate(key, days=(-1, 30)):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "b.example.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0xabc).not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("b.example.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path))


def test_bundle_read_and_checked(store):
    key = ec.generate_private_key(ec.SECP256R1())
    store.write_cert("b", pem_key(key), certificate(key), "CHAIN\n", {})
    bundle = read_bundles(store, ["b"])[0]
    assert bundle["serial"] == "abc" and bundle["names"] == ["b.example.test"]
    assert bundle["privatekey"].startswith("-----BEGIN PRIVATE KEY-----") and bundle["chain"] == "CHAIN\n"


def test_mismatched_key_refused(store):
    key = ec.generate_private_key(ec.SECP256R1())
    store.write_cert("b", pem_key(ec.generate_private_key(ec.SECP256R1())), certificate(key), "", {})
    with pytest.raises(StoreError, match="does not match"):
        read_bundles(store, ["b"])


def test_expired_refused(store):
    key = ec.generate_private_key(ec.SECP256R1())
    store.write_cert("b", pem_key(key), certificate(key, days=(-10, -1)), "", {})
    with pytest.raises(StoreError, match="not valid now"):
        read_bundles(store, ["b"])


def test_missing_and_bad_names(store):
    with pytest.raises(StoreError, match="no issued certificate"):
        read_bundles(store, ["absent"])
    with pytest.raises(InputError):
        read_bundles(store, ["../x"])
    with pytest.raises(InputError):
        read_bundles(store, [])


def test_decommission_records_once_and_keeps_the_set(store):
    from ansible_collections.certfleet.acme.plugins.module_utils._store.bundle import decommission
    key = ec.generate_private_key(ec.SECP256R1())
    store.write_cert("b", pem_key(key), certificate(key), "CHAIN\n", {"revoked_at": "2026-12-01T00:00:00Z"})
    changed, got = decommission(store, ["b", "never"], check_mode=True, now="2026-12-02T00:00:00Z")
    assert changed and got[0]["known"] and got[0]["decommissioned_at"] is None and got[0]["serial"] == "abc"
    assert got[1] == {"name": "never", "known": False, "serial": None, "revoked_at": None,
                      "revocation_reason": None, "decommissioned_at": None, "changed": False}
    assert "decommissioned_at" not in store.read_set("b")["meta"]
    changed, got = decommission(store, ["b"], now="2026-12-02T00:00:00Z")
    assert changed and got[0]["decommissioned_at"] == "2026-12-02T00:00:00Z"
    assert got[0]["revoked_at"] == "2026-12-01T00:00:00Z"
    changed, got = decommission(store, ["b"], now="2026-12-03T00:00:00Z")
    assert not changed and got[0]["decommissioned_at"] == "2026-12-02T00:00:00Z" and not got[0]["changed"]
    assert store.read_set("b")["privkey"]  # the set stays, as the record
