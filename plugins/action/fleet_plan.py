# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of certfleet.acme.fleet_plan: the role's planning steps, run on the controller.
The logic is in plugins/plugin_utils/fleet.py; this file reads the task's arguments and
variables (groups, play hosts, hostvars) and maps errors to a failed result."""

from __future__ import annotations

import os
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.plugin_utils import dns_env, fleet
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import utcnow

STEPS = ("node", "plan", "gate", "issued", "install", "http_server", "verify", "verdict",
         "rollback_report", "summary", "report", "dns_options")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        args = dict(self._task.args)
        step = args.pop("step", None)
        if step not in STEPS:
            raise AnsibleActionFail("fleet_plan: step must be one of %s, not %r" % (", ".join(STEPS), step))
        result.update(getattr(self, "_step_" + step)(args, task_vars))
        return result

    # ---------------------------------------------------------------------------- steps
    def _step_node(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        node, problems = fleet.node_settings(args.get("settings") or {})
        return {"node": node, "problems": problems}

    def _step_plan(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        groups = dict(task_vars.get("groups") or {})
        hostvars = task_vars.get("hostvars") or {}
        node_var = args.get("node_var") or "__certfleet_node"
        nodes: t.Dict[str, t.Any] = {}
        node_problems: t.List[str] = []
        for host in play_hosts:
            reported = _get(hostvars, host, node_var)
            if not reported or reported.get("failed") or "node" not in reported:
                continue
            nodes[host] = reported["node"]
            node_problems.extend("%s: %s" % (host, p) for p in reported.get("problems") or [])
        inputs = args.get("inputs") or {}
        outside = dict((host, _outside(hostvars, host))
                       for host in fleet.expand_hosts(inputs.get("challenge_hosts") or play_hosts, groups)
                       if host not in play_hosts and _get(hostvars, host, "inventory_hostname") is not None)
        plan = fleet.build_plan(inputs, groups, play_hosts, nodes, run_id=args.get("run_id"), outside=outside)
        problems = node_problems + plan["problems"]
        if problems:
            return {"failed": True, "problems": problems,
                    "msg": "certfleet.acme.certificate: invalid input: " + "; ".join(problems)}
        return {"plan": plan}

    def _step_gate(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        why = fleet.store_step_failure(args.get("results") or {})
        table = fleet.preflight_failure(args.get("preflight"))
        if why is None and table:
            return {"failed": True, "msg": table if task_vars.get("inventory_hostname") == args.get("report_on")
                    else "http-01 preflight failed, see %s; the CA was not asked to validate anything."
                    % args.get("report_on")}
        if why is None:
            return {"msg": "every store-host step succeeded"}
        return {"failed": True, "msg": "%s. %s" % (why.rstrip("."), args.get("suffix") or "No node was changed.")}

    def _step_issued(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        issued = fleet.issued_state(args.get("planned"), args.get("issue"))
        out = {"certificates": issued, "bundle_names": fleet.bundle_names(issued),
               "absent_names": [c["name"] for c in (args.get("plan") or {}).get("absent") or []]}
        if "decommissioned" in args:
            gone = fleet.decommission_state(args.get("decommissioned"))
            out.update(decommissioned=gone, revocations=fleet.revocations(args.get("plan") or {}, gone))
        return out

    def _step_install(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        host = task_vars.get("inventory_hostname")
        items = fleet.install_items(args["plan"], host, (args.get("bundles") or {}).get("bundles") or [],
                                    decommissioned=args.get("decommissioned") or {})
        return {"items": items}

    def _step_http_server(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        host, thumbprint = task_vars.get("inventory_hostname"), args.get("thumbprint") or None
        return {"items": fleet.http_server_items(args["plan"], host, thumbprint),
                "probe": fleet.stateless_probe(args["plan"], thumbprint),
                "checks": fleet.http_redirect_checks(args["plan"], [host])}

    def _step_verify(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        active = list(task_vars.get("ansible_play_hosts") or [])
        checks = fleet.verify_checks(args["plan"], active, args.get("issued") or {}) + \
            fleet.absent_checks(args["plan"], active, args.get("decommissioned") or {})
        return {"checks": checks, "endpoints": fleet.unique_endpoints(checks)}

    def _step_verdict(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        results = fleet.check_results(args.get("checks") or [], args.get("served"))
        return {"verdict": fleet.node_verdict(args["plan"], task_vars.get("inventory_hostname"), results,
                                              args.get("installed") or {}, bool(args.get("failed")))}

    def _step_rollback_report(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        return {"report": fleet.rollback_report(args.get("results") or {})}

    def _step_summary(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        results = fleet.check_results(args.get("checks") or [], args.get("served"))
        rows = fleet.summary(args["plan"], args.get("planned"), args.get("issued") or {}, results,
                             list(task_vars.get("ansible_play_hosts") or []),
                             list(task_vars.get("ansible_play_hosts_all") or []),
                             bool(task_vars.get("ansible_check_mode")), utcnow(),
                             decommissioned=args.get("decommissioned") or {})
        return {"summary": rows, "lines": fleet.summary_lines(rows), "table": fleet.summary_table(rows)}

    def _step_report(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        plan = args["plan"]
        if "served" not in args:
            checks = fleet.report_checks(plan, list(task_vars.get("ansible_play_hosts") or []))
            return {"checks": checks, "endpoints": fleet.unique_endpoints(checks)}
        stored = fleet.issued_state(args.get("planned"), None)
        hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        min_days = args.get("min_days")
        rows = fleet.report_rows(args.get("checks") or [], args.get("served"), stored,
                                 None if min_days in (None, "") else float(min_days),
                                 fleet.node_groups(dict(task_vars.get("groups") or {}), hosts))
        return {"rows": rows, "table": fleet.report_table(rows), "flagged": fleet.report_flagged(rows)}

    def _step_dns_options(self, args: t.Dict[str, t.Any], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        # The controller's environment: where AWX and execution environments put credentials.
        try:
            options, from_env = dns_env.provider_options(args.get("provider"), args.get("provider_options"),
                                                         os.environ)
        except InputError as e:
            return {"failed": True, "msg": "certfleet.acme.certificate: %s" % e}
        return {"options": options, "from_env": from_env}


def _outside(hostvars: t.Any, host: str) -> t.Dict[str, t.Any]:
    """What the inventory says of a challenge host outside the play (its variables; the role's
    defaults do not reach another host's hostvars)."""
    return {"address": _get(hostvars, host, "certfleet_node_address") or _get(hostvars, host, "ansible_host") or host,
            "http_port": _get(hostvars, host, "certfleet_node_http_port") or 80,
            "webroot": _get(hostvars, host, "certfleet_webroot")}


def _get(hostvars: t.Any, host: str, name: str) -> t.Any:
    try:
        return hostvars[host].get(name)
    except (KeyError, AttributeError):
        return None
