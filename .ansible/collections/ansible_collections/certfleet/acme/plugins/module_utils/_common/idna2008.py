# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IDNA 2008 (UTS 46, non-transitional) for DNS identifiers, with the ``idna`` package. Private to this collection.

The ``idna`` package is optional: a node-side module that ships this file (through identifiers)
imports without it, and only a name that needs it (non-ASCII or an ``xn--`` label) asks for it,
which happens on the store host. Python's own ``idna`` codec is IDNA 2003, which maps
``straße.de`` to ``strasse.de``, a different domain; Let's Encrypt requires IDNA 2008.
"""

from __future__ import annotations

try:
    import idna
except ImportError:  # optional: only internationalized names need it (store host)
    idna = None


def needs_idna(host: str) -> bool:
    """Whether ``host`` has a non-ASCII character or an A-label (``xn--``) to check."""
    return any(ord(c) > 127 for c in host) or any(label.startswith("xn--") for label in host.split("."))


def to_ascii(host: str) -> str:
    """The A-label form of ``host`` under UTS 46 (non-transitional); ValueError with the reason."""
    if idna is None:
        raise ValueError("internationalized names need the Python package idna on the store host")
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError("not a valid IDNA 2008 name (%s)" % (str(exc) or type(exc).__name__))
    except UnicodeError as exc:
        raise ValueError("not a valid IDNA 2008 name (%s)" % exc)
