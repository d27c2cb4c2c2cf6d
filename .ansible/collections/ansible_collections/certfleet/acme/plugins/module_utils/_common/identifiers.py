# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of certificate names and identifiers (standard library only; IDNA 2008 through
idna2008, where the idna package is optional and only internationalized names need it). Private to
this collection.

The one certificate-name rule of the collection: the store, every module and the role's planner
(plugin_utils) call validate_certificate_name(); nothing else carries a name regex.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common import idna2008
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A certificate's name is a directory in the store and a directory or file base name on the nodes.
# A wildcard certificate is named without '*' (e.g. wildcard.example.com); its identifiers keep it.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters"
CHALLENGE_TYPES = ("http-01", "dns-01")


def normalize_identifier(value: t.Any, challenge: str, cert_name: str) -> t.Tuple[str, str]:
    """Return ``(type, value)`` with type ``dns`` or ``ip``; raise InputError with a clear reason."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("Certificate %r has an empty or non-string identifier: %r" % (cert_name, value))
    text = value.strip().rstrip(".").lower()
    if "%" in text and ":" in text:
        raise InputError("Certificate %r has the scoped address %r: a certificate cannot name an "
                         "interface zone; drop the %%zone" % (cert_name, value))
    try:
        address = str(ipaddress.ip_address(text))
    except ValueError:
        address = None
    if address is not None:
        if challenge == "dns-01":
            raise InputError("Certificate %r asks for the IP address %s with dns-01; IP identifiers "
                             "need http-01" % (cert_name, address))
        return "ip", address
    host = text
    if host.startswith("*."):
        if challenge != "dns-01":
            raise InputError("Certificate %r asks for the wildcard %s with %s; wildcards need dns-01"
                             % (cert_name, value, challenge))
        host = host[2:]
    ascii_host = host
    if idna2008.needs_idna(host):
        try:
            ascii_host = idna2008.to_ascii(host)
        except ValueError as exc:
            raise InputError("Certificate %r has an invalid identifier %r: %s" % (cert_name, value, exc))
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InputError("Certificate %r has an invalid identifier %r: expected a DNS name such as "
                         "www.example.com or an IP address" % (cert_name, value))
    if labels[-1].isdigit():
        raise InputError("Certificate %r has an invalid identifier %r: an all-numeric top-level label "
                         "is neither a DNS name nor an IP address" % (cert_name, value))
    return "dns", ("*." if text.startswith("*.") else "") + ascii_host


def is_safe_name(name: t.Any) -> bool:
    """Whether ``name`` is one safe path component under the rule NAME_RULE (never '.' or '..')."""
    return isinstance(name, str) and bool(_SAFE_NAME.fullmatch(name)) and ".." not in name


def _shown(name: t.Any) -> t.Any:
    """``name`` cut to 80 characters for an error message (a hostile name may be huge)."""
    return name if not isinstance(name, str) or len(name) <= 80 else name[:80] + "..."


def validate_certificate_name(name: t.Any) -> str:
    """``name`` if it follows NAME_RULE, else InputError; the collection's one certificate-name rule.

    It names a store directory and files on the nodes, so it must be one plain path component
    (no '/', '..', leading dot, NUL or newline)."""
    if not is_safe_name(name):
        raise InputError("Invalid certificate name %r: use %s (it names a directory in the store and "
                         "files on the nodes)" % (_shown(name), NAME_RULE))
    return name


def validate_safe_name(name: t.Any, what: str) -> str:
    """``name`` if it is one safe path component under NAME_RULE (an account name, a run id, ...)."""
    if not is_safe_name(name):
        raise InputError("Invalid %s %r: use %s (it names a directory in the store)"
                         % (what, _shown(name), NAME_RULE))
    return name


def normalize_identifiers(values: t.Any, challenge: str, cert_name: str) -> t.List[str]:
    """Validate a certificate's identifier list; keeps order, drops duplicates."""
    if challenge not in CHALLENGE_TYPES:
        raise InputError("Certificate %r: unknown challenge type %r; choose one of %s"
                         % (cert_name, challenge, ", ".join(CHALLENGE_TYPES)))
    if not isinstance(values, list) or not values:
        raise InputError("Certificate %r needs at least one identifier" % cert_name)
    seen: t.List[str] = []
    for value in values:
        _typ, ident = normalize_identifier(value, challenge, cert_name)
        if ident not in seen:
            seen.append(ident)
    return seen
