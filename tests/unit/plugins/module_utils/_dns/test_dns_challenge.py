# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns-01 engine (and the dns_challenge module's run()) with a fake DNS and a fake provider."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError, InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns import registry
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context, DnsProvider, Option, Zone
from ansible_collections.certfleet.acme.plugins.module_utils._dns import challenge

from dns_fakes import FakeDns

V1, V2, V3 = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", \
    "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"
NS = [("ns1.example.com", "192.0.2.1"), ("ns2.example.com", "192.0.2.2")]


class MemoryProvider(DnsProvider):
    """Writes into FakeDns.served on every server of the zone (what a real server would serve)."""

    name = "memory"
    description = "test provider"
    batches = True
    options = {"token": Option("secret", secret=True, required=True, env=["MEMORY_TOKEN"]),
               "refuse_zone": Option("a zone it does not serve")}
    calls = []  # type: t.List[t.Tuple[str, str, t.Any]]

    def find_zone(self, zone: str) -> Zone:
        if zone == self.config["refuse_zone"]:
            raise self.error("token %s may not use %s" % (self.config["token"], zone))
        return Zone(zone, "id-" + zone)

    def list_txt(self, zone, name):
        return list(self.context.dns.served.get(self.context.dns.zones[zone.name][0][1], {}).get(name, []))

    def add_txt(self, zone, records, ttl):
        MemoryProvider.calls.append(("add", zone.name, {k: list(v) for k, v in records.items()}))
        for _ns, address in self.context.dns.zones[zone.name]:
            for name, values in records.items():
                self.context.dns.served.setdefault(address, {}).setdefault(name, []).extend(values)

    def remove_txt(self, zone, records):
        MemoryProvider.calls.append(("remove", zone.name, {k: list(v) for k, v in records.items()}))
        for _ns, address in self.context.dns.zones[zone.name]:
            for name, values in records.items():
                kept = [v for v in self.context.dns.served.get(address, {}).get(name, []) if v not in values]
                self.context.dns.served.setdefault(address, {})[name] = kept


@pytest.fixture(autouse=True)
def memory_provider(monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, "memory", MemoryProvider)
    MemoryProvider.calls = []


def _dns():
    dns = FakeDns({"example.com": NS, "validation.net": [("ns.validation.net", "198.51.100.1")]},
                  cnames={"_acme-challenge.delegated.example.com": "delegated.validation.net"})
    for _ns, address in NS:
        dns.served[address] = {"_acme-challenge.example.com": ["foreign"]}
    return dns


def _entry(identifier, value, **extra):
    entry = {"certificate": "c", "identifier": identifier, "type": "dns-01", "token": "tok", "value": value,
             "record": "_acme-challenge." + identifier.lstrip("*.")}
    entry.update(extra)
    return entry


def _run(dns, entries, state="present", check=False, diff=False, **params):
    base = {"challenges": entries, "provider": "memory", "state": state,
            "provider_options": {"token": "s3cr3t-token-value"}, "propagation_timeout": 5.0,
            "follow_cnames": True, "record_ttl": None, "dns_resolvers": None}
    base.update(params)
    return challenge.run(base, check, diff, Context(dns=dns, environ={}))


def test_wildcard_and_apex_share_a_name_in_one_batch_and_cleanup_keeps_foreign():
    dns = _dns()
    entries = [_entry("example.com", V1), _entry("*.example.com", V2), _entry("www.example.com", V3)]
    changed, result = _run(dns, entries, diff=True)
    assert changed
    assert MemoryProvider.calls == [("add", "example.com", {"_acme-challenge.example.com": [V1, V2],
                                                            "_acme-challenge.www.example.com": [V3]})]
    assert result["diff"]["before"]["records"] == {"_acme-challenge.example.com": ["foreign"]}
    assert result["diff"]["after"]["records"]["_acme-challenge.example.com"] == sorted(["foreign", V1, V2])
    assert sorted(result["propagation"]["example.com"]["servers"]) == ["ns1.example.com (192.0.2.1)",
                                                                       "ns2.example.com (192.0.2.2)"]
    # again: nothing to add, still checked at every server
    assert _run(dns, entries)[0] is False
    changed, result = _run(dns, entries, state="absent")
    assert changed and result["records"][0]["values"] == [V1, V2]
    assert dns.served["192.0.2.1"]["_acme-challenge.example.com"] == ["foreign"]
    assert _run(dns, entries, state="absent")[0] is False


def test_check_mode_reports_and_writes_nothing():
    dns = _dns()
    changed, result = _run(dns, [_entry("example.com", V1)], check=True)
    assert changed and result["records"] == [{"record": "_acme-challenge.example.com",
                                              "name": "_acme-challenge.example.com", "zone": "example.com",
                                              "values": [V1]}]
    assert MemoryProvider.calls == [] and "propagation" not in result


def test_cname_is_followed_into_the_validation_zone():
    dns = _dns()
    changed, result = _run(dns, [_entry("delegated.example.com", V1)])
    assert changed and result["records"][0]["name"] == "delegated.validation.net"
    assert result["records"][0]["zone"] == "validation.net"
    assert dns.served["198.51.100.1"]["delegated.validation.net"] == [V1]
    _run(dns, [_entry("delegated.example.com", V1)], follow_cnames=False, check=True)
    assert MemoryProvider.calls[-1][1] == "validation.net"  # check mode wrote nothing more


def test_waits_for_every_authoritative_server():
    dns = _dns()
    dns.lag["192.0.2.2"] = 3  # the second server serves the value only from the 4th query on
    _run(dns, [_entry("example.com", V1)])
    assert len([q for q in dns.queries if q[0] == "192.0.2.2"]) == 4  # 3 lagging polls + the good one
    assert len([q for q in dns.queries if q[0] == "192.0.2.1"]) == 1  # good at once: not asked again


def test_propagation_timeout_names_the_lagging_server():
    dns = _dns()
    dns.lag["192.0.2.2"] = 10 ** 6
    with pytest.raises(DnsProviderError, match=r"ns2.example.com \(192.0.2.2\).*lacks"):
        _run(dns, [_entry("example.com", V1)], propagation_timeout=0.2)


@pytest.mark.parametrize("entry, message", [
    (_entry("example.com", "short"), "not a dns-01 TXT value"),
    (_entry("example.com", V1, record="_acme-challenge.other.com"), "does not match the identifier"),
    ({"type": "dns-01", "value": V1}, "needs identifier or record"),
])
def test_bad_entries_fail_before_anything_is_written(entry, message):
    dns = _dns()
    with pytest.raises(InputError, match=message):
        _run(dns, [_entry("www.example.com", V3), entry])
    assert MemoryProvider.calls == []


def test_zone_not_served_and_secrets_masked():
    dns = _dns()
    options = {"token": "s3cr3t-token-value", "refuse_zone": "example.com"}
    with pytest.raises(DnsProviderError) as info:
        _run(dns, [_entry("www.example.com", V3)], provider_options=options)
    assert "********" in info.value.msg and "s3cr3t" not in info.value.msg
    assert MemoryProvider.calls == []


def test_missing_credentials_and_unknown_provider():
    with pytest.raises(InputError, match="provider_options.token or the environment variable MEMORY_TOKEN"):
        _run(_dns(), [_entry("example.com", V1)], provider_options=None)
    with pytest.raises(InputError, match="unknown DNS provider 'nope'"):
        _run(_dns(), [_entry("example.com", V1)], provider="nope")


def test_http01_entries_are_skipped_when_only_provider_is_set():
    http = {"certificate": "c", "identifier": "www.example.com", "type": "http-01", "token": "tok",
            "content": "tok.x"}
    changed, result = _run(_dns(), [http, _entry("example.com", V1)])
    assert changed and result["not_handled"] == [{"certificate": "c", "identifier": "www.example.com", "type": "http-01"}]
    assert "files" not in result and result["records"][0]["values"] == [V1]
