from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import Poller


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 4))
        self.now += seconds


def test_poll_starts_fast_and_backs_off():
    clock = Clock()
    values = iter(["pending"] * 5 + ["valid"])
    poller = Poller(10, sleep=clock.sleep, clock=lambda: clock.now)
    assert poller.until(lambda: next(values), lambda v: v == "valid", "x") == "valid"
    assert clock.sleeps[0] == 0.02
    assert clock.sleeps == sorted(clock.sleeps) and clock.sleeps[-1] <= 1.0


def test_poll_has_a_deadline():
    clock = Clock()
    poller = Poller(3, sleep=clock.sleep, clock=lambda: clock.now)
    with pytest.raises(ProtocolError, match="Timed out after 3 s waiting for the thing"):
        poller.until(lambda: "pending", lambda v: False, "the thing")
    assert clock.now <= 3.0 + 1e-9


def test_poll_honours_retry_after_within_deadline():
    clock = Clock()
    values = iter(["pending", "valid"])
    poller = Poller(60, sleep=clock.sleep, clock=lambda: clock.now)
    poller.until(lambda: next(values), lambda v: v == "valid", "x", retry_after=lambda: 4.0)
    assert clock.sleeps == [4.0]
