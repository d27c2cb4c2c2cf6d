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


SERVER = nginx.Server("www.example.test", ["www.example.test", "example.test"],
                      "/c/www/fullchain.pem", "/c/www/privkey.pem", [])


@pytest.mark.parametrize("options, version, listen, directive", [
    ({"address": "127.0.0.11"}, (1, 22, 1), ["127.0.0.11:443 ssl http2"], False),
    ({"address": "127.0.0.11"}, (1, 25, 1), ["127.0.0.11:443 ssl"], True),
    ({"address": "127.0.0.11"}, None, ["127.0.0.11:443 ssl http2"], False),  # unknown: works everywhere
    ({"address": "2001:db8::1", "port": 8443}, (1, 25, 1), ["[2001:db8::1]:8443 ssl"], True),
    ({"address": "[::1]"}, (1, 22, 1), ["[::1]:443 ssl http2"], False),
    ({}, (1, 22, 1), ["443 ssl http2"], False),
    ({}, (1, 26, 0), ["443 ssl"], True),
    ({"listen": ["10.0.0.1:443 ssl", "[::]:443 ssl"]}, (1, 22, 1),
     ["10.0.0.1:443 ssl http2", "[::]:443 ssl http2"], False),
    ({"address": "127.0.0.11", "http2": False}, (1, 25, 1), ["127.0.0.11:443 ssl"], False),
])
def test_render_servers_listen_and_http2(options, version, listen, directive):
    lines = nginx.render_servers([SERVER], options, version).decode().splitlines()
    assert lines[0] == "# managed by certfleet.acme.cert_install; do not edit"
    assert [line.strip()[len("listen "):-1] for line in lines if line.strip().startswith("listen ")] == listen
    assert ("    http2 on;" in lines) is directive
    assert "    server_name www.example.test example.test;" in lines
    assert "    ssl_certificate /c/www/fullchain.pem;" in lines
    assert "    ssl_certificate_key /c/www/privkey.pem;" in lines


def test_render_servers_sorted_with_extra_lines_and_empty_set():
    other = SERVER._replace(name="a.test", server_names=["a.test"], extra=["add_header X-Site a;"])
    hsts = 'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;'
    text = nginx.render_servers([SERVER, other], {"server_extra": "\n  %s\n\n" % hsts}, (1, 25, 1)).decode()
    assert text.index("# certificate a.test") < text.index("# certificate www.example.test")
    assert text.count("    " + hsts) == 2 and text.count("add_header X-Site a;") == 1
    assert text == nginx.render_servers([other, SERVER], {"server_extra": hsts}, (1, 25, 1)).decode()
    assert nginx.render_servers([], {}, None) == b"# managed by certfleet.acme.cert_install; do not edit\n"


@pytest.mark.parametrize("options, server, message", [
    ({"server_extra": "return 200; }\nserver { listen 80;"}, SERVER, "not one directive"),
    ({"server_extra": "add_header X 1"}, SERVER, "not one directive"),
    ({"server_extra": "add_header X '1;"}, SERVER, "not one directive"),
    ({"server_extra": "add_header X 1; # comment"}, SERVER, "not one directive"),
    ({"listen": ["443 ssl; include /etc/passwd"]}, SERVER, "not allowed in one directive"),
    ({"listen": ["443 ssl http2"]}, SERVER, "leave http2 out"),
    ({"address": "127.0.0.1; include x"}, SERVER, "neither an IP address"),
    ({"port": 0}, SERVER, "not a TCP port"),
])
def test_render_servers_rejects_hostile_options(options, server, message):
    with pytest.raises(InputError, match=message):
        nginx.render_servers([server], options, (1, 22, 1))


@pytest.mark.parametrize("names", [["a.test;"], ["a.test }"], ["a test"], ["a.test\nx"], ['"a"'], [],
                                   "a.test", ["#a"]])
def test_hostile_server_names_are_refused(names):
    with pytest.raises(InputError, match="server_name|server name"):
        nginx.server_names(names, "certificate a: nginx_server")


def test_the_same_server_name_twice_is_refused():
    with pytest.raises(InputError, match="both have the server name example.test"):
        nginx.render_servers([SERVER, SERVER._replace(name="b", server_names=["EXAMPLE.test"])], {}, None)


def test_version_option_and_reload_error(tmp_path):
    assert nginx.version_of({"version": "1.22.1"}) == (1, 22, 1)
    assert nginx.version_of({"http2": False, "binary": "/nonexistent"}) is None
    assert nginx.version_of({"binary": str(tmp_path / "no-nginx")}) is None
    with pytest.raises(InputError, match="not a version"):
        nginx.version_of({"version": "latest"})
    log = tmp_path / "error.log"
    log.write_text("old [emerg] line\n")
    offset = nginx.log_size(str(log))
    with open(str(log), "a") as handle:
        handle.write("2026/12/01 [emerg] 1#1: bind() to 0.0.0.0:443 failed (98: Address already in use)\n")
    assert "bind() to 0.0.0.0:443 failed" in nginx.reload_error(str(log), offset, settle=0)
    assert nginx.reload_error(str(log), nginx.log_size(str(log)), settle=0) is None
    assert nginx.reload_error(None, 0) is None


def test_log_tail_prefers_what_was_written_since_the_offset(tmp_path):
    log = tmp_path / "error.log"
    log.write_text("".join("old %d\n" % number for number in range(30)))
    assert nginx.log_tail(str(log)) == ["old %d" % number for number in range(10, 30)]
    offset = nginx.log_size(str(log))
    assert nginx.log_tail(str(log), offset=offset)[-1] == "old 29"  # nothing new: the last lines
    with open(str(log), "a") as handle:
        handle.write("new [emerg]\n")
    assert nginx.log_tail(str(log), offset=offset) == ["new [emerg]"]
    assert nginx.log_tail(None) == [] and nginx.log_tail(str(tmp_path / "missing")) == []
