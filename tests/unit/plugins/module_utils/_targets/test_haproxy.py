# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import socket
import stat
import threading
import typing as t

import pytest
from cryptography import x509 as cx509

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import haproxy


# --- A fake HAProxy: runtime API on a unix socket, and a "reload" that loads the files ----------

def _serial_of(pem: bytes) -> str:
    return format(cx509.load_pem_x509_certificate(pem).serial_number, "X")


class FakeHAProxy(object):
    """Speaks the CLI subset haproxy_cert uses, like HAProxy 2.6: one command per connection,
    ``<<`` payloads ended by an empty line, one open transaction at a time."""

    def __init__(self, sock_path: str) -> None:
        self.path = sock_path
        self.loaded = {}  # type: t.Dict[str, bytes]   # what is served, per file
        self.transaction = None  # type: t.Optional[t.Tuple[str, bytes]]
        self.commands = []  # type: t.List[str]
        self.refuse_commit = False
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(sock_path)
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _addr = self.listener.accept()
            except socket.timeout:
                continue
            with conn:
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    data += chunk
                    if not chunk or (b"<<\n" not in data and data.endswith(b"\n")) \
                            or data.endswith(b"\n\n"):
                        break
                conn.sendall(self.answer(data.decode()).encode() + b"\n")

    def answer(self, text: str) -> str:
        line, _sep, payload = text.partition("\n")
        payload = payload.strip()
        self.commands.append(line)
        words = line.split()
        if line == "show ssl cert":
            out = []
            if self.transaction:
                out += ["# transaction", "*" + self.transaction[0]]
            return "\n".join(out + ["# filename"] + sorted(self.loaded)) + "\n"
        if words[:3] == ["show", "ssl", "cert"]:
            pem = self.loaded.get(words[3])
            return "Serial: %s\n" % _serial_of(pem) if pem else "Can't display the certificate"
        if words[:3] == ["set", "ssl", "cert"]:
            if self.transaction and self.transaction[0] != words[3]:
                return "The ongoing transaction is about '%s'" % self.transaction[0]
            if words[3] not in self.loaded:
                return "Can't replace a certificate which is not referenced by the configuration!"
            if "PRIVATE KEY" not in payload:
                return "Can't load the payload\nCan't update %s!" % words[3]
            created = self.transaction is None
            self.transaction = (words[3], payload.encode() + b"\n")
            return "Transaction %s for certificate %s!" % ("created" if created else "updated", words[3])
        if words[:3] == ["commit", "ssl", "cert"]:
            if not self.transaction or self.refuse_commit:
                return "Can't commit %s!" % words[3]
            path, pem = self.transaction
            self.loaded[path] = pem
            self.transaction = None
            return "Committing %s.\nSuccess!" % path
        if words[:3] == ["abort", "ssl", "cert"]:
            self.transaction = None
            return "Transaction aborted for certificate '%s'!" % words[3]
        return "Unknown command"

    def reload(self, cert_dir: str) -> None:
        """What a reload does here: every (non-dot) file of the directory is loaded anew."""
        self.loaded = {}
        self.transaction = None
        for name in sorted(os.listdir(cert_dir)):
            path = os.path.join(cert_dir, name)
            if not name.startswith(".") and os.path.isfile(path):
                with open(path, "rb") as handle:
                    self.loaded[path] = handle.read()

    def probe(self, host, port, server_name, timeout=10.0, **_kwargs) -> tlsprobe.PeerCertificate:
        """A TLS handshake: the served certificate whose names cover the SNI name."""
        for pem in self.loaded.values():
            der = x509.pem_blocks(pem)[0][1]
            if server_name in x509.parse_certificate(der)["dns_names"]:
                return tlsprobe.PeerCertificate(der, "h2", "TLSv1.3")
        raise TargetError("TLS probe of %s:%d: no certificate for %s" % (host, port, server_name))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


class Runner(object):
    """Stands in for haproxy -c and the reload command."""

    def __init__(self, fake: FakeHAProxy, cert_dir: str) -> None:
        self.fake, self.cert_dir = fake, cert_dir
        self.calls = []  # type: t.List[t.List[str]]
        self.check_fails = None  # type: t.Optional[str]

    def __call__(self, argv, what, timeout=60.0) -> str:
        self.calls.append(list(argv))
        if "-c" in argv:
            if self.check_fails:
                raise TargetError("haproxy -c on lb failed (haproxy exited 1): %s" % self.check_fails)
            return "Configuration file is valid"
        self.fake.reload(self.cert_dir)
        return ""

    @property
    def reloads(self) -> int:
        return sum(1 for argv in self.calls if "-c" not in argv)


@pytest.fixture
def lb(tmp_path):
    sock = str(tmp_path / "admin.sock")
    fake = FakeHAProxy(sock)
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    runner = Runner(fake, str(cert_dir))
    yield fake, runner, cert_dir
    fake.close()


def _params(cert_dir, items, **extra):
    params = {"certificates": items, "dest_dir": str(cert_dir), "crt_list": None, "mode": "0600",
              "config": ["/etc/haproxy/haproxy.cfg"], "haproxy_path": "haproxy",
              "admin_socket": str(cert_dir.parent / "admin.sock"), "method": "auto",
              "reload_command": ["reload-haproxy"], "master_pid_file": None,
              "verify": [{"host": "127.0.0.1", "port": 443, "server_name": "www.example.test"}],
              "verify_timeout": 2.0, "owner": None, "group": None, "backup": True, "state": "present"}
    params.update(extra)
    return params


def _item(issued, ca, name="www.example.test"):
    return {"name": name, "cert": issued.cert_pem, "chain": ca.cert_pem, "privatekey": issued.key_pem}


def _run(fake, runner, params, check_mode=False):
    return haproxy.run(params, check_mode=check_mode, want_diff=True, probe=fake.probe, runner=runner)


# --- Pure helpers ---------------------------------------------------------------------------------

def test_parse_show_ssl_cert():
    text = "# transaction\n*/etc/haproxy/certs/a.pem\n# filename\n/etc/haproxy/certs/a.pem\n/b.pem\n"
    assert haproxy.parse_show_ssl_cert(text) == (["/etc/haproxy/certs/a.pem", "/b.pem"],
                                                 ["/etc/haproxy/certs/a.pem"])


def test_normalize_serial():
    assert haproxy.normalize_serial("00ABCDEF") == "abcdef"
    assert haproxy.normalize_serial("0") == "0"
    assert haproxy.normalize_serial(None) is None


def test_crt_list_lines_are_replaced_in_place_and_appended():
    existing = b"# comment\n/x/other.pem [alpn h2] other.test\n/x/a.pem old.test\n"
    options = {"ssl_options": "[alpn h2,http/1.1]", "sni_filters": ["a.test"]}
    lines = {"/x/a.pem": haproxy.crt_list_line("/x/a.pem", options),
             "/x/b.pem": haproxy.crt_list_line("/x/b.pem", {})}
    out = haproxy.render_crt_list(existing, lines).decode()
    assert out == ("# comment\n/x/other.pem [alpn h2] other.test\n/x/a.pem [alpn h2,http/1.1] a.test\n"
                   "/x/b.pem\n")
    assert haproxy.render_crt_list(out.encode(), lines).decode() == out


def test_combined_pem_is_fullchain_then_key(tmp_path, lb, ca, leaf):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    data = (cert_dir / "www.example.test.pem").read_text()
    labels = [label for label, _der in x509.pem_blocks(data)]
    assert labels == ["CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"]
    assert stat.S_IMODE(os.stat(str(cert_dir / "www.example.test.pem")).st_mode) == 0o600


# --- The runtime API against the fake socket ------------------------------------------------------

def test_runtime_api_replace_and_refusals(lb, ca, leaf, pki):
    fake, _runner, cert_dir = lb
    path = str(cert_dir / "a.pem")
    fake.loaded[path] = (leaf.cert_pem + leaf.key_pem).encode()
    api = haproxy.RuntimeApi(fake.path)
    assert api.show_certs() == ([path], [])
    assert api.serial(path) == "abcdef"
    assert api.serial("/unknown.pem") is None
    other = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x0BEEF)
    api.replace(path, other.cert_pem + ca.cert_pem + other.key_pem)
    assert api.serial(path) == "beef"
    assert fake.commands[-3:-1] == ["set ssl cert %s <<" % path, "commit ssl cert %s" % path]
    with pytest.raises(TargetError, match="refused set ssl cert.*Can't update"):
        api.replace(path, other.cert_pem)  # no key
    fake.transaction = None
    fake.refuse_commit = True
    with pytest.raises(TargetError, match="refused commit ssl cert"):
        api.replace(path, other.cert_pem + other.key_pem)
    assert fake.commands[-1] == "abort ssl cert %s" % path and fake.transaction is None


def test_runtime_api_unreachable(tmp_path):
    with pytest.raises(TargetError, match="runtime API .*nothing.sock"):
        haproxy.RuntimeApi(str(tmp_path / "nothing.sock")).show_certs()


# --- The whole run -------------------------------------------------------------------------------

def test_new_certificate_reloads_then_renewal_uses_runtime_api(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    params = _params(cert_dir, [_item(leaf, ca)])
    changed, result = _run(fake, runner, params, check_mode=True)
    assert changed and result["method"] == "reload" and runner.calls == []
    assert not (cert_dir / "www.example.test.pem").exists()

    changed, result = _run(fake, runner, params)
    assert changed and result["method"] == "reload" and result["reason"] == "files"
    assert runner.reloads == 1 and ["haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"] in runner.calls
    assert result["verified"][0]["served_serial"] == "abcdef" and result["verified"][0]["ok"]
    assert result["certificates"][0]["previous_serial"] is None
    assert "PRIVATE" not in repr(result["diff"])

    for check_mode in (False, True):
        changed, result = _run(fake, runner, params, check_mode=check_mode)
        assert not changed and result["method"] is None
    assert runner.reloads == 1

    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x777)
    params = _params(cert_dir, [_item(renewed, ca)])
    changed, result = _run(fake, runner, params, check_mode=True)
    assert changed and result["method"] == "runtime_api"
    changed, result = _run(fake, runner, params)
    assert changed and result["method"] == "runtime_api" and runner.reloads == 1
    assert result["certificates"][0]["previous_serial"] == "abcdef"
    assert result["certificates"][0]["serial"] == "777"
    assert fake.probe("h", 443, "www.example.test").der == renewed.cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    # The backup (a sub-directory, which HAProxy does not load) holds the previous set.
    backup = cert_dir / haproxy.BACKUP_DIR / "www.example.test.pem"
    assert leaf.cert_pem in backup.read_text()


def test_method_reload_forces_a_reload(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x778)
    _changed, result = _run(fake, runner, _params(cert_dir, [_item(renewed, ca)], method="reload"))
    assert result["method"] == "reload" and runner.reloads == 2


def test_refused_runtime_update_falls_back_to_reload(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    fake.transaction = ("/someone/else.pem", b"")  # another client's open transaction
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x779)
    _changed, result = _run(fake, runner, _params(cert_dir, [_item(renewed, ca)]))
    assert result["method"] == "reload" and runner.reloads == 2
    assert "ongoing transaction" in result["warnings"][0]


def test_failed_config_check_restores_files_and_touches_nothing(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    params = _params(cert_dir, [_item(leaf, ca)])
    _run(fake, runner, params)
    second = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x77F)
    _run(fake, runner, _params(cert_dir, [_item(second, ca)]))
    before = (cert_dir / "www.example.test.pem").read_bytes()
    backup = cert_dir / haproxy.BACKUP_DIR / "www.example.test.pem"
    backup_before = backup.read_bytes()
    runner.check_fails = "[ALERT] config : parsing [haproxy.cfg:3] : unknown keyword 'bogus'"
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x780)
    with pytest.raises(TargetError) as info:
        _run(fake, runner, _params(cert_dir, [_item(renewed, ca)]))
    assert "unknown keyword 'bogus'" in info.value.msg and "HAProxy was not touched" in info.value.msg
    assert (cert_dir / "www.example.test.pem").read_bytes() == before
    assert backup.read_bytes() == backup_before  # the failed change kept the previous backup
    assert runner.reloads == 1 and fake.probe("h", 443, "www.example.test")


def test_failed_verification_puts_the_previous_certificate_back(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    before = (cert_dir / "www.example.test.pem").read_bytes()
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x781)
    params = _params(cert_dir, [_item(renewed, ca)], verify_timeout=0.5, admin_socket=None,
                     verify=[{"host": "127.0.0.1", "port": 443, "server_name": "www.example.test"}])
    real_reload = fake.reload
    fake.reload = lambda _dir: None  # this "reload" does nothing: the old certificate stays
    with pytest.raises(TargetError) as info:
        _run(fake, runner, params)
    fake.reload = real_reload
    assert "serves serial abcdef, expected 781" in info.value.msg
    assert "previous files are back" in info.value.msg
    assert (cert_dir / "www.example.test.pem").read_bytes() == before


def test_files_right_but_not_served_is_applied_again(lb, ca, leaf):
    fake, runner, cert_dir = lb
    params = _params(cert_dir, [_item(leaf, ca)])
    _run(fake, runner, params)
    fake.loaded = {}  # e.g. HAProxy restarted from an older configuration
    changed, result = _run(fake, runner, params)
    assert changed and result["reason"] == "served" and result["method"] == "reload"


def test_crt_list_line_change_means_reload(lb, ca, leaf, tmp_path):
    fake, runner, cert_dir = lb
    crt_list = tmp_path / "crt-list.txt"
    crt_list.write_text("# managed in part by certfleet\n")
    item = dict(_item(leaf, ca), ssl_options="alpn h2,http/1.1", sni_filters=["www.example.test"])
    params = _params(cert_dir, [item], crt_list=str(crt_list))
    changed, result = _run(fake, runner, params)
    assert changed and result["crt_list_changed"] and result["method"] == "reload"
    assert crt_list.read_text() == ("# managed in part by certfleet\n%s [alpn h2,http/1.1] www.example.test\n"
                                    % (cert_dir / "www.example.test.pem"))
    assert not _run(fake, runner, params)[0]


def test_rollback_restores_and_serves_the_previous_set(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x782)
    _run(fake, runner, _params(cert_dir, [_item(renewed, ca)]))
    params = _params(cert_dir, [{"name": "www.example.test"}], state="rollback")
    changed, result = _run(fake, runner, params, check_mode=True)
    assert changed and result["certificates"][0]["serial"] == "abcdef"
    assert fake.probe("h", 443, "www.example.test").der != leaf.cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    changed, result = _run(fake, runner, params)
    assert changed and result["method"] == "runtime_api" and result["verified"][0]["served_serial"] == "abcdef"
    assert not _run(fake, runner, params)[0]


def test_rollback_without_backup_fails(lb):
    fake, runner, cert_dir = lb
    with pytest.raises(TargetError, match="no backup"):
        _run(fake, runner, _params(cert_dir, [{"name": "www.example.test"}], state="rollback"))


def test_bad_input_changes_nothing(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    other = pki.make_cert(names=("www.example.test",), issuer=ca)
    item = dict(_item(leaf, ca), privatekey=other.key_pem)
    with pytest.raises(InputError, match="does not match"):
        _run(fake, runner, _params(cert_dir, [item]))
    assert os.listdir(str(cert_dir)) == [] and runner.calls == []


def test_master_pid_file_reload_sends_sigusr2(tmp_path, monkeypatch):
    import signal
    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    pid_file = tmp_path / "haproxy.pid"
    pid_file.write_text("4242\n")
    target = haproxy.HAProxy({"master_pid_file": str(pid_file)}, probe=None)
    target.reload()
    assert sent == [(4242, signal.SIGUSR2)]
    pid_file.write_text("")
    with pytest.raises(TargetError, match="cannot signal"):
        target.reload()


def test_mode_change_alone_touches_no_haproxy(lb, ca, leaf):
    fake, runner, cert_dir = lb
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca)]))
    calls = len(runner.calls)
    changed, result = _run(fake, runner, _params(cert_dir, [_item(leaf, ca)], mode="0400"))
    assert changed and result["method"] is None and len(runner.calls) == calls
    assert stat.S_IMODE(os.stat(str(cert_dir / "www.example.test.pem")).st_mode) == 0o400


# --- absent (decommissioning) ---------------------------------------------------------------------
def test_absent_removes_the_file_reloads_and_is_idempotent(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    old = pki.make_cert(names=("old.example.test",), issuer=ca, serial=0x99)
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca), _item(old, ca, "old.example.test")]))
    (cert_dir / haproxy.BACKUP_DIR).mkdir(exist_ok=True)
    (cert_dir / haproxy.BACKUP_DIR / "old.example.test.pem").write_text("previous")
    reloads = runner.reloads
    params = _params(cert_dir, [_item(leaf, ca)], absent=[{"name": "old.example.test", "path": None}])
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = _run(fake, runner, params, check_mode=check_mode)
        assert changed is want, check_mode
        gone = result["absent"][0]
        assert gone["changed"] is want and gone["previous_serial"] == ("99" if want else None)
        assert len(gone["removed"]) == (2 if want else 0)
    assert not (cert_dir / "old.example.test.pem").exists()
    assert not (cert_dir / haproxy.BACKUP_DIR / "old.example.test.pem").exists()
    assert runner.reloads == reloads + 1
    with pytest.raises(TargetError):
        fake.probe("h", 443, "old.example.test")
    assert fake.probe("h", 443, "www.example.test")


def test_absent_failed_config_check_puts_the_file_back(lb, ca, leaf, pki):
    fake, runner, cert_dir = lb
    old = pki.make_cert(names=("old.example.test",), issuer=ca, serial=0x99)
    _run(fake, runner, _params(cert_dir, [_item(leaf, ca), _item(old, ca, "old.example.test")]))
    before = (cert_dir / "old.example.test.pem").read_bytes()
    runner.check_fails = "[ALERT] unable to stat SSL certificate from file 'old.example.test.pem'"
    reloads = runner.reloads
    with pytest.raises(TargetError, match="The removed files are back; HAProxy was not touched"):
        _run(fake, runner, _params(cert_dir, [_item(leaf, ca)], absent=[{"name": "old.example.test"}]))
    assert (cert_dir / "old.example.test.pem").read_bytes() == before and runner.reloads == reloads


def test_absent_and_present_at_once_is_refused(lb, ca, leaf):
    fake, runner, cert_dir = lb
    with pytest.raises(InputError, match="both installed and absent"):
        _run(fake, runner, _params(cert_dir, [_item(leaf, ca)], absent=[{"name": "www.example.test"}]))
    assert runner.calls == []


def test_crt_list_lines_of_removed_files_go():
    text = b"# ours\n/c/a.pem [alpn h2] a.test\n/c/b.pem\n"
    assert haproxy.drop_crt_list_lines(text, ["/c/a.pem"]) == b"# ours\n/c/b.pem\n"
    assert haproxy.drop_crt_list_lines(None, ["/c/a.pem"]) is None
