# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy and remove http-01 challenges on a node (logic of the challenge module). Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common import challenges, files
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import webroot

Entry = challenges.Entry


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
                raise InputError("%s: %s" % (challenges.where(entry), exc.msg), **exc.details) from None
            if token in self.wanted and self.wanted[token] != content:
                raise InputError("%s: token %s appears twice with different content"
                                 % (challenges.where(entry), token))
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


DNS_MOVED = ("challenge serves http-01 only: deploy dns-01 records with certfleet.acme.dns_challenge "
             "(same options: challenges, provider, provider_options, ...), once, on the store host")


def run(params: t.Dict[str, t.Any], check_mode: bool = False,
        want_diff: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Write (state=present) or remove (state=absent) the http-01 token files; validate all first.

    dns-01 entries are left alone (listed in ``not_handled``) when ``webroot`` is set; without it
    they are an InputError that points at dns_challenge, as is the option ``provider``.
    """
    if params.get("provider") or params.get("provider_options"):
        raise InputError(DNS_MOVED)
    groups = challenges.group_entries(params.get("challenges") or [])
    if not params.get("webroot") and groups and "http-01" not in groups:
        raise InputError("%s: %s" % (DNS_MOVED, challenges.where(groups["dns-01"][0])))
    return challenges.run_handler(Http01Handler(params), groups, check_mode, want_diff)
