# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerDNS keeps the other TXT records at a name byte-for-byte: they come back from the API in
presentation format (escapes, several strings, a disabled flag) and go into the PATCH as they
came; only our own value is quoted and escaped."""

from __future__ import annotations

import json

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import Response
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context, quote_txt, unquote_txt
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS

from dns_fakes import RecordingTransport

NAME = "_acme-challenge.example.com"
OURS = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
FOREIGN = [
    {"content": '"say \\"hi\\""', "disabled": False},
    {"content": '"part1" "part2"', "disabled": False},
    {"content": '"back\\\\slash"', "disabled": True},
]


def _provider(records):
    def answer(method, url, headers, body):
        if "/zones?" in url:
            return Response(200, json.dumps([{"name": "example.com.", "id": "example.com."}]).encode(), {})
        if method == "GET":
            doc = {"rrsets": [{"name": NAME + ".", "type": "TXT", "ttl": 300, "records": records}]}
            return Response(200, json.dumps(doc).encode(), {})
        return Response(204, b"", {})
    transport = RecordingTransport(answer)
    context = Context(transport=transport, environ={})
    provider = PROVIDERS["powerdns"]({"api_url": "http://pdns.test:8081", "api_key": "k"}, context)
    return provider, transport


def _patch(transport):
    sent = [json.loads(body) for method, _url, _headers, body, _resp in transport.requests if method == "PATCH"]
    assert len(sent) == 1
    return sent[0]["rrsets"]


def test_add_keeps_other_records_byte_for_byte():
    provider, transport = _provider(FOREIGN)
    zone = provider.find_zone("example.com")
    assert provider.list_txt(zone, NAME) == ['say "hi"', "part1part2", "back\\slash"]
    provider.add_txt(zone, {NAME: [OURS]}, 60)
    (rrset,) = _patch(transport)
    assert rrset["changetype"] == "REPLACE" and rrset["ttl"] == 60
    assert rrset["records"] == FOREIGN + [{"content": '"%s"' % OURS, "disabled": False}]


def test_remove_keeps_other_records_byte_for_byte():
    provider, transport = _provider(FOREIGN + [{"content": '"%s"' % OURS, "disabled": False}])
    provider.remove_txt(provider.find_zone("example.com"), {NAME: [OURS]})
    (rrset,) = _patch(transport)
    assert rrset["changetype"] == "REPLACE" and rrset["ttl"] == 300 and rrset["records"] == FOREIGN


def test_a_disabled_copy_of_our_value_is_enabled_not_doubled():
    provider, transport = _provider([{"content": '"%s"' % OURS, "disabled": True}])
    provider.add_txt(provider.find_zone("example.com"), {NAME: [OURS]}, 60)
    assert _patch(transport)[0]["records"] == [{"content": '"%s"' % OURS, "disabled": False}]


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "plain", '\\"'])
def test_quote_txt_round_trips(value):
    assert unquote_txt(quote_txt(value)) == value
