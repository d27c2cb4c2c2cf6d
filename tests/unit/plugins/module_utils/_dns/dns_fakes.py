# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes for the dns-01 unit tests: a transport that replays recorded exchanges and checks every
request, and a DNS client with a scripted view of the world."""

from __future__ import annotations

import json
import os
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import Response

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load_fixture(name: str) -> t.Dict[str, t.Any]:
    with open(os.path.join(FIXTURES, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def _body_bytes(spec: t.Mapping[str, t.Any]) -> t.Optional[bytes]:
    if "json" in spec:
        return json.dumps(spec["json"]).encode("utf-8")
    if spec.get("body") is not None:
        return spec["body"].encode("utf-8")
    return None


class ReplayTransport(object):
    """Answers with the recorded responses, in order, after checking that each request is the
    recorded one: method, URL, every header, body (JSON compared as data)."""

    def __init__(self, exchanges: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        self.exchanges = list(exchanges)
        self.requests = []  # type: t.List[t.Dict[str, t.Any]]

    def request(self, method: str, url: str, headers: t.Optional[t.Mapping[str, str]] = None,
                body: t.Optional[bytes] = None) -> Response:
        index = len(self.requests)
        self.requests.append({"method": method, "url": url, "headers": dict(headers or {}), "body": body})
        assert index < len(self.exchanges), "unexpected request %s %s" % (method, url)
        want = self.exchanges[index]["request"]
        assert method == want["method"], (index, method, want["method"])
        assert url == want["url"], (index, url, want["url"])
        assert dict(headers or {}) == want["headers"], (index, headers, want["headers"])
        if "json" in want:
            assert json.loads((body or b"null").decode("utf-8")) == want["json"], index
        else:
            assert (body.decode("utf-8") if body else None) == want.get("body"), index
        answer = self.exchanges[index]["response"]
        return Response(answer["status"], _body_bytes(answer) or b"", answer.get("headers"))

    def done(self) -> bool:
        return len(self.requests) == len(self.exchanges)


class RecordingTransport(object):
    """Records requests and answers from a function (used to write fixtures)."""

    def __init__(self, answer: t.Callable[[str, str, t.Mapping[str, str], t.Optional[bytes]], Response]) -> None:
        self.answer = answer
        self.requests = []  # type: t.List[t.Any]

    def request(self, method, url, headers=None, body=None):  # type: ignore[no-untyped-def]
        response = self.answer(method, url, headers or {}, body)
        self.requests.append((method, url, dict(headers or {}), body, response))
        return response


class FakeDns(object):
    """The DNS as dns-01 sees it: CNAMEs, zones, name servers and what each server serves.
    ``served`` maps server address -> name -> values; ``lag`` delays a server by N polls."""

    def __init__(self, zones: t.Mapping[str, t.Sequence[t.Tuple[str, str]]],
                 cnames: t.Optional[t.Mapping[str, str]] = None) -> None:
        self.zones = dict(zones)
        self.cnames = dict(cnames or {})
        self.served = {}  # type: t.Dict[str, t.Dict[str, t.List[str]]]
        self.lag = {}  # type: t.Dict[str, int]
        self.queries = []  # type: t.List[t.Tuple[str, str]]

    def follow_cname(self, name: str) -> t.List[str]:
        chain = [name]
        while chain[-1] in self.cnames:
            chain.append(self.cnames[chain[-1]])
        return chain

    def find_zone(self, name: str) -> t.Tuple[str, str]:
        labels = name.split(".")
        for index in range(len(labels)):
            candidate = ".".join(labels[index:])
            if candidate in self.zones:
                return candidate, self.zones[candidate][0][0]
        raise DnsProviderError("no DNS zone found for %s" % name)

    def nameservers(self, zone: str) -> t.List[t.Tuple[str, str]]:
        return list(self.zones[zone])

    def addresses(self, host: str) -> t.List[str]:
        return ["192.0.2.53"]

    def txt_at(self, server: str, name: str) -> t.List[str]:
        self.queries.append((server, name))
        if self.lag.get(server, 0) > 0:
            self.lag[server] -= 1
            return []
        return list(self.served.get(server, {}).get(name, []))
