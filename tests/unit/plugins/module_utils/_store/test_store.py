from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store, directory_slug, write_atomic


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_cert_set_modes_and_layout(tmp_path):
    store = Store(str(tmp_path / "store"))
    store.write_cert("web", b"KEY", "CERT\n", "CHAIN\n", {"serial": "1"})
    paths = store.cert_paths("web")
    assert mode(paths["privkey"]) == 0o600
    assert mode(paths["cert"]) == 0o644
    assert mode(store.cert_dir("web")) == 0o700
    assert open(paths["fullchain"]).read() == "CERT\nCHAIN\n"
    meta, cert = store.read_cert("web")
    assert meta == {"serial": "1"} and cert == "CERT\n"


def test_write_atomic_reports_identical_content(tmp_path):
    path = str(tmp_path / "f")
    assert write_atomic(path, "a", 0o600) is True
    assert write_atomic(path, "a", 0o600) is False
    assert write_atomic(path, "a", 0o644) is True
    assert os.listdir(str(tmp_path)) == ["f"]   # no temporary file left behind


def test_pending_roundtrip(tmp_path):
    store = Store(str(tmp_path))
    store.write_pending("c", {"order_url": "u"}, b"K")
    assert store.read_pending("c") == ({"order_url": "u"}, "K")
    store.clear_pending("c")
    assert store.read_pending("c") == (None, None)


def test_corrupt_json_is_a_clear_error(tmp_path):
    store = Store(str(tmp_path))
    os.makedirs(store.cert_dir("c"))
    with open(os.path.join(store.cert_dir("c"), "meta.json"), "w") as handle:
        handle.write("{nope")
    with pytest.raises(StoreError, match="not valid JSON"):
        store.read_cert("c")


def test_accounts_per_directory(tmp_path):
    store = Store(str(tmp_path))
    assert directory_slug("https://127.0.0.1:14000/dir") == "127.0.0.1_14000_dir"
    store.write_account_key("https://a/dir", "default", b"K")
    assert mode(os.path.join(store.account_dir("https://a/dir", "default"), "key.pem")) == 0o600
    assert store.read_account("https://b/dir", "default") == (None, None)
