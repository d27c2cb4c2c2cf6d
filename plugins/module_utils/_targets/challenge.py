# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy and remove ACME challenges on a node (logic of the challenge module). Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.challenge import Dns01Handler
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._targets import webroot

Entry = t.Dict[str, t.Any]


def _where(entry: Entry) -> str:
    return "challenge %s for %s (certificate %s)" % (
        entry.get("type"), entry.get("identifier") or "?", entry.get("certificate") or "?")


class Http01Handler(object):
    """http-01: one file per token under ``<webroot>/.well-known/acme-challenge/``."""

    type = "http-01"
    result_key = "files"

    def __init__(self, params: t.Dict[str, t.Any]) -> None:
        self.webroot = params.get("webroot")
        self.owner = params.get("owner")
        self.group = params.get("group")
        self.state = params.get("state") or "present"
        self.wanted = {}  # type: t.Dict[str, t.Optional[str]]

    def validate(self, entries: t.Sequence[Entry]) -> None:
        """Check every entry (and the web root) before anything is written."""
        webroot.check_webroot(self.webroot)
        for entry in entries:
            try:
                token = webroot.validate_token(entry.get("token"))
                content = None
                if self.state == "present":
                    content = webroot.validate_key_authorization(token, entry.get("content"))
                webroot.token_path(self.webroot, token)
            except InputError as exc:
                raise InputError("%s: %s" % (_where(entry), exc.msg), **exc.details) from None
            if token in self.wanted and self.wanted[token] != content:
                raise InputError("%s: token %s appears twice with different content"
                                 % (_where(entry), token))
            self.wanted[token] = content

    def snapshot(self) -> t.Dict[str, t.Optional[str]]:
        """Current content of the managed token files (None when absent), for diffs."""
        result = {}
        for token in self.wanted:
            path = webroot.token_path(self.webroot, token)
            data = files.read_bytes(path)
            result[path] = None if data is None else data.decode("ascii", errors="replace")
        return result

    def predicted(self) -> t.Dict[str, t.Optional[str]]:
        if self.state == "absent":
            return {}
        after = dict((p, c) for p, c in self.snapshot().items() if c is not None)
        for token, content in self.wanted.items():
            after[webroot.token_path(self.webroot, token)] = content
        return after

    def apply(self, check_mode: bool) -> t.List[str]:
        """Write or remove the token files; return the paths changed (or that would be)."""
        if self.state == "present":
            return webroot.deploy(self.webroot, [(tok, c or "") for tok, c in self.wanted.items()],
                                  self.owner, self.group, check_mode)
        return webroot.remove(self.webroot, list(self.wanted), check_mode)


HANDLERS = {handler.type: handler for handler in (Http01Handler, Dns01Handler)}
# The option that switches each challenge type on.
CONFIGURED_BY = {"http-01": "webroot", "dns-01": "provider"}


def group_entries(challenges: t.Sequence[t.Any]) -> t.Dict[str, t.List[Entry]]:
    """Entries by challenge type, in first-seen order; unknown types are an InputError."""
    groups = {}  # type: t.Dict[str, t.List[Entry]]
    for index, entry in enumerate(challenges):
        if not isinstance(entry, dict):
            raise InputError("challenges[%d] is not a dictionary" % index)
        kind = entry.get("type")
        if kind not in HANDLERS:
            raise InputError("%s: unsupported challenge type %r (supported: %s)"
                             % (_where(entry), kind, ", ".join(sorted(HANDLERS))))
        groups.setdefault(kind, []).append(entry)
    return groups


def _skipped(entry: Entry) -> t.Dict[str, t.Any]:
    return dict((k, entry.get(k)) for k in ("certificate", "identifier", "type"))


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        context: t.Any = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Deploy (state=present) or remove (state=absent) every challenge; validate all first.

    http-01 entries are handled when ``webroot`` is set, dns-01 entries when ``provider`` is set;
    entries of a type that is not configured are skipped (listed in ``not_handled``), unless neither
    is configured, which is an InputError.
    """
    groups = group_entries(params.get("challenges") or [])
    configured = [kind for kind, option in CONFIGURED_BY.items() if params.get(option)]
    if groups and not configured:
        kind = next(iter(groups))
        need = {"http-01": "webroot is required for http-01 challenges",
                "dns-01": "dns-01 challenges need a DNS provider (option provider)"}[kind]
        raise InputError("%s; neither webroot nor provider is set: %s" % (need, _where(groups[kind][0])))
    handlers = []
    skipped = []  # type: t.List[t.Dict[str, t.Any]]
    for kind, entries in groups.items():
        if kind not in configured:
            skipped.extend(_skipped(entry) for entry in entries)
            continue
        handler = Dns01Handler(params, context) if kind == "dns-01" else HANDLERS[kind](params)
        handler.validate(entries)
        handlers.append(handler)
    result = {"files": []}  # type: t.Dict[str, t.Any]
    if params.get("provider"):
        result["records"] = []
    diff = {"before": {}, "after": {}}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for handler in handlers:
        before = handler.snapshot()
        diff["before"][handler.result_key] = dict((k, v) for k, v in before.items() if v is not None)
        diff["after"][handler.result_key] = handler.predicted()
    changed = False
    for handler in handlers:
        done = handler.apply(check_mode)
        changed = changed or bool(done)
        result[handler.result_key] = sorted(done) if handler.result_key == "files" else done
        if getattr(handler, "propagation", None):
            result["propagation"] = handler.propagation
    if skipped:  # never "skipped": Ansible would show the whole task as skipped
        result["not_handled"] = skipped
    if want_diff:
        keys = ["files"] if params.get("webroot") or not params.get("provider") else []
        for key in keys + (["records"] if params.get("provider") else []):
            diff["before"].setdefault(key, {})
            diff["after"].setdefault(key, {})
        result["diff"] = diff
    return changed, result
