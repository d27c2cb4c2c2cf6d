# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of certificate names and identifiers (standard library only). Private to this collection."""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CERT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CHALLENGE_TYPES = ("http-01", "dns-01")


def normalize_identifier(value: t.Any, challenge: str, cert_name: str) -> t.Tuple[str, str]:
    """Return ``(type, value)`` with type ``dns`` or ``ip``; raise InputError with a clear reason."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("Certificate %r has an empty or non-string identifier: %r" % (cert_name, value))
    text = value.strip().rstrip(".").lower()
    try:
        return "ip", str(ipaddress.ip_address(text))
    except ValueError:
        pass
    host = text
    if host.startswith("*."):
        if challenge != "dns-01":
            raise InputError("Certificate %r asks for the wildcard %s with %s; wildcards need dns-01"
                             % (cert_name, value, challenge))
        host = host[2:]
    try:
        ascii_host = host.encode("idna").decode("ascii") if any(ord(c) > 127 for c in host) else host
    except UnicodeError:
        raise InputError("Certificate %r has an invalid identifier %r" % (cert_name, value))
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InputError("Certificate %r has an invalid identifier %r: expected a DNS name such as "
                         "www.example.com or an IP address" % (cert_name, value))
    return "dns", ("*." if text.startswith("*.") else "") + ascii_host


def validate_certificate_name(name: t.Any) -> str:
    """The one certificate-name rule of the collection: it names a store directory and files on
    the nodes, so it must be one plain path component (no '/', '..', leading dot, NUL or newline)."""
    if not isinstance(name, str) or not _CERT_NAME.fullmatch(name):
        shown = name if not isinstance(name, str) or len(name) <= 80 else name[:80] + "..."
        raise InputError("Invalid certificate name %r: use 1-128 letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit (it names a directory in the store and "
                         "files on the nodes)" % (shown,))
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
