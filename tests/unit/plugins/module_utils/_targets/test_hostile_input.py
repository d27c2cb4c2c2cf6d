# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile names, paths and modes against every _targets entry point that builds a path from a
name or a user value: each is refused with InputError, in every state, before anything on disk
changes (a victim file next to the target directories must survive)."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import validate_certificate_name
from ansible_collections.certfleet.acme.plugins.module_utils._targets import haproxy, install, traefik

HOSTILE_NAMES = ["../x", "../../victim", "/x", "a/b", ".", "..", "", "a\0b", "a\nb", "victim\n",
                 ".hidden", "-x", "a b", "*.example.test", "x" * 129, None, 7]


def _tree(tmp_path):
    """<tmp>/victim.pem and <tmp>/victim/... plus the directories the modules write to."""
    (tmp_path / "victim.pem").write_text("victim")
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "cert.pem").write_text("victim")
    for sub in ("a", "a/b", "a/b/c"):
        (tmp_path / sub).mkdir()
    return tmp_path / "a" / "b" / "c"


def _listing(root):
    return sorted((path, os.lstat(os.path.join(path, name)).st_mode, open(os.path.join(path, name), "rb").read())
                  for path, _dirs, names in os.walk(str(root)) for name in names)


def _haproxy(dest, items, state):
    return haproxy.run({"certificates": items, "dest_dir": str(dest), "state": state, "backup": True,
                        "admin_socket": None, "verify": []},
                       runner=lambda *a, **k: "", probe=lambda *a, **k: None)


def _traefik(dest, items, state):
    return traefik.run({"certificates": items, "cert_dir": str(dest), "state": state, "backup": True,
                        "dynamic_file": str(dest / "dyn.yaml"), "verify": []},
                       probe=lambda *a, **k: None)


def _install(dest, items, state):
    return install.run({"certificates": items, "dest_dir": str(dest), "state": state, "backup": True})


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
@pytest.mark.parametrize("state", ["present", "rollback"])
@pytest.mark.parametrize("target", [_haproxy, _traefik, _install], ids=["haproxy", "traefik", "install"])
def test_hostile_names_are_refused_before_any_path(tmp_path, ca, leaf, name, state, target):
    dest = _tree(tmp_path)
    # A rollback needs backups to act on: give the hostile name one to find.
    for base in ("victim.pem", "victim.crt", "victim.key", "victim/cert.pem"):
        target_file = tmp_path / (base + ".certfleet-prev")
        target_file.write_text("old")
    before = _listing(tmp_path)
    item = {"name": name, "cert": leaf.cert_pem, "chain": ca.cert_pem, "privatekey": leaf.key_pem}
    with pytest.raises(InputError, match="certificate name"):
        target(dest, [item] if state == "present" else [{"name": name}], state)
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_the_one_name_rule(name):
    with pytest.raises(InputError):
        validate_certificate_name(name)


def test_long_names_are_cut_in_the_message():
    with pytest.raises(InputError) as info:
        validate_certificate_name("x" * 5000)
    assert len(info.value.msg) < 400


@pytest.mark.parametrize("extra, message", [
    ({"dest_dir": "relative/dir"}, "dest_dir must be an absolute path"),
    ({"dest_dir": "/tmp/a\0b"}, "dest_dir must be an absolute path"),
    ({"crt_list": "/etc/haproxy/list\nx"}, "crt_list must be an absolute path"),
    ({"item_path": "pem/x.pem"}, r"certificates\[www\].path must be an absolute path"),
    ({"item_path": "/etc/haproxy/x y.pem", "crt_list": "/tmp/l"}, "cannot go on a crt-list line"),
    ({"sni_filters": ["ok.test", "bad.test\n/etc/shadow"], "crt_list": "/tmp/l"}, "cannot go on a crt-list"),
    ({"ssl_options": "alpn h2] /etc/x [", "crt_list": "/tmp/l"}, "cannot go on a crt-list line"),
    ({"mode": "0644"}, "mode 0644 is not allowed for the combined PEM file"),
    ({"mode": "0640"}, "mode 0640 is not allowed"),
    ({"mode": "0200"}, "mode 0200 is not allowed"),
    ({"mode": "4600"}, "mode 4600 is not allowed"),
])
@pytest.mark.parametrize("state", ["present", "rollback"])
def test_haproxy_hostile_paths_and_modes(tmp_path, ca, leaf, extra, message, state):
    item = {"name": "www", "cert": leaf.cert_pem, "chain": ca.cert_pem, "privatekey": leaf.key_pem}
    extra = dict(extra)
    for key in ("sni_filters", "ssl_options"):
        if key in extra:
            item[key] = extra.pop(key)
    if "item_path" in extra:
        item["path"] = extra.pop("item_path")
    params = {"certificates": [item], "dest_dir": str(tmp_path), "state": state, "verify": [],
              "admin_socket": None}
    params.update(extra)
    with pytest.raises(InputError, match=message):
        haproxy.run(params, runner=lambda *a, **k: "", probe=lambda *a, **k: None)
    assert os.listdir(str(tmp_path)) == []


def test_haproxy_combined_pem_is_never_group_readable(tmp_path, ca, leaf):
    params = {"certificates": [{"name": "www", "cert": leaf.cert_pem, "chain": ca.cert_pem,
                                "privatekey": leaf.key_pem}],
              "dest_dir": str(tmp_path / "certs"), "verify": [], "admin_socket": None}
    haproxy.run(params, runner=lambda *a, **k: "", probe=lambda *a, **k: None)
    assert stat.S_IMODE(os.stat(str(tmp_path / "certs" / "www.pem")).st_mode) == 0o600


@pytest.mark.parametrize("extra, message", [
    ({"cert_dir": "certs"}, "cert_dir must be an absolute path"),
    ({"dynamic_file": "/tmp/dyn\n.yaml"}, "dynamic_file must be an absolute path"),
    ({"log_path": "traefik.log"}, "log_path must be an absolute path"),
    ({"mode": "rw"}, "not an octal mode"),
])
@pytest.mark.parametrize("state", ["present", "rollback"])
def test_traefik_hostile_paths(tmp_path, ca, leaf, extra, message, state):
    params = {"certificates": [{"name": "www", "cert": leaf.cert_pem, "chain": ca.cert_pem,
                                "privatekey": leaf.key_pem}],
              "cert_dir": str(tmp_path), "dynamic_file": str(tmp_path / "d.yaml"), "state": state,
              "verify": []}
    params.update(extra)
    with pytest.raises(InputError, match=message):
        traefik.run(params, probe=lambda *a, **k: None)
    assert os.listdir(str(tmp_path)) == []


def test_traefik_key_file_stays_0600_whatever_the_mode(tmp_path, ca, leaf):
    params = {"certificates": [{"name": "www", "cert": leaf.cert_pem, "chain": ca.cert_pem,
                                "privatekey": leaf.key_pem}],
              "cert_dir": str(tmp_path / "certs"), "dynamic_file": str(tmp_path / "d.yaml"),
              "mode": "0644", "verify": []}
    traefik.run(params, probe=lambda *a, **k: None)
    assert stat.S_IMODE(os.stat(str(tmp_path / "certs" / "www.key")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / "certs" / "www.crt")).st_mode) == 0o644


@pytest.mark.parametrize("file_name", ["..", ".", "../x.conf", "a/b", "x\n", "privkey.pem", ".hidden"])
def test_install_snippet_file_name(tmp_path, file_name):
    with pytest.raises(InputError, match="plain file name"):
        install.snippet_options({"nginx_snippet": {"enabled": True, "file_name": file_name}})
