#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: report_export
short_description: Write the fleet report as Prometheus metrics and JSON, and query it with JMESPath
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Takes the rows of the report mode of the role C(certfleet.acme.certificate) (one per node and
    name, with what the node serves). Writes them for other tools and answers a JMESPath query
    over them.
  - O(prometheus_file) is a file for node_exporter's textfile collector. Each name on each node
    gets a sample of C(certfleet_certificate_days_left),
    C(certfleet_certificate_expiry_timestamp_seconds), C(certfleet_certificate_served),
    C(certfleet_certificate_matches_store), C(certfleet_certificate_consistent) and
    C(certfleet_certificate_flags), with the labels C(node), C(certificate) and C(identifier).
    It also gets C(certfleet_certificate_info) (value 1) with the labels C(serial),
    C(stored_serial) and C(issuer) added. For the whole run there are
    C(certfleet_report_rows), C(certfleet_report_issues) and
    C(certfleet_report_timestamp_seconds).
  - O(json_file) holds the time of the run, the rows, the issues and the query's result.
  - Each file is written to a temporary file in its directory and renamed, so a collector never
    reads half a file. Every input, the query included, is checked before anything is written.
  - Runs on the store host (or wherever the files belong). O(query) needs the Python package
    C(jmespath) there.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
    details: Checks the input and evaluates the query, writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: The files carry the time of the run, so each run rewrites them.
options:
  rows:
    description:
      - The report rows, the fact C(certfleet_report) of the role's report mode. Each row has
        C(node), C(groups), C(target), C(certificate), C(identifier), C(serial), C(issuer),
        C(not_after), C(days_left), C(renewal_due), C(names), C(alpn), C(error),
        C(stored_serial), C(matches_store), C(consistent) and C(flags).
    type: list
    elements: dict
    required: true
  prometheus_file:
    description:
      - Where to write the metrics, for example
        C(/var/lib/prometheus/node-exporter/certfleet.prom). Its directory is created when missing.
    type: path
  json_file:
    description: Where to write the JSON report.
    type: path
  query:
    description:
      - A JMESPath expression over the list of rows, as the AWS CLI's C(--query). Its result
        is RV(query_result).
      - "For example the names with less than 14 days left on the nodes of the group web:
        C([?days_left < `14` && contains(groups, 'web')].{node: node, name: identifier, days: days_left})."
    type: str
  min_days:
    description: The threshold the rows were flagged with, recorded in the JSON report.
    type: float
notes:
  - The role's report mode calls this module with C(certfleet_report_prometheus_file),
    C(certfleet_report_json_file) and C(certfleet_report_query).
seealso:
  - name: node_exporter textfile collector
    description: How node_exporter reads C(*.prom) files.
    link: https://github.com/prometheus/node_exporter#textfile-collector
  - name: JMESPath
    description: The query language.
    link: https://jmespath.org/
"""

EXAMPLES = r"""
# The role's report mode (tasks_from: report) calls this module itself; here the rows come from
# the JSON report of an earlier run.
- name: Read the rows of the last JSON report
  ansible.builtin.slurp:
    src: /var/lib/certfleet/report.json
  register: __last

- name: Metrics for node_exporter, and the names under 14 days on the nodes of the group web
  certfleet.acme.report_export:
    rows: "{{ (__last.content | b64decode | from_json).rows }}"
    prometheus_file: /var/lib/prometheus/node-exporter/certfleet.prom
    query: "[?days_left < `14` && contains(groups, 'web')].identifier"
  register: __export

- name: Show them
  ansible.builtin.debug:
    var: __export.query_result
"""

RETURN = r"""
issues:
  description: "One line per row with a flag: C(<node> <name>: <flags>)."
  returned: success
  type: list
  elements: str
  sample: ["web2 www.example.com: expires in 9.5 days (under 14.0)"]
rows:
  description: The number of rows.
  returned: success
  type: int
  sample: 6
query_result:
  description: What O(query) selected (any JSON type).
  returned: O(query) given
  type: raw
  sample: [www.example.com]
written:
  description: The files written (in check mode, the files that would be).
  returned: success
  type: list
  elements: str
  sample: [/var/lib/prometheus/node-exporter/certfleet.prom]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._store import report


def main() -> None:
    run_module(report.ARGUMENT_SPEC, lambda module: report.run(module.params, module.check_mode))


if __name__ == "__main__":
    main()
