# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_install with the nginx option: present, rollback and commit with fake test/reload commands."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install, nginx

HEADER = "# managed by certfleet.acme.cert_install; do not edit\n"


@pytest.fixture(autouse=True)
def _quick_settle(monkeypatch):
    monkeypatch.setattr(nginx, "RELOAD_SETTLE_SECONDS", 0.2)


def _script(tmp_path, name, body):
    """A fake command: appends its name to calls.log, then runs ``body`` (sh)."""
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\necho %s >> %s\n%s\n" % (name, tmp_path / "calls.log", body))
    os.chmod(str(path), 0o755)
    return str(path)


def _calls(tmp_path):
    log = tmp_path / "calls.log"
    return log.read_text().split() if log.exists() else []


def _snapshot(root):
    """Every path under ``root`` with its content (files) and mode: the node's state."""
    found = {}
    for directory, dirs, names in os.walk(str(root)):
        for name in dirs + names:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            data = open(path, "rb").read() if stat.S_ISREG(info.st_mode) else None
            found[os.path.relpath(path, str(root))] = (data, stat.S_IMODE(info.st_mode))
    return found


def _item(issued, ca, name, server_names=None, **extra):
    item = {"name": name, "cert": issued.cert_pem, "chain": ca.cert_pem, "privatekey": issued.key_pem,
            "dest": None}
    if server_names:
        item["nginx_server"] = {"server_names": server_names, "extra": ""}
    item.update(extra)
    return item


def _params(tmp_path, items, state="present", **nginx_options):
    options = {"conf_path": str(tmp_path / "node" / "conf.d" / "certfleet.conf"), "listen": None,
               "address": "127.0.0.11", "port": 443, "version": "1.22.1", "binary": "nginx",
               "http2": True, "server_extra": "", "test_command": _script(tmp_path, "test-ok", "exit 0"),
               "reload_command": _script(tmp_path, "reload-ok", "exit 0"),
               "error_log": str(tmp_path / "node" / "error.log")}
    options.update(nginx_options)
    return {"certificates": items, "dest_dir": str(tmp_path / "node" / "certs"), "owner": None,
            "group": None, "mode": "0644", "backup": True, "state": state, "nginx": options}


@pytest.fixture
def node(tmp_path, pki, ca):
    """A node with one set installed through the nginx option, and a renewed certificate for it."""
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "error.log").write_text("2026/12/01 [notice] 1#1: start worker processes\n")
    first = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x11)
    changed, result = install.run(_params(tmp_path, [_item(first, ca, "www", ["www.example.test"])]))
    assert changed and result["nginx"]["tested"] and result["nginx"]["reloaded"]
    install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="commit"))
    (tmp_path / "calls.log").unlink()
    renewed = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x22)
    return first, renewed


def test_present_check_real_idempotent(tmp_path, ca, leaf):
    items = [_item(leaf, ca, "www", ["www.example.test", "example.test"]), _item(leaf, ca, "files-only")]
    conf = tmp_path / "node" / "conf.d" / "certfleet.conf"
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = install.run(_params(tmp_path, items), check_mode=check_mode, want_diff=True)
        assert changed is want
        out = result["nginx"]
        assert out["changed"] is want and out["conf_path"] == str(conf)
        assert (out["tested"], out["reloaded"]) == ((True, True) if want and not check_mode else (False, False))
        assert [entry["nginx_server"] for entry in result["certificates"]] == [True, False]
        assert result["diff"][1]["after"] == out["content"]
        assert "PRIVATE KEY" not in repr(result)
        if check_mode and want:
            assert not conf.exists() and out["previous_content"] is None and _calls(tmp_path) == []
    text = conf.read_text()
    assert text.startswith(HEADER) and text.count("server {") == 1
    assert "    listen 127.0.0.11:443 ssl http2;\n" in text
    assert "    ssl_certificate %s/node/certs/www/fullchain.pem;\n" % tmp_path in text
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == 0o644
    assert _calls(tmp_path) == ["test-ok", "reload-ok"]  # once, for the one run that changed


def test_files_only_change_does_not_reload(tmp_path, pki, ca, node):
    first, renewed = node
    items = [_item(first, ca, "www", ["www.example.test"]), _item(renewed, ca, "other")]
    changed, result = install.run(_params(tmp_path, items))
    assert changed and not result["nginx"]["changed"]
    assert (result["nginx"]["tested"], result["nginx"]["reloaded"]) == (False, False)
    assert _calls(tmp_path) == []


def test_renewal_reloads_even_when_the_conf_is_unchanged(tmp_path, ca, node):
    _first, renewed = node
    changed, result = install.run(_params(tmp_path, [_item(renewed, ca, "www", ["www.example.test"])]))
    assert changed and not result["nginx"]["changed"] and result["nginx"]["reloaded"]
    assert result["certificates"][0]["previous_serial"] == "11"
    assert _calls(tmp_path) == ["test-ok", "reload-ok"]


@pytest.mark.parametrize("failing", ["test", "reload", "reload-rc0"])
def test_a_failing_test_or_reload_leaves_the_node_exactly_as_before(tmp_path, ca, node, failing):
    _first, renewed = node
    log = tmp_path / "node" / "error.log"
    scripts = {
        "test": {"test_command": _script(tmp_path, "test-bad",
                                         'echo "nginx: [emerg] unknown directive \\"bogus\\"" >&2; '
                                         'echo "nginx: configuration file test failed" >&2; exit 1')},
        "reload": {"reload_command": _script(tmp_path, "reload-bad",
                                             'echo "[error] open() nginx.pid failed" >> %s; '
                                             'echo "reload: no master" >&2; exit 7' % log)},
        # `nginx -s reload` exits 0 and the master fails to bind afterwards (issue 9).
        "reload-rc0": {"reload_command": _script(
            tmp_path, "reload-late", '[ -e %s/again ] || { touch %s/again; echo "2026/12/01 [emerg] 9#9: bind() to '
            '0.0.0.0:443 failed (98: Address already in use)" >> %s; }; exit 0' % (tmp_path, tmp_path, log))},
    }[failing]
    before = _snapshot(tmp_path / "node")
    items = [_item(renewed, ca, "www", ["www.example.test", "new.example.test"]),
             _item(renewed, ca, "added", ["added.example.test"])]
    with pytest.raises(TargetError) as info:
        install.run(_params(tmp_path, items, **scripts))
    after = _snapshot(tmp_path / "node")
    after.pop("error.log"), before.pop("error.log")  # the fake commands write to it
    assert after == before
    msg = info.value.msg
    if failing == "test":
        assert msg.startswith("nginx configuration test failed: nginx: [emerg] unknown directive")
        assert "configuration file test failed" in msg and _calls(tmp_path) == ["test-bad"]
    elif failing == "reload":
        assert msg.startswith("nginx reload failed (rc=7): reload: no master")
        assert "open() nginx.pid failed" in msg  # the error log's tail
        assert _calls(tmp_path) == ["test-ok", "reload-bad", "reload-bad"]  # and reloaded again
    else:
        assert msg.startswith("nginx reload failed (rc=0)") and "bind() to 0.0.0.0:443 failed" in msg
        assert "reloaded the previous configuration" in msg
        assert _calls(tmp_path) == ["test-ok", "reload-late", "reload-late"]
    assert "error log %s:" % log in msg and "restored " in msg and "\n" not in msg


def test_rollback_restores_sets_and_conf_then_reloads_and_commit_clears(tmp_path, ca, node):
    first, renewed = node
    conf = tmp_path / "node" / "conf.d" / "certfleet.conf"
    committed = conf.read_text()
    items = [_item(renewed, ca, "www", ["www.example.test", "new.example.test"]),
             _item(renewed, ca, "added", ["added.example.test"])]
    install.run(_params(tmp_path, items))
    assert "added.example.test" in conf.read_text()
    (tmp_path / "calls.log").unlink()
    rollback = _params(tmp_path, [{"name": "www", "dest": None}, {"name": "added", "dest": None}],
                       state="rollback")
    changed, result = install.run(rollback, check_mode=True)
    assert changed and result["nginx"] == {"conf_path": str(conf), "restored": True, "reloaded": False}
    assert _calls(tmp_path) == [] and "added.example.test" in conf.read_text()
    changed, result = install.run(rollback)
    www, added = result["certificates"]
    assert changed and (www["rolled_back"], www["serial"], www["previous_serial"]) == (True, "11", "22")
    assert (added["rolled_back"], added["reason"]) == (False, "no previous files")
    assert result["nginx"] == {"conf_path": str(conf), "restored": True, "reloaded": True}
    assert conf.read_text() == committed and _calls(tmp_path) == ["test-ok", "reload-ok"]
    assert (tmp_path / "node" / "certs" / "www" / "privkey.pem").read_text() == first.key_pem
    changed, result = install.run(rollback)
    assert not changed and not result["nginx"]["reloaded"]

    commit = _params(tmp_path, [{"name": "www", "dest": None}], state="commit")
    changed, result = install.run(commit, check_mode=True)
    assert changed and (tmp_path / "node" / "certs" / "www" / "privkey.pem.certfleet-prev").exists()
    changed, result = install.run(commit)
    assert changed and str(tmp_path / "node" / "certs" / "www" / "privkey.pem.certfleet-prev") \
        in result["certificates"][0]["removed"]
    assert result["nginx"]["removed"] == [str(conf.parent / ".certfleet.conf.certfleet-prev")]
    assert not [path for path in _snapshot(tmp_path / "node") if "certfleet-prev" in path]
    assert install.run(commit) == (False, {"certificates": [
        {"name": "www", "dest": str(tmp_path / "node" / "certs" / "www"), "changed": False, "removed": []}],
        "nginx": {"conf_path": str(conf), "changed": False, "removed": []}})


def test_rollback_of_a_first_installation_removes_the_conf(tmp_path, ca, leaf):
    conf = tmp_path / "node" / "conf.d" / "certfleet.conf"
    install.run(_params(tmp_path, [_item(leaf, ca, "www", ["www.example.test"])]))
    assert (conf.parent / ".certfleet.conf.certfleet-absent").exists()
    changed, result = install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="rollback"))
    assert changed and not conf.exists() and result["nginx"]["reloaded"]
    assert result["certificates"][0]["reason"] == "no previous files"


def test_failing_reload_in_rollback_fails_with_its_stderr(tmp_path, ca, node):
    _first, renewed = node
    install.run(_params(tmp_path, [_item(renewed, ca, "www", ["www.example.test"])]))
    bad = _script(tmp_path, "reload-bad", 'echo "nginx: [alert] kill(123, 1) failed" >&2; exit 1')
    with pytest.raises(TargetError, match=r"nginx reload failed after the rollback \(rc=1\): nginx: \[alert\]"):
        install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="rollback", reload_command=bad))


def test_decommissioned_certificate_block_disappears(tmp_path, ca, node):
    first, _renewed = node
    changed, result = install.run(_params(tmp_path, [_item(first, ca, "www")]))  # no nginx_server now
    assert changed and result["nginx"]["content"] == HEADER and result["nginx"]["reloaded"]


@pytest.mark.parametrize("change, message", [
    ({"nginx_server": {"server_names": ["a b"], "extra": ""}}, "certificate www: nginx_server: server name"),
    ({"nginx_server": {"server_names": ["a"], "extra": "} server {"}}, "nginx_server.extra"),
    ({"nginx_server": {"server_names": [], "extra": ""}}, "non-empty list"),
])
def test_bad_input_writes_nothing(tmp_path, ca, leaf, change, message):
    with pytest.raises(InputError, match=message):
        install.run(_params(tmp_path, [_item(leaf, ca, "www", **change)]))
    assert not (tmp_path / "node").exists() and _calls(tmp_path) == []


@pytest.mark.parametrize("options, message", [
    ({"conf_path": "relative.conf"}, "absolute path"),
    ({"server_extra": "ssl_protocols TLSv1.3"}, "not one directive"),
    ({"test_command": ""}, None),
    ({"reload_command": "nginx -s 'reload"}, "cannot split"),
])
def test_bad_nginx_options_write_nothing(tmp_path, ca, leaf, options, message):
    params = _params(tmp_path, [_item(leaf, ca, "www", ["www.example.test"])], **options)
    if message is None:
        assert install.run(params, check_mode=True)[0]
        return
    with pytest.raises(InputError, match=message):
        install.run(params)
    assert not (tmp_path / "node").exists()


def test_nginx_server_without_the_nginx_option_is_refused(tmp_path, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca, "www", ["www.example.test"])])
    params["nginx"] = None
    with pytest.raises(InputError, match="needs the nginx option"):
        install.run(params)


def test_own_nginx_configuration_tests_and_reloads_what_it_loads(tmp_path, pki, ca, leaf):
    """No conf_path: the nginx configuration is the user's; files with nginx_loads still get the
    test and the reload when they change, files-only items do not."""
    (tmp_path / "node").mkdir()
    params = _params(tmp_path, [_item(leaf, ca, "www", nginx_loads=True)], conf_path=None)
    changed, result = install.run(params)
    assert changed and (result["nginx"]["tested"], result["nginx"]["reloaded"]) == (True, True)
    assert result["nginx"]["conf_path"] is None and not (tmp_path / "node" / "conf.d").exists()
    assert _calls(tmp_path) == ["test-ok", "reload-ok"]
    assert install.run(params)[0] is False and _calls(tmp_path) == ["test-ok", "reload-ok"]
    other = pki.make_cert(names=("other.example.test",), issuer=ca, serial=0x33)
    install.run(_params(tmp_path, [_item(other, ca, "other")], conf_path=None))
    assert _calls(tmp_path) == ["test-ok", "reload-ok"]          # files only: no reload
    changed, result = install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="rollback",
                                          conf_path=None))
    assert result["certificates"][0]["rolled_back"] is False and result["nginx"]["restored"] is False


def test_nginx_server_needs_a_conf_path(tmp_path, ca, leaf):
    with pytest.raises(InputError, match="needs the nginx option"):
        install.run(_params(tmp_path, [_item(leaf, ca, "www", ["www.example.test"])], conf_path=None))


@pytest.mark.parametrize("extra, ok", [
    ("location / { return 204; }", True),
    ('location /x { default_type text/plain; return 200 "x"; }', True),
    ("add_header X 1;", True),
    ("} server { listen 80;", False),
    ("location / {", False),
    ("return 200; # comment", False),
    ("}", False),
])
def test_extra_lines_may_hold_whole_blocks_only(extra, ok):
    if ok:
        assert nginx.directive_lines(extra, "extra") == [extra]
    else:
        with pytest.raises(InputError):
            nginx.directive_lines(extra, "extra")


# --------------------------------------------------------------------------- absent (decommissioning)
def _two_sets(tmp_path, pki, ca):
    """A node serving www and old through the nginx option (committed, no backups)."""
    (tmp_path / "node").mkdir(exist_ok=True)
    www = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x31)
    old = pki.make_cert(names=("old.example.test",), issuer=ca, serial=0x32)
    items = [_item(www, ca, "www", ["www.example.test"]), _item(old, ca, "old", ["old.example.test"])]
    install.run(_params(tmp_path, items))
    # a backup of old's previous set, which must go too
    (tmp_path / "node" / "certs" / "old" / "privkey.pem.certfleet-prev").write_text("old key")
    (tmp_path / "calls.log").unlink()
    return www, old


def test_absent_removes_the_set_and_its_block_in_one_call(tmp_path, pki, ca):
    www, old = _two_sets(tmp_path, pki, ca)
    old_dir = tmp_path / "node" / "certs" / "old"
    conf = tmp_path / "node" / "conf.d" / "certfleet.conf"
    params = _params(tmp_path, [_item(www, ca, "www", ["www.example.test"])])
    params["absent"] = [{"name": "old", "dest": None}]
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = install.run(params, check_mode=check_mode, want_diff=True)
        assert changed is want, check_mode
        gone = result["absent"][0]
        assert (gone["name"], gone["changed"]) == ("old", want)
        assert gone["previous_serial"] == ("32" if want else None)
        assert result["diff"][0]["after"]["old"] == {}
        if check_mode and want:
            assert old_dir.exists() and str(old_dir / "privkey.pem.certfleet-prev") in gone["removed"]
            assert _calls(tmp_path) == []
    assert not old_dir.exists()
    assert "old.example.test" not in conf.read_text() and "www.example.test" in conf.read_text()
    assert _calls(tmp_path) == ["test-ok", "reload-ok"]  # once, for the one run that changed
    assert (tmp_path / "node" / "certs" / "www" / "privkey.pem").exists()


def test_absent_is_put_back_when_nginx_fails(tmp_path, pki, ca):
    www, old = _two_sets(tmp_path, pki, ca)
    before = _snapshot(tmp_path / "node")
    params = _params(tmp_path, [_item(www, ca, "www", ["www.example.test"])],
                     test_command=_script(tmp_path, "test-bad", "exit 1"))
    params["absent"] = [{"name": "old", "dest": None}]
    with pytest.raises(TargetError, match="nginx configuration test failed"):
        install.run(params)
    after = _snapshot(tmp_path / "node")
    assert after == before


def test_absent_unknown_set_changes_nothing(tmp_path, pki, ca):
    www, old = _two_sets(tmp_path, pki, ca)
    params = _params(tmp_path, [_item(www, ca, "www", ["www.example.test"]),
                                _item(old, ca, "old", ["old.example.test"])])
    params["absent"] = [{"name": "never-here", "dest": None}]
    changed, result = install.run(params)
    assert not changed and result["absent"] == [
        {"name": "never-here", "dest": str(tmp_path / "node" / "certs" / "never-here"), "changed": False,
         "removed": [], "previous_serial": None}]


@pytest.mark.parametrize("absent, message", [
    ([{"name": "www", "dest": None}], "both installed and absent"),
    ([{"name": "../x", "dest": None}], "name"),
])
def test_absent_bad_input_changes_nothing(tmp_path, pki, ca, absent, message):
    www, old = _two_sets(tmp_path, pki, ca)
    before = _snapshot(tmp_path / "node")
    params = _params(tmp_path, [_item(www, ca, "www", ["www.example.test"])])
    params["absent"] = absent
    with pytest.raises(InputError, match=message):
        install.run(params)
    assert _snapshot(tmp_path / "node") == before
