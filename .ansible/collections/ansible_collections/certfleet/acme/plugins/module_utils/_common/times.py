# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one time format of results and store files: ISO 8601 in UTC, to the second. Private to this collection.

Standard library only (runs on nodes too).
"""

from __future__ import annotations

import datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime) -> str:
    """``2026-12-01T08:00:00Z`` for an aware datetime (converted to UTC)."""
    return moment.astimezone(datetime.timezone.utc).strftime(ISO_FORMAT)


def parse_iso(text: str) -> datetime.datetime:
    """The aware UTC datetime of a string written by iso()."""
    return datetime.datetime.strptime(text, ISO_FORMAT).replace(tzinfo=datetime.timezone.utc)
