from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys, x509


@pytest.mark.parametrize("key_type", ["ec-p256", "ec-p384", "rsa-2048"])
def test_key_and_certificate_agree_on_the_spki(pki, key_type):
    key = keys.generate_key(key_type)
    issued = pki.make_cert(("a.example.test", "192.0.2.1"), key=key)
    info = x509.parse_certificate_pem(issued.cert_pem)
    assert info["spki_sha256"] == keys.spki_sha256(key) == x509.private_key_spki_sha256(keys.key_to_pem(key))
    assert info["names"] == ["a.example.test", "192.0.2.1"] and info["key_type"] == key_type


def test_parse_certificate_pem_needs_a_certificate():
    with pytest.raises(InputError, match="no BEGIN CERTIFICATE"):
        x509.parse_certificate_pem(keys.key_to_pem(keys.generate_key("ec-p256")))


@pytest.mark.parametrize("key_type", ["ec-p256", "ec-p384", "rsa-2048"])
def test_jwk_thumbprint_is_the_tail_of_every_http01_key_authorization(key_type):
    from acme import challenges
    key = keys.generate_key(key_type)
    jwk, _alg = keys.jwk_and_alg(key)
    chall = challenges.HTTP01(token=b"certfleet-token-0123456789")
    token, dot, tail = chall.key_authorization(jwk).partition(".")
    assert dot and tail == keys.jwk_thumbprint(key)
    assert "=" not in tail and len(tail) == 43
