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


# -- the certificate set changes as a whole ----------------------------------------------------
import json  # noqa: E402
import multiprocessing  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError  # noqa: E402

OS_STEPS = ("open", "write", "fsync", "fchmod", "chmod", "mkdir", "rename", "replace", "symlink",
            "unlink", "rmdir", "link")


def cert_set(i):
    return dict(key_pem=b"KEY-%d" % i, cert_pem="CERT-%d\n" % i, chain_pem="CHAIN-%d\n" % i,
                meta={"serial": str(i)})


def expected(i):
    return {"privkey": "KEY-%d" % i, "cert": "CERT-%d\n" % i, "chain": "CHAIN-%d\n" % i,
            "fullchain": "CERT-%d\nCHAIN-%d\n" % (i, i), "meta": {"serial": str(i)}}


def write_legacy(store, name, i):
    base = store.cert_dir(name)
    os.makedirs(base)
    for filename, key in (("privkey.pem", "privkey"), ("cert.pem", "cert"), ("chain.pem", "chain"),
                          ("fullchain.pem", "fullchain")):
        with open(os.path.join(base, filename), "w") as handle:
            handle.write(expected(i)[key])
    with open(os.path.join(base, "meta.json"), "w") as handle:
        json.dump(expected(i)["meta"], handle)


class Crash(Exception):
    pass


def crashing(monkeypatch, at):
    """Make the ``at``-th os-level step raise (a kill there); returns the step counter."""
    count = [0]
    for step in OS_STEPS:
        real = getattr(os, step)

        def wrapper(*args, _real=real, **kwargs):
            count[0] += 1
            if count[0] == at:
                raise Crash("killed at step %d" % at)
            return _real(*args, **kwargs)
        monkeypatch.setattr(os, step, wrapper)
    return count


def leftovers(store, name):
    base = store.cert_dir(name)
    found = []
    for directory, dirs, filenames in os.walk(base):
        found += [os.path.join(directory, f) for f in filenames + dirs
                  if f.endswith(".tmp") or f.startswith(".partial-")]
    versions = os.listdir(os.path.join(base, "versions"))
    return found, versions


def count_steps(tmp_path, legacy):
    store = Store(str(tmp_path / "count"))
    (write_legacy(store, "c", 1) if legacy else store.write_cert("c", **cert_set(1)))
    with pytest.MonkeyPatch.context() as mp:
        counter = crashing(mp, 0)
        store.write_cert("c", **cert_set(2))
    return counter[0]


@pytest.mark.parametrize("legacy", [False, True], ids=["versioned", "flat-layout"])
def test_a_kill_at_every_step_leaves_the_old_set_or_the_new_one(tmp_path, legacy):
    steps = count_steps(tmp_path, legacy)
    assert steps > 20
    outcomes = set()
    for at in range(1, steps + 1):
        store = Store(str(tmp_path / str(at)))
        (write_legacy(store, "c", 1) if legacy else store.write_cert("c", **cert_set(1)))
        with pytest.MonkeyPatch.context() as mp:
            crashing(mp, at)
            try:
                store.write_cert("c", **cert_set(2))
            except (Crash, StoreError):
                pass
        seen = store.read_set("c")
        assert seen in (expected(1), expected(2)), "step %d left a mixed set: %r" % (at, seen)
        outcomes.add(seen["meta"]["serial"])
        store.write_cert("c", **cert_set(3))
        assert store.read_set("c") == expected(3)
        found, versions = leftovers(store, "c")
        assert found == [] and len(versions) == 2, "step %d: %r %r" % (at, found, versions)
    assert outcomes == {"1", "2"}


def _write_forever(root):
    store = Store(root)
    i = 2
    while True:
        store.write_cert("c", **cert_set(i))
        i += 1


def test_sigkill_mid_write_leaves_a_complete_set_and_the_next_write_cleans(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(8):
        root = str(tmp_path / str(attempt))
        store = Store(root)
        store.write_cert("c", **cert_set(1))
        child = ctx.Process(target=_write_forever, args=(root,))
        child.start()
        time.sleep(0.02 + 0.013 * attempt)
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        seen = store.read_set("c")
        serial = int(seen["meta"]["serial"])
        assert seen == expected(serial)
        store.write_cert("c", **cert_set(10 ** 6))
        found, versions = leftovers(store, "c")
        assert found == [] and len(versions) == 2


def test_flat_layout_is_read_then_migrated(tmp_path):
    store = Store(str(tmp_path))
    write_legacy(store, "old", 1)
    assert store.read_set("old") == expected(1)
    store.write_cert("old", **cert_set(2))
    base = store.cert_dir("old")
    assert os.readlink(os.path.join(base, "current")) == os.path.join("versions", "2")
    assert sorted(os.listdir(os.path.join(base, "versions"))) == ["1", "2"]   # the flat set kept as previous
    assert os.readlink(os.path.join(base, "cert.pem")) == os.path.join("current", "cert.pem")
    assert open(os.path.join(base, "meta.json")).read().strip() == json.dumps({"serial": "2"}, indent=2)
    assert store.read_set("old") == expected(2)
    assert store.cert_paths("old")["privkey"] == os.path.join(base, "current", "privkey.pem")


def test_every_directory_on_the_way_is_0700_and_keys_0600(tmp_path):
    old = os.umask(0o022)
    try:
        store = Store(str(tmp_path / "a" / "store"))
        store.write_cert("web", **cert_set(1))
        store.write_account_key("https://ca/dir", "default", b"K")
    finally:
        os.umask(old)
    for path in (str(tmp_path / "a"), store.root, os.path.join(store.root, "certs"), store.cert_dir("web"),
                 os.path.join(store.cert_dir("web"), "versions"), os.path.dirname(store.cert_paths("web")["cert"]),
                 os.path.join(store.root, "accounts"), store.account_dir("https://ca/dir", "default")):
        assert mode(os.path.realpath(path)) == 0o700, path
    assert mode(store.cert_paths("web")["privkey"]) == 0o600


@pytest.mark.parametrize("name", ["../x", "/x", "..", ".", "a/b", "", "x/../../y", ".hidden", None, "a..b"])
def test_hostile_account_names_never_leave_the_store(tmp_path, name):
    store = Store(str(tmp_path / "store"))
    for call in (lambda: store.write_account_key("https://ca/dir", name, b"K"),
                 lambda: store.write_account("https://ca/dir", name, {}),
                 lambda: store.read_account("https://ca/dir", name),
                 lambda: store.remove_account("https://ca/dir", name)):
        with pytest.raises(InputError, match="Invalid account_name"):
            call()
    assert not (tmp_path / "x").exists() and not os.path.exists("/x")


@pytest.mark.parametrize("name", ["../x", "/x", "a/b"])
def test_hostile_certificate_names_never_leave_the_store(tmp_path, name):
    store = Store(str(tmp_path / "store"))
    with pytest.raises(InputError, match="Invalid certificate name"):
        store.write_cert(name, **cert_set(1))
    with pytest.raises(InputError, match="Invalid certificate name"):
        store.write_pending(name, {}, b"K")


def test_directory_slug_is_one_path_component():
    assert directory_slug("https://../") not in ("..", ".")
    assert "/" not in directory_slug("https://a/../../b")
