# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's outputs for other tools (logic of report_export): a Prometheus textfile-collector
file, a JSON document and a JMESPath query over the report rows. Runs on the store host.
Private to this collection."""

from __future__ import annotations

import datetime
import json
import os
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, parse_iso, utcnow

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
    HAS_JMESPATH = True
except ImportError:  # only O(query) needs it
    HAS_JMESPATH = False

FILE_MODE = 0o644
ARGUMENT_SPEC = dict(
    rows=dict(type="list", elements="dict", required=True),
    prometheus_file=dict(type="path"),
    json_file=dict(type="path"),
    query=dict(type="str"),
    min_days=dict(type="float"),
)
LABELS = ("node", "certificate", "identifier")
# name, help, value of a row (None: no sample for that row)
METRICS = (
    ("certfleet_certificate_days_left", "Days until the certificate a node serves for a name expires.",
     lambda row: row.get("days_left")),
    ("certfleet_certificate_expiry_timestamp_seconds", "notAfter of the served certificate, Unix time.",
     lambda row: _epoch(row.get("not_after"))),
    ("certfleet_certificate_served", "1 when the node answered the TLS handshake with a certificate.",
     lambda row: 1 if row.get("serial") else 0),
    ("certfleet_certificate_matches_store", "1 when the served certificate is the one in the store, 0 when "
     "not (no sample when either is unknown).",
     lambda row: None if row.get("matches_store") is None else int(bool(row["matches_store"]))),
    ("certfleet_certificate_consistent", "1 when every node serves the same certificate for the name.",
     lambda row: int(bool(row.get("consistent", True)))),
    ("certfleet_certificate_flags", "Number of problems flagged for the name on the node.",
     lambda row: len(row.get("flags") or [])),
)


def _epoch(value: t.Any) -> t.Optional[int]:
    if not value:
        return None
    try:
        return int(parse_iso(value).timestamp())
    except (InputError, ValueError, TypeError):
        return None


def _label(value: t.Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(row: t.Mapping[str, t.Any], extra: t.Sequence[str] = ()) -> str:
    return "{%s}" % ",".join('%s="%s"' % (key, _label(row.get(key))) for key in tuple(LABELS) + tuple(extra))


def _number(value: t.Any) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def issues(rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """One line per flagged row (what certfleet_report_fail_on_issues fails on)."""
    return ["%s %s: %s" % (r.get("node"), r.get("identifier"), "; ".join(r["flags"]))
            for r in rows if r.get("flags")]


def prometheus_text(rows: t.Sequence[t.Mapping[str, t.Any]], now: datetime.datetime) -> str:
    """The textfile-collector file (Prometheus text format 0.0.4)."""
    out = []
    for name, help_text, value_of in METRICS:
        out += ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name]
        for row in rows:
            value = value_of(row)
            if value is not None:
                out.append("%s%s %s" % (name, _labels(row), _number(value)))
    out += ["# HELP certfleet_certificate_info The served and the stored serial of each name on each node.",
            "# TYPE certfleet_certificate_info gauge"]
    out += ["certfleet_certificate_info%s 1" % _labels(row, ("serial", "stored_serial", "issuer")) for row in rows]
    summary = (("certfleet_report_rows", "Rows (node and name) in the last report.", len(rows)),
               ("certfleet_report_issues", "Rows with at least one flag in the last report.", len(issues(rows))),
               ("certfleet_report_timestamp_seconds", "When the last report ran, Unix time.", int(now.timestamp())))
    for name, help_text, value in summary:
        out += ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name, "%s %d" % (name, value)]
    return "\n".join(out) + "\n"


def query(expression: str, rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.Any:
    """A JMESPath expression over the rows (as the AWS CLI's --query)."""
    if not HAS_JMESPATH:
        raise InputError("query needs the Python package jmespath on the host this runs on "
                         "(pip install jmespath)")
    try:
        return jmespath.search(expression, list(rows))
    except JMESPathError as exc:
        raise InputError("query %r is not a valid JMESPath expression: %s"
                         % (expression, " ".join(str(exc).split()))) from None


def _check_path(path: t.Optional[str], what: str) -> None:
    if path is not None and (not os.path.isabs(path) or path.endswith("/") or os.path.isdir(path)):
        raise InputError("%s %r must be the absolute path of a file" % (what, path))


def run(params: t.Dict[str, t.Any], check_mode: bool = False,
        now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Validate everything (query included), then write each file atomically."""
    now = now or utcnow()
    rows = params["rows"]
    for what in ("prometheus_file", "json_file"):
        _check_path(params.get(what), what)
    out = {"issues": issues(rows), "rows": len(rows)}  # type: t.Dict[str, t.Any]
    if params.get("query"):
        out["query_result"] = query(params["query"], rows)
    written = []
    targets = []
    if params.get("prometheus_file"):
        targets.append((params["prometheus_file"], prometheus_text(rows, now)))
    if params.get("json_file"):
        document = {"generated": iso(now), "min_days": params.get("min_days"), "issues": out["issues"],
                    "rows": rows}
        if params.get("query"):
            document.update(query=params["query"], query_result=out.get("query_result"))
        targets.append((params["json_file"], json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"))
    for path, text in targets:
        if not check_mode:
            files.ensure_dir(os.path.dirname(path), 0o755)
            files.write_atomic(path, text.encode("utf-8"), FILE_MODE)
        written.append(path)
    out["written"] = written
    return bool(written), out
