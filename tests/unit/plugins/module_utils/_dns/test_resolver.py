# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_dns/resolver.Dns against scripted DNS messages (dnspython builds them)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.resolver import Dns

SOA = "ns1.example.com. hostmaster.example.com. 1 60 30 600 5"


class ScriptedDns(Dns):
    """Answers from ``table[(name, type)] = (rcode, answer rrsets, authority rrsets, aa)``."""

    def __init__(self, table):
        super(ScriptedDns, self).__init__(["192.0.2.53"])
        self.table = table
        self.sent = []

    def send(self, message, address, port, timeout):
        question = message.question[0]
        key = (question.name.to_text().rstrip("."), dns.rdatatype.to_text(question.rdtype))
        self.sent.append((address, key, bool(message.flags & dns.flags.RD)))
        rcode, answer, authority, aa = self.table.get(key, (dns.rcode.NXDOMAIN, [], [], True))
        response = dns.message.make_response(message)
        response.set_rcode(rcode)
        if aa:
            response.flags |= dns.flags.AA
        response.answer = [dns.rrset.from_text(*r) for r in answer]
        response.authority = [dns.rrset.from_text(*r) for r in authority]
        return response


def test_cname_chain_and_loop():
    first = ("_acme-challenge.www.example.com.", 60, "IN", "CNAME", "www.validation.net.")
    second = ("www.validation.net.", 60, "IN", "CNAME", "final.validation.net.")
    client = ScriptedDns({
        ("_acme-challenge.www.example.com", "CNAME"): (0, [first], [], False),
        ("www.validation.net", "CNAME"): (0, [second], [], False),
    })
    assert client.follow_cname("_acme-challenge.www.example.com") == [
        "_acme-challenge.www.example.com", "www.validation.net", "final.validation.net"]
    loop = ScriptedDns({("a.example.com", "CNAME"): (0, [("a.example.com.", 60, "IN", "CNAME", "b.example.com.")], [], 0),
                        ("b.example.com", "CNAME"): (0, [("b.example.com.", 60, "IN", "CNAME", "a.example.com.")], [], 0)})
    with pytest.raises(DnsProviderError, match="CNAME loop"):
        loop.follow_cname("a.example.com")


def test_zone_from_the_soa_of_a_negative_answer():
    client = ScriptedDns({("_acme-challenge.www.example.com", "SOA"): (
        dns.rcode.NXDOMAIN, [], [("example.com.", 60, "IN", "SOA", SOA)], False)})
    assert client.find_zone("_acme-challenge.www.example.com") == ("example.com", "ns1.example.com")
    assert client.sent[0][2] is True  # asked the resolver, recursion desired


def test_zone_walks_up_to_an_apex_soa():
    client = ScriptedDns({
        ("_acme-challenge.x.example.com", "SOA"): (dns.rcode.SERVFAIL, [], [], False),
        ("x.example.com", "SOA"): (0, [], [], False),
        ("example.com", "SOA"): (0, [("example.com.", 60, "IN", "SOA", SOA)], [], False),
    })
    with pytest.raises(DnsProviderError, match="SERVFAIL"):
        client.ask("_acme-challenge.x.example.com", "SOA")
    client.table[("_acme-challenge.x.example.com", "SOA")] = (0, [], [], False)
    assert client.find_zone("_acme-challenge.x.example.com")[0] == "example.com"


def test_no_zone():
    with pytest.raises(DnsProviderError, match="no DNS zone found"):
        ScriptedDns({}).find_zone("a.b.invalid")


def test_nameservers_and_authoritative_txt():
    client = ScriptedDns({
        ("example.com", "NS"): (0, [("example.com.", 60, "IN", "NS", "ns1.example.com.", "ns2.example.com.")], [], 0),
        ("ns1.example.com", "A"): (0, [("ns1.example.com.", 60, "IN", "A", "192.0.2.1")], [], 0),
        ("ns2.example.com", "A"): (0, [], [], 0),
        ("ns2.example.com", "AAAA"): (0, [("ns2.example.com.", 60, "IN", "AAAA", "2001:db8::2")], [], 0),
        ("_acme-challenge.example.com", "TXT"): (0, [("_acme-challenge.example.com.", 60, "IN", "TXT",
                                                      '"one"', '"tw" "o"')], [], True),
    })
    assert client.nameservers("example.com") == [("ns1.example.com", "192.0.2.1"), ("ns2.example.com", "2001:db8::2")]
    assert sorted(client.txt_at("192.0.2.1", "_acme-challenge.example.com")) == ["one", "two"]
    assert client.sent[-1] == ("192.0.2.1", ("_acme-challenge.example.com", "TXT"), False)  # no recursion
    client.table[("_acme-challenge.example.com", "TXT")] = (0, [], [], False)
    with pytest.raises(DnsProviderError, match="not authoritative"):
        client.txt_at("192.0.2.1", "_acme-challenge.example.com")
