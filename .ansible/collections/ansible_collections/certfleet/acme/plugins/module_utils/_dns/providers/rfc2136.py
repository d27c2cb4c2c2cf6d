# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS...), via dnspython.
Private to this collection.

All names of a zone go into one UPDATE message. Adding a value that exists is a no-op in
RFC 2136, and deleting ``name TXT value`` removes only that value, so other values stay.
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import (
    DnsProvider, Option, Records, Zone)
from ansible_collections.certfleet.acme.plugins.module_utils._dns.resolver import HAS_DNSPYTHON, fqdn

if HAS_DNSPYTHON:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update

ALGORITHMS = ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]


class Provider(DnsProvider):
    name = "rfc2136"
    description = "RFC 2136 dynamic DNS update with a TSIG key (BIND, Knot, PowerDNS, ...)"
    batches = True
    options = {
        "server": Option("Address (or host name) of the primary server that accepts updates. "
                         "Defaults to the address of the zone's SOA MNAME.", env=["RFC2136_NAMESERVER"]),
        "port": Option("Port of O(provider_options.server).", type="int", default=53),
        "tsig_key_name": Option("Name of the TSIG key.", env=["RFC2136_TSIG_KEY"]),
        "tsig_secret": Option("Base64 secret of the TSIG key.", secret=True, env=["RFC2136_TSIG_SECRET"]),
        "tsig_algorithm": Option("TSIG algorithm.", default="hmac-sha256", choices=ALGORITHMS,
                                 env=["RFC2136_TSIG_ALGORITHM"]),
        "timeout": Option("Timeout of one update or query, in seconds.", type="int", default=10),
    }

    def __init__(self, options: t.Any, context: t.Any) -> None:
        super(Provider, self).__init__(options, context)
        if bool(self.config["tsig_key_name"]) != bool(self.config["tsig_secret"]):
            raise self.input_error("tsig_key_name and tsig_secret go together")
        self.keyring = None
        if self.config["tsig_key_name"]:
            try:
                self.keyring = dns.tsigkeyring.from_text({self.config["tsig_key_name"]: self.config["tsig_secret"]})
            except Exception:  # noqa: BLE001 -- a secret that is not base64: never echo it
                raise self.input_error("provider_options.tsig_secret is not a base64 TSIG secret")
        self.servers = {}  # type: t.Dict[str, str]

    def _server(self, zone: str) -> str:
        if zone not in self.servers:
            server = self.config["server"]
            if not server:
                server = self.context.dns.find_zone(zone)[1]
            try:
                import ipaddress
                ipaddress.ip_address(server)
            except ValueError:
                addresses = self.context.dns.addresses(server)
                if not addresses:
                    raise self.error("cannot resolve the update server %s" % server)
                server = addresses[0]
            self.servers[zone] = server
        return self.servers[zone]

    def _send(self, message: t.Any, server: str, what: str) -> t.Any:
        try:
            response = dns.query.tcp(message, server, port=self.config["port"], timeout=self.config["timeout"])
        except dns.tsig.PeerError as exc:
            raise self.error("%s: the server %s rejected the TSIG key %s (%s)"
                             % (what, server, self.config["tsig_key_name"], exc.__class__.__name__))
        except (dns.exception.DNSException, OSError) as exc:
            raise self.error("%s: no answer from %s port %s (%s)"
                             % (what, server, self.config["port"], exc or exc.__class__.__name__))
        return response

    def find_zone(self, zone: str) -> Zone:
        server = self._server(zone)
        query = dns.message.make_query(zone + ".", "SOA")
        query.flags &= ~dns.flags.RD
        if self.keyring:  # a signed query: a wrong key fails here, before anything is written
            query.use_tsig(self.keyring, keyname=self.config["tsig_key_name"],
                           algorithm=dns.name.from_text(self.config["tsig_algorithm"]))
        response = self._send(query, server, "SOA query for %s" % zone)
        soa = [r for r in response.answer if r.rdtype == dns.rdatatype.SOA and fqdn(r.name.to_text()) == zone]
        if response.rcode() != dns.rcode.NOERROR or not response.flags & dns.flags.AA or not soa:
            raise self.error("the server %s is not authoritative for the zone %s (%s)"
                             % (server, zone, dns.rcode.to_text(response.rcode())), zone=zone)
        return Zone(zone, server)

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        return self.context.dns.txt_at(zone.handle, name)

    def _update(self, zone: Zone, records: Records, ttl: t.Optional[int]) -> None:
        kwargs = {}  # type: t.Dict[str, t.Any]
        if self.keyring:
            kwargs = {"keyring": self.keyring, "keyalgorithm": dns.name.from_text(self.config["tsig_algorithm"])}
        update = dns.update.UpdateMessage(zone.name + ".", **kwargs)
        for name, values in sorted(records.items()):
            for value in values:
                rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, '"%s"' % value.replace('"', '\\"'))
                if ttl is None:
                    update.delete(name + ".", rdata)
                else:
                    update.add(name + ".", ttl, rdata)
        what = "%s of %d TXT value(s) in %s" % (
            "delete" if ttl is None else "update", sum(len(v) for v in records.values()), zone.name)
        response = self._send(update, zone.handle, what)
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            hint = {dns.rcode.REFUSED: " (the key may not update these names: check update-policy)",
                    dns.rcode.NOTAUTH: " (TSIG key unknown or not authorized)",
                    dns.rcode.NOTZONE: " (name outside the zone)"}.get(rcode, "")
            raise self.error("%s: the server %s answered %s%s" % (what, zone.handle, dns.rcode.to_text(rcode), hint))

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        self._update(zone, records, ttl)

    def remove_txt(self, zone: Zone, records: Records) -> None:
        self._update(zone, records, None)
