# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nginx file of TLS server blocks that cert_install owns: plan, backup, write, test, reload,
roll back and commit. Private to this collection."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._targets import commands, nginx

# The backups are hidden files next to the managed one: nginx's `include` globs (`*.conf`, and
# Debian's `sites-enabled/*`) do not match names starting with a dot, so nginx never loads them.
ABSENT_SUFFIX = ".certfleet-absent"
Undo = t.Callable[[], t.List[str]]
# cert_install's nginx option.
OPTIONS = dict(
    conf_path=dict(type="path"),
    listen=dict(type="list", elements="str"),
    address=dict(type="str"),
    port=dict(type="int", default=443),
    http2=dict(type="bool", default=True),
    version=dict(type="str"),
    binary=dict(type="str", default="nginx"),
    server_extra=dict(type="str", default=""),
    test_command=dict(type="str"),
    reload_command=dict(type="str"),
    error_log=dict(type="path"),
    http_server=dict(type="dict", options=dict(
        conf_path=dict(type="path", required=True),
        server_names=dict(type="list", elements="str", required=True),
        listen=dict(type="list", elements="str"),
        port=dict(type="int", default=80),
        stateless_thumbprint=dict(type="str"),
        webroot=dict(type="path"),
        redirect_https=dict(type="bool", default=False),
        extra=dict(type="str", default=""),
    )),
)


class Conf(t.NamedTuple):
    """The managed file before and after this call."""

    path: str
    before: t.Optional[bytes]
    content: bytes
    changed: bool


def options_of(params: t.Dict[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The validated ``nginx`` option, None when absent."""
    options = params.get("nginx")
    if not options:
        return None
    return check_paths_and_commands(options, "nginx")


def check_paths_and_commands(options: t.Dict[str, t.Any], what: str) -> t.Dict[str, t.Any]:
    """``options`` with conf_path (when set: the server's configuration may be the user's, with
    only the test and the reload) an absolute file path and the commands splittable."""
    path = options.get("conf_path")
    if path is None:
        pass
    elif not isinstance(path, str) or not os.path.isabs(path) or path.endswith("/"):
        raise InputError("%s.conf_path %r must be the absolute path of a file" % (what, path))
    elif os.path.isdir(path):
        raise InputError("%s.conf_path %s is a directory" % (what, path))
    for key in ("test_command", "reload_command"):
        if options.get(key):
            commands.command_argv(options[key])
    http = options.get("http_server")
    if http:
        http_path = http.get("conf_path")
        if not isinstance(http_path, str) or not os.path.isabs(http_path) or http_path.endswith("/"):
            raise InputError("nginx.http_server.conf_path %r must be the absolute path of a file" % (http_path,))
        if path and os.path.realpath(http_path) == os.path.realpath(path):
            raise InputError("nginx.http_server.conf_path must be another file than nginx.conf_path (%s)" % path)
    return options


def backup_paths(conf_path: str) -> t.Tuple[str, str]:
    """(copy of the previous content, marker that the file did not exist)."""
    directory, base = os.path.split(conf_path)
    return (os.path.join(directory, "." + base + files.BACKUP_SUFFIX),
            os.path.join(directory, "." + base + ABSENT_SUFFIX))


def touched_paths(conf_path: str) -> t.List[str]:
    return [conf_path] + list(backup_paths(conf_path))


def plan(options: t.Dict[str, t.Any], servers: t.Sequence[nginx.Server]) -> Conf:
    """Render the file (every value checked) and compare it with the disk."""
    content = nginx.render_servers(servers, options, nginx.version_of(options))
    path = options["conf_path"]
    before = files.read_bytes(path)
    return Conf(path, before, content, files.file_needs_update(path, content, nginx.CONF_MODE))


def plan_http(options: t.Dict[str, t.Any]) -> Conf:
    """The port-80 file of nginx.http_server (every value checked), compared with the disk."""
    http = options["http_server"]
    content = nginx.render_http_server(http, options.get("address"))
    before = files.read_bytes(http["conf_path"])
    return Conf(http["conf_path"], before, content,
                files.file_needs_update(http["conf_path"], content, nginx.CONF_MODE))


def managed_paths(options: t.Optional[t.Dict[str, t.Any]]) -> t.List[str]:
    """The files this nginx option owns: the TLS file and the port-80 file, when given."""
    options = options or {}
    return [path for path in (options.get("conf_path"), (options.get("http_server") or {}).get("conf_path"))
            if path]


def write(conf: Conf, backup: bool) -> None:
    """Record what the file was (when ``backup``), then replace it atomically if it changes."""
    files.ensure_dir(os.path.dirname(conf.path), 0o755)
    if backup:
        prev, absent = backup_paths(conf.path)
        if conf.before is None:
            files.write_atomic(absent, b"", 0o600)
            files.remove_file(prev)
        else:
            files.write_atomic(prev, conf.before, nginx.CONF_MODE)
            files.remove_file(absent)
    if conf.changed:
        files.write_atomic(conf.path, conf.content, nginx.CONF_MODE)


def result(conf: Conf, tested: bool = False, reloaded: bool = False) -> t.Dict[str, t.Any]:
    return {"conf_path": conf.path, "changed": conf.changed,
            "previous_content": None if conf.before is None else conf.before.decode("utf-8", "replace"),
            "content": conf.content.decode("utf-8"), "tested": tested, "reloaded": reloaded}


def _text(outcome: commands.Outcome) -> str:
    lines = [line.strip() for line in (outcome.stderr or outcome.stdout).splitlines() if line.strip()]
    return " | ".join(lines[-nginx.ERROR_LOG_LINES:]) or "(no output)"


def _log_note(options: t.Dict[str, t.Any], offset: int = 0) -> str:
    tail = nginx.log_tail(options.get("error_log"), offset=offset)
    return "; error log %s: %s" % (options["error_log"], " | ".join(tail)) if tail else ""


def restored_note(restored: t.Sequence[str]) -> str:
    return "; restored %s" % ", ".join(restored) if restored else "; nothing to restore"


def test_and_reload(options: t.Dict[str, t.Any], undo: Undo, server: str = "nginx",
                    late_errors: bool = True) -> t.Tuple[bool, bool]:
    """Run the test, then the reload command; on a failure call ``undo`` (which puts the previous
    files back), reload those after a failed reload, and raise TargetError. Returns (tested, reloaded).
    ``server`` names the server in messages; ``late_errors`` reads nginx's error log for an
    ``[emerg]`` line after a reload that exited 0."""
    tested = reloaded = False
    start = nginx.log_size(options.get("error_log"))  # the message quotes what nginx logs from here
    if options.get("test_command"):
        outcome = commands.run(options["test_command"])
        if outcome.rc != 0:
            restored = undo()
            raise TargetError("%s configuration test failed: %s%s%s"
                              % (server, _text(outcome), _log_note(options, start), restored_note(restored)),
                              rc=outcome.rc, stderr=outcome.stderr, restored=restored)
        tested = True
    if options.get("reload_command"):
        offset = nginx.log_size(options.get("error_log"))
        outcome = commands.run(options["reload_command"])
        late = nginx.reload_error(options.get("error_log"), offset) \
            if outcome.rc == 0 and late_errors else None
        if outcome.rc != 0 or late:
            restored = undo()
            again = commands.run(options["reload_command"])
            note = ("; reloaded the previous configuration" if again.rc == 0 else
                    "; reloading the previous configuration failed too (rc=%d): %s" % (again.rc, _text(again)))
            raise TargetError("%s reload failed (rc=%d): %s%s%s%s%s"
                              % (server, outcome.rc, _text(outcome), "; nginx logged: " + late if late else "",
                                 _log_note(options, start), restored_note(restored), note),
                              rc=outcome.rc, stderr=outcome.stderr, restored=restored)
        reloaded = True
    return tested, reloaded


def rollback(conf_path: str, dry_run: bool) -> bool:
    """Put the managed file back as the last backup recorded it; whether it changed (or would)."""
    prev, absent = backup_paths(conf_path)
    if os.path.isfile(prev):
        data = files.read_bytes(prev)
        if not files.file_needs_update(conf_path, data or b"", nginx.CONF_MODE):
            return False
        if not dry_run:
            files.write_atomic(conf_path, data or b"", nginx.CONF_MODE)
        return True
    if os.path.isfile(absent) and os.path.lexists(conf_path):
        if not dry_run:
            files.remove_file(conf_path)
        return True
    return False


def reload_after_rollback(options: t.Dict[str, t.Any], server: str = "nginx") -> bool:
    """Test (when asked) and reload the restored configuration; TargetError with its stderr."""
    for key, what in (("test_command", "%s configuration test failed after the rollback" % server),
                      ("reload_command", "%s reload failed after the rollback" % server)):
        if options.get(key):
            outcome = commands.run(options[key])
            if outcome.rc != 0:
                raise TargetError("%s (rc=%d): %s%s" % (what, outcome.rc, _text(outcome), _log_note(options)),
                                  rc=outcome.rc, stderr=outcome.stderr)
    return bool(options.get("reload_command"))


def remove_backups(paths: t.Iterable[str], dry_run: bool) -> t.List[str]:
    """Remove the backup files that exist among ``paths``; the ones removed (or that would be)."""
    present = [path for path in paths if os.path.lexists(path)]
    if not dry_run:
        for path in present:
            files.remove_file(path)
    return present
