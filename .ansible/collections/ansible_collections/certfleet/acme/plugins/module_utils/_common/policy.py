# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renewal policy (standard library only, runs on nodes too). Private to this collection."""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso

SHORT_LIFETIME = datetime.timedelta(days=10)


def renewal_window_start(not_before: datetime.datetime, not_after: datetime.datetime,
                         renew_before_days: t.Optional[float] = None) -> datetime.datetime:
    """When renewal becomes due.

    With ``renew_before_days`` set: that many days before expiry. Otherwise when a third of the
    lifetime remains, or half of it for lifetimes under ten days (the convention of Let's Encrypt's
    clients, since short-lived certificates need more slack for a failed run).
    """
    if renew_before_days is not None:
        return not_after - datetime.timedelta(days=renew_before_days)
    lifetime = not_after - not_before
    remaining_share = 0.5 if lifetime < SHORT_LIFETIME else 1.0 / 3.0
    return not_after - lifetime * remaining_share


def renewal_due(not_before: datetime.datetime, not_after: datetime.datetime,
                now: datetime.datetime,
                renew_before_days: t.Optional[float] = None) -> t.Tuple[bool, str]:
    """Return ``(due, reason)`` for a certificate valid from not_before to not_after."""
    if now >= not_after:
        return True, "expired"
    start = renewal_window_start(not_before, not_after, renew_before_days)
    if now >= start:
        return True, "inside renewal window (since %s)" % iso(start)
    return False, "valid until %s, renewal from %s" % (
        iso(not_after), iso(start))
