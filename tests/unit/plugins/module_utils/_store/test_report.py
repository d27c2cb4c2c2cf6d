# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_export: the textfile parses with prometheus_client's parser, JSON, JMESPath, atomic writes."""

from __future__ import annotations

import datetime
import json
import os

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._store import report

parser = pytest.importorskip("prometheus_client.parser")
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def _row(node, identifier, serial, days, stored="aa", groups=("web",), flags=()):
    return {"node": node, "groups": list(groups), "target": "nginx", "certificate": "www", "identifier": identifier,
            "serial": serial, "issuer": 'Pebble "Intermediate"\\1', "not_after": "2026-12-15T12:00:00Z" if serial else None,
            "days_left": days, "renewal_due": False, "names": [identifier], "alpn": "h2", "error": None,
            "stored_serial": stored, "matches_store": None if not serial else serial == stored,
            "consistent": not flags, "flags": list(flags)}


ROWS = [_row("web1", "www.example.test", "aa", 30.0),
        _row("web2", "www.example.test", "01", 9.5, flags=["not the certificate in the store (aa)",
                                                          "expires in 9.5 days (under 14.0)"]),
        _row("lb1", "www.example.test", None, None, groups=("lb",), flags=["no certificate: refused"])]


def _samples(text):
    return dict(((s.name, tuple(sorted(s.labels.items()))), s.value)
                for family in parser.text_string_to_metric_families(text) for s in family.samples)


def test_textfile_parses_and_holds_every_row():
    text = report.prometheus_text(ROWS, NOW)
    samples = _samples(text)
    web2 = (("certificate", "www"), ("identifier", "www.example.test"), ("node", "web2"))
    assert samples[("certfleet_certificate_days_left", web2)] == 9.5
    assert samples[("certfleet_certificate_matches_store", web2)] == 0
    assert samples[("certfleet_certificate_flags", web2)] == 2
    assert samples[("certfleet_certificate_expiry_timestamp_seconds", web2)] == 1797336000
    lb1 = (("certificate", "www"), ("identifier", "www.example.test"), ("node", "lb1"))
    assert samples[("certfleet_certificate_served", lb1)] == 0
    assert ("certfleet_certificate_days_left", lb1) not in samples
    assert ("certfleet_certificate_matches_store", lb1) not in samples
    info = [labels for (name, labels), _v in samples.items() if name == "certfleet_certificate_info"]
    assert dict(info[1])["serial"] == "01" and dict(info[1])["issuer"] == 'Pebble "Intermediate"\\1'
    assert samples[("certfleet_report_issues", ())] == 2 and samples[("certfleet_report_rows", ())] == 3
    assert samples[("certfleet_report_timestamp_seconds", ())] == int(NOW.timestamp())


def test_run_writes_both_files_atomically_and_queries(tmp_path):
    prom, doc = tmp_path / "tc" / "certfleet.prom", tmp_path / "report.json"
    params = {"rows": ROWS, "prometheus_file": str(prom), "json_file": str(doc), "min_days": 14.0,
              "query": "[?days_left < `14` && contains(groups, 'web')].{node: node, name: identifier}"}
    changed, result = report.run(params, check_mode=True, now=NOW)
    assert changed and not prom.exists() and result["query_result"] == [{"node": "web2", "name": "www.example.test"}]
    changed, result = report.run(params, now=NOW)
    assert result["written"] == [str(prom), str(doc)] and result["rows"] == 3
    assert result["issues"][0] == "web2 www.example.test: not the certificate in the store (aa); expires in 9.5 days (under 14.0)"
    assert _samples(prom.read_text())
    data = json.loads(doc.read_text())
    assert data["generated"] == "2026-12-01T12:00:00Z" and len(data["rows"]) == 3
    assert data["query_result"] == result["query_result"] and data["min_days"] == 14.0
    assert oct(os.stat(str(prom)).st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(str(prom.parent))) == ["certfleet.prom"]   # no temporary file left


@pytest.mark.parametrize("params, message", [
    ({"query": "[?days_left <"}, "is not a valid JMESPath expression"),
    ({"prometheus_file": "relative.prom"}, "must be the absolute path of a file"),
])
def test_bad_input_writes_nothing(tmp_path, params, message):
    with pytest.raises(InputError, match=message):
        report.run(dict({"rows": ROWS, "json_file": str(tmp_path / "r.json")}, **params))
    assert not (tmp_path / "r.json").exists()


def test_query_without_jmespath(monkeypatch):
    monkeypatch.setattr(report, "HAS_JMESPATH", False)
    with pytest.raises(InputError, match="needs the Python package jmespath"):
        report.run({"rows": ROWS, "query": "[]"})
