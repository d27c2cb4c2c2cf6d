# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling every authoritative server: back-off and deadline, with a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns import propagation

from dns_fakes import FakeDns

SERVERS = [("ns1.example.com", "192.0.2.1"), ("ns2.example.com", "192.0.2.2")]


class Clock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def _dns():
    dns = FakeDns({"example.com": SERVERS})
    for _ns, address in SERVERS:
        dns.served[address] = {"_acme-challenge.example.com": ["a", "b"]}
    return dns


def test_backoff_starts_at_50ms_and_caps_at_2s():
    dns, clock = _dns(), Clock()
    dns.lag["192.0.2.2"] = 8
    result = propagation.wait_for(dns, SERVERS, {"_acme-challenge.example.com": ["a", "b"]}, 120,
                                  clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert result["seconds"] == round(sum(clock.sleeps), 3)


def test_deadline_is_bounded_and_names_what_lags():
    dns, clock = _dns(), Clock()
    dns.served["192.0.2.2"]["_acme-challenge.example.com"] = ["a"]
    with pytest.raises(DnsProviderError) as info:
        propagation.wait_for(dns, SERVERS, {"_acme-challenge.example.com": ["a", "b"]}, 5,
                             clock=clock, sleep=clock.sleep)
    assert "ns2.example.com (192.0.2.2): _acme-challenge.example.com lacks b" in info.value.msg
    assert info.value.details["lagging"] == ["ns2.example.com (192.0.2.2)"]
    assert clock.now - 100.0 <= 5.0


def test_absent_waits_until_values_are_gone():
    dns, clock = _dns(), Clock()
    assert propagation.missing_values(dns, "192.0.2.1", {"_acme-challenge.example.com": ["b", "c"]}, present=False) \
        == {"_acme-challenge.example.com": ["b"]}
