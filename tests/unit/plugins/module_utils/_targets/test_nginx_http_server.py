# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_install's nginx.http_server: the port-80 block (stateless http-01, web root, redirect)."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install, nginx
from test_nginx_site import _calls, _script  # the fake test/reload commands

THUMB = "A" * 20 + "b-_" + "9" * 20


def _params(tmp_path, state="present", test="exit 0", **http):
    server = {"conf_path": str(tmp_path / "conf.d" / "certfleet-http.conf"),
              "server_names": ["www.example.test"], "listen": None, "port": 80,
              "stateless_thumbprint": THUMB, "webroot": None, "redirect_https": True, "extra": ""}
    server.update(http)
    return {"certificates": [], "dest_dir": str(tmp_path / "certs"), "owner": None, "group": None,
            "mode": "0644", "backup": True, "state": state,
            "nginx": {"conf_path": None, "address": "127.0.0.11", "http2": True,
                      "test_command": _script(tmp_path, "test", test),
                      "reload_command": _script(tmp_path, "reload", "exit 0"), "http_server": server}}


def test_stateless_block_answers_any_token_with_the_thumbprint():
    text = nginx.render_http_server({"server_names": ["a.example.test", "b.example.test"],
                                     "stateless_thumbprint": THUMB, "redirect_https": True},
                                    "127.0.0.11").decode()
    assert "    listen 127.0.0.11:80;\n    server_name a.example.test b.example.test;\n" in text
    assert '    location ~ "^/\\.well-known/acme-challenge/([-_a-zA-Z0-9]+)$" {\n' \
           '        default_type text/plain;\n        return 200 "$1.%s";\n    }\n' % THUMB in text
    assert "location / {\n        return 301 https://$host$request_uri;\n    }\n}\n" in text
    # the location regex is the token grammar of RFC 8555 (base64url), anchored
    regex = re.search(r'location ~ "(.*)"', text).group(1)
    assert re.match(regex, "/.well-known/acme-challenge/abc-DEF_123")
    assert not re.match(regex, "/.well-known/acme-challenge/../etc/passwd")
    assert not re.match(regex, "/.well-known/acme-challenge/a/b")


def test_files_mode_serves_the_web_root_and_redirects_the_rest():
    text = nginx.render_http_server({"server_names": ["x.test"], "webroot": "/srv/www",
                                     "redirect_https": True, "port": 8080}, None).decode()
    assert "listen 8080;" in text and "root /srv/www;" in text and "return 200" not in text
    assert text.index("acme-challenge") < text.index("return 301")


@pytest.mark.parametrize("http, message", [
    ({"stateless_thumbprint": THUMB, "webroot": "/srv"}, "exclude each other"),
    ({}, "nothing to serve"),
    ({"stateless_thumbprint": "short"}, "not an account thumbprint"),
    ({"stateless_thumbprint": THUMB[:-1] + '"'}, "not an account thumbprint"),
    ({"webroot": "relative/www"}, "absolute path"),
    ({"redirect_https": True, "port": 0}, "not a TCP port"),
    ({"redirect_https": True, "server_names": ["a b"]}, "server name"),
    ({"redirect_https": True, "extra": "return 200 x; }"}, "not one directive"),
])
def test_bad_input_is_one_clear_line(http, message):
    http.setdefault("server_names", ["x.test"])
    with pytest.raises(InputError, match=message):
        nginx.render_http_server(http, None)


def test_present_check_real_idempotent_and_rollback(tmp_path):
    changed, result = install.run(_params(tmp_path), check_mode=True)
    assert changed and not os.path.exists(result["nginx"]["http_server"]["conf_path"]) and not _calls(tmp_path)
    changed, result = install.run(_params(tmp_path), want_diff=True)
    http = result["nginx"]["http_server"]
    assert changed and http["changed"] and http["tested"] and http["reloaded"]
    assert _calls(tmp_path) == ["test", "reload"]
    assert THUMB in open(http["conf_path"]).read() and result["diff"][1]["after"] == http["content"]
    changed, result = install.run(_params(tmp_path))
    assert not changed and _calls(tmp_path) == ["test", "reload"]
    # a new account: the new thumbprint replaces the old one, the old file is kept as the backup
    new = "Z" * 43
    changed, result = install.run(_params(tmp_path, stateless_thumbprint=new))
    assert changed and new in result["nginx"]["http_server"]["content"]
    changed, result = install.run(_params(tmp_path, state="rollback"))
    assert changed and result["nginx"]["restored"] and THUMB in open(_params(tmp_path)["nginx"]["http_server"]["conf_path"]).read()
    changed, result = install.run(_params(tmp_path, state="commit"))
    assert changed and result["nginx"]["removed"]


def test_a_failing_test_puts_the_previous_block_back(tmp_path):
    install.run(_params(tmp_path))
    path = _params(tmp_path)["nginx"]["http_server"]["conf_path"]
    before = open(path).read()
    with pytest.raises(TargetError, match="nginx configuration test failed"):
        install.run(_params(tmp_path, test="echo bad >&2; exit 1", stateless_thumbprint="Q" * 43))
    assert open(path).read() == before


def test_the_port_80_file_must_differ_from_the_tls_file(tmp_path):
    params = _params(tmp_path)
    params["nginx"]["conf_path"] = params["nginx"]["http_server"]["conf_path"]
    with pytest.raises(InputError, match="another file"):
        install.run(params)
    assert not os.path.exists(params["nginx"]["conf_path"])
