# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import stat
import sys

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.doc_fragments.tls_target import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy


def test_doc_fragment_matches_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(deploy.TARGET_OPTIONS)
    for name, spec in deploy.TARGET_OPTIONS.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("choices") == spec.get("choices"), name
        for sub, sub_spec in (spec.get("options") or {}).items():
            assert doc["suboptions"][sub]["type"] == sub_spec["type"], (name, sub)
            assert doc["suboptions"][sub].get("default") == sub_spec.get("default"), (name, sub)
    assert deploy.CERTIFICATE_OPTIONS["privatekey"]["no_log"] is True


class _Prep(object):
    def __init__(self, name, names, serial):
        self.name, self.summary = name, {"names": names, "serial": serial}


def test_plan_checks_pick_the_certificate_covering_the_sni_name():
    preps = [_Prep("a", ["a.test"], "1"), _Prep("wild", ["*.b.test"], "2")]
    checks = deploy.plan_checks([{"host": "h", "server_name": "x.b.test"}, {"host": "a.test"},
                                 {"host": "h", "port": 8443, "server_name": "z", "certificate": "a"}], preps)
    assert [(c["certificate"], c["expected_serial"], c["port"]) for c in checks] == \
        [("wild", "2", 443), ("a", "1", 443), ("a", "1", 8443)]
    with pytest.raises(InputError, match="cannot tell"):
        deploy.plan_checks([{"host": "h", "server_name": "y.b.c.test"}], preps)
    with pytest.raises(InputError, match="not being installed"):
        deploy.plan_checks([{"host": "h", "certificate": "nope"}], preps)
    assert deploy.plan_checks([{"host": "h", "server_name": "other"}], preps[:1])[0]["certificate"] == "a"


def test_wait_for_serials_polls_until_served_or_deadline(ca, leaf, pki):
    old = pki.make_cert(names=("www.example.test",), issuer=ca, serial=0x1)
    served = [old, old, leaf]
    now = [0.0]

    def probe(host, port, server_name, timeout):
        issued = served.pop(0) if len(served) > 1 else served[0]
        return tlsprobe.PeerCertificate(x509.pem_blocks(issued.cert_pem)[0][1], None, None)

    checks = [{"host": "h", "port": 443, "server_name": "www.example.test", "certificate": "c",
               "expected_serial": "abcdef"}]

    def sleep(seconds):
        now[0] += seconds
    results = deploy.wait_for_serials(checks, 5.0, probe, interval=1.0, clock=lambda: now[0], sleep=sleep)
    assert results[0]["ok"] and now[0] == 2.0
    served[:] = [old]
    results = deploy.wait_for_serials(checks, 3.0, probe, interval=1.0, clock=lambda: now[0], sleep=sleep)
    assert not results[0]["ok"] and results[0]["served_serial"] == "1"
    assert deploy.describe_failures(results) == "h:443 (SNI www.example.test) serves serial 1, expected abcdef"


def test_run_command_failure_quotes_the_output():
    script = "import sys; print('[ALERT] parsing: bad line'); sys.exit(1)"
    with pytest.raises(TargetError) as info:
        deploy.run_command([sys.executable, "-c", script], "haproxy -c")
    assert "haproxy -c on " in info.value.msg and "[ALERT] parsing: bad line" in info.value.msg
    assert info.value.details["rc"] == 1
    with pytest.raises(TargetError, match="command not found"):
        deploy.run_command("/nonexistent/haproxy -c", "haproxy -c")
    assert deploy.run_command([sys.executable, "-c", "print('ok')"], "x") == "ok"


def test_snapshot_write_restore(tmp_path):
    keep, new = str(tmp_path / "a.pem"), str(tmp_path / "sub" / "b.yaml")
    with open(keep, "wb") as handle:
        handle.write(b"old")
    os.chmod(keep, 0o640)
    entries = [deploy.Entry(keep, b"new", 0o600), deploy.Entry(new, b"cfg", 0o644)]
    saved = deploy.snapshot([keep, new])
    deploy.write(entries, backup_of=lambda path: path + ".prev")
    assert open(keep, "rb").read() == b"new" and open(new, "rb").read() == b"cfg"
    assert open(keep + ".prev", "rb").read() == b"old"
    assert deploy.pending(entries) == []
    deploy.restore(saved, [keep, new])
    assert open(keep, "rb").read() == b"old" and stat.S_IMODE(os.stat(keep).st_mode) == 0o640
    assert not os.path.exists(new)


def test_commit_removes_the_backups_of_the_named_sets_only(tmp_path):
    from ansible_collections.certfleet.acme.plugins.module_utils._common import files as common_files
    keep, drop, shared = (tmp_path / "keep.pem"), (tmp_path / "drop.pem"), (tmp_path / "dyn.yaml")
    for path in (keep, drop, shared):
        path.write_text("new")
        open(common_files.backup_path(str(path)), "w").write("old key")
    changed, out = deploy.commit({"drop": [str(drop)]}, [str(shared)], dry_run=True)
    assert changed and os.path.exists(common_files.backup_path(str(drop)))      # check mode
    changed, out = deploy.commit({"drop": [str(drop)]}, [str(shared)], dry_run=False)
    assert changed and out["certificates"][0]["removed"] == [common_files.backup_path(str(drop))]
    assert not os.path.exists(common_files.backup_path(str(drop)))
    assert not os.path.exists(common_files.backup_path(str(shared)))
    assert os.path.exists(common_files.backup_path(str(keep)))
    assert deploy.commit({"drop": [str(drop)]}, [str(shared)], dry_run=False)[0] is False   # idempotent
