# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime
import os
import re
import stat

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install

UTC = datetime.timezone.utc
FILES = ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def _item(issued, ca, name="www.example.test", **extra):
    item = {"name": name, "cert": issued.cert_pem, "chain": ca.cert_pem,
            "privatekey": issued.key_pem, "dest": None}
    item.update(extra)
    return item


def _params(tmp_path, items, **extra):
    params = {"certificates": items, "dest_dir": str(tmp_path / "certs"), "owner": None,
              "group": None, "mode": "0644", "backup": True, "state": "present"}
    params.update(extra)
    return params


def _snapshot(root):
    found = {}
    for directory, _dirs, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, str(root))] = (open(path, "rb").read(), _mode(path))
    return found


def test_install_check_real_idempotent(tmp_path, pki, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca)])
    dest = tmp_path / "certs" / "www.example.test"
    steps = [(True, True), (False, True), (False, False), (True, False)]  # (check_mode, changed)
    for check_mode, want in steps:
        changed, result = install.run(params, check_mode=check_mode, want_diff=True)
        assert changed is want, check_mode
        entry = result["certificates"][0]
        assert entry["changed"] is want
        assert entry["serial"] == "abcdef"
        assert entry["names"] == ["example.test", "www.example.test"]
        assert entry["paths"]["fullchain"] == str(dest / "fullchain.pem")
        assert result["diff"]["after"]["www.example.test"]["serial"] == "abcdef"
        if check_mode and want:
            assert not dest.exists()
            assert entry["previous_serial"] is None
            assert result["diff"]["before"]["www.example.test"] == {}
    assert sorted(os.listdir(str(dest))) == FILES
    assert (dest / "cert.pem").read_text() == leaf.cert_pem
    assert (dest / "chain.pem").read_text() == ca.cert_pem
    assert (dest / "fullchain.pem").read_text() == leaf.cert_pem + ca.cert_pem
    assert (dest / "privkey.pem").read_text() == leaf.key_pem
    assert _mode(dest / "privkey.pem") == 0o600
    assert _mode(dest / "cert.pem") == 0o644
    assert _mode(dest) == 0o755


def test_diff_and_results_never_hold_key_material(tmp_path, ca, leaf):
    _changed, result = install.run(_params(tmp_path, [_item(leaf, ca)]), want_diff=True)
    text = repr(result)
    assert "PRIVATE KEY" not in text
    assert leaf.key_pem.splitlines()[1] not in text


def test_mode_change_only(tmp_path, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca)])
    install.run(params)
    params["mode"] = "0640"
    changed, result = install.run(params)
    assert changed
    dest = tmp_path / "certs" / "www.example.test"
    assert _mode(dest / "cert.pem") == 0o640 and _mode(dest / "privkey.pem") == 0o600
    assert not install.run(params)[0]


def test_renewal_backs_up_and_rollback_restores(tmp_path, pki, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca)])
    install.run(params)
    renewed = pki.make_cert(names=("example.test", "www.example.test"), issuer=ca, serial=0x77)
    params2 = _params(tmp_path, [_item(renewed, ca)])
    changed, result = install.run(params2, want_diff=True)
    assert changed
    entry = result["certificates"][0]
    assert (entry["serial"], entry["previous_serial"]) == ("77", "abcdef")
    assert result["diff"]["before"]["www.example.test"]["serial"] == "abcdef"
    dest = tmp_path / "certs" / "www.example.test"
    assert (dest / "cert.pem.certfleet-prev").read_text() == leaf.cert_pem
    assert (dest / "privkey.pem.certfleet-prev").read_text() == leaf.key_pem
    assert _mode(dest / "privkey.pem.certfleet-prev") == 0o600

    rollback = _params(tmp_path, [{"name": "www.example.test", "dest": None}], state="rollback")
    for check_mode, want in [(True, True), (False, True), (False, False), (True, False)]:
        changed, result = install.run(rollback, check_mode=check_mode, want_diff=True)
        assert changed is want
        entry = result["certificates"][0]
        assert entry["serial"] == "abcdef"
        assert entry["previous_serial"] == ("77" if want else "abcdef")
    assert (dest / "cert.pem").read_text() == leaf.cert_pem
    assert (dest / "privkey.pem").read_text() == leaf.key_pem


def test_no_backup_when_disabled(tmp_path, pki, ca, leaf):
    install.run(_params(tmp_path, [_item(leaf, ca)], backup=False))
    renewed = pki.make_cert(issuer=ca, serial=0x78)
    install.run(_params(tmp_path, [_item(renewed, ca)], backup=False))
    assert not [name for name in os.listdir(str(tmp_path / "certs" / "www.example.test"))
                if name.endswith(".certfleet-prev")]


def test_rollback_without_backup_is_reported_not_an_error(tmp_path, ca, leaf):
    """A first installation has no previous set: rollback says so and restores the others."""
    install.run(_params(tmp_path, [_item(leaf, ca, name="a")]))
    install.run(_params(tmp_path, [_item(leaf, ca, name="a")]))  # unchanged: no backup made
    changed, result = install.run(_params(tmp_path, [{"name": "a", "dest": None}], state="rollback"))
    assert not changed
    entry = result["certificates"][0]
    assert (entry["rolled_back"], entry["reason"], entry["serial"]) == (False, "no previous files", "abcdef")
    assert (tmp_path / "certs" / "a" / "cert.pem").read_text() == leaf.cert_pem


def test_one_bad_item_writes_nothing(tmp_path, pki, ca, leaf):
    other = pki.make_cert(names=("other.test",), issuer=ca)
    wrong_key = _item(other, ca, name="other", privatekey=leaf.key_pem)
    with pytest.raises(InputError, match="certificate other: the private key does not match"):
        install.run(_params(tmp_path, [_item(leaf, ca), wrong_key]))
    assert not (tmp_path / "certs").exists()


@pytest.mark.parametrize("change, message", [
    ({"name": "../x"}, "Invalid certificate name"),
    ({"name": ".."}, "Invalid certificate name"),
    ({"name": "a/b"}, "Invalid certificate name"),
    ({"name": "*.example.test"}, "Invalid certificate name"),
    ({"cert": None}, "cert is required"),
    ({"privatekey": ""}, "privatekey is required"),
    ({"cert": "garbage"}, "cert is not PEM"),
    ({"chain": "garbage"}, "chain is not PEM"),
    ({"chain": "PRIVATEKEY"}, "chain contains PRIVATE KEY"),
    ({"cert": "PRIVATEKEY"}, "cert contains PRIVATE KEY"),
    ({"privatekey": "ENCRYPTED"}, "encrypted"),
])
def test_validation_errors(tmp_path, ca, leaf, change, message):
    from cryptography.hazmat.primitives import serialization
    substitutions = {
        "PRIVATEKEY": leaf.cert_pem + leaf.key_pem,
        "ENCRYPTED": leaf.key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"pw")).decode(),
    }
    change = dict((key, substitutions.get(value, value)) for key, value in change.items())
    with pytest.raises(InputError, match=message) as info:
        install.run(_params(tmp_path, [_item(leaf, ca, **change)]))
    assert "-----" not in info.value.msg
    assert not (tmp_path / "certs").exists()


def test_validity_window(tmp_path, pki, ca):
    now = datetime.datetime.now(UTC)
    expired = pki.make_cert(issuer=ca, not_before=now - datetime.timedelta(days=100),
                            not_after=now - datetime.timedelta(days=10))
    future = pki.make_cert(issuer=ca, not_before=now + datetime.timedelta(days=1))
    with pytest.raises(InputError, match="expired on"):
        install.run(_params(tmp_path, [_item(expired, ca)]))
    with pytest.raises(InputError, match="not valid before"):
        install.run(_params(tmp_path, [_item(future, ca)]))
    # with a clock inside the window, the future one installs
    assert install.run(_params(tmp_path, [_item(future, ca)]),
                       now=now + datetime.timedelta(days=2))[0]


def test_fullchain_in_cert_is_split(tmp_path, ca, leaf):
    params = _params(tmp_path, [_item(leaf, ca, cert=leaf.cert_pem + ca.cert_pem, chain="")])
    install.run(params)
    dest = tmp_path / "certs" / "www.example.test"
    assert (dest / "cert.pem").read_text() == leaf.cert_pem
    assert (dest / "chain.pem").read_text() == ca.cert_pem
    with pytest.raises(InputError, match="chain is set too"):
        install.run(_params(tmp_path, [_item(leaf, ca, cert=leaf.cert_pem + ca.cert_pem)]))


def test_whitespace_variations_are_idempotent(tmp_path, ca, leaf):
    install.run(_params(tmp_path, [_item(leaf, ca)]))
    sloppy = _item(leaf, ca, cert="\n" + leaf.cert_pem.replace("\n", "\r\n") + "\n\n",
                   privatekey=leaf.key_pem.rstrip("\n"))
    assert not install.run(_params(tmp_path, [sloppy]))[0]


def test_traditional_key_keeps_its_format(tmp_path, pki, ca):
    issued = pki.make_cert(issuer=ca, key=pki.make_key("rsa-2048"))
    traditional = pki.key_pem(issued.key, "traditional")
    install.run(_params(tmp_path, [_item(issued, ca, privatekey=traditional)]))
    written = (tmp_path / "certs" / "www.example.test" / "privkey.pem").read_text()
    assert written == traditional


def test_custom_dest_and_duplicates(tmp_path, ca, leaf):
    custom = str(tmp_path / "elsewhere")
    _changed, result = install.run(_params(tmp_path, [_item(leaf, ca, dest=custom)]))
    assert result["certificates"][0]["paths"]["cert"] == os.path.join(custom, "cert.pem")
    assert os.path.exists(os.path.join(custom, "privkey.pem"))
    with pytest.raises(InputError, match="both be installed"):
        install.run(_params(tmp_path, [_item(leaf, ca, name="a", dest=custom),
                                       _item(leaf, ca, name="b", dest=custom)]))


def test_several_certificates_only_changed_ones_report(tmp_path, pki, ca, leaf):
    other = pki.make_cert(names=("*.example.test",), issuer=ca, serial=0x99)
    items = [_item(leaf, ca, name="www"), _item(other, ca, name="wildcard.example.test")]
    assert install.run(_params(tmp_path, items))[0]
    renewed = pki.make_cert(names=("*.example.test",), issuer=ca, serial=0x9A)
    items[1] = _item(renewed, ca, name="wildcard.example.test")
    before = _snapshot(tmp_path / "certs" / "www")
    changed, result = install.run(_params(tmp_path, items))
    assert changed
    assert [entry["changed"] for entry in result["certificates"]] == [False, True]
    assert _snapshot(tmp_path / "certs" / "www") == before


def test_existing_directory_keeps_its_mode(tmp_path, ca, leaf):
    """Issue 10: an existing 0700 destination stayed 0700 only until cert_install made it 0755."""
    dest = tmp_path / "certs" / "www.example.test"
    dest.mkdir(parents=True)
    os.chmod(str(dest), 0o700)
    changed, _result = install.run(_params(tmp_path, [_item(leaf, ca)]))
    assert changed and _mode(dest) == 0o700
    assert not install.run(_params(tmp_path, [_item(leaf, ca)]))[0]
    assert _mode(dest) == 0o700


def test_created_directory_gets_dir_mode(tmp_path, ca, leaf):
    install.run(_params(tmp_path, [_item(leaf, ca)], dir_mode="0700"))
    assert _mode(tmp_path / "certs" / "www.example.test") == 0o700


def test_symlinked_dest_is_used_as_is(tmp_path, ca, leaf):
    """Issue 10: the mode change followed a symlinked destination to the directory it names."""
    real = tmp_path / "real"
    real.mkdir()
    os.chmod(str(real), 0o700)
    (tmp_path / "certs").mkdir()
    link = tmp_path / "certs" / "www.example.test"
    link.symlink_to(real)
    changed, _result = install.run(_params(tmp_path, [_item(leaf, ca)]))
    assert changed and link.is_symlink() and _mode(real) == 0o700
    assert (real / "privkey.pem").read_text() == leaf.key_pem
    assert not install.run(_params(tmp_path, [_item(leaf, ca)]))[0]


def _check_options(documented, spec, where=""):
    assert set(documented) == set(spec), where
    for name, option in spec.items():
        doc, here = documented[name], where + name
        for key, default in (("type", "str"), ("default", None), ("choices", None), ("elements", None),
                             ("required", False)):
            assert doc.get(key, default) == option.get(key, default), (here, key)
        if option.get("options") or doc.get("suboptions"):
            _check_options(doc["suboptions"], option["options"], here + ".")


def test_documentation_matches_the_argument_spec():
    import yaml
    from ansible_collections.certfleet.acme.plugins.modules import cert_install

    _check_options(yaml.safe_load(cert_install.DOCUMENTATION)["options"], install.ARGUMENT_SPEC)
    assert install.ARGUMENT_SPEC["certificates"]["options"]["privatekey"]["no_log"] is True
    registered = {"lookup"}
    for example in yaml.safe_load(cert_install.EXAMPLES):  # issue 10: every variable defined first
        for variable in re.findall(r"\{\{ *(\w+)", repr(example)):
            assert variable in registered, (example["name"], variable)
        registered.add(example.get("register"))
