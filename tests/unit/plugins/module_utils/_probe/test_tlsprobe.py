# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import socket
import threading

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe


def test_probe_returns_served_leaf(tls_server):
    peer = tlsprobe.fetch_peer_certificate("127.0.0.1", tls_server.port, "www.example.test", timeout=5)
    assert peer.der == tls_server.leaf.cert.public_bytes(serialization.Encoding.DER)
    assert x509.parse_certificate(peer.der)["serial"] == "5151"
    assert peer.alpn_protocol is None
    assert peer.tls_version in ("TLSv1.2", "TLSv1.3")
    assert tls_server.server_names == ["www.example.test"]


def test_probe_alpn_and_verification(tls_server):
    peer = tlsprobe.fetch_peer_certificate("127.0.0.1", tls_server.port, "localhost", timeout=5,
                                           ca_file=tls_server.ca_file, check_hostname=True,
                                           alpn=["h2", "http/1.1"])
    assert peer.alpn_protocol == "h2"
    # chain verified, name not checked by default
    tlsprobe.fetch_peer_certificate("127.0.0.1", tls_server.port, "other.test", timeout=5,
                                    ca_file=tls_server.ca_file)
    with pytest.raises(TargetError, match="verification failed") as info:
        tlsprobe.fetch_peer_certificate("127.0.0.1", tls_server.port, "other.test", timeout=5,
                                        ca_file=tls_server.ca_file, check_hostname=True)
    assert "SNI other.test" in info.value.msg


def test_probe_untrusted_ca(tls_server, pki, tmp_path):
    other_ca = pki.make_cert(names=(), cn="Other CA", ca=True)
    path = tmp_path / "other-ca.pem"
    path.write_text(other_ca.cert_pem)
    with pytest.raises(TargetError, match="verification failed"):
        tlsprobe.fetch_peer_certificate("127.0.0.1", tls_server.port, "localhost", timeout=5,
                                        ca_file=str(path))


def test_probe_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TargetError, match=r"127\.0\.0\.1:%d \(SNI www\.example\.test\): connection refused"
                       % port) as info:
        tlsprobe.fetch_peer_certificate("127.0.0.1", port, "www.example.test", timeout=2)
    assert info.value.details == {"host": "127.0.0.1", "port": port, "server_name": "www.example.test"}


def test_probe_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts TCP, never speaks TLS
    try:
        with pytest.raises(TargetError, match="timed out after 0.3s"):
            tlsprobe.fetch_peer_certificate("127.0.0.1", listener.getsockname()[1], "a.test", timeout=0.3)
    finally:
        listener.close()


def test_probe_handshake_failure():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_plain_http() -> None:
        conn, _addr = listener.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
        conn.close()

    thread = threading.Thread(target=answer_plain_http, daemon=True)
    thread.start()
    try:
        with pytest.raises(TargetError, match="handshake failed"):
            tlsprobe.fetch_peer_certificate("127.0.0.1", listener.getsockname()[1], "a.test", timeout=5)
    finally:
        thread.join(5)
        listener.close()


def test_probe_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        tlsprobe.fetch_peer_certificate("127.0.0.1", 1, ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(InputError, match="needs a CA file"):
        tlsprobe.fetch_peer_certificate("127.0.0.1", 1, check_hostname=True)
    with pytest.raises(TargetError, match="cannot resolve"):
        tlsprobe.fetch_peer_certificate("name.invalid", 443, timeout=2)
