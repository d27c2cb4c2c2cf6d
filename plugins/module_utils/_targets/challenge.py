# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy and remove ACME challenges on a node (logic of the challenge module). Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import files, webroot

Entry = t.Dict[str, t.Any]


def _where(entry: Entry) -> str:
    return "challenge %s for %s (certificate %s)" % (
        entry.get("type"), entry.get("identifier") or "?", entry.get("certificate") or "?")


class Http01Handler(object):
    """http-01: one file per token under ``<webroot>/.well-known/acme-challenge/``."""

    type = "http-01"

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

    def predicted(self, before: t.Dict[str, t.Optional[str]]) -> t.Dict[str, t.Optional[str]]:
        after = dict(before)
        for token, content in self.wanted.items():
            after[webroot.token_path(self.webroot, token)] = content
        return after

    def apply(self, check_mode: bool) -> t.List[str]:
        """Write or remove the token files; return the paths changed (or that would be)."""
        if self.state == "present":
            return webroot.deploy(self.webroot, [(tok, c or "") for tok, c in self.wanted.items()],
                                  self.owner, self.group, check_mode)
        return webroot.remove(self.webroot, list(self.wanted), check_mode)


class Dns01Handler(object):
    """dns-01: needs a DNS provider, which a later version adds (option ``provider``)."""

    type = "dns-01"

    def __init__(self, params: t.Dict[str, t.Any]) -> None:
        self.params = params

    def validate(self, entries: t.Sequence[Entry]) -> None:
        raise InputError(
            "dns-01 challenges need a DNS provider (option provider), which this version of "
            "certfleet.acme.challenge does not support yet; %s" % _where(entries[0]),
            identifiers=sorted(set(str(entry.get("identifier")) for entry in entries)))

    def snapshot(self) -> t.Dict[str, t.Optional[str]]:
        return {}

    def predicted(self, before: t.Dict[str, t.Optional[str]]) -> t.Dict[str, t.Optional[str]]:
        return before

    def apply(self, check_mode: bool) -> t.List[str]:
        return []


HANDLERS = {handler.type: handler for handler in (Http01Handler, Dns01Handler)}


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


def run(params: t.Dict[str, t.Any], check_mode: bool = False,
        want_diff: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Deploy (state=present) or remove (state=absent) every challenge; validate all first."""
    handlers = []
    for kind, entries in group_entries(params.get("challenges") or []).items():
        handler = HANDLERS[kind](params)
        handler.validate(entries)
        handlers.append(handler)
    before = {}  # type: t.Dict[str, t.Optional[str]]
    for handler in handlers:
        before.update(handler.snapshot())
    if params.get("state") == "absent":
        after = dict((path, None) for path in before)
    else:
        after = dict(before)
        for handler in handlers:
            after = handler.predicted(after)
    changed_paths = []  # type: t.List[str]
    for handler in handlers:
        changed_paths.extend(handler.apply(check_mode))
    result = {"files": sorted(changed_paths)}  # type: t.Dict[str, t.Any]
    if want_diff:
        result["diff"] = {
            "before": {"files": dict((p, c) for p, c in before.items() if c is not None)},
            "after": {"files": dict((p, c) for p, c in after.items() if c is not None)},
        }
    return bool(changed_paths), result
