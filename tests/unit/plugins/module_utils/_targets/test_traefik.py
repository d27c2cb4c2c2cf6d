# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import traefik


class FakeTraefik(object):
    """Serves what the dynamic file names, as Traefik's file provider would after a reload;
    ``frozen`` plays a Traefik that does not pick the change up."""

    def __init__(self, dynamic_file: str) -> None:
        self.dynamic_file = dynamic_file
        self.frozen = None  # type: object

    def served(self):
        if self.frozen is not None:
            return self.frozen
        with open(self.dynamic_file) as handle:
            config = yaml.safe_load(handle)
        out = []
        for entry in config["tls"]["certificates"]:
            with open(entry["certFile"], "rb") as handle:
                out.append(x509.pem_blocks(handle.read())[0][1])
        return out

    def probe(self, host, port, server_name, timeout=10.0, **_kwargs):
        for der in self.served():
            if server_name in x509.parse_certificate(der)["dns_names"]:
                return tlsprobe.PeerCertificate(der, "h2", "TLSv1.3")
        raise TargetError("TLS probe of %s:%d: TRAEFIK DEFAULT CERT" % (host, port))


def _params(tmp_path, items, **extra):
    params = {"certificates": items, "cert_dir": str(tmp_path / "certs"),
              "dynamic_file": str(tmp_path / "dynamic" / "certfleet.yaml"), "default_certificate": None,
              "tls_options": None, "mode": "0644", "log_path": None,
              "verify": [{"host": "127.0.0.1", "port": 443, "server_name": "www.example.test"}],
              "verify_timeout": 1.0, "owner": None, "group": None, "backup": True, "state": "present"}
    params.update(extra)
    return params


def _item(issued, ca, name="www.example.test"):
    return {"name": name, "cert": issued.cert_pem, "chain": ca.cert_pem, "privatekey": issued.key_pem}


def test_dynamic_file_is_yaml_and_json_with_serials(tmp_path, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca)], default_certificate="www.example.test",
                     tls_options={"default": {"minVersion": "VersionTLS12"}})
    prep = traefik.deploy.prepare_all(params["certificates"])
    data = traefik.render_dynamic(prep, params).decode()
    assert data.splitlines()[1].startswith("# www.example.test: serial abcdef")
    body = "\n".join(line for line in data.splitlines() if not line.startswith("#"))
    assert yaml.safe_load(data) == json.loads(body)
    cert_file = str(tmp_path / "certs" / "www.example.test.crt")
    key_file = str(tmp_path / "certs" / "www.example.test.key")
    assert json.loads(body) == {"tls": {
        "certificates": [{"certFile": cert_file, "keyFile": key_file}],
        "stores": {"default": {"defaultCertificate": {"certFile": cert_file, "keyFile": key_file}}},
        "options": {"default": {"minVersion": "VersionTLS12"}}}}


def test_unknown_default_certificate_and_wrong_extension(tmp_path, ca, leaf):
    with pytest.raises(InputError, match="default_certificate nope"):
        traefik.run(_params(tmp_path, [_item(leaf, ca)], default_certificate="nope"))
    with pytest.raises(InputError, match="must end in .yaml"):
        traefik.run(_params(tmp_path, [_item(leaf, ca)], dynamic_file=str(tmp_path / "x.toml")))


def test_install_check_real_idempotent_and_renewal(tmp_path, ca, leaf, pki):
    params = _params(tmp_path, [_item(leaf, ca)])
    fake = FakeTraefik(params["dynamic_file"])
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = traefik.run(params, check_mode=check_mode, want_diff=True, probe=fake.probe)
        assert changed is want
    assert result["certificates"][0]["serial"] == "abcdef"
    key = tmp_path / "certs" / "www.example.test.key"
    assert stat.S_IMODE(os.stat(str(key)).st_mode) == 0o600
    assert "PRIVATE" not in repr(result)

    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x4242)
    changed, result = traefik.run(_params(tmp_path, [_item(renewed, ca)]), probe=fake.probe)
    assert changed and result["reason"] == "files"
    assert result["verified"][0]["served_serial"] == "4242"
    assert result["certificates"][0]["previous_serial"] == "abcdef"
    assert os.path.isfile(params["dynamic_file"] + ".certfleet-prev")


def test_not_served_in_time_restores_everything(tmp_path, ca, leaf, pki):
    params = _params(tmp_path, [_item(leaf, ca)])
    fake = FakeTraefik(params["dynamic_file"])
    traefik.run(params, probe=fake.probe)
    snapshot = dict((name, (tmp_path / "certs" / name).read_bytes())
                    for name in os.listdir(str(tmp_path / "certs")))
    dynamic = (tmp_path / "dynamic" / "certfleet.yaml").read_bytes()
    log = tmp_path / "traefik.log"
    log.write_text("2026-11-22T03:00:00Z INF old line\n")
    fake.frozen = fake.served()
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x4243)
    params = _params(tmp_path, [_item(renewed, ca)], verify_timeout=0.3, log_path=str(log))
    original = traefik.deploy.write

    def write_and_log(*args, **kwargs):
        original(*args, **kwargs)
        with open(str(log), "a") as handle:
            handle.write("2026-11-22T03:00:01Z \x1b[31mERR\x1b[0m Unable to append certificate error=\"boom\"\n")
    traefik.deploy.write = write_and_log
    try:
        with pytest.raises(TargetError) as info:
            traefik.run(params, probe=fake.probe)
    finally:
        traefik.deploy.write = original
    assert "serves serial abcdef, expected 4243" in info.value.msg
    assert 'Unable to append certificate error="boom"' in info.value.msg and "old line" not in info.value.msg
    assert (tmp_path / "dynamic" / "certfleet.yaml").read_bytes() == dynamic
    for name, data in snapshot.items():
        assert (tmp_path / "certs" / name).read_bytes() == data


def test_files_right_but_not_served_rewrites_the_dynamic_file(tmp_path, ca, leaf, pki):
    params = _params(tmp_path, [_item(leaf, ca)])
    fake = FakeTraefik(params["dynamic_file"])
    traefik.run(params, probe=fake.probe)
    other = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x99)
    fake.frozen = [x509.pem_blocks(other.cert_pem)[0][1]]  # Traefik serves something else
    inode = os.stat(params["dynamic_file"]).st_ino
    changed, result = traefik.run(params, check_mode=True, probe=fake.probe)
    assert changed and result["reason"] == "served" and os.stat(params["dynamic_file"]).st_ino == inode

    def probe(*args, **kwargs):
        if os.stat(params["dynamic_file"]).st_ino != inode:
            fake.frozen = None  # the rewritten file made Traefik reload
        return fake.probe(*args, **kwargs)
    changed, result = traefik.run(params, probe=probe)
    assert changed and result["reason"] == "served" and result["verified"][0]["ok"]
    assert not traefik.run(params, probe=fake.probe)[0]


def test_rollback(tmp_path, ca, leaf, pki):
    params = _params(tmp_path, [_item(leaf, ca)])
    fake = FakeTraefik(params["dynamic_file"])
    traefik.run(params, probe=fake.probe)
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x4244)
    traefik.run(_params(tmp_path, [_item(renewed, ca)]), probe=fake.probe)
    back = _params(tmp_path, [{"name": "www.example.test"}], state="rollback")
    changed, result = traefik.run(back, check_mode=True, probe=fake.probe)
    assert changed and fake.probe("h", 443, "www.example.test").der != leaf.cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    changed, result = traefik.run(back, probe=fake.probe)
    assert changed and result["verified"][0]["served_serial"] == "abcdef"
    assert not traefik.run(back, probe=fake.probe)[0]


def test_log_errors_reads_only_new_error_lines(tmp_path):
    log = tmp_path / "t.log"
    log.write_text("x ERR old\n")
    offset = traefik.log_offset(str(log))
    with open(str(log), "a") as handle:
        handle.write("a INF fine\nb ERR new one\n{\"level\":\"error\",\"msg\":\"json\"}\n")
    assert traefik.log_errors(str(log), offset) == ["b ERR new one", '{"level":"error","msg":"json"}']
    assert traefik.log_errors(None, 0) == [] and traefik.log_errors(str(tmp_path / "none"), 0) == []


def test_absent_drops_the_entry_and_the_files(tmp_path, ca, leaf, pki):
    old = pki.make_cert(names=("old.example.test",), issuer=ca, serial=0x99)
    both = _params(tmp_path, [_item(leaf, ca), _item(old, ca, "old")])
    fake = FakeTraefik(both["dynamic_file"])
    traefik.run(both, probe=fake.probe)
    traefik.run(dict(both, state="commit"), probe=fake.probe)
    assert fake.probe("h", 443, "old.example.test")
    params = _params(tmp_path, [_item(leaf, ca)], absent=[{"name": "old"}])
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = traefik.run(params, check_mode=check_mode, probe=fake.probe)
        assert changed is want, check_mode
        assert result["absent"][0]["changed"] is want
        assert result["absent"][0]["previous_serial"] == ("99" if want else None)
    assert not os.path.exists(str(tmp_path / "certs" / "old.crt"))
    assert not os.path.exists(str(tmp_path / "certs" / "old.key"))
    assert "old" not in open(params["dynamic_file"]).read()
    with pytest.raises(TargetError, match="DEFAULT CERT"):
        fake.probe("h", 443, "old.example.test")


def test_absent_and_present_at_once_is_refused(tmp_path, ca, leaf):
    with pytest.raises(InputError, match="both installed and absent"):
        traefik.run(_params(tmp_path, [_item(leaf, ca)], absent=[{"name": "www.example.test"}]))
    assert not os.path.exists(str(tmp_path / "certs"))
