# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import webroot

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
THUMB = "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"
KEYAUTH = TOKEN + "." + THUMB


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.mark.parametrize("token", ["", "a/b", "..", "a.b", "a b", "x" * 257, "tok\n", None, 5])
def test_bad_tokens(tmp_path, token):
    with pytest.raises(InputError, match="invalid http-01 token"):
        webroot.token_path(str(tmp_path), token)


def test_token_path(tmp_path):
    assert webroot.token_path(str(tmp_path), TOKEN) == str(
        tmp_path / ".well-known" / "acme-challenge" / TOKEN)


def test_missing_webroot(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        webroot.token_path(str(tmp_path / "nope"), TOKEN)
    with pytest.raises(InputError, match="required"):
        webroot.check_webroot(None)


def test_symlinked_challenge_dir_outside_is_refused(tmp_path):
    root = tmp_path / "www"
    outside = tmp_path / "elsewhere"
    (root / ".well-known").mkdir(parents=True)
    outside.mkdir()
    (root / ".well-known" / "acme-challenge").symlink_to(outside)
    with pytest.raises(TargetError, match="outside the web root"):
        webroot.token_path(str(root), TOKEN)


def test_symlink_inside_webroot_is_fine(tmp_path):
    root = tmp_path / "www"
    (root / "shared").mkdir(parents=True)
    (root / ".well-known").symlink_to(root / "shared")
    assert webroot.deploy(str(root), [(TOKEN, KEYAUTH)]) == [webroot.token_path(str(root), TOKEN)]
    assert (root / "shared" / "acme-challenge" / TOKEN).read_text() == KEYAUTH


def test_symlinked_token_file_outside_is_refused(tmp_path):
    root = tmp_path / "www"
    (root / ".well-known" / "acme-challenge").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.write_text("x")
    (root / ".well-known" / "acme-challenge" / TOKEN).symlink_to(secret)
    with pytest.raises(TargetError, match="leaves the challenge directory"):
        webroot.token_path(str(root), TOKEN)


@pytest.mark.parametrize("content", [TOKEN, THUMB, "other." + THUMB, TOKEN + ".", TOKEN + ".a/b" * 10, None])
def test_bad_key_authorization(content):
    with pytest.raises(InputError, match="key authorization|missing"):
        webroot.validate_key_authorization(TOKEN, content)


def test_key_authorization_whitespace_is_stripped():
    assert webroot.validate_key_authorization(TOKEN, KEYAUTH + "\n") == KEYAUTH


def test_deploy_and_remove(tmp_path):
    old_umask = os.umask(0o077)
    try:
        paths = webroot.deploy(str(tmp_path), [(TOKEN, KEYAUTH)], check_mode=True)
        assert paths == [str(tmp_path / ".well-known" / "acme-challenge" / TOKEN)]
        assert not (tmp_path / ".well-known").exists()
        assert webroot.deploy(str(tmp_path), [(TOKEN, KEYAUTH)]) == paths
    finally:
        os.umask(old_umask)
    assert open(paths[0]).read() == KEYAUTH
    assert _mode(paths[0]) == 0o644
    assert _mode(tmp_path / ".well-known") == 0o755
    assert _mode(tmp_path / ".well-known" / "acme-challenge") == 0o755
    assert webroot.deploy(str(tmp_path), [(TOKEN, KEYAUTH)]) == []
    other = TOKEN[::-1]
    assert webroot.deploy(str(tmp_path), [(TOKEN, KEYAUTH), (other, other + "." + THUMB)]) == [
        webroot.token_path(str(tmp_path), other)]
    assert webroot.existing(str(tmp_path), [TOKEN, other, "missing"]) == [
        webroot.token_path(str(tmp_path), TOKEN), webroot.token_path(str(tmp_path), other)]
    assert webroot.remove(str(tmp_path), [TOKEN], check_mode=True) == paths
    assert os.path.exists(paths[0])
    assert webroot.remove(str(tmp_path), [TOKEN, "missing"]) == paths
    assert not os.path.exists(paths[0])
    assert webroot.remove(str(tmp_path), [TOKEN]) == []


def test_deploy_validates_everything_first(tmp_path):
    with pytest.raises(InputError):
        webroot.deploy(str(tmp_path), [(TOKEN, KEYAUTH), ("bad/token", "x")])
    assert not (tmp_path / ".well-known").exists()
