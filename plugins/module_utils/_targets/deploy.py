# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install a TLS server's files as one transaction: write, check, apply, verify what is served,
put the previous files back on failure. Shared by the HAProxy and Traefik targets. Private to this
collection."""

from __future__ import annotations

import copy
import datetime
import os
import socket
import subprocess
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import (
    CertfleetError, InputError, TargetError)
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import validate_certificate_name
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import commands, install

Probe = t.Callable[..., tlsprobe.PeerCertificate]
Snapshot = files.Snapshot
snapshot = files.snapshot
command_argv = commands.command_argv


class Entry(t.NamedTuple):
    """One file the target needs, with its content and mode."""

    path: str
    data: bytes
    mode: int


def host_label() -> str:
    return socket.gethostname() or "this host"


def check_names(items: t.Sequence[t.Dict[str, t.Any]]) -> t.List[str]:
    """Every item's name by the collection's certificate-name rule, unique; before any path."""
    names = [validate_certificate_name(item.get("name")) for item in items]
    duplicates = sorted(set(name for name in names if names.count(name) > 1))
    if duplicates:
        raise InputError("certificate names must be unique: %s" % ", ".join(duplicates))
    return names


def prepare_all(items: t.Sequence[t.Dict[str, t.Any]],
                now: t.Optional[datetime.datetime] = None) -> t.List[install.Prepared]:
    """Validate every certificate item (PEM, key match, validity) as cert_install does."""
    check_names(items)
    now = now or utcnow()
    return [install.prepare(item, "/", now) for item in items]


def pending(entries: t.Sequence[Entry], uid: t.Optional[int] = None,
            gid: t.Optional[int] = None) -> t.List[Entry]:
    """The entries whose file lacks this content, mode or owner."""
    return [entry for entry in entries
            if files.file_needs_update(entry.path, entry.data, entry.mode, uid, gid)]


def write(entries: t.Sequence[Entry], uid: t.Optional[int] = None, gid: t.Optional[int] = None,
          backup_of: t.Optional[t.Callable[[str], str]] = None) -> None:
    """Back up the whole set (when ``backup_of``), then stage every pending file and rename them
    into place in the order given (put the file a server watches last)."""
    todo = pending(entries, uid, gid)
    if not todo:
        return
    for entry in entries:
        files.ensure_dir(os.path.dirname(entry.path), 0o755)
    if backup_of is not None:
        for entry in entries:
            files.ensure_dir(os.path.dirname(backup_of(entry.path)), 0o700)
        files.backup_set([entry.path for entry in entries], backup_of)
    staged = []  # type: t.List[t.Tuple[str, str]]
    try:
        for entry in todo:
            staged.append((files.stage_file(entry.path, entry.data, entry.mode, uid, gid), entry.path))
    except BaseException:
        files.discard_staged(staged)
        raise
    files.commit_staged(staged)


def commit(sets: t.Dict[str, t.Sequence[str]], shared: t.Sequence[str], dry_run: bool,
           backup_of: t.Optional[t.Callable[[str], str]] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=commit: the new files are served and verified; remove the backups of each named set
    (``sets``: name -> its files) and of the ``shared`` files (a crt-list, a dynamic file), so no
    previous private key stays on the node."""
    backup = backup_of or files.backup_path
    results = []
    for name, paths in sets.items():
        removed = _remove_existing([backup(path) for path in paths], dry_run)
        results.append({"name": name, "changed": bool(removed), "removed": removed})
    shared_removed = _remove_existing([backup(path) for path in shared], dry_run)
    changed = bool(shared_removed) or any(r["changed"] for r in results)
    return changed, {"certificates": results, "removed_shared": shared_removed}


def _remove_existing(paths: t.Sequence[str], dry_run: bool) -> t.List[str]:
    present = [path for path in paths if os.path.lexists(path)]
    if not dry_run:
        for path in present:
            files.remove_file(path)
    return present


def restore(saved: Snapshot, order: t.Sequence[str]) -> None:
    """Put the files of a :func:`snapshot` back exactly (removing files that did not exist)."""
    files.restore_snapshot(saved, order)


def run_command(command: t.Union[str, t.Sequence[str]], what: str, timeout: float = 60.0) -> str:
    """Run a command; its combined output, or TargetError quoting that output."""
    argv = command_argv(command)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise TargetError("%s on %s: command not found: %s" % (what, host_label(), argv[0]),
                          command=argv) from None
    except subprocess.TimeoutExpired:
        raise TargetError("%s on %s: %s did not finish within %gs" % (what, host_label(), argv[0], timeout),
                          command=argv) from None
    output = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise TargetError("%s on %s failed (%s exited %d): %s"
                          % (what, host_label(), " ".join(argv), proc.returncode, output or "(no output)"),
                          command=argv, rc=proc.returncode, output=output)
    return output


def _name_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _dot, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def plan_checks(endpoints: t.Sequence[t.Dict[str, t.Any]],
                prepared: t.Sequence[install.Prepared]) -> t.List[t.Dict[str, t.Any]]:
    """For each endpoint, the certificate (by name) it must serve: O(endpoints[].certificate),
    else the one whose names cover the SNI name, else the only one."""
    by_name = dict((prep.name, prep) for prep in prepared)
    checks = []
    for endpoint in endpoints or []:
        if not endpoint.get("host"):
            raise InputError("every verify endpoint needs a host")
        server_name = endpoint.get("server_name") or endpoint["host"]
        name = endpoint.get("certificate")
        if name and name not in by_name:
            raise InputError("verify endpoint %s names certificate %s, which is not being installed"
                             % (endpoint["host"], name))
        if not name:
            covering = [prep.name for prep in prepared
                        if any(_name_matches(pattern, server_name) for pattern in prep.summary["names"])]
            if covering:
                name = covering[0]
            elif len(prepared) == 1:
                name = prepared[0].name
            else:
                raise InputError("cannot tell which certificate %s (SNI %s) must serve: set certificate"
                                 % (endpoint["host"], server_name))
        checks.append({"host": endpoint["host"], "port": int(endpoint.get("port") or 443),
                       "server_name": server_name, "certificate": name,
                       "expected_serial": by_name[name].summary["serial"]})
    return checks


def probe_serial(check: t.Dict[str, t.Any], probe: Probe, timeout: float = 5.0) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """(serial served, error) for one check."""
    try:
        peer = probe(check["host"], check["port"], check["server_name"], timeout)
        return x509.parse_certificate(peer.der)["serial"], None
    except CertfleetError as exc:
        return None, exc.msg


def wait_for_serials(checks: t.Sequence[t.Dict[str, t.Any]], timeout: float, probe: Probe,
                     interval: float = 0.25, clock: t.Callable[[], float] = time.monotonic,
                     sleep: t.Callable[[float], None] = time.sleep) -> t.List[t.Dict[str, t.Any]]:
    """Poll TLS handshakes (SNI) until every endpoint serves its expected serial or ``timeout``
    passes; return one result per check with ``served_serial``, ``error`` and ``ok``."""
    deadline = clock() + timeout
    results = [dict(check, served_serial=None, error=None, ok=False) for check in checks]
    while True:
        for result in results:
            if result["ok"]:
                continue
            serial, error = probe_serial(result, probe, max(1.0, min(5.0, timeout)))
            result.update(served_serial=serial, error=error, ok=serial == result["expected_serial"])
        if all(result["ok"] for result in results) or clock() >= deadline:
            return results
        sleep(interval)


def describe_failures(results: t.Sequence[t.Dict[str, t.Any]]) -> str:
    parts = []
    for result in results:
        if result["ok"]:
            continue
        where = "%s:%d (SNI %s)" % (result["host"], result["port"], result["server_name"])
        if result["error"]:
            parts.append("%s: %s" % (where, result["error"]))
        else:
            parts.append("%s serves serial %s, expected %s"
                         % (where, result["served_serial"], result["expected_serial"]))
    return "; ".join(parts)


def check_absent(params: t.Dict[str, t.Any], path_of: t.Callable[[t.Dict[str, t.Any]], str]) -> None:
    """The names of ``absent`` are safe and none is installed by the same call."""
    absent = params.get("absent") or []
    check_names(absent)
    present = dict((path_of(item), item["name"]) for item in params["certificates"])
    for item in absent:
        if item["name"] in present.values() or path_of(item) in present:
            raise InputError("certificate %s is both installed and absent (%s)" % (item["name"], path_of(item)))


def certificate_result(prep: install.Prepared, path: str, changed: bool,
                       previous: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return {"name": prep.name, "changed": changed, "serial": prep.summary["serial"],
            "names": prep.summary["names"], "not_after": prep.summary["not_after"],
            "previous_serial": previous.get("serial"), "path": path}


# The option group every TLS-server target module shares; plugins/doc_fragments/tls_target.py
# documents exactly these (a unit test keeps the two in step).
TARGET_OPTIONS = {
    "verify": {"type": "list", "elements": "dict", "default": [], "options": {
        "host": {"type": "str", "required": True},
        "port": {"type": "int", "default": 443},
        "server_name": {"type": "str"},
        "certificate": {"type": "str"},
    }},
    "verify_timeout": {"type": "float", "default": 30.0},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "backup": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "rollback", "commit"], "default": "present"},
}

# Suboptions of every target's certificates[] item (each module may add its own).
CERTIFICATE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "cert": {"type": "str"},
    "chain": {"type": "str", "default": ""},
    "privatekey": {"type": "str", "no_log": True},
}


def target_argument_spec(certificate_extra: t.Dict[str, t.Any],
                         **extra: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    spec = copy.deepcopy(TARGET_OPTIONS)
    options = copy.deepcopy(CERTIFICATE_OPTIONS)
    options.update(certificate_extra)
    spec["certificates"] = {"type": "list", "elements": "dict", "required": True, "options": options}
    spec.update(extra)
    return spec
