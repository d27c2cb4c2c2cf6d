# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import challenge

THUMB = "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"


def _http(name: str, **extra):
    token = name
    entry = {"certificate": "www", "identifier": "www.example.test", "type": "http-01",
             "token": token, "path": ".well-known/acme-challenge/" + token,
             "content": token + "." + THUMB, "url": "https://ca.test/chall/1"}
    entry.update(extra)
    return entry


def _params(tmp_path, challenges, **extra):
    params = {"challenges": challenges, "webroot": str(tmp_path), "state": "present",
              "owner": None, "group": None}
    params.update(extra)
    return params


def test_empty_list_changes_nothing(tmp_path):
    assert challenge.run(_params(tmp_path, []), want_diff=True) == (
        False, {"files": [], "diff": {"before": {"files": {}}, "after": {"files": {}}}})


def test_http01_lifecycle(tmp_path):
    entries = [_http("tokenA"), _http("tokenB", extra_key="ignored"), _http("tokenA")]
    path_a = str(tmp_path / ".well-known" / "acme-challenge" / "tokenA")
    path_b = str(tmp_path / ".well-known" / "acme-challenge" / "tokenB")
    cases = [  # (state, check_mode, expected changed, expected files, files exist afterwards)
        ("present", True, True, [path_a, path_b], False),
        ("present", False, True, [path_a, path_b], True),
        ("present", False, False, [], True),
        ("present", True, False, [], True),
        ("absent", True, True, [path_a, path_b], True),
        ("absent", False, True, [path_a, path_b], False),
        ("absent", False, False, [], False),
        ("absent", True, False, [], False),
    ]
    for state, check_mode, want_changed, want_files, exist in cases:
        changed, result = challenge.run(_params(tmp_path, entries, state=state), check_mode, True)
        assert (changed, result["files"]) == (want_changed, want_files), (state, check_mode)
        if state == "present" and want_changed:
            assert result["diff"]["before"]["files"] == {}
            assert result["diff"]["after"]["files"] == {path_a: "tokenA." + THUMB,
                                                        path_b: "tokenB." + THUMB}
        if state == "absent" and want_changed:
            assert sorted(result["diff"]["before"]["files"]) == [path_a, path_b]
            assert result["diff"]["after"]["files"] == {}
        assert os.path.exists(path_a) == os.path.exists(path_b) == exist


def test_changed_content_is_rewritten(tmp_path):
    challenge.run(_params(tmp_path, [_http("tokenA")]))
    entry = _http("tokenA", content="tokenA." + THUMB[::-1])
    changed, result = challenge.run(_params(tmp_path, [entry]), want_diff=True)
    assert changed and result["diff"]["before"] != result["diff"]["after"]


def test_absent_needs_no_content(tmp_path):
    challenge.run(_params(tmp_path, [_http("tokenA")]))
    changed, result = challenge.run(_params(tmp_path, [{"type": "http-01", "token": "tokenA"}],
                                            state="absent"))
    assert changed and len(result["files"]) == 1


@pytest.mark.parametrize("bad, message", [
    ({"token": "../etc"}, "invalid http-01 token"),
    ({"content": "nope"}, "not a key authorization"),
    ({"content": None}, "missing"),
    ({"type": "tls-alpn-01"}, "unsupported challenge type"),
])
def test_validation_happens_before_any_write(tmp_path, bad, message):
    entries = [_http("good"), _http("good2", **bad)]
    with pytest.raises(InputError, match=message) as info:
        challenge.run(_params(tmp_path, entries))
    assert "www.example.test" in info.value.msg
    assert not (tmp_path / ".well-known").exists()


def test_conflicting_duplicates(tmp_path):
    entries = [_http("tok"), _http("tok", content="tok." + THUMB[::-1])]
    with pytest.raises(InputError, match="twice"):
        challenge.run(_params(tmp_path, entries))


def test_missing_webroot(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        challenge.run(_params(tmp_path / "missing", [_http("tok")]))
    with pytest.raises(InputError, match="webroot is required"):
        challenge.run(_params(tmp_path, [_http("tok")], webroot=None))


def test_not_a_dict(tmp_path):
    with pytest.raises(InputError, match=r"challenges\[0\]"):
        challenge.run(_params(tmp_path, ["tok"]))


def test_dns01_entries_left_to_dns_challenge(tmp_path):
    entries = [_http("tokenA"), {"type": "dns-01", "certificate": "www", "identifier": "*.example.test",
                                 "record": "_acme-challenge.example.test", "value": "abc"}]
    changed, result = challenge.run(_params(tmp_path, entries))
    assert changed and len(result["files"]) == 1
    assert result["not_handled"] == [{"certificate": "www", "identifier": "*.example.test", "type": "dns-01"}]


def test_dns01_points_at_dns_challenge(tmp_path):
    entry = {"type": "dns-01", "certificate": "www", "identifier": "www.example.test",
             "record": "_acme-challenge.www.example.test", "value": "abc"}
    with pytest.raises(InputError, match="^challenge serves http-01 only: deploy dns-01 records with "
                                         "certfleet.acme.dns_challenge .*certificate www"):
        challenge.run(_params(tmp_path, [entry], webroot=None))
    for option in ({"provider": "rfc2136"}, {"provider_options": {"server": "192.0.2.53"}}):
        with pytest.raises(InputError, match="certfleet.acme.dns_challenge") as info:
            challenge.run(_params(tmp_path, [_http("tok")], **option))
        assert "\n" not in info.value.msg
    assert not (tmp_path / ".well-known").exists()


def test_unknown_type(tmp_path):
    with pytest.raises(InputError, match="unsupported challenge type 'tls-alpn-01'"):
        challenge.run(_params(tmp_path, [_http("tok", type="tls-alpn-01")]))
