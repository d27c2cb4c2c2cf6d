# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install, nginx


def test_parse_version():
    assert nginx.parse_version("nginx version: nginx/1.22.1") == (1, 22, 1)
    assert nginx.parse_version("1.25.1") == (1, 25, 1)
    assert nginx.parse_version("nothing") is None


def test_nginx_1_22_puts_http2_on_the_listen_lines():
    text = nginx.render("a.test", "/c/fullchain.pem", "/c/privkey.pem",
                        {"listen": ["443 ssl", "[::]:443 ssl http2"]}, (1, 22, 1)).decode()
    assert text.splitlines()[1:] == ["listen 443 ssl http2;", "listen [::]:443 ssl http2;",
                                     "ssl_certificate /c/fullchain.pem;",
                                     "ssl_certificate_key /c/privkey.pem;",
                                     "ssl_protocols TLSv1.2 TLSv1.3;"]


def test_newer_nginx_uses_the_http2_directive():
    text = nginx.render("a.test", "/c/f.pem", "/c/k.pem", {}, (1, 25, 1)).decode()
    assert "http2 on;" in text and "listen" not in text


def test_old_nginx_without_listen_cannot_enable_http2():
    with pytest.raises(InputError, match="listen directive"):
        nginx.render("a.test", "/c/f.pem", "/c/k.pem", {}, (1, 22, 1))
    with pytest.raises(InputError, match="nginx not found"):
        nginx.render("a.test", "/c/f.pem", "/c/k.pem", {}, None)
    text = nginx.render("a.test", "/c/f.pem", "/c/k.pem", {"http2": False}, None).decode()
    assert "http2" not in text


def test_unsafe_values_are_refused_and_paths_quoted():
    with pytest.raises(InputError, match="not allowed"):
        nginx.render("a", "/f", "/k", {"listen": ["443 ssl; include /etc/passwd"]}, (1, 22, 1))
    with pytest.raises(InputError, match="unknown protocols"):
        nginx.render("a", "/f", "/k", {"protocols": ["SSLv3"]}, (1, 25, 1))
    text = nginx.render("a", "/my certs/f.pem", "/k", {}, (1, 25, 1)).decode()
    assert 'ssl_certificate "/my certs/f.pem";' in text


def test_cert_install_writes_the_snippet_as_part_of_the_set(tmp_path, ca, leaf, pki):
    item = {"name": "www.example.test", "cert": leaf.cert_pem, "chain": ca.cert_pem,
            "privatekey": leaf.key_pem, "dest": None}
    params = {"certificates": [item], "dest_dir": str(tmp_path), "owner": None, "group": None,
              "mode": "0644", "backup": True, "state": "present",
              "nginx_snippet": {"enabled": True, "file_name": "nginx-tls.conf", "listen": ["443 ssl"],
                                "http2": True, "protocols": ["TLSv1.2", "TLSv1.3"],
                                "nginx_version": "1.22.1", "nginx_path": "nginx"}}
    changed, result = install.run(params)
    snippet = tmp_path / "www.example.test" / "nginx-tls.conf"
    assert changed and result["certificates"][0]["paths"]["nginx_snippet"] == str(snippet)
    assert "listen 443 ssl http2;" in snippet.read_text()
    assert "ssl_certificate_key %s;" % (tmp_path / "www.example.test" / "privkey.pem") in snippet.read_text()
    assert not install.run(params)[0]
    # Another listen line: the snippet changes, and rollback brings the previous one back.
    params["nginx_snippet"] = dict(params["nginx_snippet"], listen=["8443 ssl"])
    assert install.run(params)[0]
    assert "listen 8443 ssl http2;" in snippet.read_text()
    changed, _result = install.run(dict(params, state="rollback", certificates=[{"name": "www.example.test",
                                                                                 "dest": None}]))
    assert changed and "listen 443 ssl http2;" in snippet.read_text()
    with pytest.raises(InputError, match="plain file name"):
        install.run(dict(params, nginx_snippet=dict(params["nginx_snippet"], file_name="privkey.pem")))
