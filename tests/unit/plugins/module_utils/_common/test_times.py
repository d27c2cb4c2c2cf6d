from __future__ import annotations

import datetime

from ansible_collections.certfleet.acme.plugins.module_utils._common import times


def test_iso_round_trip_in_utc():
    moment = datetime.datetime(2026, 12, 1, 9, 30, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert times.iso(moment) == "2026-12-01T08:30:05Z"
    assert times.parse_iso("2026-12-01T08:30:05Z") == moment
    assert times.utcnow().tzinfo is not None
