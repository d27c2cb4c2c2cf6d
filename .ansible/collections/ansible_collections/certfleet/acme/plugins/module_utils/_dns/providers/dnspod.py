# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNSPod through Tencent Cloud API 3.0 (service dnspod, version 2021-03-23), signed with
TC3-HMAC-SHA256. Private to this collection.

Each TXT value is its own record (CreateRecord / DeleteRecord by RecordId), on the default line.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import typing as t

from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone, unquote_txt)

API_VERSION = "2021-03-23"
SERVICE = "dnspod"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_LINE = u"\u9ed8\u8ba4"  # "默认", the default resolution line


def tc3_authorization(secret_id: str, secret_key: str, service: str, host: str, payload: bytes,
                      timestamp: int, content_type: str = CONTENT_TYPE) -> str:
    """The Authorization header of a POST to ``https://<host>/`` (TC3-HMAC-SHA256, signing
    content-type and host)."""
    canonical = "\n".join(["POST", "/", "", "content-type:%s\nhost:%s\n" % (content_type, host),
                           "content-type;host", hashlib.sha256(payload).hexdigest()])
    date = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    scope = "%s/%s/tc3_request" % (date, service)
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                                hashlib.sha256(canonical.encode("utf-8")).hexdigest()])

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    key = sign(sign(sign(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s" % (
        secret_id, scope, signature)


class Provider(DnsProvider):
    name = "dnspod"
    description = "DNSPod via Tencent Cloud API 3.0 (TC3-HMAC-SHA256)"
    default_ttl = 600
    options = {
        "secret_id": Option("SecretId of the API key.", secret=True, required=True, env=["TENCENTCLOUD_SECRET_ID"]),
        "secret_key": Option("SecretKey of the API key.", secret=True, required=True, env=["TENCENTCLOUD_SECRET_KEY"]),
        "session_token": Option("Token of temporary credentials (STS).", secret=True,
                                env=["TENCENTCLOUD_SESSION_TOKEN"]),
        "endpoint": Option("API endpoint.", default="https://dnspod.tencentcloudapi.com"),
    }

    def _call(self, action: str, what: str, params: t.Dict[str, t.Any],
              missing_ok: t.Sequence[str] = ()) -> t.Dict[str, t.Any]:
        url = self.config["endpoint"].rstrip("/") + "/"
        host = urlsplit(url).netloc
        payload = json.dumps(params, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
        clock = self.context.clock
        timestamp = int(clock() if clock else datetime.datetime.now(datetime.timezone.utc).timestamp())
        headers = {
            "Authorization": tc3_authorization(self.config["secret_id"], self.config["secret_key"], SERVICE,
                                               host, payload, timestamp),
            "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": API_VERSION,
        }
        if self.config["session_token"]:
            headers["X-TC-Token"] = self.config["session_token"]
        response = self.request("POST", url, headers, payload)
        doc = response.json()
        body = doc.get("Response") if isinstance(doc, dict) else None
        if not isinstance(body, dict):
            raise self.error("%s: HTTP %d: %s" % (what, response.status, response.text()), status=response.status)
        error = body.get("Error")
        if not error:
            return body
        code = str(error.get("Code", ""))
        if code in missing_ok:
            return {}
        detail = "%s: %s" % (code, error.get("Message", ""))
        if code.startswith("AuthFailure") or code.startswith("UnauthorizedOperation"):
            raise self.error("%s: the API key was rejected (%s)" % (what, detail))
        raise self.error("%s: %s" % (what, detail), code=code)

    def find_zone(self, zone: str) -> Zone:
        body = self._call("DescribeDomain", "looking up zone %s" % zone, {"Domain": zone},
                          missing_ok=("ResourceNotFound.NoDataOfDomain", "InvalidParameterValue.DomainNotExists"))
        if not body.get("DomainInfo"):
            raise self.error("the account has no domain %s in DNSPod" % zone, zone=zone)
        return Zone(zone, zone)

    def _records(self, zone: Zone, name: str) -> t.List[t.Dict[str, t.Any]]:
        body = self._call("DescribeRecordList", "listing TXT records at %s" % name,
                          {"Domain": zone.handle, "Subdomain": zone.relative(name), "RecordType": "TXT",
                           "Limit": 3000}, missing_ok=("ResourceNotFound.NoDataOfRecord",))
        return [r for r in body.get("RecordList") or []
                if r.get("Type") == "TXT" and r.get("Name") == zone.relative(name)]

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return [unquote_txt(r.get("Value", "")) for r in self._records(zone, name)]

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        for name, values in sorted(records.items()):
            for value in values:
                self._call("CreateRecord", "adding a TXT record at %s" % name,
                           {"Domain": zone.handle, "SubDomain": zone.relative(name), "RecordType": "TXT",
                            "RecordLine": DEFAULT_LINE, "Value": value, "TTL": ttl})

    def remove_txt(self, zone: Zone, records: Records) -> None:
        for name, values in sorted(records.items()):
            for record in self._records(zone, name):
                if unquote_txt(record.get("Value", "")) in values:
                    self._call("DeleteRecord", "deleting a TXT record at %s" % name,
                               {"Domain": zone.handle, "RecordId": record["RecordId"]})
