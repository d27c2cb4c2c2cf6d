# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys and CSRs on the store host (cryptography). Private to this collection.

Certificates are read by the standard-library ``_pki.x509`` (one summary shape everywhere).
"""

from __future__ import annotations

import hashlib
import ipaddress
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

try:
    import josepy as jose
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    HAS_CRYPTO = True
    CRYPTO_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the module
    HAS_CRYPTO = False
    CRYPTO_IMPORT_ERROR = _exc

KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096")
_CURVES = {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}


def generate_key(key_type: str) -> t.Any:
    if key_type not in KEY_TYPES:
        raise InputError("Unknown key type %r; choose one of %s" % (key_type, ", ".join(KEY_TYPES)))
    if key_type.startswith("ec-"):
        curve = ec.SECP256R1() if key_type == "ec-p256" else ec.SECP384R1()
        return ec.generate_private_key(curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))


def key_to_pem(key: t.Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(pem: t.Union[str, bytes], source: str = "key") -> t.Any:
    """Load an unencrypted private key; the message never contains key material."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InputError("The %s is encrypted; certfleet needs an unencrypted key" % source)
    except (ValueError, Exception):
        raise InputError("The %s is not a readable PEM private key" % source)
    key_type_of(key, source)
    return key


def key_type_of(key: t.Any, source: str = "key") -> str:
    """Return the collection's key type name for a private or public key."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        name = {"secp256r1": "ec-p256", "secp384r1": "ec-p384"}.get(key.curve.name)
        if name:
            return name
        raise InputError("The %s uses curve %s; ACME CAs accept P-256 and P-384" % (source, key.curve.name))
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        if key.key_size < 2048:
            raise InputError("The %s is RSA %d; at least 2048 bits are required" % (source, key.key_size))
        return "rsa-%d" % key.key_size
    raise InputError("The %s is of an unsupported type (%s)" % (source, type(key).__name__))


def jwk_and_alg(key: t.Any) -> t.Tuple[t.Any, t.Any]:
    """The JWK and the JWS algorithm that goes with the account key (EC needs ES256/ES384)."""
    key_type = key_type_of(key, "account key")
    if key_type == "ec-p256":
        return jose.JWKEC(key=key), jose.ES256
    if key_type == "ec-p384":
        return jose.JWKEC(key=key), jose.ES384
    return jose.JWKRSA(key=key), jose.RS256


def jwk_thumbprint(key: t.Any) -> str:
    """The RFC 7638 SHA-256 thumbprint of the account key's JWK, base64url without padding: the
    part after the dot of every http-01 key authorization (``<token>.<thumbprint>``)."""
    jwk, _alg = jwk_and_alg(key)
    return jose.b64encode(jwk.thumbprint()).decode("ascii")


def make_csr(key: t.Any, identifiers: t.Sequence[str]) -> t.Any:
    """A CSR for the identifiers (DNS names and IP addresses), no subject but SANs."""
    sans = []
    for ident in identifiers:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(ident)))
        except ValueError:
            sans.append(x509.DNSName(ident))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


def public_key_der(key: t.Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def spki_sha256(key: t.Any) -> str:
    """SHA-256 (hex) of the key's SubjectPublicKeyInfo, as ``x509.parse_certificate()["spki_sha256"]``."""
    return hashlib.sha256(public_key_der(key)).hexdigest()
