# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The challenge list that order returns, and the one run of a challenge handler over it.
Private to this collection.

Standard library only: the node-side challenge module (http-01) and the store-host dns_challenge
module (dns-01) both use it. A handler has ``type``, ``result_key``, ``validate(entries)``,
``snapshot()``, ``predicted()`` and ``apply(check_mode)``; entries of another type are left alone
and listed in ``not_handled``.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import CHALLENGE_TYPES

Entry = t.Dict[str, t.Any]
# An RFC 7638 SHA-256 thumbprint, base64url without padding: what account returns (stateless http-01).
THUMBPRINT_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def validate_thumbprint(value: t.Any, what: str) -> str:
    if not isinstance(value, str) or not THUMBPRINT_RE.fullmatch(value.strip()):
        raise InputError("%s %r is not an account thumbprint (43 base64url characters, as the "
                         "account module returns it)" % (what, value))
    return value.strip()


def where(entry: Entry) -> str:
    return "challenge %s for %s (certificate %s)" % (
        entry.get("type"), entry.get("identifier") or "?", entry.get("certificate") or "?")


def group_entries(challenges: t.Sequence[t.Any]) -> t.Dict[str, t.List[Entry]]:
    """Entries by challenge type, in first-seen order; unknown types are an InputError."""
    groups = {}  # type: t.Dict[str, t.List[Entry]]
    for index, entry in enumerate(challenges):
        if not isinstance(entry, dict):
            raise InputError("challenges[%d] is not a dictionary" % index)
        kind = entry.get("type")
        if kind not in CHALLENGE_TYPES:
            raise InputError("%s: unsupported challenge type %r (supported: %s)"
                             % (where(entry), kind, ", ".join(sorted(CHALLENGE_TYPES))))
        groups.setdefault(kind, []).append(entry)
    return groups


def run_handler(handler: t.Any, groups: t.Dict[str, t.List[Entry]], check_mode: bool = False,
                want_diff: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Validate every entry of the handler's type, then deploy or remove them all."""
    entries = groups.get(handler.type) or []
    key = handler.result_key
    before = after = {}  # type: t.Dict[str, t.Any]
    done = []  # type: t.List[t.Any]
    if entries:
        handler.validate(entries)
        before = dict((k, v) for k, v in handler.snapshot().items() if v is not None)
        after = handler.predicted()
        done = handler.apply(check_mode)
    result = {key: sorted(done) if key == "files" else done}  # type: t.Dict[str, t.Any]
    if getattr(handler, "propagation", None):
        result["propagation"] = handler.propagation
    skipped = [dict((k, e.get(k)) for k in ("certificate", "identifier", "type"))
               for kind, group in groups.items() if kind != handler.type for e in group]
    if skipped:  # never "skipped": Ansible would show the whole task as skipped
        result["not_handled"] = skipped
    if want_diff:
        result["diff"] = {"before": {key: before}, "after": {key: after}}
    return bool(done), result
