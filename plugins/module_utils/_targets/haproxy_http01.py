# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stateless http-01 on HAProxy (logic of haproxy_http01): one managed ``http-request return``
rule at the top of a frontend answers every token with ``<token>.<account thumbprint>``. Private
to this collection.

HAProxy has no include directive for the lines of a section, and its runtime API cannot add
``http-request`` rules, so the rule lives in the configuration file itself, between two marker
comments that only this module writes; ``haproxy -c`` checks it and a reload applies it, and a
failure puts the previous file back."""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.challenges import validate_thumbprint
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy, haproxy

_SECTION_RE = re.compile(r"^\s*(global|defaults|frontend|backend|listen|peers|resolvers|userlist|"
                         r"program|mailers|cache|ring|http-errors|crt-store|traces)\b(?:\s+(\S+))?")
_FRONTEND_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
CHALLENGE_ACL = r"{ path_reg ^/\.well-known/acme-challenge/[-_a-zA-Z0-9]+$ }"


def markers(frontend: str) -> t.Tuple[str, str]:
    return ("    # BEGIN certfleet.acme.haproxy_http01 (frontend %s): stateless http-01; do not edit" % frontend,
            "    # END certfleet.acme.haproxy_http01 (frontend %s)" % frontend)


def rule(thumbprint: str) -> str:
    """The line that answers every token path with ``<token>.<thumbprint>`` (the token is the
    fourth field of ``/.well-known/acme-challenge/<token>``)."""
    value = validate_thumbprint(thumbprint, "thumbprint")
    return ('    http-request return status 200 content-type text/plain lf-string '
            '"%%[path,field(4,/)].%s" if %s' % (value, CHALLENGE_ACL))


def render(text: str, frontend: str, thumbprint: t.Optional[str]) -> str:
    """``text`` with the managed block of ``frontend`` removed and, with a thumbprint, written
    again right after the ``frontend`` line (before any redirect of that frontend can catch the path)."""
    if not isinstance(frontend, str) or not _FRONTEND_NAME_RE.fullmatch(frontend):
        raise InputError("frontend %r is not a HAProxy section name" % (frontend,))
    begin, end = markers(frontend)
    lines, kept, inside = text.splitlines(), [], False
    for line in lines:
        if line.rstrip() == begin.rstrip():
            inside = True
        elif inside and line.rstrip() == end.rstrip():
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise InputError("the managed block of frontend %s has no end marker; fix the file by hand" % frontend)
    sections = [(index, match.group(1), match.group(2)) for index, match in
                ((i, _SECTION_RE.match(line)) for i, line in enumerate(kept)) if match]
    found = [index for index, kind, name in sections if kind in ("frontend", "listen") and name == frontend]
    if len(found) != 1:
        names = sorted(set(name for _i, kind, name in sections if kind in ("frontend", "listen") and name))
        raise InputError("the configuration has %s frontend %s (its frontends: %s)"
                         % ("no" if not found else "more than one", frontend, ", ".join(names) or "none"))
    if thumbprint:
        kept[found[0] + 1:found[0] + 1] = [begin, rule(thumbprint), end]
    return "\n".join(kept) + "\n"


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        runner: t.Callable[..., str] = deploy.run_command) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    path = params["config"]
    files.check_path(path, "config")
    state = params.get("state") or "present"
    thumbprint = params.get("thumbprint")
    if state == "present" and not thumbprint:
        raise InputError("thumbprint is required with state=present (the account module's thumbprint)")
    before = files.read_bytes(path)
    if before is None:
        raise InputError("the HAProxy configuration %s does not exist" % path)
    after = render(before.decode("utf-8", "replace"), params["frontend"],
                   thumbprint if state == "present" else None).encode("utf-8")
    changed = after != before
    target = haproxy.HAProxy(dict(params, config=params.get("config_files") or [path]),
                             probe=None, runner=runner)  # type: ignore[arg-type]
    reloaded = False
    if changed and not check_mode:
        mode = os.stat(path).st_mode & 0o7777
        files.write_atomic(path, after, mode)
        try:
            target.validate()
        except TargetError as exc:
            files.write_atomic(path, before, mode)
            raise TargetError("%s. The previous configuration is back; HAProxy was not touched."
                              % exc.msg.rstrip("."), **exc.details) from None
        try:
            target.reload()
        except TargetError as exc:
            files.write_atomic(path, before, mode)
            raise TargetError("%s; the previous configuration is back (not reloaded)" % exc.msg,
                              **exc.details) from None
        reloaded = True
    out = {"config": path, "frontend": params["frontend"], "state": state,
           "rule": rule(thumbprint).strip() if state == "present" else None,
           "reloaded": reloaded, "validate_output": target.validate_output}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = {"before_header": path, "after_header": path,
                       "before": before.decode("utf-8", "replace"), "after": after.decode("utf-8")}
    return changed, out
