# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal DER reader and X.509 / private key inspector (standard library only). Private to this collection."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import ipaddress
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

# --- DER ------------------------------------------------------------------------------------------

TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_UTC_TIME = 0x17
TAG_GENERALIZED_TIME = 0x18
TAG_SEQUENCE = 0x30
TAG_SET = 0x31

_STRING_CODECS = {
    0x0C: "utf-8",       # UTF8String
    0x12: "ascii",       # NumericString
    0x13: "ascii",       # PrintableString
    0x14: "latin-1",     # TeletexString (T61): latin-1 is what every real-world reader does
    0x16: "ascii",       # IA5String
    0x1A: "ascii",       # VisibleString
    0x1C: "utf-32-be",   # UniversalString
    0x1E: "utf-16-be",   # BMPString
}


class Element(t.NamedTuple):
    """One DER TLV: ``tag`` is the identifier octet, ``value`` the contents, ``raw`` the whole TLV."""

    tag: int
    value: bytes
    raw: bytes


def _read(data: bytes, pos: int = 0) -> t.Tuple[Element, int]:
    """Read the TLV at ``pos``; return it and the offset just after it."""
    try:
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise InputError("DER: high tag numbers are not supported")
        length = data[pos + 1]
        start = pos + 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4:
                raise InputError("DER: indefinite or oversized length")
            length = int.from_bytes(data[start:start + count], "big")
            start += count
    except IndexError:
        raise InputError("DER: truncated data") from None
    end = start + length
    if end > len(data):
        raise InputError("DER: truncated data")
    return Element(tag, bytes(data[start:end]), bytes(data[pos:end])), end


def der_parse(data: bytes) -> Element:
    """Parse one complete DER element; trailing bytes are an error."""
    element, end = _read(data, 0)
    if end != len(data):
        raise InputError("DER: %d trailing bytes after the outer element" % (len(data) - end))
    return element


def der_children(element: Element) -> t.List[Element]:
    """The elements inside a constructed element (SEQUENCE, SET, explicit tag)."""
    if not element.tag & 0x20:
        raise InputError("DER: expected a constructed element, got tag 0x%02x" % element.tag)
    children = []
    pos = 0
    while pos < len(element.value):
        child, pos = _read(element.value, pos)
        children.append(child)
    return children


def _expect(element: Element, tag: int, what: str) -> Element:
    if element.tag != tag:
        raise InputError("DER: %s: expected tag 0x%02x, got 0x%02x" % (what, tag, element.tag))
    return element


def der_int(element: Element) -> int:
    _expect(element, TAG_INTEGER, "INTEGER")
    return int.from_bytes(element.value, "big", signed=True)


def der_oid(element: Element) -> str:
    _expect(element, TAG_OID, "OBJECT IDENTIFIER")
    arcs = []  # type: t.List[int]
    value = 0
    for byte in element.value:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise InputError("DER: empty OBJECT IDENTIFIER")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def der_bit_string(element: Element) -> bytes:
    _expect(element, TAG_BIT_STRING, "BIT STRING")
    if not element.value or element.value[0] != 0:
        raise InputError("DER: BIT STRING with unused bits is not a key or signature")
    return element.value[1:]


def der_string(element: Element) -> str:
    codec = _STRING_CODECS.get(element.tag)
    if codec is None:
        return element.value.hex()
    return element.value.decode(codec, errors="replace")


def _encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_encode(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _encode_length(len(content)) + content


def der_encode_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return der_encode(TAG_INTEGER, body)


def der_encode_oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return der_encode(TAG_OID, bytes(body))


# --- PEM ------------------------------------------------------------------------------------------

_PEM_RE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


class PemBlock(t.NamedTuple):
    label: str
    headers: t.Dict[str, str]
    der: bytes


def pem_blocks_with_headers(text: t.Union[str, bytes]) -> t.List[PemBlock]:
    """All PEM blocks in ``text`` with their RFC 1421 headers (used by encrypted legacy keys)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    blocks = []
    for match in _PEM_RE.finditer(text):
        label, body = match.group(1), match.group(2)
        headers = {}
        lines = []
        for line in body.splitlines():
            if ":" in line:
                key, _sep, value = line.partition(":")
                headers[key.strip()] = value.strip()
            else:
                lines.append("".join(line.split()))  # also PEM folded onto one line by YAML
        try:
            der = base64.b64decode("".join(lines), validate=True)
        except (binascii.Error, ValueError):
            raise InputError("PEM block %r is not valid base64" % label) from None
        blocks.append(PemBlock(label, headers, der))
    return blocks


def pem_blocks(text: t.Union[str, bytes]) -> t.List[t.Tuple[str, bytes]]:
    """All PEM blocks in ``text`` as ``(label, der)`` pairs, in order."""
    return [(block.label, block.der) for block in pem_blocks_with_headers(text)]


def der_to_pem(label: str, der: bytes) -> str:
    """Canonical PEM text (64-column base64, trailing newline)."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def split_pem_chain(text: t.Union[str, bytes]) -> t.List[str]:
    """The CERTIFICATE blocks of ``text`` as canonical PEM strings, in order."""
    return [der_to_pem(label, der) for label, der in pem_blocks(text) if label == "CERTIFICATE"]


# --- Names, times, keys ---------------------------------------------------------------------------

# The short names of RFC 4514 (as printed by cryptography's rfc4514_string); others print dotted.
_NAME_OIDS = {
    "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.6": "C", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
OID_COMMON_NAME = "2.5.4.3"
OID_SAN = "2.5.29.17"
OID_BASIC_CONSTRAINTS = "2.5.29.19"
OID_RSA = "1.2.840.113549.1.1.1"
OID_RSA_PSS = "1.2.840.113549.1.1.10"
OID_EC = "1.2.840.10045.2.1"
OID_ED25519 = "1.3.101.112"
OID_ED448 = "1.3.101.113"
CURVE_NAMES = {
    "1.2.840.10045.3.1.7": "p256",
    "1.3.132.0.34": "p384",
    "1.3.132.0.35": "p521",
    "1.3.132.0.10": "secp256k1",
}


def _escape_rdn_value(value: str) -> str:
    if not value:
        return ""
    for char in ("\\", '"', "+", ",", ";", "<", ">"):
        value = value.replace(char, "\\" + char)
    value = value.replace("\0", "\\00")
    if value[0] in ("#", " "):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


def _parse_name(element: Element) -> t.Tuple[str, t.List[t.Tuple[str, str]]]:
    """Return the RFC 4514 string (last RDN first) and the attributes in encoded order."""
    rdns = []
    attributes = []
    for rdn in der_children(_expect(element, TAG_SEQUENCE, "Name")):
        parts = []
        for atv in der_children(_expect(rdn, TAG_SET, "RelativeDistinguishedName")):
            oid_el, value_el = der_children(atv)[:2]
            oid = der_oid(oid_el)
            value = der_string(value_el)
            attributes.append((oid, value))
            parts.append("%s=%s" % (_NAME_OIDS.get(oid, oid), _escape_rdn_value(value)))
        rdns.append("+".join(parts))
    return ",".join(reversed(rdns)), attributes


_TIME_RE = re.compile(r"^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,9}))?Z$")


def _parse_time(element: Element) -> datetime.datetime:
    """UTCTime (two-digit years, 1950-2049) or GeneralizedTime, both in UTC ("Z")."""
    text = element.value.decode("ascii", errors="replace")
    if element.tag == TAG_UTC_TIME:
        if len(text) == 11:  # legacy YYMMDDHHMMZ without seconds
            text = text[:10] + "00Z"
        text = ("19" if text[:2].isdigit() and int(text[:2]) >= 50 else "20") + text
    elif element.tag != TAG_GENERALIZED_TIME:
        raise InputError("DER: expected UTCTime or GeneralizedTime, got tag 0x%02x" % element.tag)
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise InputError("unsupported certificate time %r (only UTC 'Z' times are valid)" % text)
    parts = [int(part) for part in match.groups()[:6]]
    micro = int((match.group(7) or "0").ljust(6, "0")[:6])
    try:
        return datetime.datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], micro,
                                 tzinfo=datetime.timezone.utc)
    except ValueError:
        raise InputError("invalid certificate time %r" % text) from None


def _key_type(spki: Element) -> str:
    algorithm, key_bits = der_children(spki)
    alg_children = der_children(algorithm)
    oid = der_oid(alg_children[0])
    if oid in (OID_RSA, OID_RSA_PSS):
        modulus = der_int(der_children(der_parse(der_bit_string(key_bits)))[0])
        return "rsa-%d" % modulus.bit_length()
    if oid == OID_EC:
        curve = der_oid(alg_children[1]) if len(alg_children) > 1 else ""
        name = CURVE_NAMES.get(curve)
        if name in ("p256", "p384", "p521"):
            return "ec-" + name
        return "ec-" + (name or curve or "unknown")
    if oid == OID_ED25519:
        return "ed25519"
    if oid == OID_ED448:
        return "ed448"
    return "unknown-" + oid


def _parse_san(extn_value: bytes) -> t.Tuple[t.List[str], t.List[str]]:
    dns_names = []
    ip_addresses = []
    for general_name in der_children(der_parse(extn_value)):
        if general_name.tag == 0x82:  # [2] dNSName
            dns_names.append(general_name.value.decode("ascii", errors="replace"))
        elif general_name.tag == 0x87:  # [7] iPAddress
            if len(general_name.value) in (4, 16):
                ip_addresses.append(str(ipaddress.ip_address(general_name.value)))
    return dns_names, ip_addresses


def parse_certificate(der: bytes) -> t.Dict[str, t.Any]:
    """Inspect a DER certificate: the collection's one certificate summary (store host and nodes).

    Fields: subject, common_name, names (dns_names then ip_addresses), dns_names, ip_addresses,
    issuer (RFC 4514), serial (lower-case hex), not_before and not_after (aware UTC datetimes),
    key_type, is_ca, spki_sha256, fingerprint_sha256; see the documentation of cert_info.
    """
    try:
        return _parse_certificate(der)
    except InputError:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        raise InputError("malformed certificate: %s" % exc) from None


def _parse_certificate(der: bytes) -> t.Dict[str, t.Any]:
    cert = der_parse(bytes(der))
    tbs = der_children(_expect(cert, TAG_SEQUENCE, "Certificate"))[0]
    fields = der_children(_expect(tbs, TAG_SEQUENCE, "TBSCertificate"))
    if fields and fields[0].tag == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    serial = der_int(fields[0])
    issuer, _issuer_attrs = _parse_name(fields[2])
    not_before_el, not_after_el = der_children(fields[3])[:2]
    subject, subject_attrs = _parse_name(fields[4])
    spki = _expect(fields[5], TAG_SEQUENCE, "SubjectPublicKeyInfo")
    dns_names = []  # type: t.List[str]
    ip_addresses = []  # type: t.List[str]
    is_ca = False
    for field in fields[6:]:
        if field.tag != 0xA3:  # [3] EXPLICIT extensions
            continue
        for extension in der_children(der_children(field)[0]):
            parts = der_children(extension)
            oid = der_oid(parts[0])
            value = _expect(parts[-1], TAG_OCTET_STRING, "extnValue").value
            if oid == OID_SAN:
                dns_names, ip_addresses = _parse_san(value)
            elif oid == OID_BASIC_CONSTRAINTS:
                constraints = der_children(der_parse(value))
                is_ca = bool(constraints) and constraints[0].tag == TAG_BOOLEAN \
                    and constraints[0].value != b"\x00"
    common_names = [value for oid, value in subject_attrs if oid == OID_COMMON_NAME]
    return {
        "subject": subject,
        "common_name": common_names[-1] if common_names else None,
        "names": dns_names + ip_addresses,
        "dns_names": dns_names,
        "ip_addresses": ip_addresses,
        "issuer": issuer,
        "serial": format(serial, "x"),
        "not_before": _parse_time(not_before_el),
        "not_after": _parse_time(not_after_el),
        "key_type": _key_type(spki),
        "is_ca": is_ca,
        "spki_sha256": hashlib.sha256(spki.raw).hexdigest(),
        "fingerprint_sha256": hashlib.sha256(cert.raw).hexdigest(),
    }


def parse_certificate_pem(text: t.Union[str, bytes]) -> t.Dict[str, t.Any]:
    """parse_certificate() of the first CERTIFICATE block of a PEM text."""
    for label, der in pem_blocks(text):
        if label == "CERTIFICATE":
            return parse_certificate(der)
    raise InputError("not a PEM certificate (no BEGIN CERTIFICATE block)")


# --- Private keys ---------------------------------------------------------------------------------

class _Curve(t.NamedTuple):
    oid: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int
    size: int  # bytes per coordinate


CURVES = {
    "p256": _Curve(
        "1.2.840.10045.3.1.7",
        0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff,
        0xffffffff00000001000000000000000000000000fffffffffffffffffffffffc,
        0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b,
        0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
        0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5,
        0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551,
        32),
    "p384": _Curve(
        "1.3.132.0.34",
        (1 << 384) - (1 << 128) - (1 << 96) + (1 << 32) - 1,
        (1 << 384) - (1 << 128) - (1 << 96) + (1 << 32) - 4,
        int("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
            "c656398d8a2ed19d2a85c8edd3ec2aef", 16),
        int("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
            "5502f25dbf55296c3a545e3872760ab7", 16),
        int("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
            "0a60b1ce1d7e819d7a431d7c90ea0e5f", 16),
        int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
            "581a0db248b0a77aecec196accc52973", 16),
        48),
    "p521": _Curve(
        "1.3.132.0.35",
        (1 << 521) - 1,
        (1 << 521) - 4,
        int("0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef1"
            "09e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00", 16),
        int("00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d"
            "3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66", 16),
        int("011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
            "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650", 16),
        int("01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16),
        66),
}
_CURVE_BY_OID = dict((curve.oid, name) for name, curve in CURVES.items())

_JacobianPoint = t.Tuple[int, int, int]


def _jacobian_double(curve: _Curve, point: _JacobianPoint) -> _JacobianPoint:
    x, y, z = point
    p = curve.p
    if y == 0 or z == 0:
        return 0, 1, 0
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + curve.a * zz * zz) % p
    nx = (m * m - 2 * s) % p
    ny = (m * (s - nx) - 8 * yy * yy) % p
    nz = 2 * y * z % p
    return nx, ny, nz


def _jacobian_add(curve: _Curve, one: _JacobianPoint, two: _JacobianPoint) -> _JacobianPoint:
    p = curve.p
    x1, y1, z1 = one
    x2, y2, z2 = two
    if z1 == 0:
        return two
    if z2 == 0:
        return one
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    if u1 == u2:
        if s1 != s2:
            return 0, 1, 0
        return _jacobian_double(curve, one)
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    nx = (r * r - hhh - 2 * v) % p
    ny = (r * (v - nx) - s1 * hhh) % p
    nz = h * z1 * z2 % p
    return nx, ny, nz


def ec_public_point(curve_name: str, scalar: int) -> t.Tuple[int, int]:
    """``scalar * G`` in affine coordinates (double-and-add in Jacobian coordinates)."""
    curve = CURVES[curve_name]
    if not 0 < scalar < curve.n:
        raise InputError("EC private key scalar is out of range for curve %s" % curve_name)
    result = (0, 1, 0)  # type: _JacobianPoint
    addend = (curve.gx, curve.gy, 1)  # type: _JacobianPoint
    while scalar:
        if scalar & 1:
            result = _jacobian_add(curve, result, addend)
        addend = _jacobian_double(curve, addend)
        scalar >>= 1
    x, y, z = result
    z_inv = pow(z, -1, curve.p)
    z_inv2 = z_inv * z_inv % curve.p
    return x * z_inv2 % curve.p, y * z_inv2 * z_inv % curve.p


def _uncompressed_point(curve_name: str, point: bytes) -> bytes:
    """Return ``point`` in uncompressed form (0x04 || X || Y), decompressing if needed."""
    curve = CURVES[curve_name]
    if point[:1] == b"\x04" and len(point) == 1 + 2 * curve.size:
        return point
    if point[:1] in (b"\x02", b"\x03") and len(point) == 1 + curve.size:
        x = int.from_bytes(point[1:], "big")
        rhs = (x * x * x + curve.a * x + curve.b) % curve.p
        y = pow(rhs, (curve.p + 1) // 4, curve.p)  # p = 3 mod 4 for the NIST prime curves
        if y * y % curve.p != rhs:
            raise InputError("EC public key point is not on curve %s" % curve_name)
        if (y & 1) != (point[0] & 1):
            y = curve.p - y
        return b"\x04" + point[1:] + y.to_bytes(curve.size, "big")
    raise InputError("EC public key point has an unexpected encoding")


def _ec_spki(curve_name: str, point: bytes) -> bytes:
    algorithm = der_encode(TAG_SEQUENCE, der_encode_oid(OID_EC) + der_encode_oid(CURVES[curve_name].oid))
    return der_encode(TAG_SEQUENCE, algorithm + der_encode(TAG_BIT_STRING, b"\x00" + point))


def _rsa_spki(modulus: int, exponent: int) -> bytes:
    algorithm = der_encode(TAG_SEQUENCE, der_encode_oid(OID_RSA) + der_encode(TAG_NULL, b""))
    key = der_encode(TAG_SEQUENCE, der_encode_int(modulus) + der_encode_int(exponent))
    return der_encode(TAG_SEQUENCE, algorithm + der_encode(TAG_BIT_STRING, b"\x00" + key))


def _spki_from_rsa_private(der: bytes) -> bytes:
    fields = der_children(der_parse(der))
    return _rsa_spki(der_int(fields[1]), der_int(fields[2]))


def _spki_from_ec_private(der: bytes, curve_oid: t.Optional[str]) -> bytes:
    """SEC1 ECPrivateKey; ``curve_oid`` comes from the PKCS#8 wrapper when there is one."""
    fields = der_children(der_parse(der))
    scalar = int.from_bytes(_expect(fields[1], TAG_OCTET_STRING, "ECPrivateKey").value, "big")
    public = None
    for field in fields[2:]:
        if field.tag == 0xA0 and curve_oid is None:
            curve_oid = der_oid(der_children(field)[0])
        elif field.tag == 0xA1:
            public = der_bit_string(der_children(field)[0])
    curve_name = _CURVE_BY_OID.get(curve_oid or "")
    if curve_name is None:
        raise InputError("unsupported EC curve %s (supported: P-256, P-384, P-521)"
                         % (curve_oid or "(not named in the key)"))
    if public is None:
        x, y = ec_public_point(curve_name, scalar)
        size = CURVES[curve_name].size
        public = b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")
    return _ec_spki(curve_name, _uncompressed_point(curve_name, public))


def _spki_from_pkcs8(der: bytes) -> bytes:
    fields = der_children(der_parse(der))
    algorithm = der_children(fields[1])
    oid = der_oid(algorithm[0])
    private = _expect(fields[2], TAG_OCTET_STRING, "PrivateKeyInfo.privateKey").value
    if oid == OID_RSA:
        return _spki_from_rsa_private(private)
    if oid == OID_EC:
        curve_oid = der_oid(algorithm[1]) if len(algorithm) > 1 and algorithm[1].tag == TAG_OID else None
        return _spki_from_ec_private(private, curve_oid)
    if oid in (OID_ED25519, OID_ED448):
        for field in fields[3:]:
            if field.tag == 0x81:  # [1] IMPLICIT publicKey (OneAsymmetricKey, RFC 8410)
                public = field.value[1:]
                alg = der_encode(TAG_SEQUENCE, der_encode_oid(oid))
                return der_encode(TAG_SEQUENCE, alg + der_encode(TAG_BIT_STRING, b"\x00" + public))
        raise InputError("Edwards-curve private keys without an embedded public key are not supported")
    raise InputError("unsupported private key algorithm %s" % oid)


_KEY_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY")


def private_key_block(pem_text: t.Union[str, bytes]) -> PemBlock:
    """The first private key block of ``pem_text`` (EC PARAMETERS blocks are skipped).

    Raises InputError for encrypted keys or text without a key; messages never quote the key.
    """
    try:
        blocks = pem_blocks_with_headers(pem_text)
    except InputError:
        raise InputError("private key PEM is not valid base64") from None
    keys = [block for block in blocks if block.label in _KEY_LABELS]
    if not keys:
        raise InputError("no private key found (expected a PEM block PRIVATE KEY, EC PRIVATE KEY "
                         "or RSA PRIVATE KEY)")
    block = keys[0]
    if block.label == "ENCRYPTED PRIVATE KEY" or "ENCRYPTED" in block.headers.get("Proc-Type", ""):
        raise InputError("private key is encrypted; provide an unencrypted key "
                         "(it is protected by file mode 0600 and no_log instead)")
    return block


def normalize_private_key_pem(pem_text: t.Union[str, bytes]) -> str:
    """The private key re-encoded as canonical PEM under its own label."""
    block = private_key_block(pem_text)
    return der_to_pem(block.label, block.der)


def private_key_spki_sha256(pem_text: t.Union[str, bytes]) -> str:
    """SHA-256 (hex) of the SubjectPublicKeyInfo that belongs to a PEM private key.

    The SPKI is encoded exactly as a certificate carries it, so the result can be compared to
    ``parse_certificate(...)["spki_sha256"]``. Messages never contain key material.
    """
    block = private_key_block(pem_text)
    try:
        if block.label == "PRIVATE KEY":
            spki = _spki_from_pkcs8(block.der)
        elif block.label == "EC PRIVATE KEY":
            spki = _spki_from_ec_private(block.der, None)
        else:
            spki = _spki_from_rsa_private(block.der)
    except InputError as exc:
        raise InputError("cannot read %s: %s" % (block.label.lower(), exc.msg)) from None
    except (ValueError, IndexError, TypeError):
        raise InputError("malformed %s" % block.label.lower()) from None
    return hashlib.sha256(spki).hexdigest()
