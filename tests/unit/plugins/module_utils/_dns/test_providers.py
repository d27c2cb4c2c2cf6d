# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every HTTP provider replayed against recorded exchanges (fixtures/*.json, see
record_fixtures.py): each request's method, URL, headers (signatures included) and body must be
exactly the recorded one; signatures are also recomputed from the bytes that were sent."""

from __future__ import annotations

import json
import typing as t
from urllib.parse import parse_qsl, urlsplit

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError, InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context
from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import alidns, dnspod, route53
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS

from dns_fakes import ReplayTransport, load_fixture

HTTP_PROVIDERS = ["powerdns", "cloudflare", "route53", "alidns", "dnspod"]
APEX = "_acme-challenge.example.com"
WWW = "_acme-challenge.www.example.com"


def _provider(fixture: t.Dict[str, t.Any], scenario: str) -> t.Tuple[t.Any, ReplayTransport]:
    exchanges = [e for e in fixture[scenario] if "request" in e]
    transport = ReplayTransport(exchanges)
    counter = iter(range(1, 1000))
    context = Context(transport=transport, environ={}, clock=lambda: fixture["clock"],
                      nonce=lambda: "3ee8c1b8-83d3-44af-a94f-%012d" % next(counter))
    return PROVIDERS[fixture["provider"]](fixture["options"], context), transport


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_present_keeps_foreign_values_and_batches(name):
    fixture = load_fixture(name)
    values = fixture["values"]
    provider, transport = _provider(fixture, "present")
    zone = provider.find_zone("example.com")
    assert sorted(provider.list_txt(zone, APEX)) == [values["foreign"]]
    provider.add_txt(zone, {APEX: values["apex"], WWW: values["www"]}, provider.default_ttl)
    assert transport.done()
    writes = [r for r in transport.requests if r["method"] != "GET" and "X-TC-Action" not in r["headers"]
              or "Action=AddDomainRecord" in r["url"] or r["headers"].get("X-TC-Action") == "CreateRecord"]
    if PROVIDERS[name].batches:  # one write request for the whole zone
        assert len(writes) == 1
    else:  # one request per value
        assert len(writes) == 3


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_absent_removes_exactly_ours(name):
    fixture = load_fixture(name)
    values = fixture["values"]
    provider, transport = _provider(fixture, "absent")
    zone = provider.find_zone("example.com")
    provider.remove_txt(zone, {APEX: values["apex"], WWW: values["www"]})
    assert transport.done()
    sent = json.dumps([r["url"] + repr(r["body"]) for r in transport.requests])
    assert values["foreign"] not in sent or name in ("powerdns", "route53")  # RRset APIs rewrite the rest
    if name in ("powerdns", "route53"):  # the remaining RRset is exactly the foreign value
        body = transport.requests[-1]["body"].decode("utf-8")
        assert values["foreign"] in body and values["apex"][0] not in body


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
@pytest.mark.parametrize("scenario, message", [("rejected", "rejected"), ("unknown_zone", "example.com")])
def test_errors_are_clear_and_never_show_secrets(name, scenario, message):
    fixture = load_fixture(name)
    provider, transport = _provider(fixture, scenario)
    with pytest.raises(DnsProviderError) as info:
        provider.find_zone("example.com")
    assert message in info.value.msg
    assert info.value.msg == fixture[scenario][-1]["error"]
    for key, value in fixture["options"].items():
        if PROVIDERS[name].options[key].secret:
            assert value not in info.value.msg
    assert transport.done()


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_missing_credentials_are_an_input_error(name):
    required = [k for k, o in PROVIDERS[name].options.items() if o.required]
    with pytest.raises(InputError, match="provider_options.%s" % required[0]):
        PROVIDERS[name]({}, Context(environ={}))


def test_credentials_from_the_environment():
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-from-env",
           "AWS_SESSION_TOKEN": "token-from-env"}
    provider = PROVIDERS["route53"]({}, Context(environ=env))
    assert provider.config["secret_access_key"] == "s3cr3t-from-env"
    assert provider.mask("x s3cr3t-from-env token-from-env") == "x ******** ********"
    cloudflare = PROVIDERS["cloudflare"]({"api_token": "given"}, Context(environ={"CLOUDFLARE_API_TOKEN": "env"}))
    assert cloudflare.config["api_token"] == "given"  # an option wins over the environment


def test_options_of_another_provider_are_refused():
    with pytest.raises(InputError, match="api_token not used by provider rfc2136"):
        PROVIDERS["rfc2136"]({"api_token": "x"}, Context(environ={}))


def test_route53_signature_matches_the_sent_bytes():
    fixture = load_fixture("route53")
    for exchange in fixture["present"] + fixture["absent"]:
        request = exchange["request"]
        body = request.get("body", "").encode("utf-8")
        unsigned = dict((k, v) for k, v in request["headers"].items()
                        if k not in ("Authorization", "Host", "X-Amz-Date"))
        again = route53.sigv4(request["method"], request["url"], unsigned, body, "AKIDEXAMPLE",
                              fixture["options"]["secret_access_key"], "us-east-1", "route53",
                              request["headers"]["X-Amz-Date"])
        assert again["Authorization"] == request["headers"]["Authorization"]


def test_alidns_signature_matches_the_sent_query():
    fixture = load_fixture("alidns")
    for exchange in fixture["present"] + fixture["absent"]:
        params = dict(parse_qsl(urlsplit(exchange["request"]["url"]).query, keep_blank_values=True))
        signature = params.pop("Signature")
        assert signature == alidns.rpc_signature("GET", params, fixture["options"]["access_key_secret"])
        assert params["SignatureMethod"] == "HMAC-SHA1" and params["Format"] == "JSON"


def test_dnspod_signature_matches_the_sent_body():
    fixture = load_fixture("dnspod")
    for exchange in fixture["present"] + fixture["absent"]:
        request = exchange["request"]
        payload = json.dumps(request["json"], separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        expected = dnspod.tc3_authorization(fixture["options"]["secret_id"], fixture["options"]["secret_key"],
                                            "dnspod", "dnspod.tencentcloudapi.com", payload.encode("utf-8"),
                                            int(request["headers"]["X-TC-Timestamp"]))
        assert request["headers"]["Authorization"] == expected
        assert request["headers"]["X-TC-Version"] == "2021-03-23"
