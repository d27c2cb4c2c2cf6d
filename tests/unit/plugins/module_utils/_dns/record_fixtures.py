# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes fixtures/<provider>.json: each provider run against a small in-memory imitation of its
API whose answers follow the provider's published API reference (response shapes, error
documents). Run ``python record_fixtures.py`` from this directory after changing a provider and
review the diff: the unit tests then replay these exchanges request by request.
"""

from __future__ import annotations

import json
import os
import re
import sys
import typing as t
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, *[".."] * 5, ".build", "collections"))

from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import Response  # noqa: E402
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS  # noqa: E402

ZONE = "example.com"
APEX = "_acme-challenge.example.com"
WWW = "_acme-challenge.www.example.com"
V1, V2, V3 = ("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
              "nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ")
FOREIGN = "google-site-verification=foreign-value"
CLOCK = 1763780400.0  # 2025-11-22T03:00:00Z
OPTIONS = {
    "powerdns": {"api_url": "https://pdns.example.net:8081", "api_key": "pdns-secret-key-0123456789"},
    "cloudflare": {"api_token": "cf-secret-token-0123456789abcdef"},
    "route53": {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    "alidns": {"access_key_id": "testid", "access_key_secret": "testsecret-0123456789"},
    "dnspod": {"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "secret_key": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"},
}


def _json(status: int, doc: t.Any) -> Response:
    return Response(status, json.dumps(doc).encode("utf-8"), {"Content-Type": "application/json"})


class Api(object):
    """State: name -> list of (id, value); ``mode`` makes the API refuse the key or not know the zone."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.records = {APEX: [("1001", FOREIGN)], WWW: []}
        self.next_id = 2000

    def add(self, name: str, value: str) -> str:
        self.next_id += 1
        self.records.setdefault(name, []).append((str(self.next_id), value))
        return str(self.next_id)

    def remove_id(self, rid: str) -> None:
        for name in self.records:
            self.records[name] = [r for r in self.records[name] if r[0] != rid]


def powerdns(api: Api, method: str, url: str, headers: t.Mapping[str, str], body: t.Optional[bytes]) -> Response:
    if api.mode == "rejected":
        return Response(401, b"Unauthorized")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.path.endswith("/zones") and method == "GET":
        zones = [] if api.mode == "unknown" else [{"id": "example.com.", "name": "example.com.", "kind": "Native",
                                                   "url": "/api/v1/servers/localhost/zones/example.com.",
                                                   "serial": 2025112201, "dnssec": False}]
        return _json(200, [z for z in zones if z["name"] == query["zone"][0]])
    if method == "GET":
        name = query["rrset_name"][0].rstrip(".")
        rrsets = [{"name": name + ".", "type": "TXT", "ttl": 120, "comments": [],
                   "records": [{"content": '"%s"' % v, "disabled": False} for _i, v in api.records.get(name, [])]}]
        return _json(200, {"id": "example.com.", "name": "example.com.", "kind": "Native",
                           "rrsets": [r for r in rrsets if r["records"]]})
    for rrset in json.loads(body.decode("utf-8"))["rrsets"]:
        name = rrset["name"].rstrip(".")
        api.records[name] = [] if rrset["changetype"] == "DELETE" else \
            [(str(i), r["content"].strip('"')) for i, r in enumerate(rrset["records"])]
    return Response(204, b"")


def cloudflare(api: Api, method: str, url: str, headers: t.Mapping[str, str], body: t.Optional[bytes]) -> Response:
    if api.mode == "rejected":
        return _json(403, {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}],
                           "messages": [], "result": None})
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    zone_id = "023e105f4ecef8ad9ca31a8372d0c353"
    if parts.path.endswith("/zones"):
        result = [] if api.mode == "unknown" else [{"id": zone_id, "name": ZONE, "status": "active"}]
        return _json(200, {"success": True, "errors": [], "messages": [], "result": result,
                           "result_info": {"page": 1, "per_page": 20, "count": len(result), "total_count": len(result)}})
    if parts.path.endswith("/dns_records") and method == "GET":
        name = query["name"][0]
        result = [{"id": rid, "zone_id": zone_id, "zone_name": ZONE, "name": name, "type": "TXT",
                   "content": '"%s"' % value, "proxiable": False, "proxied": False, "ttl": 120}
                  for rid, value in api.records.get(name, [])]
        return _json(200, {"success": True, "errors": [], "messages": [], "result": result,
                           "result_info": {"page": 1, "per_page": 100, "count": len(result), "total_count": len(result)}})
    doc = json.loads(body.decode("utf-8"))
    for item in doc.get("deletes", []):
        api.remove_id(item["id"])
    posts = []
    for item in doc.get("posts", []):
        rid = api.add(item["name"], item["content"])
        posts.append(dict(item, id=rid, zone_id=zone_id, zone_name=ZONE, proxied=False))
    return _json(200, {"success": True, "errors": [], "messages": [],
                       "result": {"deletes": [{"id": d["id"]} for d in doc.get("deletes", [])], "posts": posts}})


R53 = "https://route53.amazonaws.com/doc/2013-04-01/"


def route53(api: Api, method: str, url: str, headers: t.Mapping[str, str], body: t.Optional[bytes]) -> Response:
    if api.mode == "rejected":
        return Response(403, ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>Sender</Type>'
                              "<Code>InvalidClientTokenId</Code><Message>The security token included in the "
                              "request is invalid.</Message></Error><RequestId>a1b2</RequestId></ErrorResponse>"
                              % R53).encode())
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.path.endswith("/hostedzonesbyname"):
        zones = "" if api.mode == "unknown" else (
            "<HostedZone><Id>/hostedzone/Z1D633PJN98FT9</Id><Name>example.com.</Name>"
            "<CallerReference>2014-04-01-18:47</CallerReference><Config><Comment>public</Comment>"
            "<PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>4</ResourceRecordSetCount></HostedZone>")
        return Response(200, ('<?xml version="1.0"?>\n<ListHostedZonesByNameResponse xmlns="%s"><HostedZones>%s'
                              "</HostedZones><DNSName>example.com.</DNSName><IsTruncated>false</IsTruncated>"
                              "<MaxItems>100</MaxItems></ListHostedZonesByNameResponse>" % (R53, zones)).encode())
    if method == "GET":
        name = query["name"][0].rstrip(".")
        values = api.records.get(name, [])
        rrset = "" if not values else (
            "<ResourceRecordSet><Name>%s.</Name><Type>TXT</Type><TTL>300</TTL><ResourceRecords>%s"
            "</ResourceRecords></ResourceRecordSet>" % (name, "".join(
                "<ResourceRecord><Value>\"%s\"</Value></ResourceRecord>" % v for _i, v in values)))
        return Response(200, ('<?xml version="1.0"?>\n<ListResourceRecordSetsResponse xmlns="%s">'
                              "<ResourceRecordSets>%s</ResourceRecordSets><IsTruncated>false</IsTruncated>"
                              "<MaxItems>1</MaxItems></ListResourceRecordSetsResponse>" % (R53, rrset)).encode())
    text = body.decode("utf-8")
    for action, name, values in re.findall(r"<Action>(\w+)</Action><ResourceRecordSet><Name>([^<]+)\.</Name>"
                                           r"<Type>TXT</Type><TTL>\d+</TTL><ResourceRecords>(.*?)</ResourceRecords>",
                                           text):
        api.records[name] = [] if action == "DELETE" else \
            [(str(i), v) for i, v in enumerate(re.findall(r'<Value>"([^<]*)"</Value>', values))]
    return Response(200, ('<?xml version="1.0"?>\n<ChangeResourceRecordSetsResponse xmlns="%s"><ChangeInfo>'
                          "<Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status>"
                          "<SubmittedAt>2025-11-22T03:00:00.000Z</SubmittedAt></ChangeInfo>"
                          "</ChangeResourceRecordSetsResponse>" % R53).encode())


def alidns(api: Api, method: str, url: str, headers: t.Mapping[str, str], body: t.Optional[bytes]) -> Response:
    query = dict((k, v[0]) for k, v in parse_qs(urlsplit(url).query).items())
    rid = "0E8D1B7A-%04d" % (api.next_id % 10000)
    if api.mode == "rejected":
        return _json(404, {"RequestId": rid, "HostId": "alidns.aliyuncs.com", "Code": "InvalidAccessKeyId.NotFound",
                           "Message": "Specified access key is not found."})
    action = query["Action"]
    if action == "DescribeDomainInfo":
        if api.mode == "unknown":
            return _json(400, {"RequestId": rid, "HostId": "alidns.aliyuncs.com", "Code": "InvalidDomainName.NoExist",
                               "Message": "The specified domain name does not exist."})
        return _json(200, {"RequestId": rid, "DomainName": ZONE, "DomainId": "00efd71a-770e-4255-b54e-6fe5659baffe",
                           "VersionCode": "mianfei"})
    if action == "DescribeSubDomainRecords":
        name = query["SubDomain"]
        records = [{"RR": name[:-len(ZONE) - 1], "Line": "default", "Status": "ENABLE", "Locked": False,
                    "Type": "TXT", "DomainName": ZONE, "Value": value, "RecordId": rid_, "TTL": 600, "Weight": 1}
                   for rid_, value in api.records.get(name, [])]
        return _json(200, {"TotalCount": len(records), "RequestId": rid, "PageSize": 500, "PageNumber": 1,
                           "DomainRecords": {"Record": records}})
    if action == "AddDomainRecord":
        return _json(200, {"RequestId": rid, "RecordId": api.add(query["RR"] + "." + ZONE, query["Value"])})
    api.remove_id(query["RecordId"])
    return _json(200, {"RequestId": rid, "RecordId": query["RecordId"]})


def dnspod(api: Api, method: str, url: str, headers: t.Mapping[str, str], body: t.Optional[bytes]) -> Response:
    action = headers["X-TC-Action"]
    params = json.loads(body.decode("utf-8"))
    rid = "ab4f1426-ea15-4192-83c6-%012d" % api.next_id

    def error(code: str, message: str) -> Response:
        return _json(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}})

    if api.mode == "rejected":
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    if action == "DescribeDomain":
        if api.mode == "unknown":
            return error("ResourceNotFound.NoDataOfDomain", "The domain does not exist.")
        return _json(200, {"Response": {"DomainInfo": {"Domain": ZONE, "DomainId": 62, "Status": "ENABLE",
                                                       "Grade": "DP_FREE", "TTL": 600}, "RequestId": rid}})
    if action == "DescribeRecordList":
        name = params["Subdomain"] + "." + ZONE
        records = [{"RecordId": int(rid_), "Value": value, "Status": "ENABLE", "Name": params["Subdomain"],
                    "Line": u"\u9ed8\u8ba4", "LineId": "0", "Type": "TXT", "TTL": 600, "MX": 0}
                   for rid_, value in api.records.get(name, [])]
        if not records:
            return error("ResourceNotFound.NoDataOfRecord", "The record list is empty.")
        return _json(200, {"Response": {"RecordCountInfo": {"SubdomainCount": 1, "TotalCount": len(records),
                                                            "ListCount": len(records)},
                                        "RecordList": records, "RequestId": rid}})
    if action == "CreateRecord":
        return _json(200, {"Response": {"RecordId": int(api.add(params["SubDomain"] + "." + ZONE, params["Value"])),
                                        "RequestId": rid}})
    api.remove_id(str(params["RecordId"]))
    return _json(200, {"Response": {"RequestId": rid}})


def record(provider: str, mode: str, steps: t.Callable[[t.Any], None], api: t.Optional[Api] = None) -> t.List[t.Any]:
    from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context as Ctx
    api = api or Api(mode)
    exchanges = []

    class Recorder(object):
        def request(self, method, url, headers=None, body=None):  # type: ignore[no-untyped-def]
            response = globals()[provider](api, method, url, headers or {}, body)
            req = {"method": method, "url": url, "headers": dict(headers or {})}
            if body:
                text = body.decode("utf-8")
                try:
                    req["json"] = json.loads(text)
                except ValueError:
                    req["body"] = text
            resp = {"status": response.status}
            if response.body:
                try:
                    resp["json"] = json.loads(response.body.decode("utf-8"))
                except ValueError:
                    resp["body"] = response.body.decode("utf-8")
            exchanges.append({"request": req, "response": resp})
            return response

    counter = iter(range(1, 1000))
    context = Ctx(transport=Recorder(), environ={}, clock=lambda: CLOCK,
                  nonce=lambda: "3ee8c1b8-83d3-44af-a94f-%012d" % next(counter))
    prov = PROVIDERS[provider](OPTIONS[provider], context)
    try:
        steps(prov)
    except Exception as exc:  # noqa: BLE001 -- the error scenarios end in an error
        exchanges.append({"error": str(exc)})
    return exchanges


def main() -> None:
    for provider in OPTIONS:
        api = Api()

        def present(prov: t.Any) -> None:
            zone = prov.find_zone(ZONE)
            prov.list_txt(zone, APEX)
            prov.add_txt(zone, {APEX: [V1, V2], WWW: [V3]}, prov.default_ttl)

        def absent(prov: t.Any) -> None:
            zone = prov.find_zone(ZONE)
            prov.remove_txt(zone, {APEX: [V1, V2], WWW: [V3]})

        doc = {
            "provider": provider,
            "options": OPTIONS[provider],
            "clock": CLOCK,
            "zone": ZONE,
            "values": {"apex": [V1, V2], "www": [V3], "foreign": FOREIGN},
            "present": record(provider, "ok", present, api),
            "absent": record(provider, "ok", absent, api),
            "rejected": record(provider, "rejected", lambda p: p.find_zone(ZONE)),
            "unknown_zone": record(provider, "unknown", lambda p: p.find_zone(ZONE)),
        }
        assert [v for _i, v in api.records[APEX]] == [FOREIGN], (provider, api.records)
        with open(os.path.join(HERE, "fixtures", provider + ".json"), "w", encoding="utf-8") as handle:
            json.dump(doc, handle, indent=1, ensure_ascii=False, sort_keys=True)
            handle.write("\n")
        print("wrote fixtures/%s.json" % provider)


if __name__ == "__main__":
    main()
