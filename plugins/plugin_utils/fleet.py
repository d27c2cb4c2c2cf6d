# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet plan of the certfleet.acme.certificate role, as pure functions (controller side).
Private to this collection.

The role's input (certificates x groups x play hosts x per-node settings) becomes one validated
plan; every later step (install items, TLS checks, rollback sets, summary, report rows) is derived
from the plan and from module results keyed by certificate, node and endpoint - never by list
position, task name or another module's message text. ``plugins/action/fleet_plan.py`` reads
the task variables and calls these functions.
"""

from __future__ import annotations

import datetime
import re
import typing as t
import uuid

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    CHALLENGE_TYPES, validate_certificate_name)
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import parse_iso

TARGETS = ("nginx", "files", "haproxy", "traefik")
PROXY_TARGETS = ("haproxy", "traefik")
KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096")
WILDCARD_PROBE_LABEL = "certfleet-verify"
STATES = ("present", "absent")
REVOKE_REASONS = ("unspecified", "keyCompromise", "superseded", "cessationOfOperation")

# Per-node settings: plan key -> (role variable, kind). The role passes each variable as it is
# templated for that node; node_settings() checks and normalises them.
NODE_SETTINGS = {
    "target": ("certfleet_target", "target"),
    "address": ("certfleet_node_address", "str"),
    "http_port": ("certfleet_node_http_port", "port"),
    "verify_port": ("certfleet_verify_port", "port"),
    "webroot": ("certfleet_webroot", "optstr"),
    "dest_dir": ("certfleet_dest_dir", "str"),
    "owner": ("certfleet_cert_owner", "optstr"),
    "group": ("certfleet_cert_group", "optstr"),
    "nginx_conf_dir": ("certfleet_nginx_conf_dir", "optstr"),
    "nginx_conf_file": ("certfleet_nginx_conf_file", "filename"),
    "nginx_listen": ("certfleet_nginx_listen", "strlist"),
    "nginx_server_extra": ("certfleet_nginx_server_extra", "text"),
    "nginx_test_cmd": ("certfleet_nginx_test_cmd", "optstr"),
    "nginx_reload_cmd": ("certfleet_nginx_reload_cmd", "optstr"),
    "nginx_error_log": ("certfleet_nginx_error_log", "optstr"),
    "haproxy_cert_dir": ("certfleet_haproxy_cert_dir", "str"),
    "haproxy_config": ("certfleet_haproxy_config", "strlist"),
    "haproxy_admin_socket": ("certfleet_haproxy_admin_socket", "optstr"),
    "haproxy_reload_cmd": ("certfleet_haproxy_reload_cmd", "optstr"),
    "haproxy_master_pid_file": ("certfleet_haproxy_master_pid_file", "optstr"),
    "traefik_cert_dir": ("certfleet_traefik_cert_dir", "str"),
    "traefik_dynamic_file": ("certfleet_traefik_dynamic_file", "str"),
    "traefik_log": ("certfleet_traefik_log", "optstr"),
}


# --------------------------------------------------------------------------------- helpers
def expand_hosts(patterns: t.Sequence[str], groups: t.Mapping[str, t.Sequence[str]]) -> t.List[str]:
    """Group names expanded to their hosts, host names kept; order kept, duplicates dropped."""
    out: t.List[str] = []
    for pattern in patterns or []:
        for host in groups.get(pattern, [pattern]) if pattern in groups else [pattern]:
            if host not in out:
                out.append(host)
    return out


def probe_name(identifier: str) -> str:
    """The SNI name that checks a certificate name (a wildcard gets a label of ours)."""
    return WILDCARD_PROBE_LABEL + identifier[1:] if identifier.startswith("*.") else identifier


def endpoint_key(endpoint: t.Mapping[str, t.Any]) -> str:
    return "%s|%s|%s" % (endpoint.get("host"), int(endpoint.get("port") or 443),
                         endpoint.get("server_name"))


def _blank(value: t.Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# --------------------------------------------------------------------------------- node settings
def node_settings(raw: t.Mapping[str, t.Any]) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """One node's settings, normalised, and what is wrong with them."""
    out: t.Dict[str, t.Any] = {}
    problems: t.List[str] = []
    for key, (var, kind) in NODE_SETTINGS.items():
        value = raw.get(key)
        try:
            out[key] = _normalise(value, kind)
        except ValueError as exc:
            problems.append("%s: %s" % (var, exc))
            out[key] = None
    return out, problems


def _normalise(value: t.Any, kind: str) -> t.Any:
    if kind == "target":
        if value not in TARGETS:
            raise ValueError("%r is not one of %s" % (value, ", ".join(TARGETS)))
        return value
    if kind == "port":
        try:
            port = int(value)
        except (TypeError, ValueError):
            raise ValueError("%r is not a port number" % (value,)) from None
        if not 0 < port < 65536:
            raise ValueError("%d is not a port number" % port)
        return port
    if kind in ("str", "optstr", "filename"):
        if _blank(value):
            if kind == "optstr":
                return None
            raise ValueError("must be set")
        if not isinstance(value, str) or "\n" in value or "\x00" in value:
            raise ValueError("%r must be one line of text" % (value,))
        if kind == "filename" and ("/" in value or value in (".", "..")):
            raise ValueError("%r must be a plain file name" % (value,))
        return value
    if kind == "strlist":
        if _blank(value):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("%r must be a list of strings" % (value,))
        return list(value)
    if kind == "text":
        if _blank(value):
            return ""
        if not isinstance(value, str):
            raise ValueError("%r must be text" % (value,))
        return value
    raise AssertionError(kind)


# --------------------------------------------------------------------------------- the plan
def build_plan(inputs: t.Mapping[str, t.Any], groups: t.Mapping[str, t.Sequence[str]],
               play_hosts: t.Sequence[str], nodes: t.Mapping[str, t.Optional[t.Mapping[str, t.Any]]],
               run_id: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """The validated fleet plan. ``inputs`` holds the role's variables (certificates, challenge,
    key_type, renew_before_days, profile, challenge_hosts, dns_provider, directory_url, entry);
    ``nodes`` each play host's settings from node_settings() (None when the host did not report).
    Every problem of the input is in ``problems``, all at once."""
    entry = inputs.get("entry") or "main"
    problems: t.List[str] = []
    if entry != "report" and not inputs.get("directory_url"):
        problems.append("certfleet_directory_url is not set")
    raw_certs = inputs.get("certificates")
    if not isinstance(raw_certs, list) or not raw_certs:
        problems.append("certfleet_certificates is empty" if not raw_certs
                        else "certfleet_certificates must be a list")
        raw_certs = []
    certs = []
    for index, raw in enumerate(raw_certs):
        cert, cert_problems = _certificate(raw, index, inputs, groups, play_hosts)
        problems.extend(cert_problems)
        if cert:
            certs.append(cert)
    absent = [c for c in certs if c["state"] == "absent"]
    certs = [c for c in certs if c["state"] == "present"]
    problems.extend(_duplicates(certs, absent))
    challenge_hosts = expand_hosts(inputs.get("challenge_hosts") or play_hosts, groups)
    strangers = [h for h in challenge_hosts if h not in play_hosts]
    if strangers:
        problems.append("certfleet_challenge_hosts names hosts that are not in this play: %s"
                        % ", ".join(strangers))
    dns_certs = [c["name"] for c in certs if c["challenge"] == "dns-01"]
    if entry != "report" and dns_certs and not inputs.get("dns_provider"):
        problems.append("certfleet_dns_provider is not set (%s use dns-01)" % ", ".join(dns_certs))
    http01 = any(c["challenge"] == "http-01" for c in certs)
    plan_nodes: t.Dict[str, t.Dict[str, t.Any]] = {}
    for host in play_hosts:
        settings = nodes.get(host)
        if settings is None:
            continue
        node_certs = [_node_entry(cert, settings) for cert in certs if host in cert["install_hosts"]]
        problems.extend("%s: %s" % (host, p) for p in _node_problems(
            entry, settings, node_certs, http01 and host in challenge_hosts))
        plan_nodes[host] = {"settings": settings, "certificates": node_certs,
                            "absent": [_node_entry(cert, settings) for cert in absent
                                       if host in cert["install_hosts"]]}
    outside = ["%s: not installed on %s (not in this play)"
               % (c["name"], ", ".join(h for h in c["install_hosts"] if h not in play_hosts))
               for c in certs if any(h not in play_hosts for h in c["install_hosts"])]
    return {
        "run_id": run_id or uuid.uuid4().hex,
        "entry": entry,
        "problems": problems,
        "certificates": certs,
        "absent": absent,
        "order_certificates": [_order_entry(c) for c in certs],
        "challenge_hosts": challenge_hosts,
        "challenge_nodes": [{"name": h, "address": plan_nodes[h]["settings"]["address"],
                             "port": plan_nodes[h]["settings"]["http_port"]}
                            for h in challenge_hosts if h in plan_nodes],
        "http01": http01,
        "dns01": bool(dns_certs),
        "outside": outside,
        "nodes": plan_nodes,
    }


def _node_entry(cert: t.Mapping[str, t.Any], settings: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Where one certificate goes on one node: its target (and directory for nginx and files)."""
    target = cert["target"] or settings["target"]
    out = {"name": cert["name"], "target": target}
    if target in ("nginx", "files"):
        out["dest"] = "%s/%s" % ((cert["dest_dir"] or settings["dest_dir"]).rstrip("/"), cert["name"])
    return out


def _certificate(raw: t.Any, index: int, inputs: t.Mapping[str, t.Any],
                 groups: t.Mapping[str, t.Sequence[str]],
                 play_hosts: t.Sequence[str]) -> t.Tuple[t.Optional[t.Dict[str, t.Any]], t.List[str]]:
    if not isinstance(raw, dict):
        return None, ["certfleet_certificates[%d] must be a dict, not %r" % (index, raw)]
    problems = []
    name = raw.get("name")
    try:
        validate_certificate_name(name)
    except InputError as exc:
        return None, [exc.msg]
    challenge = raw.get("challenge") or inputs.get("challenge") or "http-01"
    if challenge not in CHALLENGE_TYPES:
        problems.append("%s: challenge %r is not one of %s" % (name, challenge, ", ".join(CHALLENGE_TYPES)))
    key_type = raw.get("key_type") or inputs.get("key_type") or "ec-p256"
    if key_type not in KEY_TYPES:
        problems.append("%s: key_type %r is not one of %s" % (name, key_type, ", ".join(KEY_TYPES)))
    identifiers = raw.get("identifiers")
    if not isinstance(identifiers, list) or not identifiers or \
            not all(isinstance(i, str) and i.strip() for i in identifiers):
        problems.append("%s: identifiers must be a non-empty list of names" % name)
        identifiers = []
    state = raw.get("state") or "present"
    if state not in STATES:
        problems.append("%s: state %r is not one of %s" % (name, state, ", ".join(STATES)))
    reason = raw.get("revoke_reason") or "cessationOfOperation"
    if reason not in REVOKE_REASONS:
        problems.append("%s: revoke_reason %r is not one of %s" % (name, reason, ", ".join(REVOKE_REASONS)))
    if raw.get("revoke") and state != "absent":
        problems.append("%s: revoke needs state absent (a certificate in use is not revoked)" % name)
    if challenge == "http-01" and state == "present":
        problems.extend("%s: the wildcard %s needs dns-01, not http-01" % (name, i)
                        for i in identifiers if i.startswith("*"))
    target = raw.get("target") or None
    if target is not None and target not in TARGETS:
        problems.append("%s: target %r is not one of %s" % (name, target, ", ".join(TARGETS)))
    if target in PROXY_TARGETS and not raw.get("install_hosts"):
        problems.append("%s: target %s needs install_hosts (the %s hosts)" % (name, target, target))
    hosts = expand_hosts(raw.get("install_hosts") or play_hosts, groups)
    renew = raw.get("renew_before_days")
    if renew is None:
        renew = inputs.get("renew_before_days")
    cert = {
        "name": name,
        "identifiers": list(identifiers),
        "challenge": challenge,
        "key_type": key_type,
        "force": bool(raw.get("force", False)),
        "renew_before_days": renew,
        "profile": raw.get("profile") or inputs.get("profile") or None,
        "install_hosts": hosts,
        "target": target,
        "dest_dir": raw.get("dest_dir") or None,
        "nginx_server_extra": raw.get("nginx_server_extra") or "",
        "state": state,
        "revoke": bool(raw.get("revoke", False)),
        "revoke_reason": reason,
    }
    return cert, problems


def _duplicates(certs: t.Sequence[t.Mapping[str, t.Any]],
                absent: t.Sequence[t.Mapping[str, t.Any]] = ()) -> t.List[str]:
    """Names unique over all entries; identifiers over the present ones (a decommissioned
    certificate's names may move to another certificate)."""
    problems = []
    names = [c["name"] for c in list(certs) + list(absent)]
    for name in sorted(set(n for n in names if names.count(n) > 1)):
        problems.append("certificate name %s is used more than once" % name)
    owners: t.Dict[str, t.List[str]] = {}
    for cert in certs:
        for ident in cert["identifiers"]:
            owners.setdefault(ident.lower().rstrip("."), []).append(cert["name"])
    for ident, names_ in owners.items():
        if len(names_) > 1:
            problems.append("identifier %s is in more than one certificate (%s)" % (ident, ", ".join(names_)))
    return problems


def _node_problems(entry: str, settings: t.Mapping[str, t.Any], node_certs: t.Sequence[t.Mapping[str, t.Any]],
                   answers_http01: bool) -> t.List[str]:
    problems = []
    if entry != "report" and answers_http01 and not settings["webroot"]:
        problems.append("certfleet_webroot is not set (the http-01 tokens go there)")
    targets = set(c["target"] for c in node_certs)
    if entry != "report" and "traefik" in targets and \
            not re.search(r"\.ya?ml$", settings["traefik_dynamic_file"] or ""):
        problems.append("certfleet_traefik_dynamic_file must end in .yaml or .yml")
    if entry != "report" and "nginx" in targets and not settings["nginx_reload_cmd"]:
        problems.append("certfleet_nginx_reload_cmd is not set (nginx must load the new files)")
    return problems


def _order_entry(cert: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    out = dict((key, cert[key]) for key in ("name", "identifiers", "challenge", "key_type", "force",
                                            "renew_before_days"))
    if cert.get("profile"):
        out["profile"] = cert["profile"]
    return out


# --------------------------------------------------------------------------------- issuance state
def issued_state(plan_result: t.Optional[t.Mapping[str, t.Any]],
                 issue_result: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Dict[str, t.Any]]:
    """Per certificate name: the store's state after this run's orders. The plan (order
    state=pending in check mode) read the store; state=valid, when it ran and succeeded,
    supersedes it certificate by certificate."""
    out: t.Dict[str, t.Dict[str, t.Any]] = {}
    for result in (plan_result, issue_result):
        if not result or result.get("failed") or result.get("skipped") or result.get("unreachable"):
            continue
        for cert in result.get("certificates") or []:
            out[cert["name"]] = dict(cert)
    return out


def bundle_names(issued: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[str]:
    """The certificates the store holds an issued bundle for."""
    return sorted(name for name, cert in issued.items() if cert.get("status") == "valid")


def store_step_failure(results: t.Any) -> t.Optional[str]:
    """The first store-host step that failed or whose host was unreachable, as one sentence.
    ``results``: step name -> registered result, or a list of ``{name, result}`` (a name with
    variables in it: Ansible does not template dictionary keys)."""
    if isinstance(results, list):
        results = dict((entry.get("name"), entry.get("result")) for entry in results)
    for step, result in results.items():
        if not result:
            continue
        if result.get("unreachable"):
            return "%s: the store host was unreachable (%s)" % (step, _one_line(result.get("msg")))
        if result.get("failed"):
            return "%s failed: %s" % (step, _one_line(result.get("msg")))
    return None


def preflight_failure(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[t.List[str]]:
    """The http-01 preflight's table when a token did not answer everywhere, else None."""
    if not result or result.get("skipped") or not result.get("misses"):
        return None
    missing = result.get("nodes_missing") or []
    where = " (missing on %s)" % ", ".join(missing) if missing else ""
    head = ("http-01 preflight: %d of %d fetches did not return the key authorization%s; the CA was "
            "not asked to validate anything." % (len(result["misses"]), result.get("fetches") or 0, where))
    return [head] + list(result.get("table") or [])


def _one_line(text: t.Any) -> str:
    return " ".join(str(text or "no message").split())


# --------------------------------------------------------------------------------- install items
def install_items(plan: t.Mapping[str, t.Any], host: str, bundles: t.Sequence[t.Mapping[str, t.Any]],
                  check_mode: bool = False,
                  decommissioned: t.Optional[t.Mapping[str, t.Mapping[str, t.Any]]] = None) -> t.Dict[str, t.Any]:
    """What the install modules get on ``host``: cert_install items (nginx and files), and
    haproxy_cert / traefik_cert items with the endpoints they verify. Only certificates with a
    bundle from the store (in check mode the ones still to be issued have none yet)."""
    node = plan["nodes"].get(host)
    out: t.Dict[str, t.Any] = {"cert_install": None, "haproxy": None, "traefik": None}
    if not node:
        return out
    settings = node["settings"]
    by_name = dict((b["name"], b) for b in bundles or [])
    certs = dict((c["name"], c) for c in plan["certificates"])
    files_items, proxy_items = [], {"haproxy": [], "traefik": []}
    for entry in node["certificates"]:
        bundle = by_name.get(entry["name"])
        if bundle is None:
            continue
        content = {"name": entry["name"], "cert": bundle["cert"], "chain": bundle.get("chain") or "",
                   "privatekey": bundle["privatekey"]}
        if entry["target"] in ("nginx", "files"):
            item = dict(content, dest=entry["dest"])
            if entry["target"] == "nginx" and settings["nginx_conf_dir"]:
                item["nginx_server"] = {"server_names": certs[entry["name"]]["identifiers"],
                                        "extra": _extra(settings["nginx_server_extra"],
                                                        certs[entry["name"]]["nginx_server_extra"])}
            elif entry["target"] == "nginx":
                item["nginx_loads"] = True   # the user's nginx configuration reads these files
            files_items.append(item)
        else:
            proxy_items[entry["target"]].append(content)
    removals = removal_items(node, decommissioned or {})
    nginx_names = [c["name"] for c in node["certificates"] if c["target"] == "nginx"]
    if files_items or settings["nginx_conf_dir"] or removals["files"]:
        out["cert_install"] = {"certificates": files_items, "nginx": nginx_options(settings, nginx_names),
                               "absent": removals["files"]}
    for target, items in proxy_items.items():
        if items or removals[target]:
            names = [i["name"] for i in items]
            out[target] = {"certificates": items, "verify": proxy_verify(plan, host, names),
                           "absent": removals[target]}
    return out


def removal_items(node: t.Mapping[str, t.Any],
                  decommissioned: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
    """The ``absent`` items of cert_install (nginx and files: name and directory), haproxy_cert
    and traefik_cert (name) on one node: the decommissioned certificates the store knows."""
    out: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {"files": [], "haproxy": [], "traefik": []}
    for entry in node.get("absent") or []:
        if not (decommissioned.get(entry["name"]) or {}).get("known"):
            continue   # never issued here: nothing to remove
        if entry["target"] in ("nginx", "files"):
            out["files"].append({"name": entry["name"], "dest": entry["dest"]})
        else:
            out[entry["target"]].append({"name": entry["name"]})
    return out


def decommission_state(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Dict[str, t.Any]]:
    """cert_bundle's ``decommissioned`` entries keyed by certificate name."""
    if not result or result.get("failed") or result.get("skipped"):
        return {}
    return dict((e["name"], dict(e)) for e in result.get("decommissioned") or [])


def revocations(plan: t.Mapping[str, t.Any],
                decommissioned: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """The revoke module's calls (name, reason): decommissioned certificates with ``revoke``
    that the store knows and has not recorded as revoked."""
    out = []
    for cert in plan.get("absent") or []:
        state = decommissioned.get(cert["name"]) or {}
        if cert["revoke"] and state.get("known") and not state.get("revoked_at"):
            out.append({"name": cert["name"], "reason": cert["revoke_reason"], "serial": state.get("serial")})
    return out


def _extra(*parts: str) -> str:
    return "\n".join(line.strip() for part in parts for line in (part or "").splitlines() if line.strip())


def nginx_options(settings: t.Mapping[str, t.Any], nginx_names: t.Sequence[str]) -> t.Optional[t.Dict[str, t.Any]]:
    """cert_install's nginx option for a node: its server-block file (when the role writes one),
    the listen values (derived from the node's address unless given), test and reload."""
    if not settings["nginx_conf_dir"] and not nginx_names:
        return None
    out: t.Dict[str, t.Any] = {"test_command": settings["nginx_test_cmd"],
                               "reload_command": settings["nginx_reload_cmd"]}
    if settings["nginx_conf_dir"]:
        out.update(conf_path="%s/%s" % (settings["nginx_conf_dir"].rstrip("/"), settings["nginx_conf_file"]),
                   address=settings["address"], port=settings["verify_port"])
        if settings["nginx_listen"]:
            out["listen"] = list(settings["nginx_listen"])
    if settings["nginx_error_log"]:
        out["error_log"] = settings["nginx_error_log"]
    return dict((k, v) for k, v in out.items() if v is not None)


def node_endpoints(plan: t.Mapping[str, t.Any], host: str,
                   names: t.Optional[t.Sequence[str]] = None) -> t.List[t.Dict[str, t.Any]]:
    """The TLS endpoints that check ``host``'s certificates (not those of target files)."""
    node = plan["nodes"].get(host)
    if not node:
        return []
    certs = dict((c["name"], c) for c in plan["certificates"])
    out = []
    for entry in node["certificates"]:
        if entry["target"] == "files" or (names is not None and entry["name"] not in names):
            continue
        for ident in certs[entry["name"]]["identifiers"]:
            out.append({"host": node["settings"]["address"], "port": node["settings"]["verify_port"],
                        "server_name": probe_name(ident), "certificate": entry["name"],
                        "identifier": ident, "target": entry["target"]})
    return out


def proxy_verify(plan: t.Mapping[str, t.Any], host: str, names: t.Sequence[str]) -> t.List[t.Dict[str, t.Any]]:
    """haproxy_cert / traefik_cert's verify items: the endpoints of those certificates."""
    return [dict((k, e[k]) for k in ("host", "port", "server_name", "certificate"))
            for e in node_endpoints(plan, host, names)]


# --------------------------------------------------------------------------------- verification
def absent_checks(plan: t.Mapping[str, t.Any], active_hosts: t.Sequence[str],
                  decommissioned: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """Every (node, decommissioned certificate, name) to check over TLS: the node must not serve
    that certificate's serial any more (``rejected``). Target files are not checked."""
    out = []
    for host in active_hosts:
        node = plan["nodes"].get(host)
        if not node:
            continue
        for cert in plan.get("absent") or []:
            serial = (decommissioned.get(cert["name"]) or {}).get("serial")
            entry = [e for e in node.get("absent") or [] if e["name"] == cert["name"]]
            if not serial or not entry or entry[0]["target"] == "files":
                continue
            for ident in cert["identifiers"]:
                out.append({"node": host, "certificate": cert["name"], "identifier": ident,
                            "target": entry[0]["target"], "expected": None, "rejected": serial,
                            "endpoint": {"host": node["settings"]["address"],
                                         "port": node["settings"]["verify_port"],
                                         "server_name": probe_name(ident)}})
    return out


def verify_checks(plan: t.Mapping[str, t.Any], active_hosts: t.Sequence[str],
                  issued: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """Every (node, certificate, name) to check over TLS, with the serial it must serve."""
    out = []
    for host in active_hosts:
        for endpoint in node_endpoints(plan, host):
            serial = (issued.get(endpoint["certificate"]) or {}).get("serial")
            if not serial:
                continue
            out.append({"node": host, "certificate": endpoint["certificate"],
                        "identifier": endpoint["identifier"], "target": endpoint["target"],
                        "expected": serial,
                        "endpoint": {"host": endpoint["host"], "port": endpoint["port"],
                                     "server_name": endpoint["server_name"]}})
    return out


def unique_endpoints(checks: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """The endpoints to probe, each once, with the serial it must serve (when known)."""
    seen: t.Dict[str, t.Dict[str, t.Any]] = {}
    for check in checks:
        endpoint = dict(check["endpoint"])
        if check.get("expected"):
            endpoint["expect_serial"] = check["expected"]
        elif check.get("rejected"):
            endpoint["reject_serial"] = check["rejected"]
        seen.setdefault(endpoint_key(endpoint), endpoint)
    return list(seen.values())


def served_by_endpoint(served: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Dict[str, t.Any]]:
    """cert_info's endpoint results keyed by endpoint (each result names its host, port and SNI)."""
    return dict((endpoint_key(e), e) for e in (served or {}).get("endpoints") or [])


def check_results(checks: t.Sequence[t.Mapping[str, t.Any]],
                  served: t.Optional[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """Each check with what its endpoint served."""
    by_key = served_by_endpoint(served)
    out = []
    for check in checks:
        got = by_key.get(endpoint_key(check["endpoint"])) or {"error": "not probed"}
        out.append({"node": check["node"], "certificate": check["certificate"],
                    "identifier": check["identifier"], "target": check["target"],
                    "expected": check["expected"], "served": got.get("serial"),
                    "error": got.get("error"), "issuer": got.get("issuer"),
                    "not_after": got.get("not_after"), "days_left": got.get("days_left"),
                    "alpn": got.get("alpn_protocol"), "rejected": check.get("rejected"),
                    "ok": _served_ok(check, got)})
    return out


def _served_ok(check: t.Mapping[str, t.Any], got: t.Mapping[str, t.Any]) -> bool:
    """A present certificate: its serial is served. A decommissioned one: its serial is not
    (another certificate, or none, answers), and the endpoint was probed."""
    if check.get("rejected"):
        return got.get("error") != "not probed" and \
            (got.get("serial") or "").lower() != str(check["rejected"]).lower()
    return bool(got.get("serial")) and got.get("serial") == check["expected"]


def misses(results: t.Sequence[t.Mapping[str, t.Any]], host: t.Optional[str] = None) -> t.List[str]:
    """One line per name a node does not serve with the certificate in the store."""
    out = []
    for r in results:
        if r["ok"] or (host is not None and r["node"] != host):
            continue
        if r.get("rejected"):
            what = ("still serves the decommissioned certificate (serial %s)" % r["rejected"]
                    if r["error"] != "not probed" else "not probed")
        else:
            what = ("served serial %s, expected %s" % (r["served"], r["expected"]) if r["served"]
                    else "no certificate: %s" % (r["error"] or "no answer"))
        out.append("%s (certificate %s): %s" % (r["identifier"], r["certificate"], what))
    return out


def node_verdict(plan: t.Mapping[str, t.Any], host: str, results: t.Sequence[t.Mapping[str, t.Any]],
                 installed: t.Mapping[str, t.Optional[t.Mapping[str, t.Any]]],
                 failed: bool = False) -> t.Dict[str, t.Any]:
    """What to do on ``host`` after the TLS checks: its misses, and either the rollback items
    (the sets this run replaced) or the commit items (drop the backups of a verified change).
    ``installed`` holds this node's results of cert_install, haproxy_cert and traefik_cert;
    ``failed`` says a later install step of this node failed (so roll back what succeeded)."""
    node_misses = misses(results, host)
    files_result = _ok(installed.get("cert_install"))
    changed = [c for c in files_result.get("certificates") or [] if c.get("changed")]
    nginx = files_result.get("nginx") or {}
    verdict: t.Dict[str, t.Any] = {"node": host, "misses": node_misses, "ok": not node_misses,
                                   "rollback": None, "commit": None}
    proxies, proxy_changed = {}, {}
    for target in PROXY_TARGETS:
        res = _ok(installed.get(target))
        names = [c["name"] for c in res.get("certificates") or []
                 if c.get("changed") and c.get("previous_serial") and c.get("previous_serial") != c.get("serial")]
        proxies[target] = {"certificates": [{"name": n} for n in names],
                           "verify": proxy_verify(plan, host, names)} if names else None
        changed_names = [c["name"] for c in res.get("certificates") or [] if c.get("changed")]
        proxy_changed[target] = {"certificates": [{"name": n} for n in changed_names]} if changed_names else None
    if node_misses or failed:
        verdict["ok"] = False
        verdict["rollback"] = {
            "cert_install": {"certificates": [{"name": c["name"], "dest": c["dest"]} for c in changed],
                             "nginx": _nginx_rollback(plan, host, nginx)}
            if changed or nginx.get("changed") else None,
            "haproxy": proxies["haproxy"], "traefik": proxies["traefik"]}
    elif changed or nginx.get("changed") or any(proxy_changed.values()):
        verdict["commit"] = {
            "cert_install": {"certificates": [{"name": c["name"], "dest": c["dest"]} for c in changed],
                             "nginx": {"conf_path": nginx["conf_path"]} if nginx.get("conf_path") else None}
            if changed or nginx.get("changed") else None,
            "haproxy": proxy_changed["haproxy"], "traefik": proxy_changed["traefik"]}
    return verdict


def _ok(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Mapping[str, t.Any]:
    if not result or result.get("failed") or result.get("skipped"):
        return {}
    return result


def _nginx_rollback(plan: t.Mapping[str, t.Any], host: str,
                    nginx: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """cert_install's nginx option for a rollback: the server-block file this run wrote, and the
    commands that put the previous configuration back in service."""
    node = plan["nodes"][host]
    names = [c["name"] for c in node["certificates"] if c["target"] == "nginx"]
    options = nginx_options(node["settings"], names)
    if options is None:
        return None
    out = dict((k, options[k]) for k in ("conf_path", "reload_command", "test_command", "error_log")
               if options.get(k))
    if nginx.get("conf_path"):
        out["conf_path"] = nginx["conf_path"]
    return out


def rollback_report(rolled: t.Mapping[str, t.Optional[t.Mapping[str, t.Any]]]) -> str:
    """One sentence on what a node's rollback did (from the rollback modules' results)."""
    parts = []
    files_result = rolled.get("cert_install") or {}
    if files_result and not files_result.get("skipped"):
        if files_result.get("failed"):
            parts.append("the rollback of the certificate files failed too: %s" % _one_line(files_result.get("msg")))
        else:
            back = [c["name"] for c in files_result.get("certificates") or [] if c.get("rolled_back")]
            first = [c["name"] for c in files_result.get("certificates") or [] if not c.get("rolled_back")]
            if back:
                parts.append("rolled back %s to the previous files" % ", ".join(back))
            if first:
                parts.append("no previous files for %s (first installation on this node)" % ", ".join(first))
            nginx = files_result.get("nginx") or {}
            if nginx.get("restored"):
                parts.append("restored the previous nginx server blocks")
            if nginx.get("reloaded"):
                parts.append("reloaded nginx")
    for target, label in (("haproxy", "HAProxy"), ("traefik", "Traefik")):
        res = rolled.get(target) or {}
        if not res or res.get("skipped"):
            continue
        if res.get("failed"):
            parts.append("the %s rollback failed too: %s" % (label, _one_line(res.get("msg"))))
        else:
            parts.append("%s serves the previous certificates of %s again"
                         % (label, ", ".join(c["name"] for c in res.get("certificates") or [])))
    return ("Rollback: %s." % "; ".join(parts)) if parts else "Nothing had been changed on this node."


# --------------------------------------------------------------------------------- summary
def summary(plan: t.Mapping[str, t.Any], planned: t.Optional[t.Mapping[str, t.Any]],
            issued: t.Mapping[str, t.Mapping[str, t.Any]], results: t.Sequence[t.Mapping[str, t.Any]],
            active_hosts: t.Sequence[str], play_hosts: t.Sequence[str], check_mode: bool,
            now: datetime.datetime,
            decommissioned: t.Optional[t.Mapping[str, t.Mapping[str, t.Any]]] = None) -> t.List[t.Dict[str, t.Any]]:
    """One row per certificate: what the run did and which nodes serve it (a decommissioned
    one: ``removed``, and the nodes that still serve it as failed)."""
    plans = dict((c["name"], c) for c in (planned or {}).get("certificates") or [])
    rows = []
    for cert in plan["certificates"]:
        name = cert["name"]
        state = issued.get(name) or {}
        mine = [r for r in results if r["certificate"] == name]
        targets, serving, installed, failed = {}, [], [], []
        for host in cert["install_hosts"]:
            node = plan["nodes"].get(host)
            target = cert["target"] or (node["settings"]["target"] if node else "nginx")
            targets[host] = target
            checks = [r for r in mine if r["node"] == host]
            if target == "files":
                (installed if host in active_hosts else failed if host in play_hosts else []).append(host)
            elif host in active_hosts and checks and all(r["ok"] for r in checks):
                serving.append(host)
            elif host in play_hosts:
                failed.append(host)
        good = [r for r in mine if r["ok"]]
        action = state.get("action") or plans.get(name, {}).get("action") or "none"
        ari = state.get("ari") if "ari" in state else plans.get(name, {}).get("ari")
        not_after = state.get("not_after")
        expires = parse_iso(not_after) if not_after else None
        rows.append({
            "name": name,
            "action": ("would " + action) if check_mode and action != "none" else action,
            "reason": state.get("reason") or plans.get(name, {}).get("reason") or "",
            "ari": ari,
            "identifiers": cert["identifiers"],
            "serial": state.get("serial"),
            "not_after": not_after,
            "days_left": round((expires - now).total_seconds() / 86400, 1) if expires else None,
            "issuer": good[0]["issuer"] if good else None,
            "alpn": good[0]["alpn"] if good else None,
            "install_hosts": cert["install_hosts"],
            "targets": targets,
            "nodes_serving": None if check_mode else serving,
            "nodes_installed": None if check_mode else installed,
            "nodes_failed": None if check_mode else failed,
        })
    rows.extend(_absent_row(cert, (decommissioned or {}).get(cert["name"]) or {}, plan, results,
                            active_hosts, check_mode) for cert in plan.get("absent") or [])
    return rows


def _absent_row(cert: t.Mapping[str, t.Any], state: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any],
                results: t.Sequence[t.Mapping[str, t.Any]], active_hosts: t.Sequence[str],
                check_mode: bool) -> t.Dict[str, t.Any]:
    name = cert["name"]
    targets = {}
    for host in cert["install_hosts"]:
        node = plan["nodes"].get(host)
        targets[host] = cert["target"] or (node["settings"]["target"] if node else "nginx")
    failed = sorted(set(r["node"] for r in results if r["certificate"] == name and not r["ok"]))
    known = bool(state.get("known"))
    action = ("would remove" if check_mode else "removed") if known else "none"
    if not known:
        reason = "decommissioned; not in the store, nothing to remove"
    else:
        reason = "decommissioned"
        if cert["revoke"]:
            reason += ", revoked (%s)" % cert["revoke_reason"] if not check_mode or state.get("revoked_at") \
                else ", would revoke (%s)" % cert["revoke_reason"]
    return {"name": name, "action": action, "reason": reason, "ari": None,
            "identifiers": cert["identifiers"], "serial": state.get("serial"), "not_after": None,
            "days_left": None, "issuer": None, "alpn": None, "install_hosts": cert["install_hosts"],
            "targets": targets, "state": "absent",
            "nodes_serving": None if check_mode else [],
            "nodes_installed": None if check_mode else [],
            "nodes_failed": None if check_mode else [h for h in failed if h in active_hosts]}


def _status_text(row: t.Mapping[str, t.Any]) -> str:
    """``up to date``, or the action and its reason; with ARI the reason (the CA's window and the
    chosen time) is shown for an up-to-date certificate too."""
    if row["action"] == "none":
        return "up to date (%s)" % row["reason"] if row.get("ari") and row["reason"] else "up to date"
    return "%s (%s)" % (row["action"], row["reason"])


def summary_lines(rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    out = []
    for row in rows:
        line = "%s: %s" % (row["name"], _status_text(row))
        if row.get("state") == "absent":
            line += "; serial %s" % (row["serial"] or "-") + "; names " + ", ".join(row["identifiers"])
            if row["nodes_failed"]:
                line += "; STILL SERVED by " + ", ".join(row["nodes_failed"])
            out.append(line)
            continue
        if row["serial"]:
            line += "; serial %s, expires %s (%d days)" % (row["serial"], (row["not_after"] or "")[:10],
                                                           int(row["days_left"] or 0))
        line += "; names " + ", ".join(row["identifiers"])
        files_only = set(row["targets"].values()) == {"files"}
        if row["nodes_serving"] is None:
            line += "; nodes " + ", ".join(row["install_hosts"])
            if files_only:
                line += " (files only, no TLS check)"
        else:
            if not files_only:
                line += "; served by " + (", ".join(row["nodes_serving"]) or "no node")
            if row["nodes_installed"] or files_only:
                line += ("; files only, no TLS check (nothing serves them): installed on "
                         + (", ".join(row["nodes_installed"]) or "no node"))
            if row["nodes_failed"]:
                line += "; FAILED on " + ", ".join(row["nodes_failed"])
        out.append(line)
    return out


# --------------------------------------------------------------------------------- report
def report_checks(plan: t.Mapping[str, t.Any], active_hosts: t.Sequence[str]) -> t.List[t.Dict[str, t.Any]]:
    """Every (node, certificate, name) whose served certificate the report reads."""
    return [{"node": host, "certificate": e["certificate"], "identifier": e["identifier"],
             "target": e["target"], "expected": None,
             "endpoint": {"host": e["host"], "port": e["port"], "server_name": e["server_name"]}}
            for host in active_hosts for e in node_endpoints(plan, host)]


def report_rows(checks: t.Sequence[t.Mapping[str, t.Any]], served: t.Optional[t.Mapping[str, t.Any]],
                stored: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """One row per node and name: what it serves, and the flags that need attention."""
    by_key = served_by_endpoint(served)
    rows = []
    for check in checks:
        got = by_key.get(endpoint_key(check["endpoint"])) or {"error": "not probed"}
        rows.append({"node": check["node"], "certificate": check["certificate"],
                     "identifier": check["identifier"], "serial": got.get("serial"),
                     "issuer": got.get("issuer"), "not_after": got.get("not_after"),
                     "days_left": got.get("days_left"), "renewal_due": got.get("renewal_due"),
                     "names": got.get("names") or [], "alpn": got.get("alpn_protocol"),
                     "error": got.get("error"),
                     "stored_serial": (stored.get(check["certificate"]) or {}).get("serial"),
                     "ari": (stored.get(check["certificate"]) or {}).get("ari")})
    serials: t.Dict[str, t.Set[t.Any]] = {}
    for row in rows:
        serials.setdefault(row["identifier"], set()).add(row["serial"])
    for row in rows:
        flags = []
        if row["error"]:
            flags.append("no certificate: %s" % row["error"])
        if len(serials[row["identifier"]]) > 1:
            flags.append("served by different certificates on different nodes")
        if row["serial"] and not row["identifier"].startswith("*") and row["identifier"] not in row["names"]:
            flags.append("the certificate does not name %s" % row["identifier"])
        if row["serial"] and row["stored_serial"] and row["serial"] != row["stored_serial"]:
            flags.append("not the certificate in the store (%s)" % row["stored_serial"])
        if row["renewal_due"]:
            flags.append("renewal due")
        if row["ari"]:
            store_state = stored.get(row["certificate"]) or {}
            if store_state.get("action") not in (None, "none"):
                flags.append("renewal due: %s" % store_state.get("reason"))
        row["flags"] = flags
    return rows


def report_table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    table = [["NODE", "NAME", "SERIAL", "ISSUER", "DAYS LEFT", "FLAGS"]]
    for r in rows:
        table.append([r["node"], r["identifier"], r["serial"] or "-", r["issuer"] or "-",
                      "-" if r["days_left"] is None else str(r["days_left"]), "; ".join(r["flags"]) or "ok"])
    return format_table(table)


def format_table(table: t.Sequence[t.Sequence[str]]) -> t.List[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
            for row in table]


def report_flagged(rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    return ["%s %s: %s" % (r["node"], r["identifier"], "; ".join(r["flags"])) for r in rows if r["flags"]]


def summary_table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """The summary as a table, one line per certificate and node."""
    table = [["CERTIFICATE", "ACTION", "SERIAL", "EXPIRES", "NODE", "STATE"]]
    for row in rows:
        for host in row["install_hosts"]:
            if row["nodes_serving"] is None:
                state = "check mode"
            elif row.get("state") == "absent":
                state = "STILL SERVES IT" if host in row["nodes_failed"] else "removed (TLS checked)"
            elif host in row["nodes_serving"]:
                state = "serves it (TLS checked)"
            elif host in row["nodes_installed"]:
                state = "files installed"
            elif host in row["nodes_failed"]:
                state = "FAILED"
            else:
                state = "not in this run"
            table.append([row["name"], row["action"], row["serial"] or "-",
                          (row["not_after"] or "-")[:10], host, state])
    return format_table(table)
