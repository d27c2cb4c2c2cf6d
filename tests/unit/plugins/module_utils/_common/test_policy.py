from __future__ import annotations

import datetime

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.policy import (
    renewal_due, renewal_window_start)

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("lifetime_days, elapsed_days, due", [
    (90, 59, False),   # a third of 90 days = 30 days left at day 60
    (90, 60.5, True),
    (6, 2.9, False),   # short-lived: half of the lifetime
    (6, 3.1, True),
    (45, 29.9, False),
    (45, 30.1, True),
])
def test_default_window(lifetime_days, elapsed_days, due):
    not_after = START + datetime.timedelta(days=lifetime_days)
    now = START + datetime.timedelta(days=elapsed_days)
    assert renewal_due(START, not_after, now)[0] is due


def test_renew_before_days_overrides_share():
    not_after = START + datetime.timedelta(days=90)
    assert renewal_window_start(START, not_after, 10) == not_after - datetime.timedelta(days=10)
    assert renewal_due(START, not_after, START + datetime.timedelta(days=79), 10)[0] is False
    assert renewal_due(START, not_after, START + datetime.timedelta(days=81), 10)[0] is True


def test_expired_is_due_with_reason():
    due, reason = renewal_due(START, START + datetime.timedelta(days=1), START + datetime.timedelta(days=2))
    assert due and reason == "expired"
