# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of certificate names and identifiers (standard library only; IDNA 2008 through
idna2008, which imports the idna package only when a name needs it). Private to this collection."""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common import idna2008
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CERT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
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


def validate_certificate_name(name: t.Any) -> str:
    if not isinstance(name, str) or not _CERT_NAME.match(name) or name in (".", ".."):
        raise InputError("Invalid certificate name %r: use letters, digits, '.', '_' and '-' "
                         "(it names a directory in the store and on the nodes)" % (name,))
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
