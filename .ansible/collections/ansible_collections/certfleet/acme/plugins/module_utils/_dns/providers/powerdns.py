# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerDNS Authoritative Server, HTTP API v1. Private to this collection.

A PATCH replaces whole RRsets, so the current TXT RRset is read first and merged: records that
are not ours stay byte-for-byte. All names of a zone go into one PATCH.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode

from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import json_body
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone, quote_txt, unquote_txt)


class Provider(DnsProvider):
    name = "powerdns"
    description = "PowerDNS Authoritative Server HTTP API"
    batches = True
    options = {
        "api_url": Option("Base URL of the API, for example V(http://192.0.2.53:8081) (without V(/api/v1)).",
                          required=True, env=["PDNS_API_URL"]),
        "api_key": Option("The API key (C(X-API-Key)).", secret=True, required=True, env=["PDNS_API_KEY"]),
        "server_id": Option("The server id in the API.", default="localhost", env=["PDNS_SERVER_ID"]),
        "validate_certs": Option("Verify the API's TLS certificate (HTTPS URLs).", type="bool", default=True),
    }

    def __init__(self, options: t.Any, context: t.Any) -> None:
        super(Provider, self).__init__(options, context)
        self.base = "%s/api/v1/servers/%s" % (self.config["api_url"].rstrip("/"), quote(self.config["server_id"], safe=""))

    def _call(self, method: str, path: str, what: str, body: t.Any = None,
              ok: t.Sequence[int] = (200, 204)) -> t.Any:
        headers = {"X-API-Key": self.config["api_key"], "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json_body(body)
        response = self.request(method, self.base + path, headers, data, bool(self.config["validate_certs"]))
        if response.status in ok:
            return response.json()
        doc = response.json()
        detail = doc.get("error") if isinstance(doc, dict) else response.text()
        if response.status in (401, 403):
            raise self.error("%s: the API key was rejected (HTTP %d)" % (what, response.status))
        raise self.error("%s: HTTP %d: %s" % (what, response.status, detail), status=response.status)

    def find_zone(self, zone: str) -> Zone:
        found = self._call("GET", "/zones?" + urlencode({"zone": zone + "."}), "looking up zone %s" % zone)
        for item in found or []:
            if isinstance(item, dict) and str(item.get("name", "")).rstrip(".").lower() == zone:
                return Zone(zone, item.get("id") or zone + ".")
        raise self.error("the server does not serve the zone %s" % zone, zone=zone)

    def _rrset(self, zone: Zone, name: str) -> t.Tuple[t.List[t.Dict[str, t.Any]], t.Optional[int]]:
        """The TXT records at ``name`` as PowerDNS returned them (content in presentation format)."""
        query = urlencode({"rrset_name": name + ".", "rrset_type": "TXT"})
        doc = self._call("GET", "/zones/%s?%s" % (quote(zone.handle, safe=""), query), "reading %s" % name)
        for rrset in (doc or {}).get("rrsets") or []:
            if rrset.get("type") == "TXT" and str(rrset.get("name", "")).rstrip(".").lower() == name:
                return [r for r in rrset.get("records") or [] if isinstance(r, dict)], rrset.get("ttl")
        return [], None

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return [unquote_txt(str(r.get("content", ""))) for r in self._rrset(zone, name)[0]]

    def _patch(self, zone: Zone, records: Records, ttl: t.Optional[int]) -> None:
        """Other records stay exactly as PowerDNS returned them (content, disabled flag): they are
        already presentation text, and quoting them again would break escapes and split strings.
        Only our own values are quoted (and escaped) here."""
        rrsets = []
        for name, values in sorted(records.items()):
            current, current_ttl = self._rrset(zone, name)
            kept, present = [], set()  # type: t.List[t.Dict[str, t.Any]], t.Set[str]
            for record in current:
                ours = unquote_txt(str(record.get("content", ""))) in values
                if ours and ttl is None:
                    continue  # removing
                present.add(unquote_txt(str(record.get("content", ""))))
                kept.append({"content": record.get("content", ""),  # an old value of ours is served again
                             "disabled": False if ours else bool(record.get("disabled", False))})
            if ttl is not None:
                kept += [{"content": quote_txt(v), "disabled": False} for v in values if v not in present]
            rrset = {"name": name + ".", "type": "TXT"}  # type: t.Dict[str, t.Any]
            if kept:
                rrset.update(changetype="REPLACE", ttl=ttl or current_ttl or self.default_ttl, records=kept)
            else:
                rrset["changetype"] = "DELETE"
            rrsets.append(rrset)
        self._call("PATCH", "/zones/%s" % quote(zone.handle, safe=""), "updating %s" % zone.name,
                   {"rrsets": rrsets})

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        self._patch(zone, records, ttl)

    def remove_txt(self, zone: Zone, records: Records) -> None:
        self._patch(zone, records, None)
