# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509

UTC = datetime.timezone.utc


def _spki_sha256(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "ec-p521", "rsa-2048"])
@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_private_key_spki_matches_cryptography(pki, kind, fmt):
    key = pki.make_key(kind)
    assert x509.private_key_spki_sha256(pki.key_pem(key, fmt)) == _spki_sha256(key)


def test_private_key_labels(pki):
    assert "BEGIN EC PRIVATE KEY" in pki.key_pem(pki.make_key("ec-p256"), "traditional")
    assert "BEGIN RSA PRIVATE KEY" in pki.key_pem(pki.make_key("rsa-2048"), "traditional")


_CURVE_NAMES = {"secp256r1": "p256", "secp384r1": "p384", "secp521r1": "p521"}


def _strip_ec_public_key(key, wrap_pkcs8: bool, public: bytes = b"") -> str:
    """Re-encode an EC key without its optional public key (as some tools write them), or with
    ``public`` as the public key."""
    size = (key.curve.key_size + 7) // 8
    scalar = key.private_numbers().private_value.to_bytes(size, "big")
    curve_oid = x509.der_encode_oid(x509.CURVES[_CURVE_NAMES[key.curve.name]].oid)
    if public:
        der = x509.der_encode(0x30, x509.der_encode_int(1) + x509.der_encode(0x04, scalar)
                              + x509.der_encode(0xA0, curve_oid)
                              + x509.der_encode(0xA1, x509.der_encode(0x03, b"\x00" + public)))
        return x509.der_to_pem("EC PRIVATE KEY", der)
    if wrap_pkcs8:
        inner = x509.der_encode(0x30, x509.der_encode_int(1) + x509.der_encode(0x04, scalar))
        alg = x509.der_encode(0x30, x509.der_encode_oid(x509.OID_EC) + curve_oid)
        der = x509.der_encode(0x30, x509.der_encode_int(0) + alg + x509.der_encode(0x04, inner))
        return x509.der_to_pem("PRIVATE KEY", der)
    der = x509.der_encode(0x30, x509.der_encode_int(1) + x509.der_encode(0x04, scalar)
                          + x509.der_encode(0xA0, curve_oid))
    return x509.der_to_pem("EC PRIVATE KEY", der)


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "ec-p521"])
@pytest.mark.parametrize("wrap_pkcs8", [False, True])
def test_ec_key_without_public_key_is_computed(pki, kind, wrap_pkcs8):
    key = pki.make_key(kind)
    pem = _strip_ec_public_key(key, wrap_pkcs8)
    # cryptography agrees that it is the same key
    loaded = serialization.load_pem_private_key(pem.encode(), None)
    assert loaded.private_numbers() == key.private_numbers()
    assert x509.private_key_spki_sha256(pem) == _spki_sha256(key)


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "ec-p521"])
def test_ec_key_with_compressed_public_key(pki, kind):
    key = pki.make_key(kind)
    compressed = key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.CompressedPoint)
    pem = _strip_ec_public_key(key, False, public=compressed)
    assert x509.private_key_spki_sha256(pem) == _spki_sha256(key)


@pytest.mark.parametrize("name", ["p256", "p384", "p521"])
def test_curve_constants(name):
    curve = x509.CURVES[name]
    assert (curve.gy ** 2 - curve.gx ** 3 - curve.a * curve.gx - curve.b) % curve.p == 0
    # (n - 1) * G == -G
    x, y = x509.ec_public_point(name, curve.n - 1)
    assert (x, y) == (curve.gx, curve.p - curve.gy)


def test_ec_params_block_before_key_is_skipped(pki):
    key = pki.make_key("ec-p256")
    params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    assert x509.private_key_spki_sha256(params + pki.key_pem(key, "traditional")) == _spki_sha256(key)


def test_encrypted_keys_are_refused_without_leaking(pki):
    key = pki.make_key("ec-p256")
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.BestAvailableEncryption(b"secret")).decode()
    legacy = key.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.BestAvailableEncryption(b"secret")).decode()
    for pem in (pkcs8, legacy):
        with pytest.raises(InputError, match="encrypted") as info:
            x509.private_key_spki_sha256(pem)
        assert pem.splitlines()[1][:20] not in info.value.msg


def test_unsupported_and_garbage_keys(pki):
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()
    with pytest.raises(InputError, match="not supported"):
        x509.private_key_spki_sha256(pem)
    with pytest.raises(InputError, match="no private key"):
        x509.private_key_spki_sha256("hello")
    with pytest.raises(InputError, match="malformed|cannot read"):
        x509.private_key_spki_sha256("-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n")
    secp256k1 = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(InputError, match="unsupported EC curve"):
        x509.private_key_spki_sha256(pki.key_pem(secp256k1, "traditional"))


def test_certificate_fields_match_cryptography(pki, ca):
    leaf = pki.make_cert(names=("example.test", "www.example.test", "192.0.2.7", "2001:db8::1"),
                         issuer=ca, serial=0x00ABCDEF)
    info = x509.parse_certificate(_der(leaf.cert))
    assert info["subject"] == leaf.cert.subject.rfc4514_string() == "CN=example.test"
    assert info["issuer"] == ca.cert.subject.rfc4514_string()
    assert info["common_name"] == "example.test"
    assert info["dns_names"] == ["example.test", "www.example.test"]
    assert info["ip_addresses"] == ["192.0.2.7", "2001:db8::1"]
    assert info["serial"] == "abcdef"
    assert info["not_before"] == leaf.cert.not_valid_before_utc
    assert info["not_after"] == leaf.cert.not_valid_after_utc
    assert info["not_after"].tzinfo is not None
    assert info["key_type"] == "ec-p256"
    assert info["is_ca"] is False
    assert info["spki_sha256"] == _spki_sha256(leaf.key)
    assert info["fingerprint_sha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert x509.parse_certificate(_der(ca.cert))["is_ca"] is True


@pytest.mark.parametrize("kind, expected", [("ec-p384", "ec-p384"), ("ec-p521", "ec-p521"),
                                            ("rsa-2048", "rsa-2048"), ("rsa-3072", "rsa-3072")])
def test_key_types(pki, kind, expected):
    cert = pki.make_cert(key=pki.make_key(kind))
    assert x509.parse_certificate(_der(cert.cert))["key_type"] == expected


def test_ed25519_certificate_key_type():
    key = ed25519.Ed25519PrivateKey.generate()
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "ed.test")])
    now = datetime.datetime.now(UTC)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(5).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, None))
    assert x509.parse_certificate(_der(cert))["key_type"] == "ed25519"


@pytest.mark.parametrize("serial, expected", [(1, "1"), (0x0F, "f"), (0x80, "80"),
                                              (0x00FF00, "ff00"), (2 ** 159 - 1, "7" + "f" * 39)])
def test_serial_formatting(pki, serial, expected):
    cert = pki.make_cert(serial=serial)
    info = x509.parse_certificate(_der(cert.cert))
    assert info["serial"] == expected == format(cert.cert.serial_number, "x")


def test_generalized_time_after_2050(pki):
    not_before = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)  # UTCTime
    not_after = datetime.datetime(2051, 6, 1, 12, 0, 0, tzinfo=UTC)  # GeneralizedTime
    cert = pki.make_cert(not_before=not_before, not_after=not_after)
    der = _der(cert.cert)
    assert b"\x17\x0d491231235959Z" in der and b"\x18\x0f20510601120000Z" in der
    info = x509.parse_certificate(der)
    assert info["not_before"] == not_before
    assert info["not_after"] == not_after


def test_utctime_before_2000(pki):
    cert = pki.make_cert(not_before=datetime.datetime(1999, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert x509.parse_certificate(_der(cert.cert))["not_before"].year == 1999


def test_rfc4514_escaping_and_order(pki):
    key = pki.make_key()
    name = cx509.Name([
        cx509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme, Inc. +1"),
        cx509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@example.test"),
        cx509.NameAttribute(NameOID.COMMON_NAME, " leading space"),
    ])
    now = datetime.datetime.now(UTC)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(9).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    info = x509.parse_certificate(_der(cert))
    assert info["subject"] == cert.subject.rfc4514_string()
    assert info["common_name"] == " leading space"
    assert info["dns_names"] == [] and info["ip_addresses"] == []


def test_pem_helpers(pki, ca, leaf):
    text = "junk before\n" + leaf.cert_pem + "\n\n" + ca.cert_pem.replace("\n", "\r\n") + leaf.key_pem
    blocks = x509.pem_blocks(text)
    assert [label for label, _der in blocks] == ["CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"]
    assert blocks[0][1] == _der(leaf.cert)
    chain = x509.split_pem_chain(text)
    assert chain == [leaf.cert_pem, ca.cert_pem]  # canonical 64-column PEM, as cryptography writes
    assert x509.pem_blocks(b"no pem here") == []
    folded = " ".join(leaf.cert_pem.split("\n"))  # what a YAML folded scalar makes of it
    assert x509.split_pem_chain(folded) == [leaf.cert_pem]
    with pytest.raises(InputError, match="base64"):
        x509.pem_blocks("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")


def test_malformed_certificates_raise_input_error(leaf):
    der = _der(leaf.cert)
    for bad in (der[:-5], der + b"\x00", b"\x30\x03\x02\x01\x01", b""):
        with pytest.raises(InputError):
            x509.parse_certificate(bad)


def test_der_roundtrip():
    for oid in ("1.2.840.10045.3.1.7", "1.3.132.0.34", "2.5.29.17", "0.9.2342.19200300.100.1.25"):
        assert x509.der_oid(x509.der_parse(x509.der_encode_oid(oid))) == oid
    for value in (0, 1, 127, 128, 255, 256, 65537, 2 ** 2048 - 1):
        assert x509.der_int(x509.der_parse(x509.der_encode_int(value))) == value
    long_value = x509.der_encode(0x04, b"x" * 70000)
    assert x509.der_parse(long_value).value == b"x" * 70000
