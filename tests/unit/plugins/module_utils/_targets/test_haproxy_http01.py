# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""haproxy_http01: the managed stateless http-01 rule of a frontend."""

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import haproxy_http01

THUMB = "T" * 43
CFG = """global
    nbthread 1

frontend http_in
    mode http
    bind 127.0.0.10:80
    http-request redirect scheme https code 301
    default_backend web

backend web
    server web1 127.0.0.11:80
"""


def test_rule_comes_first_in_its_frontend_and_is_replaced_not_added():
    text = haproxy_http01.render(CFG, "http_in", THUMB)
    lines = text.splitlines()
    start = lines.index("frontend http_in")
    assert lines[start + 1].startswith("    # BEGIN certfleet.acme.haproxy_http01 (frontend http_in)")
    assert lines[start + 2] == ('    http-request return status 200 content-type text/plain lf-string '
                                '"%[path,field(4,/)].' + THUMB + '" if { path_reg '
                                '^/\\.well-known/acme-challenge/[-_a-zA-Z0-9]+$ }')
    assert lines[start + 4] == "    mode http"
    again = haproxy_http01.render(text, "http_in", "N" * 43)
    assert again.count("http-request return") == 1 and "N" * 43 in again and THUMB not in again
    assert haproxy_http01.render(text, "http_in", THUMB) == text
    assert haproxy_http01.render(text, "http_in", None) == CFG


@pytest.mark.parametrize("text, frontend, thumb, message", [
    (CFG, "nope", THUMB, "no frontend nope .its frontends: http_in"),
    (CFG + "frontend http_in\n", "http_in", THUMB, "more than one"),
    (CFG, "http in", THUMB, "not a HAProxy section name"),
    (CFG, "http_in", "x" * 42, "not an account thumbprint"),
    (CFG.replace("    mode http", haproxy_http01.markers("http_in")[0]), "http_in", THUMB, "no end marker"),
])
def test_bad_input(text, frontend, thumb, message):
    with pytest.raises(InputError, match=message):
        haproxy_http01.render(text, frontend, thumb)


def _params(tmp_path, **extra):
    path = tmp_path / "haproxy.cfg"
    if not path.exists():
        path.write_text(CFG)
    params = {"config": str(path), "config_files": None, "frontend": "http_in", "thumbprint": THUMB,
              "state": "present", "haproxy_path": "haproxy", "reload_command": ["reload"],
              "master_pid_file": None}
    params.update(extra)
    return params


def test_check_real_idempotent_absent(tmp_path):
    calls = []

    def runner(argv, what):
        calls.append(argv)
        return "Configuration file is valid"

    changed, result = haproxy_http01.run(_params(tmp_path), check_mode=True, want_diff=True, runner=runner)
    assert changed and not calls and (tmp_path / "haproxy.cfg").read_text() == CFG
    assert THUMB in result["diff"]["after"]
    changed, result = haproxy_http01.run(_params(tmp_path), runner=runner)
    assert changed and result["reloaded"] and calls == [["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")],
                                                        ["reload"]]
    assert not haproxy_http01.run(_params(tmp_path), runner=runner)[0] and len(calls) == 2
    changed, result = haproxy_http01.run(_params(tmp_path, state="absent", thumbprint=None), runner=runner)
    assert changed and result["rule"] is None and (tmp_path / "haproxy.cfg").read_text() == CFG


def test_failed_check_puts_the_file_back_and_does_not_reload(tmp_path):
    calls = []

    def runner(argv, what):
        calls.append(argv)
        if what == "haproxy -c":
            raise TargetError("haproxy -c on node failed: [ALERT] parsing")
        return ""

    with pytest.raises(TargetError, match="previous configuration is back; HAProxy was not touched"):
        haproxy_http01.run(_params(tmp_path), runner=runner)
    assert (tmp_path / "haproxy.cfg").read_text() == CFG and len(calls) == 1


def test_present_needs_a_thumbprint(tmp_path):
    with pytest.raises(InputError, match="thumbprint is required"):
        haproxy_http01.run(_params(tmp_path, thumbprint=None))


def test_documentation_matches_the_argument_spec():
    import yaml
    from ansible_collections.certfleet.acme.plugins.modules import haproxy_http01 as module
    doc = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert set(doc) == set(module.ARGUMENT_SPEC)
    for name, option in module.ARGUMENT_SPEC.items():
        for key, default in (("type", "str"), ("default", None), ("choices", None), ("elements", None),
                             ("required", False)):
            assert doc[name].get(key, default) == option.get(key, default), (name, key)
