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
import ipaddress
import re
import typing as t
import uuid

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    CHALLENGE_TYPES, validate_certificate_name)
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import parse_iso

TARGETS = ("nginx", "files", "haproxy", "traefik", "apache")
# Targets whose files cert_install writes (with their deploy hooks).
FILE_TARGETS = ("nginx", "files", "apache")
PROXY_TARGETS = ("haproxy", "traefik")
HTTP01_MODES = ("files", "stateless")
DEFAULT_NGINX_HTTP_CONF_FILE = "certfleet-http.conf"
# The token of the outside check of the stateless answer (any token gets <token>.<thumbprint>).
STATELESS_PROBE_TOKEN = "certfleet-stateless-probe"
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
    "nginx_http_conf_file": ("certfleet_nginx_http_conf_file", "optfilename"),
    "haproxy_http_frontend": ("certfleet_haproxy_http_frontend", "optstr"),
    "haproxy_cert_dir": ("certfleet_haproxy_cert_dir", "str"),
    "haproxy_config": ("certfleet_haproxy_config", "strlist"),
    "haproxy_admin_socket": ("certfleet_haproxy_admin_socket", "optstr"),
    "haproxy_reload_cmd": ("certfleet_haproxy_reload_cmd", "optstr"),
    "haproxy_master_pid_file": ("certfleet_haproxy_master_pid_file", "optstr"),
    "traefik_cert_dir": ("certfleet_traefik_cert_dir", "str"),
    "traefik_dynamic_file": ("certfleet_traefik_dynamic_file", "str"),
    "traefik_log": ("certfleet_traefik_log", "optstr"),
    "apache_conf_dir": ("certfleet_apache_conf_dir", "optstr"),
    "apache_conf_file": ("certfleet_apache_conf_file", "optfilename"),
    "apache_vhost_extra": ("certfleet_apache_vhost_extra", "text"),
    "apache_test_cmd": ("certfleet_apache_test_cmd", "optstr"),
    "apache_reload_cmd": ("certfleet_apache_reload_cmd", "optstr"),
    "apache_error_log": ("certfleet_apache_error_log", "optstr"),
    "deploy_hooks": ("certfleet_deploy_hooks", "hooks"),
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


def _is_ip(value: t.Any) -> bool:
    try:
        ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        return False
    return True


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
    if kind in ("str", "optstr", "filename", "optfilename"):
        if _blank(value):
            if kind in ("optstr", "optfilename"):
                return None
            raise ValueError("must be set")
        if not isinstance(value, str) or "\n" in value or "\x00" in value:
            raise ValueError("%r must be one line of text" % (value,))
        if kind in ("filename", "optfilename") and ("/" in value or value in (".", "..")):
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
    if kind == "hooks":
        return _hooks(value)
    if kind == "text":
        if _blank(value):
            return ""
        if not isinstance(value, str):
            raise ValueError("%r must be text" % (value,))
        return value
    raise AssertionError(kind)


def _hooks(value: t.Any) -> t.List[t.Any]:
    """Deploy hooks: a list of commands (strings, argument lists or dicts with ``command``);
    cert_install checks each one on the node."""
    if _blank(value):
        return []
    if not isinstance(value, list) or not all(
            (isinstance(v, str) and v.strip()) or (isinstance(v, list) and v)
            or (isinstance(v, dict) and v.get("command")) for v in value):
        raise ValueError("%r must be a list of commands (strings, lists or dicts with command)" % (value,))
    return list(value)


# --------------------------------------------------------------------------------- the plan
def build_plan(inputs: t.Mapping[str, t.Any], groups: t.Mapping[str, t.Sequence[str]],
               play_hosts: t.Sequence[str], nodes: t.Mapping[str, t.Optional[t.Mapping[str, t.Any]]],
               run_id: t.Optional[str] = None,
               outside: t.Optional[t.Mapping[str, t.Mapping[str, t.Any]]] = None) -> t.Dict[str, t.Any]:
    """The validated fleet plan. ``inputs`` holds the role's variables (certificates, challenge,
    key_type, renew_before_days, profile, challenge_hosts, dns_provider, directory_url, entry,
    http01_mode, nginx_http_redirect); ``nodes`` each play host's settings from node_settings()
    (None when the host did not report); ``outside`` what the inventory says of challenge hosts
    outside the play (a sliced run: address, http_port, webroot). Every problem of the input is
    in ``problems``, all at once."""
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
    mode = inputs.get("http01_mode") or "files"
    if mode not in HTTP01_MODES:
        problems.append("certfleet_http01_mode %r is not one of %s" % (mode, ", ".join(HTTP01_MODES)))
    dns_certs = [c["name"] for c in certs if c["challenge"] == "dns-01"]
    if entry != "report" and dns_certs and not inputs.get("dns_provider"):
        problems.append("certfleet_dns_provider is not set (%s use dns-01)" % ", ".join(dns_certs))
    http01 = any(c["challenge"] == "http-01" for c in certs)
    stateless = http01 and mode == "stateless"
    strangers = [h for h in challenge_hosts if h not in play_hosts] if http01 else []
    outside_nodes, outside_problems = _outside_challenge_nodes(strangers, outside or {}, stateless)
    problems.extend(outside_problems if entry != "report" else [])
    plan_nodes: t.Dict[str, t.Dict[str, t.Any]] = {}
    for host in play_hosts:
        settings = nodes.get(host)
        if settings is None:
            continue
        node_certs = [_node_entry(cert, settings) for cert in certs if host in cert["install_hosts"]]
        problems.extend("%s: %s" % (host, p) for p in _node_problems(
            entry, settings, node_certs, http01 and host in challenge_hosts and not stateless))
        plan_nodes[host] = {"settings": settings, "certificates": node_certs,
                            "absent": [_node_entry(cert, settings) for cert in absent
                                       if host in cert["install_hosts"]]}
    http_servers: t.Dict[str, t.Any] = {}
    for host, node in plan_nodes.items():
        server, server_problems = _http_server(host, node, certs, challenge_hosts if http01 else [],
                                               stateless, bool(inputs.get("nginx_http_redirect")))
        problems.extend("%s: %s" % (host, p) for p in server_problems if entry != "report")
        if server:
            http_servers[host] = server
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
                            if h in plan_nodes else dict((k, outside_nodes[h][k]) for k in ("name", "address", "port"))
                            for h in challenge_hosts if h in plan_nodes or h in outside_nodes],
        "challenge_outside": [outside_nodes[h] for h in strangers if h in outside_nodes],
        "http01": http01,
        "http01_mode": mode,
        "stateless": stateless,
        "http_servers": http_servers,
        "dns01": bool(dns_certs),
        "outside": outside,
        "nodes": plan_nodes,
    }


def _node_entry(cert: t.Mapping[str, t.Any], settings: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Where one certificate goes on one node: its target (and directory for nginx and files)."""
    target = cert["target"] or settings["target"]
    out = {"name": cert["name"], "target": target}
    if target in FILE_TARGETS:
        out["dest"] = "%s/%s" % ((cert["dest_dir"] or settings["dest_dir"]).rstrip("/"), cert["name"])
    return out


def _outside_challenge_nodes(hosts: t.Sequence[str], outside: t.Mapping[str, t.Mapping[str, t.Any]],
                             stateless: bool) -> t.Tuple[t.Dict[str, t.Dict[str, t.Any]], t.List[str]]:
    """The challenge hosts outside this play (a sliced run, or --limit): checked from outside like
    the others; in files mode the slice that orders puts the tokens on them (delegated), so the
    inventory must say where their web root is."""
    out: t.Dict[str, t.Dict[str, t.Any]] = {}
    unknown, no_webroot = [], []
    for host in hosts:
        raw = outside.get(host)
        if raw is None:
            unknown.append(host)
            continue
        try:
            port = _normalise(raw.get("http_port") or 80, "port")
            address = _normalise(raw.get("address") or host, "str")
            webroot = _normalise(raw.get("webroot"), "optstr")
        except ValueError as exc:
            return out, ["%s (outside this play): %s" % (host, exc)]
        if not stateless and not webroot:
            no_webroot.append(host)
        out[host] = {"name": host, "address": address, "port": port, "webroot": webroot}
    problems = []
    if unknown:
        problems.append("certfleet_challenge_hosts names hosts that are not in the inventory: %s"
                        % ", ".join(unknown))
    if no_webroot:
        problems.append("the challenge hosts %s are outside this play (a sliced run or --limit) and the "
                        "inventory does not set their certfleet_webroot, so this run cannot put the "
                        "http-01 tokens there: set it in their host or group variables, or use "
                        "certfleet_http01_mode: stateless or dns-01 (no token files)" % ", ".join(no_webroot))
    return out, problems


def _http_server(host: str, node: t.Mapping[str, t.Any], certs: t.Sequence[t.Mapping[str, t.Any]],
                 challenge_hosts: t.Sequence[str], stateless: bool,
                 redirect: bool) -> t.Tuple[t.Optional[t.Dict[str, t.Any]], t.List[str]]:
    """The port-80 configuration the role owns on ``host``: the stateless http-01 answer (a
    challenge host in stateless mode) and/or the redirect to https (nginx, when asked)."""
    settings = node["settings"]
    kind = settings["target"]
    answers = host in challenge_hosts
    want_stateless = stateless and answers
    want_redirect = redirect and kind == "nginx"
    if not (want_stateless or want_redirect):
        return None, []
    if kind == "traefik":
        return None, ["stateless http-01 cannot run on Traefik (its configuration cannot answer a token "
                      "without a file): use certfleet_http01_mode: files, dns-01, or other challenge hosts"]
    if kind == "files":
        return None, ["certfleet_target files: the role does not manage this node's port 80, so it cannot "
                      "answer stateless http-01 (use nginx or haproxy challenge hosts, or files mode)"]
    if kind == "haproxy":
        if not settings["haproxy_http_frontend"]:
            return None, ["certfleet_haproxy_http_frontend is not set (the frontend of port 80 that "
                          "answers stateless http-01)"]
        config = settings["haproxy_config"] or ["/etc/haproxy/haproxy.cfg"]
        return {"kind": "haproxy", "stateless": True,
                "haproxy": {"config": config[0], "config_files": config,
                            "frontend": settings["haproxy_http_frontend"]}}, []
    if not settings["nginx_conf_dir"]:
        return None, ["certfleet_nginx_conf_dir is not set (the role's port-80 server block goes there)"]
    names: t.List[str] = []
    for cert in certs:
        serves = any(c["name"] == cert["name"] and c["target"] == "nginx" for c in node["certificates"])
        if (answers and cert["challenge"] == "http-01") or serves:
            names.extend(i for i in cert["identifiers"] if i not in names)
    if not names:
        return None, []
    return {"kind": "nginx", "stateless": want_stateless, "redirect_https": want_redirect,
            "conf_path": "%s/%s" % (settings["nginx_conf_dir"].rstrip("/"),
                                    settings["nginx_http_conf_file"] or DEFAULT_NGINX_HTTP_CONF_FILE),
            "server_names": names, "port": settings["http_port"],
            "webroot": settings["webroot"] if answers and not stateless else None}, []


def http_server_items(plan: t.Mapping[str, t.Any], host: str,
                      thumbprint: t.Optional[str]) -> t.Dict[str, t.Any]:
    """The module arguments of ``host``'s port-80 configuration: cert_install (nginx.http_server,
    no certificates, the TLS file untouched) or haproxy_http01. A stateless block needs the
    account's thumbprint: without one (nothing was due, the CA was not asked) it is not written."""
    out: t.Dict[str, t.Any] = {"nginx": None, "haproxy": None}
    server = plan.get("http_servers", {}).get(host)
    if not server or (server["stateless"] and not thumbprint):
        return out
    settings = plan["nodes"][host]["settings"]
    if server["kind"] == "haproxy":
        out["haproxy"] = dict(server["haproxy"], thumbprint=thumbprint)
        return out
    http = dict((k, server[k]) for k in ("conf_path", "server_names", "port", "redirect_https"))
    http["stateless_thumbprint"] = thumbprint if server["stateless"] else None
    http["webroot"] = server["webroot"]
    nginx = {"address": settings["address"], "http_server": http,
             "test_command": settings["nginx_test_cmd"], "reload_command": settings["nginx_reload_cmd"],
             "error_log": settings["nginx_error_log"]}
    out["nginx"] = dict((k, v) for k, v in nginx.items() if v is not None)
    return out


def stateless_probe(plan: t.Mapping[str, t.Any], thumbprint: t.Optional[str]) -> t.List[t.Dict[str, t.Any]]:
    """challenge_check entries that test, from outside and before any order, that every challenge
    host answers this account's thumbprint for each http-01 name (any token will do)."""
    if not plan.get("stateless") or not thumbprint:
        return []
    return [{"type": "http-01", "certificate": c["name"], "identifier": ident,
             "token": STATELESS_PROBE_TOKEN, "path": ".well-known/acme-challenge/" + STATELESS_PROBE_TOKEN,
             "content": "%s.%s" % (STATELESS_PROBE_TOKEN, thumbprint)}
            for c in plan["certificates"] if c["challenge"] == "http-01" for ident in c["identifiers"]]


def http_redirect_checks(plan: t.Mapping[str, t.Any], hosts: t.Sequence[str]) -> t.List[t.Dict[str, t.Any]]:
    """The checks from outside of each redirecting port-80 block: ``/`` answers 301 to https, the
    challenge path is not redirected (the token of a stateless block answers 200)."""
    out = []
    for host in hosts:
        server = plan.get("http_servers", {}).get(host)
        if not server or server["kind"] != "nginx" or not server["redirect_https"]:
            continue
        base = "http://%s:%d" % (plan["nodes"][host]["settings"]["address"], server["port"])
        for name in server["server_names"]:
            if name.startswith("*"):
                continue
            out.append({"node": host, "name": name, "url": base + "/", "status": [301],
                        "location": "https://%s/" % name})
            out.append({"node": host, "name": name, "status": [200] if server["stateless"] else [200, 404],
                        "url": "%s/.well-known/acme-challenge/%s" % (base, STATELESS_PROBE_TOKEN),
                        "location": None})
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
    try:
        deploy_hooks = _hooks(raw.get("deploy_hooks"))
    except ValueError as exc:
        problems.append("%s: deploy_hooks %s" % (name, exc))
        deploy_hooks = []
    if deploy_hooks and target in PROXY_TARGETS:
        problems.append("%s: deploy_hooks run with the targets %s, not %s" % (name, ", ".join(FILE_TARGETS), target))
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
        "apache_vhost_extra": raw.get("apache_vhost_extra") or "",
        "deploy_hooks": deploy_hooks,
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
    if entry != "report" and "apache" in targets and not settings.get("apache_reload_cmd"):
        problems.append("certfleet_apache_reload_cmd is not set (Apache httpd must load the new files)")
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
    """The first store-host step that failed or whose host was unreachable, as one sentence (of a
    loop, its first failed item, named). ``results``: step name -> registered result, or a list of
    ``{name, result}`` (a name with variables in it: Ansible does not template dictionary keys)."""
    if isinstance(results, list):
        results = dict((entry.get("name"), entry.get("result")) for entry in results)
    for step, result in results.items():
        if not result:
            continue
        items = [r for r in result.get("results") or [] if isinstance(r, dict) and
                 (r.get("unreachable") or r.get("failed"))]
        if items:
            item = items[0].get("item")
            step = "%s (%s)" % (step, item.get("name") if isinstance(item, dict) else item)
            result = items[0]
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
        if entry["target"] in FILE_TARGETS:
            cert = certs[entry["name"]]
            item = dict(content, dest=entry["dest"])
            if cert.get("deploy_hooks"):
                item["deploy_hooks"] = list(cert["deploy_hooks"])
            if entry["target"] == "nginx" and settings["nginx_conf_dir"]:
                item["nginx_server"] = {"server_names": cert["identifiers"],
                                        "extra": _extra(settings["nginx_server_extra"],
                                                        cert["nginx_server_extra"])}
            elif entry["target"] == "nginx":
                item["nginx_loads"] = True   # the user's nginx configuration reads these files
            elif entry["target"] == "apache" and settings.get("apache_conf_dir"):
                item["apache_vhost"] = {"server_names": cert["identifiers"],
                                        "extra": _extra(settings.get("apache_vhost_extra"),
                                                        cert.get("apache_vhost_extra"))}
            elif entry["target"] == "apache":
                item["apache_loads"] = True
            files_items.append(item)
        else:
            proxy_items[entry["target"]].append(content)
    removals = removal_items(node, decommissioned or {})
    nginx_names = [c["name"] for c in node["certificates"] if c["target"] == "nginx"]
    apache_names = [c["name"] for c in node["certificates"] if c["target"] == "apache"]
    if files_items or settings["nginx_conf_dir"] or settings.get("apache_conf_dir") or removals["files"]:
        out["cert_install"] = {"certificates": files_items, "nginx": nginx_options(settings, nginx_names),
                               "apache": apache_options(settings, apache_names),
                               "deploy_hooks": list(settings.get("deploy_hooks") or []),
                               "absent": removals["files"]}
    for target, items in proxy_items.items():
        if items or removals[target]:
            names = [i["name"] for i in items]
            out[target] = {"certificates": items, "verify": proxy_verify(plan, host, names),
                           "absent": removals[target]}
    return out


def removal_items(node: t.Mapping[str, t.Any],
                  decommissioned: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
    """The ``absent`` items of cert_install (nginx, files and apache: name and directory),
    haproxy_cert and traefik_cert (name) on one node: the decommissioned certificates the store knows."""
    out: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {"files": [], "haproxy": [], "traefik": []}
    for entry in node.get("absent") or []:
        if not (decommissioned.get(entry["name"]) or {}).get("known"):
            continue   # never issued here: nothing to remove
        if entry["target"] in FILE_TARGETS:
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


def apache_options(settings: t.Mapping[str, t.Any], names: t.Sequence[str]) -> t.Optional[t.Dict[str, t.Any]]:
    """cert_install's apache option for a node: its file of virtual hosts (when the role writes
    one) on the node's address and TLS port, test and graceful reload."""
    if not settings.get("apache_conf_dir") and not names:
        return None
    out: t.Dict[str, t.Any] = {"test_command": settings.get("apache_test_cmd"),
                               "reload_command": settings.get("apache_reload_cmd"),
                               "error_log": settings.get("apache_error_log")}
    if settings.get("apache_conf_dir"):
        out.update(conf_path="%s/%s" % (settings["apache_conf_dir"].rstrip("/"),
                                        settings.get("apache_conf_file") or "certfleet.conf"),
                   port=settings["verify_port"])
        if _is_ip(settings["address"]):   # else <VirtualHost *:port>
            out["address"] = settings["address"]
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
    apache = files_result.get("apache") or {}
    servers_changed = bool(nginx.get("changed") or apache.get("changed"))
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
            "cert_install": {"certificates": _rollback_items(plan, host, changed),
                             "nginx": _server_rollback(plan, host, "nginx", nginx),
                             "apache": _server_rollback(plan, host, "apache", apache),
                             "deploy_hooks": list(plan["nodes"][host]["settings"].get("deploy_hooks") or [])}
            if changed or servers_changed else None,
            "haproxy": proxies["haproxy"], "traefik": proxies["traefik"]}
    elif changed or servers_changed or any(proxy_changed.values()):
        verdict["commit"] = {
            "cert_install": {"certificates": [{"name": c["name"], "dest": c["dest"]} for c in changed],
                             "nginx": {"conf_path": nginx["conf_path"]} if nginx.get("conf_path") else None,
                             "apache": {"conf_path": apache["conf_path"]} if apache.get("conf_path") else None}
            if changed or servers_changed else None,
            "haproxy": proxy_changed["haproxy"], "traefik": proxy_changed["traefik"]}
    return verdict


def _rollback_items(plan: t.Mapping[str, t.Any], host: str,
                    changed: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """The sets to restore, each with its certificate's deploy hooks (run again on the old files)."""
    certs = dict((c["name"], c) for c in plan["certificates"])
    out = []
    for c in changed:
        item = {"name": c["name"], "dest": c["dest"]}
        hooks = (certs.get(c["name"]) or {}).get("deploy_hooks")
        if hooks:
            item["deploy_hooks"] = list(hooks)
        out.append(item)
    return out


def _ok(result: t.Optional[t.Mapping[str, t.Any]]) -> t.Mapping[str, t.Any]:
    if not result or result.get("failed") or result.get("skipped"):
        return {}
    return result


def _server_rollback(plan: t.Mapping[str, t.Any], host: str, target: str,
                     installed: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """cert_install's nginx or apache option (``target``) for a rollback: the file this run wrote,
    and the commands that put the previous configuration back in service."""
    node = plan["nodes"][host]
    names = [c["name"] for c in node["certificates"] if c["target"] == target]
    options = (nginx_options if target == "nginx" else apache_options)(node["settings"], names)
    if options is None:
        return None
    out = dict((k, options[k]) for k in ("conf_path", "reload_command", "test_command", "error_log")
               if options.get(k))
    if installed.get("conf_path"):
        out["conf_path"] = installed["conf_path"]
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
            apache = files_result.get("apache") or {}
            if apache.get("restored"):
                parts.append("restored the previous Apache virtual hosts")
            if apache.get("reloaded"):
                parts.append("reloaded Apache httpd")
            ran = files_result.get("deploy_hooks") or []
            if ran:
                parts.append("ran %d deploy hook(s) on the previous files" % len(ran))
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


def node_groups(groups: t.Mapping[str, t.Sequence[str]], hosts: t.Sequence[str]) -> t.Dict[str, t.List[str]]:
    """The inventory groups of each host (without ``all`` and ``ungrouped``), sorted."""
    return dict((host, sorted(g for g, members in groups.items()
                              if g not in ("all", "ungrouped") and host in (members or [])))
                for host in hosts)


def report_rows(checks: t.Sequence[t.Mapping[str, t.Any]], served: t.Optional[t.Mapping[str, t.Any]],
                stored: t.Mapping[str, t.Mapping[str, t.Any]], min_days: t.Optional[float] = None,
                groups: t.Optional[t.Mapping[str, t.Sequence[str]]] = None) -> t.List[t.Dict[str, t.Any]]:
    """One row per node and name: what it serves, and the flags that need attention (with
    ``min_days``, also a name served with fewer days left). ``groups``: each node's groups."""
    by_key = served_by_endpoint(served)
    rows = []
    for check in checks:
        got = by_key.get(endpoint_key(check["endpoint"])) or {"error": "not probed"}
        rows.append({"node": check["node"], "groups": list((groups or {}).get(check["node"]) or []),
                     "target": check.get("target"), "certificate": check["certificate"],
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
        if min_days is not None and row["days_left"] is not None and row["days_left"] < min_days:
            flags.append("expires in %s days (under %s)" % (row["days_left"], min_days))
        row["matches_store"] = None if not (row["serial"] and row["stored_serial"]) else \
            row["serial"] == row["stored_serial"]
        row["consistent"] = len(serials[row["identifier"]]) == 1
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
