# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime
import socket

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import info

UTC = datetime.timezone.utc
NOW = datetime.datetime(2030, 1, 1, tzinfo=UTC)


def _params(**extra):
    params = {"path": None, "content": None, "host": None, "port": 443, "server_name": None,
              "endpoints": None, "fail_on_error": True, "timeout": 5.0, "ca_path": None,
              "alpn": None, "renew_before_days": None}
    params.update(extra)
    return params


@pytest.fixture
def dated(pki, ca):
    return pki.make_cert(names=("example.test", "192.0.2.1"), issuer=ca, serial=0x0102,
                         not_before=datetime.datetime(2029, 12, 1, tzinfo=UTC),
                         not_after=datetime.datetime(2030, 3, 1, 12, tzinfo=UTC))


def test_describe_from_path_pem_der_and_content(tmp_path, ca, dated):
    pem = tmp_path / "fullchain.pem"
    pem.write_text(dated.cert_pem + ca.cert_pem)
    der = tmp_path / "cert.der"
    der.write_bytes(dated.cert.public_bytes(serialization.Encoding.DER))
    results = [info.run(_params(path=str(pem)), now=NOW), info.run(_params(path=str(der)), now=NOW),
               info.run(_params(content=dated.cert_pem), now=NOW)]
    for changed, result in results:
        assert changed is False
        assert result == results[0][1]
    result = results[0][1]
    assert result["subject"] == "CN=example.test"
    assert result["common_name"] == "example.test"
    assert result["names"] == ["example.test", "192.0.2.1"]
    assert result["issuer"] == "CN=Certfleet Test CA"
    assert result["serial"] == "102"
    assert result["not_before"] == "2029-12-01T00:00:00Z"
    assert result["not_after"] == "2030-03-01T12:00:00Z"
    assert result["days_left"] == 59.5
    assert result["key_type"] == "ec-p256"
    assert len(result["fingerprint_sha256"]) == 64
    assert result["renewal_due"] is False
    assert "renewal from" in result["renewal_reason"]


@pytest.mark.parametrize("renew_before_days, due", [(None, False), (30, False), (60, True)])
def test_renewal_due(dated, renew_before_days, due):
    _changed, result = info.run(_params(content=dated.cert_pem, renew_before_days=renew_before_days),
                                now=NOW)
    assert result["renewal_due"] is due


def test_expired(dated):
    _changed, result = info.run(_params(content=dated.cert_pem),
                                now=datetime.datetime(2030, 3, 2, 12, tzinfo=UTC))
    assert result["days_left"] == -1.0
    assert (result["renewal_due"], result["renewal_reason"]) == (True, "expired")


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        info.run(_params(path=str(tmp_path / "missing.pem")))
    (tmp_path / "text").write_text("hello")
    with pytest.raises(InputError, match="neither a PEM nor a DER"):
        info.run(_params(path=str(tmp_path / "text")))
    with pytest.raises(InputError, match="no PEM CERTIFICATE"):
        info.run(_params(content="-----BEGIN X-----\nAAAA\n-----END X-----\n"))
    with pytest.raises(InputError, match="required"):
        info.run(_params())


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_single_host(tls_server):
    _changed, result = info.run(_params(host="127.0.0.1", port=tls_server.port,
                                        server_name="localhost", alpn=["h2"]))
    assert result["serial"] == "5151"
    assert (result["host"], result["port"], result["server_name"]) == ("127.0.0.1", tls_server.port,
                                                                       "localhost")
    assert result["alpn_protocol"] == "h2" and result["error"] is None
    port = _closed_port()
    with pytest.raises(TargetError, match="connection refused") as failure:
        info.run(_params(host="127.0.0.1", port=port))
    assert failure.value.details["port"] == port


def test_endpoints(tls_server):
    port = _closed_port()
    endpoints = [{"host": "127.0.0.1", "port": tls_server.port, "server_name": "localhost"},
                 {"host": "127.0.0.1", "port": port, "server_name": None}]
    with pytest.raises(TargetError, match=r"1 of 2 endpoints: .*127\.0\.0\.1:%d" % port) as failure:
        info.run(_params(endpoints=endpoints, ca_path=tls_server.ca_file))
    results = failure.value.details["endpoints"]
    assert results[0]["serial"] == "5151" and results[0]["error"] is None
    assert results[1]["serial"] is None and "connection refused" in results[1]["error"]
    assert results[1]["server_name"] == "127.0.0.1"
    changed, result = info.run(_params(endpoints=endpoints, fail_on_error=False))
    assert changed is False and result["failed_count"] == 1
    assert [entry["serial"] for entry in result["endpoints"]] == ["5151", None]
    assert set(info.FIELDS) <= set(result["endpoints"][1])


@pytest.mark.parametrize("shape", ["cert+key", "key+cert", "rsa-traditional", "encrypted", "malformed"])
def test_content_with_a_private_key_is_refused_without_echo(dated, shape):
    from cryptography.hazmat.primitives import serialization
    key = dated.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    texts = {
        "cert+key": dated.cert_pem + key,
        "key+cert": key + dated.cert_pem,
        "rsa-traditional": dated.cert_pem + key.replace("PRIVATE KEY", "RSA PRIVATE KEY"),
        "encrypted": dated.cert_pem + key.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
        "malformed": dated.cert_pem + "-----BEGIN PRIVATE KEY-----\nnot base64!\n",
    }
    with pytest.raises(InputError) as caught:
        info.run(_params(content=texts[shape]), now=NOW)
    message = caught.value.msg
    assert "private key" in message and "\n" not in message
    body = key.splitlines()[1]
    assert body not in message and "MII" not in message and not caught.value.details


def test_content_is_no_log_and_path_still_reads_a_combined_pem(tmp_path, dated):
    spec = info.argument_spec()
    assert spec["content"]["no_log"] is True
    combined = tmp_path / "combined.pem"  # what haproxy_cert writes: reading it stays allowed
    combined.write_text(dated.cert_pem + dated.key_pem)
    assert info.run(_params(path=str(combined)), now=NOW)[1]["serial"] == "102"
