# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight follows redirects as the CA does, against a small HTTP and HTTPS server pair on
loopback (the node's port 80 and 443; the HTTPS one has a self-signed certificate and records
the SNI names it was asked for)."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._probe.preflight import (
    check_module, refused_redirect)

TOKEN = "tok_123"
PATH = "/.well-known/acme-challenge/" + TOKEN
KEYAUTH = TOKEN + ".thumb"
HOST = "a.example.test"


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "preflight test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class Node(object):
    """``routes[(scheme, host, path)]`` is ``("body", text)`` or ``("redirect", location)``."""

    def __init__(self, tmp_path):
        self.routes = {}
        self.sni = []
        self.requests = []
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
                host = self.headers["Host"]
                node.requests.append((scheme, host, self.path))
                kind, value = node.routes.get((scheme, host, self.path), ("missing", ""))
                if kind == "redirect":
                    self.send_response(301)
                    self.send_header("Location", value)
                    self.end_headers()
                elif kind == "body":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(value.encode())
                else:
                    self.send_response(404)
                    self.end_headers()

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*_self_signed(tmp_path))
        context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self.https.socket = context.wrap_socket(self.https.socket, server_side=True)
        for server in (self.http, self.https):
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def as_node(self, name="web1"):
        return {"name": name, "address": "127.0.0.1", "port": self.http.server_address[1],
                "https_port": self.https.server_address[1]}

    def close(self):
        for server in (self.http, self.https):
            server.shutdown()
            server.server_close()


@pytest.fixture
def node(tmp_path):
    server = Node(tmp_path)
    yield server
    server.close()


def _params(nodes, **over):
    base = {"challenges": [{"certificate": "a", "identifier": HOST, "type": "http-01",
                            "path": PATH.lstrip("/"), "content": KEYAUTH, "token": TOKEN}],
            "nodes": nodes, "public_address": None, "public_port": 80, "public_https_port": 443,
            "public_rounds": 0, "check_public": False, "timeout": 3, "attempts": 1, "retry_delay": 0,
            "fail_on_miss": True}
    base.update(over)
    return base


def _miss(node, **over):
    with pytest.raises(TargetError) as info:
        check_module(_params([node.as_node()], **over))
    (miss,) = info.value.details["misses"]
    assert miss["got"] in info.value.msg  # the reason is in the table row
    return miss


def test_a_301_to_https_that_serves_the_token_passes(node):
    node.routes[("http", HOST, PATH)] = ("redirect", "https://%s%s" % (HOST, PATH))
    node.routes[("https", HOST, PATH)] = ("body", KEYAUTH + "\n")
    _changed, result = check_module(_params([node.as_node()]))
    assert result["misses"] == []
    assert node.sni == [HOST]  # the redirect target's name, certificate not checked (self-signed)


def test_relative_locations_are_resolved_against_the_current_url(node):
    node.routes[("http", HOST, PATH)] = ("redirect", "https://%s/x/y" % HOST)
    node.routes[("https", HOST, "/x/y")] = ("redirect", "../moved/" + TOKEN)
    node.routes[("https", HOST, "/moved/" + TOKEN)] = ("body", KEYAUTH)
    assert check_module(_params([node.as_node()]))[1]["misses"] == []


def test_a_loop_fails_with_the_chain(node):
    node.routes[("http", HOST, PATH)] = ("redirect", "https://%s%s" % (HOST, PATH))
    node.routes[("https", HOST, PATH)] = ("redirect", "http://%s%s" % (HOST, PATH))
    miss = _miss(node)
    url, secure = "http://%s%s" % (HOST, PATH), "https://%s%s" % (HOST, PATH)
    assert "redirect loop: %s -> %s -> %s" % (url, secure, url) in miss["got"]
    assert miss["redirects"] == [secure, url]


@pytest.mark.parametrize("location, reason", [
    ("https://%s:8443%s" % (HOST, PATH), "the CA follows only ports 80 and 443, not 8443"),
    ("ftp://%s%s" % (HOST, PATH), "the CA follows only http and https, not ftp"),
    ("http://10.0.0.1%s" % PATH, "reserved address 10.0.0.1"),
    ("https://%s.well-known/acme-challenge/x" % HOST, "a '/' is missing"),
])
def test_a_redirect_the_ca_refuses_fails_with_the_reason(node, location, reason):
    node.routes[("http", HOST, PATH)] = ("redirect", location)
    miss = _miss(node)
    assert "redirect the CA refuses (" in miss["got"] and reason in miss["got"]
    assert miss["got"].startswith("HTTP 301")
    assert node.requests == [("http", HOST, PATH)]  # nothing fetched from the refused target


@pytest.mark.parametrize("hops, passes", [(10, True), (11, False)])
def test_at_most_ten_redirects(node, hops, passes):
    paths = [PATH] + ["/r%d" % i for i in range(1, hops + 1)]
    for here, there in zip(paths, paths[1:]):
        node.routes[("http", HOST, here)] = ("redirect", there)
    node.routes[("http", HOST, paths[-1])] = ("body", KEYAUTH)
    if passes:
        assert check_module(_params([node.as_node()]))[1]["misses"] == []
    else:
        miss = _miss(node)
        assert "more than 10 redirects" in miss["got"] and len(miss["redirects"]) == 11


def test_another_host_goes_through_the_public_address(node):
    node.routes[("http", HOST, PATH)] = ("redirect", "https://acme.example.test/c/" + TOKEN)
    node.routes[("https", "acme.example.test", "/c/" + TOKEN)] = ("body", KEYAUTH)
    public = node.as_node()
    params = _params([node.as_node()], public_address="127.0.0.1", public_port=public["port"],
                     public_https_port=public["https_port"])
    assert check_module(params)[1]["misses"] == []
    assert node.sni == ["acme.example.test"]


def test_wrong_content_after_redirects_names_the_chain(node):
    node.routes[("http", HOST, PATH)] = ("redirect", "https://%s%s" % (HOST, PATH))
    node.routes[("https", HOST, PATH)] = ("body", "<html>welcome</html>")
    miss = _miss(node)
    assert "other content" in miss["got"] and "after redirects: http://" in miss["got"]


@pytest.mark.parametrize("url", ["http://a.example.test/x", "https://a.example.test:443/x",
                                 "http://a.example.test:80/x", "https://8.8.8.8/x"])
def test_redirects_the_ca_follows(url):
    assert refused_redirect(url) is None
