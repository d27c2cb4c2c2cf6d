# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik target: PEM files plus a dynamic configuration file for the file provider, verified by
polling TLS handshakes until the new serial is served, rolled back otherwise (logic of
traefik_cert). Private to this collection."""

from __future__ import annotations

import datetime
import json
import os
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy, install

DEFAULT_CERT_DIR = "/etc/traefik/certs"
DEFAULT_DYNAMIC_FILE = "/etc/traefik/dynamic/certfleet.yaml"
CERT_MODE = 0o644
KEY_MODE = 0o600
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_RE = re.compile(r"\bERR\b|level=error|\"level\":\"error\"", re.I)


def pem_paths(name: str, cert_dir: t.Optional[str]) -> t.Tuple[str, str]:
    base = os.path.join(cert_dir or DEFAULT_CERT_DIR, name)
    return base + ".crt", base + ".key"


def render_dynamic(prepared: t.Sequence[install.Prepared], params: t.Dict[str, t.Any]) -> bytes:
    """The file provider's configuration: YAML (JSON is YAML) with a comment naming the serials,
    so that the file changes, and Traefik reloads, whenever a certificate does."""
    items = dict((item["name"], item) for item in params["certificates"])
    certificates = []
    default = None
    for prep in prepared:
        cert_file, key_file = pem_paths(prep.name, params.get("cert_dir"))
        entry = {"certFile": cert_file, "keyFile": key_file}  # type: t.Dict[str, t.Any]
        if items[prep.name].get("stores"):
            entry["stores"] = list(items[prep.name]["stores"])
        certificates.append(entry)
        if prep.name == params.get("default_certificate"):
            default = {"certFile": cert_file, "keyFile": key_file}
    if params.get("default_certificate") and default is None:
        raise InputError("default_certificate %s is not one of the certificates"
                         % params["default_certificate"])
    tls = {"certificates": certificates}  # type: t.Dict[str, t.Any]
    if default:
        tls["stores"] = {"default": {"defaultCertificate": default}}
    if params.get("tls_options"):
        tls["options"] = params["tls_options"]
    header = ["# Managed by certfleet.acme.traefik_cert; rewritten on every change, do not edit."]
    header += ["# %s: serial %s, expires %s" % (prep.name, prep.summary["serial"], prep.summary["not_after"])
               for prep in prepared]
    return ("\n".join(header) + "\n" + json.dumps({"tls": tls}, indent=2, sort_keys=True) + "\n").encode("utf-8")


def log_offset(path: t.Optional[str]) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def log_errors(path: t.Optional[str], offset: int, limit: int = 5) -> t.List[str]:
    """Traefik's own error lines written since ``offset``."""
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    lines = [_ANSI_RE.sub("", line).strip() for line in text.splitlines()]
    return [line for line in lines if _ERROR_RE.search(line)][-limit:]


def _failure(msg: str, params: t.Dict[str, t.Any], offset: int, note: str,
             results: t.Sequence[t.Dict[str, t.Any]]) -> TargetError:
    errors = log_errors(params.get("log_path"), offset)
    text = "Traefik on %s: %s; %s" % (deploy.host_label(), msg, note)
    if errors:
        text += ". Traefik's log: " + " | ".join(errors)
    return TargetError(text, verified=list(results), traefik_errors=errors)


def _entries(params: t.Dict[str, t.Any], prepared: t.Sequence[install.Prepared]) -> t.List[deploy.Entry]:
    entries = []
    for prep in prepared:
        cert_file, key_file = pem_paths(prep.name, params.get("cert_dir"))
        entries.append(deploy.Entry(cert_file, prep.contents["fullchain"],
                                    files.parse_mode(params.get("mode"), CERT_MODE)))
        entries.append(deploy.Entry(key_file, prep.contents["privkey"], KEY_MODE))
    # Last: the file Traefik watches, once the PEM files it names are in place.
    entries.append(deploy.Entry(params.get("dynamic_file") or DEFAULT_DYNAMIC_FILE,
                                render_dynamic(prepared, params), CERT_MODE))
    return entries


def check_dynamic_file(path: str) -> None:
    if not path.endswith((".yaml", ".yml")):
        raise InputError("dynamic_file %s must end in .yaml or .yml (Traefik picks the parser from the "
                         "extension; the file is written as JSON, which is YAML)" % path)


def _verify(params: t.Dict[str, t.Any], saved: deploy.Snapshot, order: t.Sequence[str],
            checks: t.Sequence[t.Dict[str, t.Any]], offset: int, probe: deploy.Probe) -> t.List[t.Any]:
    timeout = float(params.get("verify_timeout") or 30)
    results = deploy.wait_for_serials(checks, timeout, probe)
    if all(result["ok"] for result in results):
        return results
    deploy.restore(saved, order)
    raise _failure("the new certificate is not served within %gs: %s" % (timeout, deploy.describe_failures(results)),
                   params, offset, "the previous files are back (Traefik reloads them by itself)", results)


def install_present(params: t.Dict[str, t.Any], check_mode: bool, want_diff: bool, probe: deploy.Probe,
                    now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    prepared = deploy.prepare_all(params["certificates"], now)
    entries = _entries(params, prepared)
    uid, gid = files.resolve_owner(params.get("owner")), files.resolve_group(params.get("group"))
    todo = set(entry.path for entry in deploy.pending(entries, uid, gid))
    checks = deploy.plan_checks(params.get("verify") or [], prepared)
    previous = dict((prep.name, install.summary_of_file(pem_paths(prep.name, params.get("cert_dir"))[0]))
                    for prep in prepared)
    reason = None
    if todo:
        reason = "files"
    elif any(deploy.probe_serial(check, probe)[0] != check["expected_serial"] for check in checks):
        reason = "served"
    verified = []  # type: t.List[t.Any]
    if reason and not check_mode:
        order = [entry.path for entry in entries]
        # A failed change must not cost the backups of the set before it: they are restored too.
        order += [files.backup_path(path) for path in order] if params.get("backup", True) else []
        saved = deploy.snapshot(order)
        offset = log_offset(params.get("log_path"))
        deploy.write(entries, uid, gid, files.backup_path if params.get("backup", True) else None)
        if reason == "served":  # same content: rewrite the watched file so that Traefik reloads
            files.write_atomic(entries[-1].path, entries[-1].data, entries[-1].mode, uid, gid)
        verified = _verify(params, saved, order, checks, offset, probe)
    certificates = []
    for prep in prepared:
        cert_file = pem_paths(prep.name, params.get("cert_dir"))[0]
        changed = bool(reason) and (reason == "served" or cert_file in todo
                                    or pem_paths(prep.name, params.get("cert_dir"))[1] in todo)
        certificates.append(deploy.certificate_result(prep, cert_file, changed, previous[prep.name]))
    out = {"certificates": certificates, "reason": reason, "verified": verified,
           "dynamic_file": entries[-1].path}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = {"before": previous, "after": dict((prep.name, prep.summary) for prep in prepared)}
    return bool(reason), out


class _Served(t.NamedTuple):
    name: str
    summary: t.Dict[str, t.Any]


def rollback(params: t.Dict[str, t.Any], check_mode: bool, want_diff: bool,
             probe: deploy.Probe) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Restore the ``.certfleet-prev`` set (PEM files and dynamic file), then verify."""
    dynamic_file = params.get("dynamic_file") or DEFAULT_DYNAMIC_FILE
    names = deploy.check_names(params["certificates"])
    order = []  # type: t.List[str]
    for name in names:
        order.extend(pem_paths(name, params.get("cert_dir")))
    order.append(dynamic_file)
    if not files.has_backup(order):
        raise TargetError("Traefik on %s: no backup to roll back to (no %s files next to %s)"
                          % (deploy.host_label(), files.BACKUP_SUFFIX, dynamic_file))
    cert_files = dict((name, pem_paths(name, params.get("cert_dir"))[0]) for name in names)
    before = dict((name, install.summary_of_file(path)) for name, path in cert_files.items())
    after = dict((name, install.summary_of_file(files.backup_path(path))) for name, path in cert_files.items())
    changed = files.restore_set(order, dry_run=check_mode)
    verified = []  # type: t.List[t.Any]
    if changed and not check_mode:
        restored = [_Served(name, after[name]) for name in names if after[name]]
        checks = deploy.plan_checks(params.get("verify") or [], restored)
        timeout = float(params.get("verify_timeout") or 30)
        verified = deploy.wait_for_serials(checks, timeout, probe)
        if not all(result["ok"] for result in verified):
            raise _failure("the restored certificate is not served within %gs: %s"
                           % (timeout, deploy.describe_failures(verified)), params, 0,
                           "the previous files are in place", verified)
    results = [{"name": name, "changed": changed and before[name] != after[name],
                "serial": after[name].get("serial"), "names": after[name].get("names", []),
                "not_after": after[name].get("not_after"), "previous_serial": before[name].get("serial"),
                "path": cert_files[name]} for name in names]
    out = {"certificates": results, "reason": "rollback" if changed else None, "verified": verified,
           "dynamic_file": dynamic_file}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = {"before": before, "after": after}
    return changed, out


def check_params(params: t.Dict[str, t.Any]) -> None:
    """Every name and path, in every state, before any path is built."""
    deploy.check_names(params["certificates"])
    deploy.check_absent(params, lambda item: pem_paths(item["name"], params.get("cert_dir"))[0])
    for option in ("cert_dir", "dynamic_file", "log_path"):
        if params.get(option):
            files.check_path(params[option], option)
    check_dynamic_file(params.get("dynamic_file") or DEFAULT_DYNAMIC_FILE)
    files.parse_mode(params.get("mode"), CERT_MODE)


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        probe: t.Optional[deploy.Probe] = None,
        now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    check_params(params)
    probe = probe or tlsprobe.fetch_peer_certificate
    if params.get("state") == "rollback":
        return rollback(params, check_mode, want_diff, probe)
    if params.get("state") == "commit":
        sets = dict((item["name"], list(pem_paths(item["name"], params.get("cert_dir"))))
                    for item in params["certificates"])
        return deploy.commit(sets, [params.get("dynamic_file") or DEFAULT_DYNAMIC_FILE], check_mode)
    changed, out = install_present(params, check_mode, want_diff, probe, now)
    gone, out["absent"] = remove_absent(params, check_mode)
    return changed or gone, out


def remove_absent(params: t.Dict[str, t.Any], check_mode: bool) -> t.Tuple[bool, t.List[t.Dict[str, t.Any]]]:
    """The PEM files (and backups) of the ``absent`` sets. The dynamic file, rendered from the
    present certificates only, no longer names them (install_present wrote it first, so Traefik
    has dropped them before their files go)."""
    results = []
    for item in params.get("absent") or []:
        cert_file, key_file = pem_paths(item["name"], params.get("cert_dir"))
        existing = [p for path in (cert_file, key_file) for p in (path, files.backup_path(path))
                    if os.path.lexists(p)]
        previous = install.summary_of_file(cert_file).get("serial")
        if not check_mode:
            for path in existing:
                files.remove_file(path)
        results.append({"name": item["name"], "path": cert_file, "changed": bool(existing),
                        "removed": existing, "previous_serial": previous})
    return any(r["changed"] for r in results), results
