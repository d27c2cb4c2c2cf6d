# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key and certificate fixtures for the node-side tests (cryptography is a test-only dependency)."""

from __future__ import annotations

import datetime
import ipaddress
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

UTC = datetime.timezone.utc


class Issued(t.NamedTuple):
    cert: x509.Certificate
    cert_pem: str
    key: t.Any
    key_pem: str  # PKCS#8, unencrypted


def make_key(kind: str = "ec-p256") -> t.Any:
    if kind == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ec-p521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    raise ValueError(kind)


def key_pem(key: t.Any, fmt: str = "pkcs8") -> str:
    formats = {"pkcs8": serialization.PrivateFormat.PKCS8,
               "traditional": serialization.PrivateFormat.TraditionalOpenSSL}
    return key.private_bytes(serialization.Encoding.PEM, formats[fmt],
                             serialization.NoEncryption()).decode()


def make_cert(names: t.Sequence[str] = ("example.test",), key: t.Any = None,
              issuer: t.Optional[Issued] = None, serial: int = 0x1234,
              not_before: t.Optional[datetime.datetime] = None,
              not_after: t.Optional[datetime.datetime] = None,
              ca: bool = False, cn: t.Optional[str] = None) -> Issued:
    """A certificate for ``names`` (DNS names or IP addresses), self-signed unless ``issuer``."""
    key = key or make_key()
    now = datetime.datetime.now(UTC)
    not_before = not_before or now - datetime.timedelta(days=1)
    not_after = not_after or now + datetime.timedelta(days=89)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or (names[0] if names else "ca"))])
    sans = []  # type: t.List[x509.GeneralName]
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key())
               .serial_number(serial)
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, cert.public_bytes(serialization.Encoding.PEM).decode(), key, key_pem(key))


@pytest.fixture(scope="session")
def ca() -> Issued:
    return make_cert(names=(), cn="Certfleet Test CA", ca=True, serial=1)


@pytest.fixture
def leaf(ca: Issued) -> Issued:
    return make_cert(names=("example.test", "www.example.test"), issuer=ca, serial=0xABCDEF)


class Pki(object):
    """The helpers above, handed to tests through the ``pki`` fixture."""

    make_key = staticmethod(make_key)
    key_pem = staticmethod(key_pem)
    make_cert = staticmethod(make_cert)


@pytest.fixture(scope="session")
def pki() -> t.Type[Pki]:
    return Pki


class TlsServer(t.NamedTuple):
    port: int
    leaf: Issued
    ca_file: str
    server_names: t.List[t.Optional[str]]


@pytest.fixture
def tls_server(tmp_path, ca: Issued) -> t.Iterator[TlsServer]:
    """A TLS server on 127.0.0.1 (random port) serving a leaf issued by ``ca``, offering ALPN h2."""
    import socket
    import ssl
    import threading

    leaf = make_cert(names=("localhost", "127.0.0.1"), issuer=ca, serial=0x5151)
    cert_file, key_file, ca_file = (str(tmp_path / name) for name in ("srv.pem", "srv.key", "ca.pem"))
    with open(cert_file, "w") as handle:
        handle.write(leaf.cert_pem + ca.cert_pem)
    with open(key_file, "w") as handle:
        handle.write(leaf.key_pem)
    with open(ca_file, "w") as handle:
        handle.write(ca.cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2", "http/1.1"])
    server_names = []  # type: t.List[t.Optional[str]]
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield TlsServer(listener.getsockname()[1], leaf, ca_file, server_names)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
