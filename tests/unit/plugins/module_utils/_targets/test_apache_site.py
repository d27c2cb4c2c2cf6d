# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_install with the apache option and deploy hooks: present, failures, rollback, commit."""

from __future__ import annotations

import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import apache_site, hooks, install

from test_nginx_site import _calls, _script, _snapshot

HEADER = "# managed by certfleet.acme.cert_install; do not edit\n"


def _item(issued, ca, name, server_names=None, **extra):
    item = {"name": name, "cert": issued.cert_pem, "chain": ca.cert_pem, "privatekey": issued.key_pem,
            "dest": None}
    if server_names:
        item["apache_vhost"] = {"server_names": server_names, "extra": ""}
    item.update(extra)
    return item


def _params(tmp_path, items, state="present", deploy_hooks=(), **apache_options):
    options = {"conf_path": str(tmp_path / "node" / "sites" / "certfleet.conf"), "address": "127.0.0.30",
               "port": 443, "http2": True, "vhost_extra": "",
               "test_command": _script(tmp_path, "configtest-ok", "exit 0"),
               "reload_command": _script(tmp_path, "graceful-ok", "exit 0"), "error_log": None}
    options.update(apache_options)
    return {"certificates": items, "dest_dir": str(tmp_path / "node" / "certs"), "owner": None,
            "group": None, "mode": "0644", "backup": True, "state": state, "apache": options,
            "deploy_hooks": list(deploy_hooks)}


@pytest.fixture
def node(tmp_path, pki, ca):
    """A node with one set installed through the apache option, and a renewed certificate for it."""
    (tmp_path / "node").mkdir()
    first = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x11)
    changed, result = install.run(_params(tmp_path, [_item(first, ca, "www", ["www.example.test"])]))
    assert changed and result["apache"]["tested"] and result["apache"]["reloaded"]
    install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="commit"))
    (tmp_path / "calls.log").unlink()
    return first, pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x22)


def test_present_check_real_idempotent(tmp_path, ca, leaf):
    items = [_item(leaf, ca, "www", ["*.example.test", "www.example.test"]), _item(leaf, ca, "files-only")]
    conf = tmp_path / "node" / "sites" / "certfleet.conf"
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = install.run(_params(tmp_path, items), check_mode=check_mode, want_diff=True)
        out = result["apache"]
        assert changed is want and out["changed"] is want and out["conf_path"] == str(conf)
        assert (out["tested"], out["reloaded"]) == ((True, True) if want and not check_mode else (False, False))
        assert [entry["apache_vhost"] for entry in result["certificates"]] == [True, False]
        assert result["diff"][1]["before_header"] == "apache_conf %s" % conf
        assert "PRIVATE KEY" not in repr(result)
    text = conf.read_text()
    assert text.startswith(HEADER) and text.count("<VirtualHost 127.0.0.30:443>") == 1
    assert "    ServerName www.example.test\n    ServerAlias *.example.test\n" in text
    assert '    SSLCertificateFile "%s/node/certs/www/fullchain.pem"\n' % tmp_path in text
    assert "    <IfModule http2_module>\n        Protocols h2 http/1.1\n    </IfModule>\n" in text
    assert _calls(tmp_path) == ["configtest-ok", "graceful-ok"]


def test_no_http2_and_extra_sections():
    host = apache_site.VirtualHost("a", ["a.example"], "/c/f.pem", "/c/k.pem",
                                   apache_site.directive_lines("<Location /s>\nRequire all denied\n</Location>", "x"))
    text = apache_site.render([host], {"address": "::1", "port": 8443, "http2": False}).decode()
    assert "<VirtualHost [::1]:8443>" in text and "Protocols" not in text
    assert "    <Location /s>\n    Require all denied\n    </Location>\n" in text


@pytest.mark.parametrize("extra", ["</VirtualHost>", "<VirtualHost *:80>", "<Location />", "</Location>",
                                   "Header set X \"a", "# comment", "<Files x>\n</Location>"])
def test_extra_lines_cannot_escape_the_block(extra):
    with pytest.raises(InputError):
        apache_site.directive_lines(extra, "extra")


@pytest.mark.parametrize("failing", ["test", "reload"])
def test_a_failing_configtest_or_graceful_leaves_the_node_as_before(tmp_path, ca, node, failing):
    _first, renewed = node
    options = {"test": {"test_command": _script(tmp_path, "configtest-bad",
                                                'echo "AH00526: Syntax error on line 9" >&2; exit 1')},
               "reload": {"reload_command": _script(tmp_path, "graceful-bad", 'echo "no pid" >&2; exit 1')}}[failing]
    before = _snapshot(tmp_path / "node")
    with pytest.raises(TargetError) as info:
        install.run(_params(tmp_path, [_item(renewed, ca, "www", ["www.example.test", "new.example.test"])],
                            **options))
    assert _snapshot(tmp_path / "node") == before
    if failing == "test":
        assert info.value.msg.startswith("Apache httpd configuration test failed: AH00526: Syntax error")
    else:
        assert info.value.msg.startswith("Apache httpd reload failed (rc=1): no pid")
        assert _calls(tmp_path) == ["configtest-ok", "graceful-bad", "graceful-bad"]


def test_rollback_and_commit(tmp_path, ca, node):
    _first, renewed = node
    conf = tmp_path / "node" / "sites" / "certfleet.conf"
    before = conf.read_text()
    install.run(_params(tmp_path, [_item(renewed, ca, "www", ["www.example.test", "new.example.test"])]))
    assert "new.example.test" in conf.read_text()
    changed, result = install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="rollback"))
    assert changed and result["apache"] == {"conf_path": str(conf), "restored": True, "reloaded": True}
    assert conf.read_text() == before and result["certificates"][0]["serial"] == "11"
    changed, result = install.run(_params(tmp_path, [{"name": "www", "dest": None}], state="commit"))
    assert changed and result["apache"]["removed"]
    assert not any(name.endswith("certfleet-prev") for name in os.listdir(str(conf.parent)))


def _hook(tmp_path, name, body):
    """A hook that records its environment in <name>.env, then runs ``body``."""
    return _script(tmp_path, name, 'env | grep ^CERTFLEET_ | sort > %s/%s.env\n%s' % (tmp_path, name, body))


def test_hooks_run_for_changed_sets_with_their_paths(tmp_path, ca, node):
    _first, renewed = node
    items = [_item(renewed, ca, "www", ["www.example.test"], deploy_hooks=[_hook(tmp_path, "own", "exit 0")])]
    params = _params(tmp_path, items, deploy_hooks=[{"command": "%s && echo hi" % _hook(tmp_path, "node", ""),
                                                     "shell": True}])
    assert install.run(params, check_mode=True)[1]["deploy_hooks"] == []
    changed, result = install.run(params)
    assert changed and [(r["command"].split("/")[-1], r["ok"]) for r in result["deploy_hooks"]] == \
        [("own", True), ("node && echo hi", True)]
    assert result["deploy_hooks"][1]["stdout"] == "hi"
    env = dict(line.split("=", 1) for line in (tmp_path / "own.env").read_text().splitlines())
    dest = tmp_path / "node" / "certs" / "www"
    assert env["CERTFLEET_NAME"] == "www" and env["CERTFLEET_PRIVKEY"] == str(dest / "privkey.pem")
    assert env["CERTFLEET_FULLCHAIN"] == str(dest / "fullchain.pem") and env["CERTFLEET_SERIAL"] == "22"
    assert env["CERTFLEET_PREVIOUS_SERIAL"] == "11" and "CERTFLEET_ROLLBACK" not in env
    assert _calls(tmp_path) == ["configtest-ok", "graceful-ok", "own", "node"]
    changed, result = install.run(params)   # nothing changed: no hook
    assert not changed and result["deploy_hooks"] == [] and _calls(tmp_path)[-1] == "node"


def test_a_failing_hook_puts_the_previous_certificate_back(tmp_path, ca, node):
    _first, renewed = node
    items = [_item(renewed, ca, "www", ["www.example.test"],
                   deploy_hooks=[_hook(tmp_path, "good", "exit 0"),
                                 _hook(tmp_path, "bad", 'echo "keytool: wrong password" >&2; exit 3')])]
    before = _snapshot(tmp_path / "node")
    with pytest.raises(TargetError) as info:
        install.run(_params(tmp_path, items))
    assert _snapshot(tmp_path / "node") == before
    msg = info.value.msg
    assert msg.startswith("deploy hook '%s' of certificate www failed (rc=3): keytool: wrong password"
                          % items[0]["deploy_hooks"][1])
    assert "reloaded apache with the previous files" in msg and "reran 1 hook(s)" in msg
    assert info.value.details["stderr"].strip() == "keytool: wrong password"
    assert _calls(tmp_path) == ["configtest-ok", "graceful-ok", "good", "bad", "configtest-ok", "graceful-ok", "good"]
    env = dict(line.split("=", 1) for line in (tmp_path / "good.env").read_text().splitlines())
    assert env["CERTFLEET_ROLLBACK"] == "1"


def test_rollback_runs_the_hooks_of_restored_sets(tmp_path, ca, node):
    _first, renewed = node
    hook = _hook(tmp_path, "h", "exit 0")
    install.run(_params(tmp_path, [_item(renewed, ca, "www", ["www.example.test"], deploy_hooks=[hook])]))
    changed, result = install.run(_params(tmp_path, [{"name": "www", "dest": None, "deploy_hooks": [hook]}],
                                          state="rollback"))
    assert changed and [r["ok"] for r in result["deploy_hooks"]] == [True]
    env = dict(line.split("=", 1) for line in (tmp_path / "h.env").read_text().splitlines())
    assert env["CERTFLEET_SERIAL"] == "11" and env["CERTFLEET_ROLLBACK"] == "1"


@pytest.mark.parametrize("value, message", [
    ([{"command": ["a"], "shell": True}], "a shell hook needs its command as one string"),
    ([{"cmd": "a"}], "unknown keys cmd"),
    ([3], "command must be a string or a list"),
    ([""], "empty command"),
    ([{"command": "a", "chdir": "rel"}], "must be an absolute path"),
])
def test_bad_hooks_are_refused(value, message):
    with pytest.raises(InputError, match=message):
        hooks.parse(value, "deploy_hooks")


def test_missing_hook_program_and_timeout():
    env = {"CERTFLEET_NAME": "x"}
    assert hooks.run(hooks.parse(["/nonexistent/hook"], "h")[0], env)["rc"] == 127
    result = hooks.run(hooks.parse([{"command": "sleep 5", "timeout": 0.2}], "h")[0], env)
    assert result["rc"] == 124 and not result["ok"]


def test_nginx_port_80_block_apache_and_hooks_are_one_transaction(tmp_path, ca, node):
    """nginx (TLS file and nginx.http_server) and apache in one call: a failing hook puts all of
    them back, both servers reloaded on the previous files."""
    _first, renewed = node
    nginx_dir = tmp_path / "node" / "nginx"
    params = _params(tmp_path, [_item(renewed, ca, "www", ["www.example.test"],
                                      deploy_hooks=[_hook(tmp_path, "bad", "exit 3")],
                                      nginx_server={"server_names": ["www.example.test"], "extra": ""})])
    params["nginx"] = {"conf_path": str(nginx_dir / "certfleet.conf"), "address": "127.0.0.11", "http2": True,
                       "test_command": _script(tmp_path, "nginx-t", "exit 0"),
                       "reload_command": _script(tmp_path, "nginx-reload", "exit 0"),
                       "http_server": {"conf_path": str(nginx_dir / "certfleet-http.conf"),
                                       "server_names": ["www.example.test"], "listen": None, "port": 80,
                                       "stateless_thumbprint": "T" * 43, "webroot": None,
                                       "redirect_https": True, "extra": ""}}
    before = _snapshot(tmp_path / "node")
    with pytest.raises(TargetError) as info:
        install.run(params)
    assert _snapshot(tmp_path / "node") == before and not nginx_dir.exists()
    assert "reloaded nginx, apache with the previous files" in info.value.msg
    assert _calls(tmp_path) == ["nginx-t", "nginx-reload", "configtest-ok", "graceful-ok", "bad",
                                "nginx-t", "nginx-reload", "configtest-ok", "graceful-ok"]
    params["certificates"][0]["deploy_hooks"] = []
    changed, result = install.run(params, want_diff=True)
    assert changed and result["nginx"]["http_server"]["changed"] and result["apache"]["reloaded"]
    assert [d["before_header"] for d in result["diff"][1:]] == [
        "nginx_conf " + str(nginx_dir / "certfleet.conf"), "nginx_conf " + str(nginx_dir / "certfleet-http.conf"),
        "apache_conf " + str(tmp_path / "node" / "sites" / "certfleet.conf")]
    changed, result = install.run(dict(params, state="commit"))
    assert changed and len(result["nginx"]["removed"]) >= 1 and "apache" in result
