# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alibaba Cloud DNS (Alidns, API version 2015-01-09), RPC style with signature method V2
(HMAC-SHA1). Private to this collection.

Each TXT value is its own record (AddDomainRecord / DeleteDomainRecord by RecordId); the API has
no batch call for this, so values are added and removed one by one.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import typing as t
import uuid

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone, unquote_txt)

API_VERSION = "2015-01-09"
CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "InvalidSecurityToken",
                     "IncompleteSignature", "NoPermission")


def percent_encode(text: str) -> str:
    """RFC 3986 encoding as the signature needs it: only A-Z a-z 0-9 - _ . ~ stay (so a space is
    %20, ``*`` is %2A and ``~`` stays), UTF-8 first."""
    return quote(str(text).encode("utf-8"), safe="-_.~")


def rpc_signature(method: str, params: t.Mapping[str, str], secret: str) -> str:
    """Signature V2: HMAC-SHA1 over ``METHOD&%2F&<encoded canonical query>`` with ``secret&``."""
    canonical = "&".join("%s=%s" % (percent_encode(k), percent_encode(v)) for k, v in sorted(params.items()))
    string_to_sign = "%s&%s&%s" % (method.upper(), percent_encode("/"), percent_encode(canonical))
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class Provider(DnsProvider):
    name = "alidns"
    description = "Alibaba Cloud DNS (Alidns RPC API, signature V2)"
    default_ttl = 600
    options = {
        "access_key_id": Option("AccessKey id.", required=True,
                                env=["ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID"]),
        "access_key_secret": Option("AccessKey secret.", secret=True, required=True,
                                    env=["ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"]),
        "security_token": Option("STS security token of temporary credentials.", secret=True,
                                 env=["ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_SECURITY_TOKEN"]),
        "endpoint": Option("API endpoint.", default="https://alidns.aliyuncs.com"),
    }

    def _stamp(self) -> t.Tuple[str, str]:
        clock = self.context.clock
        moment = datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc) if clock else \
            datetime.datetime.now(datetime.timezone.utc)
        nonce = self.context.nonce() if self.context.nonce else str(uuid.uuid4())
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), nonce

    def _call(self, action: str, what: str, **extra: t.Any) -> t.Dict[str, t.Any]:
        timestamp, nonce = self._stamp()
        params = {"Action": action, "Format": "JSON", "Version": API_VERSION,
                  "AccessKeyId": self.config["access_key_id"], "SignatureMethod": "HMAC-SHA1",
                  "SignatureVersion": "1.0", "SignatureNonce": nonce, "Timestamp": timestamp}
        if self.config["security_token"]:
            params["SecurityToken"] = self.config["security_token"]
        params.update((k, str(v)) for k, v in extra.items())
        params["Signature"] = rpc_signature("GET", params, self.config["access_key_secret"])
        query = "&".join("%s=%s" % (percent_encode(k), percent_encode(v)) for k, v in sorted(params.items()))
        response = self.request("GET", self.config["endpoint"].rstrip("/") + "/?" + query, {"Accept": "application/json"})
        doc = response.json()
        doc = doc if isinstance(doc, dict) else {}
        if 200 <= response.status < 300 and "Code" not in doc:
            return doc
        code = str(doc.get("Code", ""))
        detail = ("%s: %s" % (code, doc.get("Message", ""))) if code else response.text()
        if response.status in (401, 403) or code.startswith(CREDENTIAL_ERRORS):
            raise self.error("%s: the AccessKey was rejected (HTTP %d, %s)" % (what, response.status, detail))
        raise self.error("%s: HTTP %d: %s" % (what, response.status, detail), status=response.status, code=code)

    def find_zone(self, zone: str) -> Zone:
        try:
            doc = self._call("DescribeDomainInfo", "looking up zone %s" % zone, DomainName=zone)
        except Exception as exc:
            if "InvalidDomainName" in str(exc) or "DomainRecordNotBelongToUser" in str(exc):
                raise self.error("the account does not have the domain %s in Alibaba Cloud DNS" % zone, zone=zone)
            raise
        return Zone(zone, doc.get("DomainName") or zone)

    def _records(self, zone: Zone, name: str) -> t.List[t.Dict[str, t.Any]]:
        doc = self._call("DescribeSubDomainRecords", "listing TXT records at %s" % name, SubDomain=name,
                         DomainName=zone.handle, Type="TXT", PageSize=500)
        records = (doc.get("DomainRecords") or {}).get("Record") or []
        return [r for r in records if r.get("Type") == "TXT" and zone.relative(name) == r.get("RR")]

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return [unquote_txt(r.get("Value", "")) for r in self._records(zone, name)]

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        for name, values in sorted(records.items()):
            for value in values:
                self._call("AddDomainRecord", "adding a TXT record at %s" % name, DomainName=zone.handle,
                           RR=zone.relative(name), Type="TXT", Value=value, TTL=ttl)

    def remove_txt(self, zone: Zone, records: Records) -> None:
        for name, values in sorted(records.items()):
            for record in self._records(zone, name):
                if unquote_txt(record.get("Value", "")) in values:
                    self._call("DeleteDomainRecord", "deleting a TXT record at %s" % name,
                               RecordId=record["RecordId"])
