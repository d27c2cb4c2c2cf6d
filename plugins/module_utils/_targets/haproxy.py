# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy target: combined PEM files (and crt-list lines), ``haproxy -c``, hitless update through
the runtime API or a graceful reload, verification, roll-back (logic of haproxy_cert). Private to
this collection."""

from __future__ import annotations

import datetime
import os
import re
import signal
import socket
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy, install

DEFAULT_DEST_DIR = "/etc/haproxy/certs"
DEFAULT_CONFIG = ("/etc/haproxy/haproxy.cfg",)
DEFAULT_RELOAD = ("systemctl", "reload", "haproxy")
BACKUP_DIR = ".certfleet-prev"  # HAProxy skips sub-directories of a `crt <dir>`
_SERIAL_RE = re.compile(r"^Serial:\s*([0-9A-Fa-f]+)\s*$", re.M)


def backup_of(path: str) -> str:
    return os.path.join(os.path.dirname(path), BACKUP_DIR, os.path.basename(path))


def combined_pem(prep: install.Prepared) -> bytes:
    """What HAProxy loads from one file: leaf, intermediates, private key."""
    return prep.contents["fullchain"] + prep.contents["privkey"]


def cert_path(item: t.Dict[str, t.Any], dest_dir: t.Optional[str]) -> str:
    return item.get("path") or os.path.join(dest_dir or DEFAULT_DEST_DIR, item["name"] + ".pem")


def normalize_serial(serial: t.Optional[str]) -> t.Optional[str]:
    return None if not serial else (serial.lower().lstrip("0") or "0")


class RuntimeApi(object):
    """HAProxy's CLI on a stats socket (``level admin`` for certificate updates); one connection
    per command, as HAProxy closes a non-interactive session after answering."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    def command(self, line: str, payload: t.Optional[str] = None) -> str:
        data = line
        if payload is not None:
            # Multi-line payload (HAProxy >= 2.2): "<<" then the lines, ended by an empty line.
            body = "\n".join(part for part in payload.splitlines() if part.strip())
            data += " <<\n" + body + "\n"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
            sock.sendall(data.encode("ascii") + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:
            raise TargetError("HAProxy runtime API %s on %s: %s"
                              % (self.path, deploy.host_label(), exc.strerror or exc),
                              socket=self.path) from None
        finally:
            sock.close()
        return b"".join(chunks).decode("utf-8", "replace").strip()

    def show_certs(self) -> t.Tuple[t.List[str], t.List[str]]:
        """(files HAProxy has loaded, files with an uncommitted transaction) from ``show ssl cert``."""
        return parse_show_ssl_cert(self.command("show ssl cert"))

    def serial(self, path: str) -> t.Optional[str]:
        """The serial HAProxy serves from ``path`` (lower-case hex), None if it does not know it."""
        match = _SERIAL_RE.search(self.command("show ssl cert %s" % path))
        return normalize_serial(match.group(1)) if match else None

    def replace(self, path: str, pem: str) -> None:
        """``set ssl cert`` + ``commit ssl cert``; TargetError with HAProxy's answer on failure."""
        answer = self.command("set ssl cert %s" % path, pem)
        if "Transaction created" not in answer and "Transaction updated" not in answer:
            raise TargetError("HAProxy refused set ssl cert %s: %s" % (path, _one_line(answer)),
                              answer=answer)
        answer = self.command("commit ssl cert %s" % path)
        if "Success!" not in answer:
            self.command("abort ssl cert %s" % path)
            raise TargetError("HAProxy refused commit ssl cert %s: %s" % (path, _one_line(answer)),
                              answer=answer)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def parse_show_ssl_cert(text: str) -> t.Tuple[t.List[str], t.List[str]]:
    loaded, pending_tx = [], []  # type: t.List[str], t.List[str]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            pending_tx.append(line[1:])
        else:
            loaded.append(line)
    return loaded, pending_tx


def crt_list_line(path: str, item: t.Dict[str, t.Any]) -> str:
    parts = [path]
    if item.get("ssl_options"):
        parts.append("[%s]" % item["ssl_options"].strip().strip("[]").strip())
    parts.extend(item.get("sni_filters") or [])
    return " ".join(parts)


def render_crt_list(existing: t.Optional[bytes], lines: t.Dict[str, str]) -> bytes:
    """``existing`` with our lines replaced in place (matched by the first field, the file) and
    missing ones appended; other lines and comments stay as they are."""
    out, seen = [], set()  # type: t.List[str], t.Set[str]
    for line in (existing or b"").decode("utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and fields[0] in lines:
            if fields[0] not in seen:
                out.append(lines[fields[0]])
                seen.add(fields[0])
            continue
        out.append(line)
    out.extend(line for path, line in lines.items() if path not in seen)
    return ("\n".join(out) + "\n").encode("utf-8")


class HAProxy(object):
    """One run of the HAProxy target (parameters, runtime API, probe, command runner)."""

    def __init__(self, params: t.Dict[str, t.Any], probe: deploy.Probe,
                 api_factory: t.Callable[[str], t.Any] = RuntimeApi,
                 runner: t.Callable[..., str] = deploy.run_command) -> None:
        self.params = params
        self.api = api_factory(params["admin_socket"]) if params.get("admin_socket") else None
        self.probe = probe
        self.runner = runner
        self.warnings = []  # type: t.List[str]
        self.validate_output = None  # type: t.Optional[str]

    def validate(self) -> None:
        argv = [self.params.get("haproxy_path") or "haproxy", "-c"]
        for config in self.params.get("config") or DEFAULT_CONFIG:
            argv += ["-f", config]
        self.validate_output = self.runner(argv, "haproxy -c")

    def reload(self) -> None:
        pid_file = self.params.get("master_pid_file")
        if not pid_file:
            self.runner(self.params.get("reload_command") or list(DEFAULT_RELOAD), "HAProxy reload")
            return
        try:
            with open(pid_file) as handle:
                pid = int(handle.read().split()[0])
            os.kill(pid, signal.SIGUSR2)
        except (OSError, ValueError, IndexError) as exc:
            raise TargetError("HAProxy reload on %s: cannot signal the master process from %s: %s"
                              % (deploy.host_label(), pid_file, exc)) from None

    def choose_method(self, cert_paths: t.Sequence[str], list_changed: bool) -> str:
        """``runtime_api`` when HAProxy already serves every file to update and no crt-list line
        changes; ``reload`` otherwise (a new file needs new ssl cert + add ssl crt-list)."""
        if self.params.get("method") == "reload" or self.api is None or list_changed:
            return "reload"
        try:
            loaded, _pending = self.api.show_certs()
        except TargetError as exc:
            self.warnings.append("%s; reloading instead" % exc.msg)
            return "reload"
        return "runtime_api" if all(path in loaded for path in cert_paths) else "reload"

    def apply(self, method: str, updates: t.Sequence[t.Tuple[str, bytes]]) -> str:
        """Make HAProxy serve the files; returns the method that did it."""
        if method == "runtime_api":
            try:
                for path, pem in updates:
                    self.api.replace(path, pem.decode("ascii"))
                return method
            except TargetError as exc:
                self.warnings.append("runtime API update failed (%s); reloading instead" % exc.msg)
        self.reload()
        return "reload"

    def wait_until_served(self, expected: t.Dict[str, str], checks: t.Sequence[t.Dict[str, t.Any]],
                          timeout: float) -> t.List[t.Dict[str, t.Any]]:
        """Runtime API (``show ssl cert <file>``) and TLS handshakes agree with ``expected``."""
        deadline = time.monotonic() + timeout
        if self.api is not None and expected:
            seen = {}  # type: t.Dict[str, t.Any]
            while True:
                for path, serial in expected.items():
                    try:
                        seen[path] = self.api.serial(path)
                    except TargetError as exc:  # the socket moves to the new worker on reload
                        seen[path] = exc.msg
                if all(seen[path] == normalize_serial(serial) for path, serial in expected.items()):
                    break
                if time.monotonic() >= deadline:
                    raise TargetError("HAProxy on %s does not serve the expected certificates: %s"
                                      % (deploy.host_label(), "; ".join(
                                          "%s: %s (expected %s)" % (path, seen[path] or "not loaded",
                                                                    serial)
                                          for path, serial in expected.items())))
                time.sleep(0.2)
        results = deploy.wait_for_serials(checks, max(0.0, deadline - time.monotonic()), self.probe)
        if not all(result["ok"] for result in results):
            raise TargetError("HAProxy on %s: %s" % (deploy.host_label(), deploy.describe_failures(results)),
                              verified=results)
        return results

    def served_mismatch(self, expected: t.Dict[str, str], checks: t.Sequence[t.Dict[str, t.Any]]) -> bool:
        """Files are right but HAProxy serves something else (an earlier run failed half-way)?"""
        if self.api is not None:
            for path, serial in expected.items():
                if self.api.serial(path) != normalize_serial(serial):
                    return True
        return any(deploy.probe_serial(check, self.probe)[0] != check["expected_serial"] for check in checks)

    def transact(self, entries: t.Sequence[deploy.Entry], uid: t.Optional[int], gid: t.Optional[int],
                 method: str, updates: t.Sequence[t.Tuple[str, bytes]], expected: t.Dict[str, str],
                 checks: t.Sequence[t.Dict[str, t.Any]],
                 prior: t.Optional[t.Tuple[deploy.Snapshot, t.List[str]]] = None) -> t.Tuple[str, t.List[t.Any]]:
        """Write ``entries``, ``haproxy -c``, apply, verify; on any failure put the previous files
        back (and make HAProxy serve them again) and raise with HAProxy's own message. With
        ``prior`` (snapshot, paths) the files are already written and that snapshot is "previous"."""
        if prior is None:
            order = [entry.path for entry in entries]
            backup = bool(self.params.get("backup", True))
            # A failed change must not cost the backups of the set before it: restored too.
            order += [backup_of(path) for path in order] if backup else []
            saved = deploy.snapshot(order)
            deploy.write(entries, uid, gid, backup_of if backup else None)
        else:
            saved, order = prior
        try:
            self.validate()
        except TargetError as exc:
            deploy.restore(saved, order)
            raise TargetError("%s. The previous files are back; HAProxy was not touched."
                              % exc.msg.rstrip("."),
                              **exc.details) from None
        used = method
        try:
            used = self.apply(method, updates)
            return used, self.wait_until_served(expected, checks, float(self.params.get("verify_timeout") or 30))
        except TargetError as exc:
            if not order:  # the files were right before the run: nothing to put back
                raise TargetError("%s; the files were already in place before this run" % exc.msg,
                                  **exc.details) from None
            deploy.restore(saved, order)
            old = [(path, saved[path][0]) for path, _pem in updates if saved.get(path)]
            try:
                self.apply(used if len(old) == len(updates) else "reload", old)
                note = "the previous files are back and HAProxy serves them again (%s)" % used
            except TargetError as again:
                note = "the previous files are back, but applying them failed too: %s" % again.msg
            raise TargetError("%s; %s" % (exc.msg, note), **exc.details) from None


def _entries(params: t.Dict[str, t.Any], prepared: t.Sequence[install.Prepared]
             ) -> t.Tuple[t.List[deploy.Entry], t.Dict[str, str], t.Optional[deploy.Entry]]:
    mode = files.key_file_mode(params.get("mode"), "the combined PEM file")
    items = dict((item["name"], item) for item in params["certificates"])
    paths = dict((prep.name, cert_path(items[prep.name], params.get("dest_dir"))) for prep in prepared)
    entries = [deploy.Entry(paths[prep.name], combined_pem(prep), mode) for prep in prepared]
    list_entry = None
    if params.get("crt_list"):
        lines = dict((paths[name], crt_list_line(paths[name], items[name])) for name in paths)
        list_entry = deploy.Entry(params["crt_list"],
                                  render_crt_list(files.read_bytes(params["crt_list"]), lines), 0o644)
        entries.append(list_entry)
    return entries, paths, list_entry


def install_present(params: t.Dict[str, t.Any], target: HAProxy, check_mode: bool, want_diff: bool,
                    now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    prepared = deploy.prepare_all(params["certificates"], now)
    entries, paths, list_entry = _entries(params, prepared)
    uid, gid = files.resolve_owner(params.get("owner")), files.resolve_group(params.get("group"))
    todo = set(entry.path for entry in deploy.pending(entries, uid, gid))
    checks = deploy.plan_checks(params.get("verify") or [], prepared)
    expected = dict((paths[prep.name], prep.summary["serial"]) for prep in prepared)
    previous = dict((prep.name, install.summary_of_file(paths[prep.name])) for prep in prepared)
    list_changed = list_entry is not None and list_entry.path in todo
    reason = "files" if todo else ("served" if target.served_mismatch(expected, checks) else None)
    changed_certs = [prep for prep in prepared if paths[prep.name] in todo or reason == "served"]
    updates = [(paths[prep.name], combined_pem(prep)) for prep in changed_certs]
    method, verified = None, []  # type: t.Optional[str], t.List[t.Any]
    content_changed = any(files.read_bytes(entry.path) != entry.data for entry in entries)
    if reason == "files" and not content_changed:
        if not check_mode:  # only mode or owner differ: HAProxy need not know
            deploy.write(entries, uid, gid)
    elif reason:
        method = target.choose_method([path for path, _pem in updates], list_changed)
        if not check_mode:
            prior = None if todo else ({}, [])  # files already right: nothing to write or restore
            method, verified = target.transact(entries, uid, gid, method, updates, expected, checks, prior)
    certificates = [deploy.certificate_result(prep, paths[prep.name], prep in changed_certs,
                                              previous[prep.name]) for prep in prepared]
    out = {"certificates": certificates, "method": method, "reason": reason,
           "crt_list": params.get("crt_list"), "crt_list_changed": list_changed,
           "validate_output": target.validate_output, "verified": verified,
           "warnings": target.warnings}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = {"before": dict((name, previous[name]) for name in previous),
                       "after": dict((prep.name, prep.summary) for prep in prepared)}
    return bool(reason), out


def drop_crt_list_lines(existing: t.Optional[bytes], paths: t.Sequence[str]) -> t.Optional[bytes]:
    """``existing`` without the lines of ``paths`` (matched by the first field); None when absent."""
    if existing is None:
        return None
    kept = [line for line in existing.decode("utf-8").splitlines()
            if not (line.split() and line.split()[0] in paths)]
    return ("\n".join(kept) + "\n").encode("utf-8") if kept else b""


def remove_absent(params: t.Dict[str, t.Any], target: HAProxy, check_mode: bool) -> t.Tuple[bool, t.List[t.Dict[str, t.Any]]]:
    """The sets of ``absent``: their PEM files (and backups) and crt-list lines go, ``haproxy -c``
    passes, a graceful reload makes HAProxy forget them (a ``crt`` directory is read at start-up
    only). On a failure the files are put back and HAProxy reloaded with them again."""
    results, removed = [], []  # type: t.List[t.Dict[str, t.Any]], t.List[str]
    for item in params.get("absent") or []:
        path = cert_path(item, params.get("dest_dir"))
        existing = [p for p in (path, backup_of(path)) if os.path.lexists(p)]
        removed += existing
        results.append({"name": item["name"], "path": path, "changed": bool(existing), "removed": existing,
                        "previous_serial": install.summary_of_file(path).get("serial")})
    crt_list = params.get("crt_list")
    list_data = drop_crt_list_lines(files.read_bytes(crt_list), [r["path"] for r in results]) \
        if crt_list else None
    list_changed = list_data is not None and list_data != files.read_bytes(crt_list)
    if not (removed or list_changed) or check_mode:
        return bool(removed or list_changed), results
    order = removed + ([crt_list] if list_changed else [])
    saved = deploy.snapshot(order)
    try:
        for path in removed:
            files.remove_file(path)
        if list_changed:
            files.write_atomic(crt_list, list_data, 0o644)
        target.validate()
    except TargetError as exc:
        deploy.restore(saved, order)
        raise TargetError("%s. The removed files are back; HAProxy was not touched." % exc.msg.rstrip("."),
                          **exc.details) from None
    try:
        target.reload()
    except TargetError as exc:
        deploy.restore(saved, order)
        raise TargetError("%s; the removed files are back" % exc.msg, **exc.details) from None
    return True, results


def rollback(params: t.Dict[str, t.Any], target: HAProxy, check_mode: bool,
             want_diff: bool) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Restore the saved set (``.certfleet-prev`` beside the files) and make HAProxy serve it."""
    paths = dict((item["name"], cert_path(item, params.get("dest_dir"))) for item in params["certificates"])
    order = list(paths.values()) + ([params["crt_list"]] if params.get("crt_list") else [])
    if not files.has_backup(order, backup_of):
        raise TargetError("HAProxy on %s: no backup to roll back to (no %s directory next to %s)"
                          % (deploy.host_label(), BACKUP_DIR, ", ".join(order)))
    before = dict((name, install.summary_of_file(path)) for name, path in paths.items())
    list_changed = bool(params.get("crt_list")) and files.file_needs_update(
        params["crt_list"], files.read_bytes(backup_of(params["crt_list"])) or b"", 0o644)
    changed = files.restore_set(order, dry_run=True, backup_of=backup_of)
    method, verified = None, []  # type: t.Optional[str], t.List[t.Any]
    after = dict((name, install.summary_of_file(backup_of(path))) for name, path in paths.items())
    if changed:
        updates = [(path, files.read_bytes(backup_of(path)) or b"") for path in paths.values()
                   if os.path.isfile(backup_of(path))]
        method = target.choose_method([path for path, _pem in updates], list_changed
                                      or len(updates) < len(paths))
        if not check_mode:
            saved = deploy.snapshot(order)
            files.restore_set(order, backup_of=backup_of)
            restored = [_Served(name, after[name]) for name in paths if after[name]]
            checks = deploy.plan_checks(params.get("verify") or [], restored)
            expected = dict((paths[s.name], s.summary["serial"]) for s in restored)
            method, verified = target.transact([], None, None, method, updates, expected, checks,
                                               (saved, order))
    results = [{"name": name, "changed": changed and before[name] != after[name],
                "serial": after[name].get("serial"), "names": after[name].get("names", []),
                "not_after": after[name].get("not_after"),
                "previous_serial": before[name].get("serial"), "path": paths[name]} for name in paths]
    out = {"certificates": results, "method": method, "reason": "rollback" if changed else None,
           "crt_list": params.get("crt_list"), "crt_list_changed": list_changed and changed,
           "validate_output": target.validate_output, "verified": verified,
           "warnings": target.warnings}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = {"before": before, "after": after}
    return changed, out


class _Served(t.NamedTuple):
    name: str
    summary: t.Dict[str, t.Any]


_CRT_LIST_WORD = re.compile(r"[^\s\[\]]+")


def check_params(params: t.Dict[str, t.Any]) -> None:
    """Every name, path and crt-list field, in every state, before any path is built."""
    if params.get("method") not in (None, "auto", "reload"):
        raise InputError("method must be auto or reload")
    deploy.check_names(params["certificates"])
    deploy.check_absent(params, lambda item: cert_path(item, params.get("dest_dir")))
    files.key_file_mode(params.get("mode"), "the combined PEM file")
    for option in ("dest_dir", "crt_list"):
        if params.get(option):
            files.check_path(params[option], option)
    for item in params["certificates"]:
        if item.get("path"):
            files.check_path(item["path"], "certificates[%s].path" % item["name"])
        if params.get("crt_list"):
            words = [cert_path(item, params.get("dest_dir"))] + list(item.get("sni_filters") or [])
            words += (item.get("ssl_options") or "").strip().strip("[]").split()
            bad = [word for word in words if not isinstance(word, str) or not _CRT_LIST_WORD.fullmatch(word)]
            if bad:
                raise InputError("certificate %s: %r cannot go on a crt-list line (no spaces, brackets "
                                 "or line breaks in the path or an SNI filter)" % (item["name"], bad[0]))


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        probe: t.Optional[deploy.Probe] = None, api_factory: t.Callable[[str], t.Any] = RuntimeApi,
        runner: t.Callable[..., str] = deploy.run_command,
        now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    check_params(params)
    target = HAProxy(params, probe or tlsprobe.fetch_peer_certificate, api_factory, runner)
    if params.get("state") == "rollback":
        return rollback(params, target, check_mode, want_diff)
    if params.get("state") == "commit":
        sets = dict((item["name"], [cert_path(item, params.get("dest_dir"))]) for item in params["certificates"])
        return deploy.commit(sets, [params["crt_list"]] if params.get("crt_list") else [], check_mode, backup_of)
    changed, out = install_present(params, target, check_mode, want_diff, now)
    gone, out["absent"] = remove_absent(params, target, check_mode)
    if gone and not out.get("method"):
        out["method"] = "reload"
    return changed or gone, out
