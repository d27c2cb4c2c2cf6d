# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deactivation of the pending authorizations of an order that failed or was abandoned (RFC 8555
section 7.5.2), so that the next run starts clean. Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import CertfleetError

try:
    from acme import messages
except ImportError:  # pragma: no cover - reported by the module
    messages = None


def deactivate_pending(conn: t.Any, authz_urls: t.Sequence[str]) -> t.List[str]:
    """POST ``{"status": "deactivated"}`` to each authorization that is still pending; return the
    URLs deactivated. Best effort: the order has failed already, so an error here is not raised
    (an authorization left pending expires on its own)."""
    done = []
    for url in authz_urls or ():
        try:
            if conn.get_authorization(url).status.name != "pending":
                continue
            conn.post(url, messages.UpdateAuthorization(status=messages.STATUS_DEACTIVATED),
                      "the deactivation of the authorization %s" % url)
        except CertfleetError:
            continue
        done.append(url)
    return done


def deactivate_order(conn: t.Any, order_url: t.Optional[str]) -> t.List[str]:
    """:func:`deactivate_pending` for the authorizations of the order at ``order_url``."""
    if not order_url:
        return []
    try:
        order = conn.get_order(order_url)
    except CertfleetError:
        return []
    return deactivate_pending(conn, order.authorizations)
