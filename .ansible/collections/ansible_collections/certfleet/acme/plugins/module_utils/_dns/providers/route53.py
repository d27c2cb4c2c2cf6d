# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Route 53 REST API (2013-04-01) signed with AWS Signature Version 4. Private to this collection.

Route 53 keeps one RRset per name and type, so the current TXT RRset is read and merged (UPSERT
with our values added; UPSERT of the rest, or DELETE of the exact RRset, to remove ours). All
names of a zone go into one ChangeBatch.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import typing as t
import xml.etree.ElementTree as ET

from ansible.module_utils.six.moves.urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone, unquote_txt)

API_VERSION = "2013-04-01"
NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _uri_encode(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def sigv4(method: str, url: str, headers: t.Mapping[str, str], body: bytes, access_key: str,
          secret_key: str, region: str, service: str, amz_date: str,
          session_token: t.Optional[str] = None) -> t.Dict[str, str]:
    """The request's headers plus Host, X-Amz-Date (, X-Amz-Security-Token) and Authorization,
    per AWS Signature Version 4 (every given header is signed)."""
    parts = urlsplit(url)
    result = dict(headers)
    result["Host"] = parts.netloc
    result["X-Amz-Date"] = amz_date
    if session_token:
        result["X-Amz-Security-Token"] = session_token
    canonical_headers = {}
    for key, value in result.items():
        canonical_headers[key.lower().strip()] = " ".join(str(value).strip().split())
    signed = ";".join(sorted(canonical_headers))
    query = sorted((_uri_encode(k), _uri_encode(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True))
    canonical = "\n".join([
        method.upper(),
        _uri_encode(parts.path or "/", safe="/-_.~"),
        "&".join("%s=%s" % kv for kv in query),
        "".join("%s:%s\n" % (k, canonical_headers[k]) for k in sorted(canonical_headers)),
        signed,
        _sha256(body or b""),
    ])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, _sha256(canonical.encode("utf-8"))])
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    result["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, signed, signature)
    return result


def _text(node: t.Any, path: str) -> str:
    """Text at ``path`` below ``node``, with or without Route 53's XML namespace."""
    for candidate in ("/".join(NS + part for part in path.split("/")), path):
        found = node.find(candidate)
        if found is not None:
            return found.text or ""
    return ""


class Provider(DnsProvider):
    name = "route53"
    description = "Amazon Route 53 (AWS Signature Version 4)"
    batches = True
    options = {
        "access_key_id": Option("Access key id.", required=True, env=["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]),
        "secret_access_key": Option("Secret access key.", secret=True, required=True,
                                    env=["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]),
        "session_token": Option("Session token of temporary credentials (STS).", secret=True,
                                env=["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]),
        "hosted_zone_id": Option("Hosted zone id; skips the look-up of the zone by name.",
                                 env=["AWS_HOSTED_ZONE_ID"]),
        "endpoint": Option("API endpoint.", default="https://route53.amazonaws.com"),
        "region": Option("Signing region (V(us-east-1) for the global endpoint).", default="us-east-1"),
    }

    def now(self) -> str:
        clock = self.context.clock
        moment = datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc) if clock else \
            datetime.datetime.now(datetime.timezone.utc)
        return moment.strftime("%Y%m%dT%H%M%SZ")

    def _call(self, method: str, path: str, what: str, body: bytes = b"") -> t.Any:
        url = self.config["endpoint"].rstrip("/") + "/" + API_VERSION + path
        headers = {"Content-Type": "text/xml"} if body else {}
        headers = sigv4(method, url, headers, body, self.config["access_key_id"],
                        self.config["secret_access_key"], self.config["region"], "route53", self.now(),
                        self.config["session_token"])
        response = self.request(method, url, headers, body or None)
        try:
            doc = ET.fromstring(response.body) if response.body else None
        except ET.ParseError:
            doc = None
        if 200 <= response.status < 300:
            return doc
        code = message = ""
        if doc is not None:
            code, message = _text(doc, "Error/Code"), _text(doc, "Error/Message")
        detail = ("%s: %s" % (code, message)) if code else response.text()
        if response.status == 403 or code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied"):
            raise self.error("%s: the AWS credentials were rejected (HTTP %d, %s)" % (what, response.status, detail))
        raise self.error("%s: HTTP %d: %s" % (what, response.status, detail), status=response.status)

    def find_zone(self, zone: str) -> Zone:
        if self.config["hosted_zone_id"]:
            return Zone(zone, self.config["hosted_zone_id"].split("/")[-1])
        doc = self._call("GET", "/hostedzonesbyname?" + urlencode({"dnsname": zone + ".", "maxitems": "100"}),
                         "looking up zone %s" % zone)
        public = []
        for node in doc.iter(NS + "HostedZone") if doc is not None else []:
            if _text(node, "Name").rstrip(".").lower() == zone:
                private = _text(node, "Config/PrivateZone") == "true"
                public.append((private, _text(node, "Id").split("/")[-1]))
        if not public:
            raise self.error("no hosted zone %s in this AWS account" % zone, zone=zone)
        return Zone(zone, sorted(public)[0][1])

    def _rrset(self, zone: Zone, name: str) -> t.Tuple[t.List[str], t.Optional[int]]:
        query = urlencode({"name": name + ".", "type": "TXT", "maxitems": "1"})
        doc = self._call("GET", "/hostedzone/%s/rrset?%s" % (zone.handle, query), "reading %s" % name)
        for node in doc.iter(NS + "ResourceRecordSet") if doc is not None else []:
            if _text(node, "Name").rstrip(".").lower() == name and _text(node, "Type") == "TXT":
                values = [unquote_txt(v.text or "") for v in node.iter(NS + "Value")]
                return values, int(_text(node, "TTL") or 0) or None
        return [], None

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return self._rrset(zone, name)[0]

    @staticmethod
    def _change(action: str, name: str, values: t.Sequence[str], ttl: int) -> str:
        rrs = "".join("<ResourceRecord><Value>\"%s\"</Value></ResourceRecord>" % v for v in values)
        return ("<Change><Action>%s</Action><ResourceRecordSet><Name>%s.</Name><Type>TXT</Type>"
                "<TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet></Change>"
                % (action, name, ttl, rrs))

    def _submit(self, zone: Zone, changes: t.List[str]) -> None:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
                "<ChangeBatch><Comment>certfleet.acme dns-01</Comment><Changes>%s</Changes></ChangeBatch>"
                "</ChangeResourceRecordSetsRequest>" % "".join(changes))
        self._call("POST", "/hostedzone/%s/rrset/" % zone.handle, "changing TXT records in %s" % zone.name,
                   body.encode("utf-8"))

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        changes = []
        for name, values in sorted(records.items()):
            current, _ttl = self._rrset(zone, name)
            changes.append(self._change("UPSERT", name, current + [v for v in values if v not in current], ttl))
        self._submit(zone, changes)

    def remove_txt(self, zone: Zone, records: Records) -> None:
        changes = []
        for name, values in sorted(records.items()):
            current, ttl = self._rrset(zone, name)
            if not any(v in current for v in values):
                continue
            rest = [v for v in current if v not in values]
            if rest:
                changes.append(self._change("UPSERT", name, rest, ttl or self.default_ttl))
            else:
                changes.append(self._change("DELETE", name, current, ttl or self.default_ttl))
        if changes:
            self._submit(zone, changes)
