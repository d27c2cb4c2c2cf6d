# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table-driven tests of the fleet plan (plugins/plugin_utils/fleet.py)."""

from __future__ import annotations

import copy
import datetime

import pytest

from ansible_collections.certfleet.acme.plugins.plugin_utils import fleet

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
GROUPS = {"all": ["web1", "web2", "lb1"], "web": ["web1", "web2"], "lb": ["lb1"], "ungrouped": []}
HOSTS = ["web1", "web2", "lb1"]


def settings(**over):
    raw = {"target": "nginx", "address": "127.0.0.11", "http_port": 80, "verify_port": "443",
           "webroot": "/var/www", "dest_dir": "/etc/certfleet/certs", "nginx_conf_dir": "/etc/nginx/conf.d",
           "nginx_conf_file": "certfleet.conf", "nginx_listen": [], "nginx_server_extra": "",
           "nginx_test_cmd": "nginx -t", "nginx_reload_cmd": "nginx -s reload",
           "haproxy_cert_dir": "/etc/haproxy/certs", "haproxy_config": ["/etc/haproxy/haproxy.cfg"],
           "haproxy_reload_cmd": "systemctl reload haproxy", "traefik_cert_dir": "/etc/traefik/certs",
           "traefik_dynamic_file": "/etc/traefik/dynamic/certfleet.yaml"}
    raw.update(over)
    node, problems = fleet.node_settings(raw)
    assert problems == []
    return node


NODES = {"web1": settings(), "web2": settings(address="127.0.0.12"),
         "lb1": settings(target="haproxy", address="127.0.0.10", webroot=None)}
CERTS = [{"name": "www", "identifiers": ["www.example.test", "example.test"], "install_hosts": ["web"]},
         {"name": "lb", "identifiers": ["lb.example.test"], "install_hosts": ["lb"], "target": "haproxy"},
         {"name": "raw", "identifiers": ["raw.example.test"], "install_hosts": ["web1"], "target": "files"}]
INPUTS = {"directory_url": "https://ca/dir", "certificates": CERTS, "challenge": "http-01",
          "challenge_hosts": ["web"]}


def plan(inputs=None, nodes=None, hosts=None):
    return fleet.build_plan(dict(INPUTS, **(inputs or {})), GROUPS, hosts or HOSTS,
                            NODES if nodes is None else nodes, run_id="run-1")


# ------------------------------------------------------------------------------- node settings
@pytest.mark.parametrize("over, problem", [
    ({"target": "lighttpd"}, "certfleet_target: 'lighttpd' is not one of"),
    ({"deploy_hooks": "reload"}, "certfleet_deploy_hooks: 'reload' must be a list of commands"),
    ({"apache_conf_file": "a/b"}, "certfleet_apache_conf_file: 'a/b' must be a plain file name"),
    ({"verify_port": "https"}, "certfleet_verify_port: 'https' is not a port number"),
    ({"http_port": 70000}, "certfleet_node_http_port: 70000 is not a port number"),
    ({"nginx_conf_file": "../x.conf"}, "certfleet_nginx_conf_file: '../x.conf' must be a plain file name"),
    ({"dest_dir": ""}, "certfleet_dest_dir: must be set"),
    ({"address": "a\nb"}, "certfleet_node_address: 'a\\nb' must be one line"),
    ({"nginx_listen": [1]}, "certfleet_nginx_listen: [1] must be a list of strings"),
])
def test_node_settings_problems(over, problem):
    raw = dict(target="nginx", address="127.0.0.1", http_port=80, verify_port=443, dest_dir="/d",
               nginx_conf_file="c.conf", haproxy_cert_dir="/h", traefik_cert_dir="/t",
               traefik_dynamic_file="/t/d.yml")
    raw.update(over)
    _node, problems = fleet.node_settings(raw)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_node_settings_normalise():
    node = settings(verify_port="8443", webroot="", nginx_listen="443 ssl")
    assert node["verify_port"] == 8443 and node["webroot"] is None and node["nginx_listen"] == ["443 ssl"]


# ------------------------------------------------------------------------------- the plan
def test_plan_expands_groups_and_targets():
    result = plan()
    assert result["problems"] == []
    assert [c["install_hosts"] for c in result["certificates"]] == [["web1", "web2"], ["lb1"], ["web1"]]
    assert result["nodes"]["web1"]["certificates"] == [
        {"name": "www", "target": "nginx", "dest": "/etc/certfleet/certs/www"},
        {"name": "raw", "target": "files", "dest": "/etc/certfleet/certs/raw"}]
    assert result["nodes"]["lb1"]["certificates"] == [{"name": "lb", "target": "haproxy"}]
    assert result["challenge_hosts"] == ["web1", "web2"]
    assert result["challenge_nodes"] == [{"name": "web1", "address": "127.0.0.11", "port": 80},
                                         {"name": "web2", "address": "127.0.0.12", "port": 80}]
    assert result["order_certificates"][0] == {
        "name": "www", "identifiers": ["www.example.test", "example.test"], "challenge": "http-01",
        "key_type": "ec-p256", "force": False, "renew_before_days": None}


@pytest.mark.parametrize("inputs, problems", [
    ({"directory_url": ""}, ["certfleet_directory_url is not set"]),
    ({"certificates": []}, ["certfleet_certificates is empty"]),
    ({"certificates": [{"name": "../x", "identifiers": ["a.test"]}]},
     ["Invalid certificate name '../x'"]),
    ({"certificates": [{"name": "a", "identifiers": ["a.test"]}, {"name": "a", "identifiers": ["b.test"]}]},
     ["certificate name a is used more than once"]),
    ({"certificates": [{"name": "a", "identifiers": ["a.test"]}, {"name": "b", "identifiers": ["A.test"]}]},
     ["identifier a.test is in more than one certificate (a, b)"]),
    ({"certificates": [{"name": "w", "identifiers": ["*.a.test"]}]},
     ["w: the wildcard *.a.test needs dns-01, not http-01"]),
    ({"certificates": [{"name": "w", "identifiers": ["*.a.test"], "challenge": "dns-01"}]},
     ["certfleet_dns_provider is not set (w use dns-01)"]),
    ({"certificates": [{"name": "p", "identifiers": ["p.test"], "target": "haproxy"}]},
     ["p: target haproxy needs install_hosts (the haproxy hosts)"]),
    ({"certificates": [{"name": "k", "identifiers": ["k.test"], "key_type": "dsa"}]},
     ["k: key_type 'dsa' is not one of"]),
    ({"certificates": [{"name": "e", "identifiers": []}]}, ["e: identifiers must be a non-empty list"]),
    ({"certificates": ["x"]}, ["certfleet_certificates[0] must be a dict"]),
    ({"challenge_hosts": ["web", "ghost"]}, ["certfleet_challenge_hosts names hosts that are not in the inventory: ghost"]),
])
def test_plan_problems(inputs, problems):
    got = plan(inputs)["problems"]
    assert len(got) == len(problems), got
    for have, want in zip(got, problems):
        assert have.startswith(want), got


def test_plan_reports_every_problem_at_once():
    bad = [{"name": "../x", "identifiers": ["a.test"]}, {"name": "w", "identifiers": ["*.b.test"]},
           {"name": "p", "identifiers": ["p.test"], "target": "traefik"}]
    got = plan({"certificates": bad, "directory_url": None})["problems"]
    assert len(got) == 4


def test_plan_node_problems():
    nodes = dict(NODES, web2=settings(webroot=None),
                 lb1=settings(target="traefik", traefik_dynamic_file="/x.json", webroot=None))
    certs = CERTS[:1] + [{"name": "t", "identifiers": ["t.test"], "install_hosts": ["lb"]}]
    got = plan({"certificates": certs}, nodes=nodes)["problems"]
    assert got == ["web2: certfleet_webroot is not set (the http-01 tokens go there)",
                   "lb1: certfleet_traefik_dynamic_file must end in .yaml or .yml"]


def test_report_entry_needs_no_directory_or_webroot():
    nodes = dict(NODES, web1=settings(webroot=None))
    assert plan({"entry": "report", "directory_url": ""}, nodes=nodes)["problems"] == []


def test_plan_outside_the_play():
    result = plan(hosts=["web1", "lb1"], nodes={"web1": NODES["web1"], "lb1": NODES["lb1"]},
                  inputs={"challenge_hosts": ["web1"]})
    assert result["outside"] == ["www: not installed on web2 (not in this play)"]
    assert "web2" not in result["nodes"]


def test_plan_defaults_and_profile():
    certs = [{"name": "a", "identifiers": ["a.test"], "renew_before_days": 5, "profile": "shortlived"},
             {"name": "b", "identifiers": ["b.test"]}]
    result = plan({"certificates": certs, "renew_before_days": 20, "key_type": "rsa-2048", "profile": "tlsserver"})
    a, b = result["order_certificates"]
    assert (a["renew_before_days"], a["profile"], a["key_type"]) == (5, "shortlived", "rsa-2048")
    assert (b["renew_before_days"], b["profile"]) == (20, "tlsserver")


# ------------------------------------------------------------------------------- store steps
@pytest.mark.parametrize("results, message", [
    ({"the orders": {"changed": False}}, None),
    ({"the orders": {"skipped": True}}, None),
    ({"issuance": {"failed": True, "msg": "urn:ietf:params:acme:error:unauthorized\n 403"}},
     "issuance failed: urn:ietf:params:acme:error:unauthorized 403"),
    ({"a": {}, "issuance": {"unreachable": True, "msg": "ssh: connect to host 127.0.0.30 port 22"}},
     "issuance: the store host was unreachable (ssh: connect to host 127.0.0.30 port 22)"),
    ([{"name": "dns-01 records through rfc2136", "result": {"failed": True, "msg": "REFUSED"}}],
     "dns-01 records through rfc2136 failed: REFUSED"),
])
def test_store_step_failure(results, message):
    assert fleet.store_step_failure(results) == message


def test_issued_state_prefers_successful_issue():
    planned = {"certificates": [{"name": "a", "status": "would_order"}, {"name": "b", "status": "valid", "serial": "01"}]}
    issue = {"certificates": [{"name": "a", "status": "valid", "serial": "02"}]}
    state = fleet.issued_state(planned, issue)
    assert state["a"]["serial"] == "02" and state["b"]["serial"] == "01"
    assert fleet.bundle_names(state) == ["a", "b"]
    failed = fleet.issued_state(planned, {"failed": True, "certificates": issue["certificates"]})
    assert failed["a"]["status"] == "would_order" and fleet.bundle_names(failed) == ["b"]
    assert fleet.issued_state(planned, {"unreachable": True}) == fleet.issued_state(planned, None)


def test_preflight_failure():
    assert fleet.preflight_failure({"misses": [], "table": []}) is None
    got = fleet.preflight_failure({"misses": [1, 2], "fetches": 6, "nodes_missing": ["web2"], "table": ["row"]})
    assert got[0].startswith("http-01 preflight: 2 of 6 fetches") and "(missing on web2)" in got[0]
    assert got[1:] == ["row"]


# ------------------------------------------------------------------------------- install items
BUNDLES = [{"name": n, "cert": "C-" + n, "chain": "CH-" + n, "privatekey": "K-" + n} for n in ("www", "lb", "raw")]


def test_install_items_nginx_node():
    items = fleet.install_items(plan(), "web1", BUNDLES)
    ci = items["cert_install"]
    assert [i["name"] for i in ci["certificates"]] == ["www", "raw"]
    www, raw = ci["certificates"]
    assert www["nginx_server"] == {"server_names": ["www.example.test", "example.test"], "extra": ""}
    assert "nginx_server" not in raw and raw["dest"] == "/etc/certfleet/certs/raw"
    assert ci["nginx"] == {"conf_path": "/etc/nginx/conf.d/certfleet.conf", "address": "127.0.0.11", "port": 443,
                           "test_command": "nginx -t", "reload_command": "nginx -s reload"}
    assert items["haproxy"] is None and items["traefik"] is None


def test_install_items_only_own_keys():
    items = fleet.install_items(plan(), "web2", BUNDLES)
    assert [i["privatekey"] for i in items["cert_install"]["certificates"]] == ["K-www"]


def test_install_items_proxy_with_verify():
    items = fleet.install_items(plan(), "lb1", BUNDLES)
    assert items["haproxy"]["certificates"] == [{"name": "lb", "cert": "C-lb", "chain": "CH-lb", "privatekey": "K-lb"}]
    assert [(e["host"], e["port"], e["server_name"]) for e in items["haproxy"]["verify"]] == [("127.0.0.10", 443, "lb.example.test")]
    assert items["cert_install"] is not None and items["cert_install"]["certificates"] == []


def test_install_items_without_bundle_and_listen_given():
    nodes = dict(NODES, web1=settings(nginx_listen=["127.0.0.11:8443 ssl"], nginx_server_extra="add_header X 1;",
                                      nginx_error_log="/var/log/nginx/error.log"))
    certs = [dict(CERTS[0], nginx_server_extra="location / { return 204; }")]
    items = fleet.install_items(plan({"certificates": certs}, nodes=nodes), "web1", [])
    assert items["cert_install"]["certificates"] == []
    assert items["cert_install"]["nginx"]["listen"] == ["127.0.0.11:8443 ssl"]
    assert items["cert_install"]["nginx"]["error_log"] == "/var/log/nginx/error.log"
    full = fleet.install_items(plan({"certificates": certs}, nodes=nodes), "web1", BUNDLES)
    assert full["cert_install"]["certificates"][0]["nginx_server"]["extra"] == "add_header X 1;\nlocation / { return 204; }"


def test_install_items_no_conf_dir():
    nodes = dict(NODES, web1=settings(nginx_conf_dir=None))
    items = fleet.install_items(plan(nodes=nodes), "web1", BUNDLES)
    assert "nginx_server" not in items["cert_install"]["certificates"][0]
    assert items["cert_install"]["certificates"][0]["nginx_loads"] is True
    assert "nginx_loads" not in items["cert_install"]["certificates"][1]   # target files
    assert items["cert_install"]["nginx"] == {"test_command": "nginx -t", "reload_command": "nginx -s reload"}


# ------------------------------------------------------------------------------- verification
ISSUED = {"www": {"serial": "aa", "status": "valid"}, "lb": {"serial": "bb", "status": "valid"},
          "raw": {"serial": "cc", "status": "valid"}}


def served(*rows):
    return {"endpoints": [{"host": h, "port": 443, "server_name": n, "serial": s, "error": None if s else "refused",
                           "issuer": "CN=Pebble", "alpn_protocol": "h2"} for h, n, s in rows]}


def test_verify_checks_and_endpoints():
    checks = fleet.verify_checks(plan(), HOSTS, ISSUED)
    assert [(c["node"], c["identifier"], c["expected"]) for c in checks] == [
        ("web1", "www.example.test", "aa"), ("web1", "example.test", "aa"),
        ("web2", "www.example.test", "aa"), ("web2", "example.test", "aa"), ("lb1", "lb.example.test", "bb")]
    endpoints = fleet.unique_endpoints(checks + checks)
    first = {"host": "127.0.0.11", "port": 443, "server_name": "www.example.test", "expect_serial": "aa"}
    assert len(endpoints) == 5 and endpoints[0] == first
    assert fleet.verify_checks(plan(), ["web2"], {}) == []


def test_check_results_keyed_by_endpoint_not_position():
    checks = fleet.verify_checks(plan(), ["web1", "web2"], ISSUED)
    # answers in another order than asked, one missing
    answers = served(("127.0.0.12", "example.test", "aa"), ("127.0.0.11", "example.test", "aa"),
                     ("127.0.0.12", "www.example.test", "99"), ("127.0.0.11", "www.example.test", "aa"))
    results = fleet.check_results(checks, answers)
    assert [r["ok"] for r in results] == [True, True, False, True]
    assert fleet.misses(results, "web2") == ["www.example.test (certificate www): served serial 99, expected aa"]
    assert fleet.misses(fleet.check_results(checks[:1], {"endpoints": []})) == [
        "www.example.test (certificate www): no certificate: not probed"]


def test_wildcard_probe_name():
    assert fleet.probe_name("*.example.test") == "certfleet-verify.example.test"
    assert fleet.probe_name("a.example.test") == "a.example.test"


INSTALLED = {"cert_install": {"changed": True, "certificates": [
    {"name": "www", "changed": True, "previous_serial": "01", "serial": "aa", "dest": "/etc/certfleet/certs/www"},
    {"name": "raw", "changed": False, "previous_serial": "cc", "serial": "cc", "dest": "/etc/certfleet/certs/raw"}],
    "nginx": {"conf_path": "/etc/nginx/conf.d/certfleet.conf", "changed": True}}}


def test_verdict_rollback_and_commit():
    p = plan()
    checks = fleet.verify_checks(p, ["web1"], ISSUED)
    bad = fleet.check_results(checks, served(("127.0.0.11", "www.example.test", "01"), ("127.0.0.11", "example.test", "aa")))
    verdict = fleet.node_verdict(p, "web1", bad, INSTALLED)
    assert verdict["ok"] is False and verdict["commit"] is None
    assert verdict["rollback"]["cert_install"]["certificates"] == [{"name": "www", "dest": "/etc/certfleet/certs/www"}]
    assert verdict["rollback"]["cert_install"]["nginx"] == {
        "conf_path": "/etc/nginx/conf.d/certfleet.conf", "reload_command": "nginx -s reload", "test_command": "nginx -t"}
    good = fleet.check_results(checks, served(("127.0.0.11", "www.example.test", "aa"), ("127.0.0.11", "example.test", "aa")))
    verdict = fleet.node_verdict(p, "web1", good, INSTALLED)
    assert verdict["ok"] and verdict["rollback"] is None
    assert verdict["commit"]["cert_install"]["certificates"] == [{"name": "www", "dest": "/etc/certfleet/certs/www"}]
    assert verdict["commit"]["haproxy"] is None and verdict["commit"]["traefik"] is None
    nothing = fleet.node_verdict(p, "web1", good, {"cert_install": {"certificates": [], "nginx": {"changed": False}}})
    assert nothing["commit"] is None and nothing["rollback"] is None


def test_verdict_failed_later_step_and_proxies():
    p = plan()
    installed = {"haproxy": {"certificates": [{"name": "lb", "changed": True, "previous_serial": "01", "serial": "bb"}]}}
    verdict = fleet.node_verdict(p, "lb1", [], installed, failed=True)
    assert verdict["rollback"]["haproxy"]["certificates"] == [{"name": "lb"}]
    assert verdict["rollback"]["haproxy"]["verify"][0]["server_name"] == "lb.example.test"
    assert verdict["rollback"]["cert_install"] is None
    ok = fleet.node_verdict(p, "lb1", [], installed)
    assert ok["commit"] == {"cert_install": None, "haproxy": {"certificates": [{"name": "lb"}]}, "traefik": None}
    failed_module = {"haproxy": {"failed": True, "certificates": installed["haproxy"]["certificates"]}}
    assert fleet.node_verdict(p, "lb1", [], failed_module, failed=True)["rollback"]["haproxy"] is None


@pytest.mark.parametrize("rolled, report", [
    ({}, "Nothing had been changed on this node."),
    ({"cert_install": {"skipped": True}}, "Nothing had been changed on this node."),
    ({"cert_install": {"certificates": [{"name": "www", "rolled_back": True}, {"name": "new", "rolled_back": False}],
                       "nginx": {"restored": True, "reloaded": True}}},
     "Rollback: rolled back www to the previous files; no previous files for new (first installation on this "
     "node); restored the previous nginx server blocks; reloaded nginx."),
    ({"haproxy": {"failed": True, "msg": "haproxy -c failed"}, "traefik": {"certificates": [{"name": "t"}]}},
     "Rollback: the HAProxy rollback failed too: haproxy -c failed; Traefik serves the previous certificates of t again."),
])
def test_rollback_report(rolled, report):
    assert fleet.rollback_report(rolled) == report


# ------------------------------------------------------------------------------- summary, report
def test_summary_rows_and_lines():
    p = plan()
    issued = {"www": {"name": "www", "action": "issue", "reason": "not in the store", "serial": "aa",
                      "not_after": "2027-03-01T12:00:00Z", "status": "valid"},
              "lb": {"name": "lb", "action": "none", "reason": "valid", "serial": "bb",
                     "not_after": "2027-02-01T12:00:00Z", "status": "valid"},
              "raw": {"name": "raw", "action": "none", "serial": "cc", "not_after": "2027-02-01T12:00:00Z"}}
    checks = fleet.verify_checks(p, ["web1", "lb1"], issued)
    answers = served(("127.0.0.11", "www.example.test", "aa"), ("127.0.0.11", "example.test", "aa"),
                     ("127.0.0.10", "lb.example.test", "bb"))
    rows = fleet.summary(p, None, issued, fleet.check_results(checks, answers), ["web1", "lb1"], HOSTS, False, NOW)
    www, lb, raw = rows
    assert (www["nodes_serving"], www["nodes_failed"], www["days_left"]) == (["web1"], ["web2"], 90.0)
    assert lb["nodes_serving"] == ["lb1"] and raw["nodes_installed"] == ["web1"]
    lines = fleet.summary_lines(rows)
    assert lines[0].startswith("www: issue (not in the store); serial aa, expires 2027-03-01 (90 days)")
    assert lines[0].endswith("served by web1; FAILED on web2")
    assert lines[2].endswith("files only, no TLS check (nothing serves them): installed on web1")
    table = fleet.summary_table(rows)
    assert table[0].split() == ["CERTIFICATE", "ACTION", "SERIAL", "EXPIRES", "NODE", "STATE"]
    assert any("web2" in line and line.endswith("FAILED") for line in table)


def test_summary_check_mode():
    planned = {"certificates": [{"name": "www", "action": "issue", "reason": "not in the store", "status": "would_order"}]}
    rows = fleet.summary(plan(), planned, fleet.issued_state(planned, None), [], HOSTS, HOSTS, True, NOW)
    assert rows[0]["action"] == "would issue" and rows[0]["nodes_serving"] is None
    assert rows[1]["action"] == "none"
    assert fleet.summary_lines(rows)[0] == ("www: would issue (not in the store); names www.example.test, "
                                            "example.test; nodes web1, web2")


def test_report_rows_flags():
    p = plan()
    checks = fleet.report_checks(p, ["web1", "web2"])
    assert len(checks) == 4
    answers = served(("127.0.0.11", "www.example.test", "aa"), ("127.0.0.12", "www.example.test", "01"),
                     ("127.0.0.11", "example.test", "aa"), ("127.0.0.12", "example.test", None))
    for e in answers["endpoints"]:
        e["names"] = ["www.example.test", "example.test"]
    rows = fleet.report_rows(checks, answers, {"www": {"serial": "aa"}})
    flags = dict(((r["node"], r["identifier"]), r["flags"]) for r in rows)
    assert flags[("web1", "www.example.test")] == ["served by different certificates on different nodes"]
    assert flags[("web2", "www.example.test")] == ["served by different certificates on different nodes",
                                                   "not the certificate in the store (aa)"]
    assert flags[("web2", "example.test")][0] == "no certificate: refused"
    assert len(fleet.report_flagged(rows)) == 4
    table = fleet.report_table(rows)
    assert table[0].split()[:3] == ["NODE", "NAME", "SERIAL"] and len(table) == 5


ARI = {"window_start": "2027-01-01T00:00:00Z", "window_end": "2027-01-02T00:00:00Z",
       "renew_at": "2027-01-01T06:00:00Z", "explanation_url": None, "retry_after": "2026-12-01T18:00:00Z"}
ARI_REASON = "ARI window 2027-01-01T00:00:00Z to 2027-01-02T00:00:00Z: renew at 2027-01-01T06:00:00Z"


@pytest.mark.parametrize("state, line, ari", [
    ({"action": "none", "reason": ARI_REASON, "ari": ARI}, "www: up to date (%s); " % ARI_REASON, ARI),
    ({"action": "renew", "reason": ARI_REASON + " (reached)", "ari": ARI},
     "www: renew (%s (reached)); " % ARI_REASON, ARI),
    ({"action": "none", "reason": "valid until 2027-02-01T00:00:00Z", "ari": None}, "www: up to date; ", None),
])
def test_summary_shows_the_ari_window_and_reason(state, line, ari):
    issued = {"www": dict(state, name="www", serial="aa", not_after="2027-03-01T12:00:00Z", status="valid")}
    rows = fleet.summary(plan(), None, issued, [], HOSTS, HOSTS, False, NOW)
    assert rows[0]["ari"] == ari
    assert fleet.summary_lines(rows)[0].startswith(line)


def test_summary_check_mode_takes_ari_from_the_plan():
    planned = {"certificates": [{"name": "www", "action": "none", "reason": ARI_REASON, "ari": ARI}]}
    rows = fleet.summary(plan(), planned, {}, [], HOSTS, HOSTS, True, NOW)
    assert rows[0]["ari"] == ARI and fleet.summary_lines(rows)[0].startswith("www: up to date (ARI window")


def test_report_rows_carry_ari_and_flag_an_ari_renewal():
    checks = fleet.report_checks(plan(), ["web1"])
    answers = served(("127.0.0.11", "www.example.test", "aa"), ("127.0.0.11", "example.test", "aa"))
    for e in answers["endpoints"]:
        e["names"] = ["www.example.test", "example.test"]
    due = {"www": {"serial": "aa", "action": "renew", "reason": ARI_REASON + " has passed: renew now", "ari": ARI}}
    rows = fleet.report_rows(checks, answers, due)
    www = [r for r in rows if r["certificate"] == "www"]
    assert www and all(r["ari"] == ARI for r in www)
    assert www[0]["flags"] == ["renewal due: %s has passed: renew now" % ARI_REASON]
    calm = fleet.report_rows(checks, answers, {"www": {"serial": "aa", "action": "none", "ari": ARI}})
    assert [r["flags"] for r in calm if r["certificate"] == "www"][0] == []


def test_plan_is_not_mutated():
    inputs = copy.deepcopy(INPUTS)
    fleet.build_plan(inputs, GROUPS, HOSTS, NODES)
    assert inputs == INPUTS


# ------------------------------------------------------------------------------- http-01 mode, port 80
THUMB = "t" * 43
LB_FRONTEND = dict(NODES, lb1=settings(target="haproxy", address="127.0.0.10", webroot=None,
                                       haproxy_http_frontend="http_in"))


def test_stateless_nginx_challenge_hosts_get_a_port_80_block_without_webroot():
    nodes = dict(NODES, web1=settings(webroot=None), web2=settings(address="127.0.0.12", webroot=None))
    result = plan({"http01_mode": "stateless"}, nodes)
    assert result["problems"] == [] and result["stateless"] and result["http01_mode"] == "stateless"
    assert sorted(result["http_servers"]) == ["web1", "web2"]
    items = fleet.http_server_items(result, "web2", THUMB)
    assert items["haproxy"] is None
    assert items["nginx"] == {
        "address": "127.0.0.12", "test_command": "nginx -t", "reload_command": "nginx -s reload",
        "http_server": {"conf_path": "/etc/nginx/conf.d/certfleet-http.conf",
                        "server_names": ["www.example.test", "example.test", "lb.example.test",
                                         "raw.example.test"],
                        "port": 80, "redirect_https": False, "stateless_thumbprint": THUMB, "webroot": None}}
    # no thumbprint (nothing was due, the CA was not asked): a stateless block is not written
    assert fleet.http_server_items(result, "web2", None) == {"nginx": None, "haproxy": None}
    probe = fleet.stateless_probe(result, THUMB)
    assert [p["identifier"] for p in probe] == ["www.example.test", "example.test", "lb.example.test",
                                                "raw.example.test"]
    assert probe[0]["content"] == fleet.STATELESS_PROBE_TOKEN + "." + THUMB
    assert probe[0]["path"] == ".well-known/acme-challenge/" + fleet.STATELESS_PROBE_TOKEN  # as order returns it
    assert fleet.stateless_probe(plan(), THUMB) == []


def test_stateless_on_haproxy_needs_its_frontend_and_writes_the_rule():
    result = plan({"http01_mode": "stateless", "challenge_hosts": ["lb"]}, LB_FRONTEND)
    assert result["problems"] == [] and list(result["http_servers"]) == ["lb1"]
    assert fleet.http_server_items(result, "lb1", THUMB)["haproxy"] == {
        "config": "/etc/haproxy/haproxy.cfg", "config_files": ["/etc/haproxy/haproxy.cfg"],
        "frontend": "http_in", "thumbprint": THUMB}
    assert plan({"http01_mode": "stateless", "challenge_hosts": ["lb"]})["problems"] == [
        "lb1: certfleet_haproxy_http_frontend is not set (the frontend of port 80 that answers stateless http-01)"]


@pytest.mark.parametrize("node, message", [
    (settings(target="traefik"), "stateless http-01 cannot run on Traefik"),
    (settings(target="files"), "certfleet_target files: the role does not manage this node's port 80"),
    (settings(nginx_conf_dir=None), "certfleet_nginx_conf_dir is not set (the role's port-80 server block"),
])
def test_stateless_refuses_challenge_hosts_that_cannot_answer(node, message):
    got = plan({"http01_mode": "stateless"}, dict(NODES, web1=node))["problems"]
    assert len(got) == 1 and got[0].startswith("web1: " + message), got


def test_mode_must_be_known_and_dns01_needs_no_port_80():
    assert plan({"http01_mode": "stateful"})["problems"] == [
        "certfleet_http01_mode 'stateful' is not one of files, stateless"]
    dns = [{"name": "w", "identifiers": ["*.a.test"], "challenge": "dns-01", "install_hosts": ["web"]}]
    result = plan({"http01_mode": "stateless", "certificates": dns, "dns_provider": "rfc2136",
                   "challenge_hosts": ["web", "elsewhere"]})
    assert result["problems"] == [] and not result["stateless"] and result["http_servers"] == {}


def test_redirect_block_in_files_mode_serves_the_webroot_and_is_checked_from_outside():
    result = plan({"nginx_http_redirect": True})
    assert sorted(result["http_servers"]) == ["web1", "web2"]   # not lb1 (HAProxy)
    http = fleet.http_server_items(result, "web1", None)["nginx"]["http_server"]
    assert http["webroot"] == "/var/www" and http["redirect_https"] and http["stateless_thumbprint"] is None
    checks = fleet.http_redirect_checks(result, ["web1", "lb1"])
    assert checks[0] == {"node": "web1", "name": "www.example.test", "url": "http://127.0.0.11:80/",
                         "status": [301], "location": "https://www.example.test/"}
    assert checks[1]["status"] == [200, 404] and checks[1]["location"] is None
    assert len(checks) == 8   # every http-01 name on a challenge host, two checks each
    stateless = plan({"nginx_http_redirect": True, "http01_mode": "stateless"},
                     dict(NODES, lb1=LB_FRONTEND["lb1"]))
    assert fleet.http_redirect_checks(stateless, ["web1"])[1]["status"] == [200]


SLICED = {"web2": {"address": "127.0.0.12", "http_port": 80, "webroot": "/srv/www2"}}


def test_a_slice_puts_the_tokens_on_the_challenge_hosts_of_other_slices():
    result = fleet.build_plan(INPUTS, GROUPS, ["web1", "lb1"], NODES, run_id="r", outside=SLICED)
    assert result["problems"] == []
    assert result["challenge_nodes"] == [{"name": "web1", "address": "127.0.0.11", "port": 80},
                                         {"name": "web2", "address": "127.0.0.12", "port": 80}]
    assert result["challenge_outside"] == [{"name": "web2", "address": "127.0.0.12", "port": 80,
                                            "webroot": "/srv/www2"}]


def test_a_slice_without_the_webroot_of_the_others_names_stateless_and_dns01():
    outside = {"web2": {"address": "127.0.0.12", "http_port": None, "webroot": None}}
    got = fleet.build_plan(INPUTS, GROUPS, ["web1", "lb1"], NODES, run_id="r", outside=outside)["problems"]
    assert len(got) == 1 and "web2 are outside this play" in got[0]
    assert "certfleet_http01_mode: stateless or dns-01" in got[0]
    report = fleet.build_plan(dict(INPUTS, entry="report"), GROUPS, ["web1", "lb1"], NODES, outside=outside)
    assert report["problems"] == []   # the report issues nothing
    stateless = fleet.build_plan(dict(INPUTS, http01_mode="stateless"), GROUPS, ["web1", "lb1"],
                                 dict(NODES, web1=settings(webroot=None)), run_id="r", outside=outside)
    assert stateless["problems"] == [] and stateless["challenge_outside"][0]["port"] == 80


def test_the_gate_names_the_failed_item_of_a_loop():
    looped = {"failed": True, "msg": "One or more items failed",
              "results": [{"item": {"name": "web2"}, "changed": True},
                          {"item": {"name": "web3"}, "unreachable": True, "msg": "ssh: timeout"}]}
    assert fleet.store_step_failure({"the tokens": looped}) == \
        "the tokens (web3): the store host was unreachable (ssh: timeout)"


# ------------------------------------------------------------------------------- apache, hooks
APACHE_NODES = dict(NODES, web2=settings(target="apache", address="127.0.0.30", nginx_conf_dir=None, apache_conf_dir="/etc/apache2/sites-enabled",
                                         apache_test_cmd="apachectl configtest", apache_reload_cmd="apachectl graceful",
                                         apache_vhost_extra="DocumentRoot /srv", deploy_hooks=["systemctl reload postfix"]))
HOOKED = [dict(CERTS[0], deploy_hooks=[{"command": "make-p12", "shell": True}], apache_vhost_extra="Header set X 1"),
          CERTS[1], CERTS[2]]


def test_install_items_apache_node_with_hooks():
    p = plan({"certificates": HOOKED}, nodes=APACHE_NODES)
    assert p["problems"] == []
    assert p["nodes"]["web2"]["certificates"] == [{"name": "www", "target": "apache", "dest": "/etc/certfleet/certs/www"}]
    ci = fleet.install_items(p, "web2", BUNDLES)["cert_install"]
    www = ci["certificates"][0]
    assert www["apache_vhost"] == {"server_names": ["www.example.test", "example.test"],
                                   "extra": "DocumentRoot /srv\nHeader set X 1"}
    assert "nginx_server" not in www and www["deploy_hooks"] == [{"command": "make-p12", "shell": True}]
    assert ci["apache"] == {"conf_path": "/etc/apache2/sites-enabled/certfleet.conf", "address": "127.0.0.30",
                            "port": 443, "test_command": "apachectl configtest", "reload_command": "apachectl graceful"}
    assert ci["nginx"] is None and ci["deploy_hooks"] == ["systemctl reload postfix"]
    web1 = fleet.install_items(p, "web1", BUNDLES)["cert_install"]
    assert web1["apache"] is None and web1["certificates"][0]["deploy_hooks"] == [{"command": "make-p12", "shell": True}]
    endpoints = fleet.node_endpoints(p, "web2")
    assert [(e["host"], e["target"]) for e in endpoints] == [("127.0.0.30", "apache")] * 2


def test_apache_without_conf_dir_and_a_host_name_address():
    nodes = dict(NODES, web2=settings(target="apache", address="web2.example", apache_reload_cmd="apachectl graceful"))
    ci = fleet.install_items(plan(nodes=nodes), "web2", BUNDLES)["cert_install"]
    assert ci["certificates"][0]["apache_loads"] is True and "apache_vhost" not in ci["certificates"][0]
    assert ci["apache"] == {"reload_command": "apachectl graceful"}
    nodes["web2"] = settings(target="apache", address="web2.example", apache_conf_dir="/c", apache_reload_cmd="r")
    assert "address" not in fleet.install_items(plan(nodes=nodes), "web2", BUNDLES)["cert_install"]["apache"]


@pytest.mark.parametrize("certs, node, problem", [
    ([dict(CERTS[0], deploy_hooks="x")], None, "www: deploy_hooks 'x' must be a list of commands"),
    ([CERTS[0], dict(CERTS[1], deploy_hooks=["x"])], None, "lb: deploy_hooks run with the targets nginx, files, apache"),
    ([CERTS[0]], settings(target="apache"), "web2: certfleet_apache_reload_cmd is not set"),
])
def test_apache_and_hook_problems(certs, node, problem):
    nodes = dict(NODES, web2=node) if node else NODES
    problems = plan({"certificates": certs}, nodes=nodes)["problems"]
    assert any(p.startswith(problem) for p in problems), problems


def test_verdict_apache_rollback_carries_hooks_and_commit():
    p = plan({"certificates": HOOKED}, nodes=APACHE_NODES)
    installed = {"cert_install": {"certificates": [{"name": "www", "changed": True, "dest": "/etc/certfleet/certs/www"}],
                                  "apache": {"conf_path": "/etc/apache2/sites-enabled/certfleet.conf", "changed": True}}}
    verdict = fleet.node_verdict(p, "web2", [], installed, failed=True)
    rollback = verdict["rollback"]["cert_install"]
    assert rollback["certificates"] == [{"name": "www", "dest": "/etc/certfleet/certs/www",
                                         "deploy_hooks": [{"command": "make-p12", "shell": True}]}]
    assert rollback["apache"] == {"conf_path": "/etc/apache2/sites-enabled/certfleet.conf",
                                  "reload_command": "apachectl graceful", "test_command": "apachectl configtest"}
    assert rollback["nginx"] is None and rollback["deploy_hooks"] == ["systemctl reload postfix"]
    verdict = fleet.node_verdict(p, "web2", [], installed)
    assert verdict["commit"]["cert_install"]["apache"] == {"conf_path": "/etc/apache2/sites-enabled/certfleet.conf"}


def test_rollback_report_apache_and_hooks():
    report = fleet.rollback_report({"cert_install": {
        "certificates": [{"name": "www", "rolled_back": True}], "apache": {"restored": True, "reloaded": True},
        "deploy_hooks": [{"ok": True}]}})
    assert report == ("Rollback: rolled back www to the previous files; restored the previous Apache virtual hosts; "
                      "reloaded Apache httpd; ran 1 deploy hook(s) on the previous files.")


def test_report_rows_threshold_groups_and_store_match():
    p = plan()
    checks = fleet.report_checks(p, ["web1", "web2"])
    answers = served(("127.0.0.11", "www.example.test", "aa"), ("127.0.0.12", "www.example.test", "aa"),
                     ("127.0.0.11", "example.test", "aa"), ("127.0.0.12", "example.test", "aa"))
    for e in answers["endpoints"]:
        e.update(names=["www.example.test", "example.test"], days_left=30.0 if e["host"] == "127.0.0.11" else 9.5)
    groups = fleet.node_groups(GROUPS, HOSTS)
    assert groups == {"web1": ["web"], "web2": ["web"], "lb1": ["lb"]}
    rows = fleet.report_rows(checks, answers, {"www": {"serial": "aa"}}, min_days=14, groups=groups)
    flagged = [(r["node"], r["flags"]) for r in rows if r["flags"]]
    assert flagged == [("web2", ["expires in 9.5 days (under 14)"])] * 2
    assert all(r["matches_store"] is True and r["consistent"] and r["groups"] == ["web"] for r in rows)
    assert rows[0]["target"] == "nginx"
    unknown = fleet.report_rows(checks, answers, {})
    assert all(r["matches_store"] is None and r["flags"] == [] for r in unknown)


# ------------------------------------------------------------------------------- decommissioning
OLD = {"name": "old", "identifiers": ["old.example.test"], "install_hosts": ["web", "lb"], "state": "absent",
       "revoke": True}
GONE = {"old": {"name": "old", "known": True, "serial": "0abc", "revoked_at": None}}


def test_absent_certificate_is_not_ordered_and_gets_removal_items():
    p = plan({"certificates": CERTS + [OLD]})
    assert p["problems"] == [] and [c["name"] for c in p["order_certificates"]] == ["www", "lb", "raw"]
    assert [c["name"] for c in p["absent"]] == ["old"] and p["absent"][0]["revoke_reason"] == "cessationOfOperation"
    items = fleet.install_items(p, "web1", [], decommissioned=GONE)
    assert items["cert_install"]["absent"] == [{"name": "old", "dest": "/etc/certfleet/certs/old"}]
    assert items["cert_install"]["certificates"] == []  # no bundle: the block file is rendered without it
    assert fleet.install_items(p, "lb1", [], decommissioned=GONE)["haproxy"]["absent"] == [{"name": "old"}]
    # a name the store does not know: nothing to do, no error
    unknown = {"old": {"name": "old", "known": False}}
    assert fleet.install_items(p, "lb1", [], decommissioned=unknown)["haproxy"] is None
    assert fleet.revocations(p, unknown) == []


@pytest.mark.parametrize("entry, problem", [
    (dict(OLD, state="gone"), "old: state 'gone' is not one of present, absent"),
    (dict(OLD, revoke_reason="bored"), "old: revoke_reason 'bored' is not one of"),
    ({"name": "x", "identifiers": ["x.test"], "revoke": True}, "x: revoke needs state absent"),
    (dict(OLD, name="www"), "certificate name www is used more than once"),
])
def test_absent_input_problems(entry, problem):
    assert any(p.startswith(problem) for p in plan({"certificates": CERTS + [entry]})["problems"])


def test_absent_identifier_may_move_to_another_certificate():
    assert plan({"certificates": CERTS + [dict(OLD, identifiers=["www.example.test"])]})["problems"] == []


def test_absent_checks_want_the_serial_gone_and_revocation_once():
    p = plan({"certificates": CERTS + [OLD]})
    checks = fleet.absent_checks(p, HOSTS, GONE)
    assert [(c["node"], c["rejected"]) for c in checks] == [("web1", "0abc"), ("web2", "0abc"), ("lb1", "0abc")]
    assert fleet.unique_endpoints(checks)[0]["reject_serial"] == "0abc"
    served = {"endpoints": [
        {"host": "127.0.0.11", "port": 443, "server_name": "old.example.test", "serial": "0def"},
        {"host": "127.0.0.12", "port": 443, "server_name": "old.example.test", "serial": "0abc"},
        {"host": "127.0.0.10", "port": 443, "server_name": "old.example.test", "error": "handshake failed"}]}
    results = fleet.check_results(checks, served)
    assert [r["ok"] for r in results] == [True, False, True]
    assert fleet.misses(results, "web2") == [
        "old.example.test (certificate old): still serves the decommissioned certificate (serial 0abc)"]
    assert fleet.revocations(p, GONE) == [{"name": "old", "reason": "cessationOfOperation", "serial": "0abc"}]
    assert fleet.revocations(p, {"old": dict(GONE["old"], revoked_at="2026-12-01T00:00:00Z")}) == []
    rows = fleet.summary(p, None, {}, results, HOSTS, HOSTS, False, NOW, decommissioned=GONE)
    row = rows[-1]
    assert (row["name"], row["action"], row["nodes_failed"]) == ("old", "removed", ["web2"])
    assert "STILL SERVED by web2" in fleet.summary_lines(rows)[-1]
    check_rows = fleet.summary(p, None, {}, [], HOSTS, HOSTS, True, NOW, decommissioned=GONE)
    assert check_rows[-1]["action"] == "would remove"
    unknown = fleet.summary(p, None, {}, [], HOSTS, HOSTS, False, NOW, decommissioned={})
    assert unknown[-1]["action"] == "none"
