# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 provider: the UPDATE messages it sends (one per zone, TSIG-signed), its errors."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError, InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import rfc2136

from dns_fakes import FakeDns

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
OPTIONS = {"server": "192.0.2.53", "tsig_key_name": "acme-key", "tsig_secret": SECRET}


class Sent(list):
    state = {}  # type: dict


@pytest.fixture
def sent(monkeypatch):
    messages = Sent()
    state = {"rcode": dns.rcode.NOERROR, "errors": []}

    def tcp(message, where, port=53, timeout=None, **_kw):
        messages.append((message, where, port))
        for error in state["errors"]:
            raise error
        response = dns.message.make_response(message)
        if message.question and message.question[0].rdtype == dns.rdatatype.SOA:
            response.flags |= dns.flags.AA
            response.answer = [dns.rrset.from_text("example.com.", 60, "IN", "SOA",
                                                   "ns1.example.com. h.example.com. 1 60 30 600 5")]
        response.set_rcode(state["rcode"])
        return response

    monkeypatch.setattr(dns.query, "tcp", tcp)
    messages.state = state
    return messages


def _provider(**options):
    merged = dict(OPTIONS)
    merged.update(options)
    return rfc2136.Provider(merged, Context(dns=FakeDns({"example.com": [("ns1.example.com", "192.0.2.53")]}),
                                            environ={}))


def test_one_signed_update_per_zone(sent):
    provider = _provider()
    zone = provider.find_zone("example.com")
    assert sent[0][0].keyname.to_text() == "acme-key."  # the SOA query is signed too
    provider.add_txt(zone, {"_acme-challenge.example.com": ["v1", "v2"], "_acme-challenge.www.example.com": ["v3"]}, 60)
    update, where, port = sent[-1]
    assert (where, port, len(sent)) == ("192.0.2.53", 53, 2)
    assert update.keyname.to_text() == "acme-key." and update.keyalgorithm.to_text() == "hmac-sha256."
    adds = sorted((r.name.to_text(), r.ttl, rd.to_text()) for r in update.update for rd in r)
    assert adds == [("_acme-challenge.example.com.", 60, '"v1"'), ("_acme-challenge.example.com.", 60, '"v2"'),
                    ("_acme-challenge.www.example.com.", 60, '"v3"')]
    provider.remove_txt(zone, {"_acme-challenge.example.com": ["v1"]})
    delete = sent[-1][0].update[0]
    assert delete.deleting == dns.rdataclass.NONE and [rd.to_text() for rd in delete] == ['"v1"']  # that value only


def test_refused_and_bad_key(sent):
    provider = _provider()
    zone = provider.find_zone("example.com")
    sent.state["rcode"] = dns.rcode.REFUSED
    with pytest.raises(DnsProviderError, match="REFUSED.*update-policy"):
        provider.add_txt(zone, {"_acme-challenge.example.com": ["v1"]}, 60)
    sent.state["errors"].append(dns.tsig.PeerBadSignature())
    with pytest.raises(DnsProviderError, match="rejected the TSIG key acme-key") as info:
        _provider().find_zone("example.com")
    assert SECRET not in info.value.msg


def test_not_authoritative(sent):
    sent.state["rcode"] = dns.rcode.NOTAUTH
    with pytest.raises(DnsProviderError, match="not authoritative for the zone example.com"):
        _provider().find_zone("example.com")


def test_bad_options():
    with pytest.raises(InputError, match="go together"):
        _provider(tsig_secret=None)
    with pytest.raises(InputError, match="not a base64 TSIG secret") as info:
        _provider(tsig_secret="not base64 !!!")
    assert "not base64 !!!" not in info.value.msg
