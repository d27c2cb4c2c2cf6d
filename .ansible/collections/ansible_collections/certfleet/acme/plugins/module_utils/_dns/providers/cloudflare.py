# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare API v4 with an API token (permission Zone:DNS:Edit). Private to this collection.

Each TXT value is its own record at Cloudflare. All records of a zone are created or deleted in
one request to the batch endpoint (``POST /zones/{zone_id}/dns_records/batch``).
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode

from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import json_body
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone, unquote_txt)

API = "https://api.cloudflare.com/client/v4"


class Provider(DnsProvider):
    name = "cloudflare"
    description = "Cloudflare API v4 (API token)"
    batches = True
    options = {
        "api_token": Option("API token with the permission Zone / DNS / Edit for the zones.", secret=True,
                            required=True, env=["CLOUDFLARE_API_TOKEN", "CF_DNS_API_TOKEN"]),
        "zone_id": Option("Zone id; skips the look-up of the zone by name (a token limited to one "
                          "zone may not list zones).", env=["CLOUDFLARE_ZONE_ID"]),
        "endpoint": Option("API base URL.", default=API),
    }

    def _call(self, method: str, path: str, what: str, body: t.Any = None) -> t.Any:
        headers = {"Authorization": "Bearer " + self.config["api_token"], "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json_body(body)
        response = self.request(method, self.config["endpoint"].rstrip("/") + path, headers, data)
        doc = response.json()
        if 200 <= response.status < 300 and isinstance(doc, dict) and doc.get("success", True):
            return doc
        errors = doc.get("errors") if isinstance(doc, dict) else None
        detail = "; ".join("%s %s" % (e.get("code", ""), e.get("message", "")) for e in errors or []
                           if isinstance(e, dict)) or response.text()
        if response.status in (401, 403):
            raise self.error("%s: the API token was rejected (HTTP %d: %s)" % (what, response.status, detail))
        raise self.error("%s: HTTP %d: %s" % (what, response.status, detail), status=response.status)

    def find_zone(self, zone: str) -> Zone:
        if self.config["zone_id"]:
            return Zone(zone, self.config["zone_id"])
        doc = self._call("GET", "/zones?" + urlencode({"name": zone}), "looking up zone %s" % zone)
        for item in doc.get("result") or []:
            if str(item.get("name", "")).lower() == zone:
                return Zone(zone, item["id"])
        raise self.error("no zone %s in this Cloudflare account (or the token may not read it)" % zone, zone=zone)

    def _records(self, zone: Zone, name: str) -> t.List[t.Dict[str, t.Any]]:
        query = urlencode({"type": "TXT", "name": name, "per_page": 100})
        doc = self._call("GET", "/zones/%s/dns_records?%s" % (quote(zone.handle, safe=""), query),
                         "listing TXT records at %s" % name)
        return [r for r in doc.get("result") or [] if str(r.get("name", "")).lower() == name]

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return [unquote_txt(r.get("content", "")) for r in self._records(zone, name)]

    def _batch(self, zone: Zone, body: t.Dict[str, t.Any]) -> None:
        self._call("POST", "/zones/%s/dns_records/batch" % quote(zone.handle, safe=""),
                   "changing TXT records in %s" % zone.name, body)

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        posts = [{"type": "TXT", "name": name, "content": value, "ttl": ttl,
                  "comment": "certfleet.acme dns-01"}
                 for name, values in sorted(records.items()) for value in values]
        self._batch(zone, {"posts": posts})

    def remove_txt(self, zone: Zone, records: Records) -> None:
        deletes = []
        for name, values in sorted(records.items()):
            deletes.extend({"id": r["id"]} for r in self._records(zone, name)
                           if unquote_txt(r.get("content", "")) in values)
        if deletes:
            self._batch(zone, {"deletes": deletes})
