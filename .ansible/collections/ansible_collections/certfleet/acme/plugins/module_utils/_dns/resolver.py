# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS look-ups for dns-01 with dnspython: CNAME chains, the zone of a name (SOA), the zone's
authoritative servers and their answers. Private to this collection.

Queries go to the configured resolvers (``dns_resolvers``, else the system's), except the TXT
checks, which ask every authoritative server directly (no recursion, no cache).
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver
except ImportError as _exc:  # the module runs without dnspython on web nodes (http-01 only)
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = _exc  # type: t.Optional[Exception]
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

MAX_CNAME_HOPS = 8


def fqdn(name: str) -> str:
    """Lower case, no trailing dot."""
    return name.strip().rstrip(".").lower()


def txt_strings(rdata: t.Any) -> str:
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


class Dns(object):
    """A small DNS client. ``send(message, address, port, timeout)`` is replaceable in tests."""

    def __init__(self, resolvers: t.Optional[t.Sequence[str]] = None, timeout: float = 3.0,
                 port: int = 53) -> None:
        if not HAS_DNSPYTHON:
            raise DnsProviderError("dns-01 needs the Python library dnspython on the host the "
                                   "dns_challenge module runs on (the store host): %s" % DNSPYTHON_IMPORT_ERROR)
        self.timeout = timeout
        self.port = port
        if resolvers:
            self.resolvers = [str(r) for r in resolvers]
        else:
            try:
                self.resolvers = list(dns.resolver.Resolver().nameservers)
            except Exception as exc:  # noqa: BLE001 -- no resolv.conf and no dns_resolvers
                raise DnsProviderError("no DNS resolver configured (set dns_resolvers): %s" % exc)

    # -- transport -----------------------------------------------------------------------------
    def send(self, message: t.Any, address: str, port: int, timeout: float) -> t.Any:
        response = dns.query.udp(message, address, port=port, timeout=timeout, ignore_unexpected=True)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(message, address, port=port, timeout=timeout)
        return response

    def ask(self, name: str, rdtype: str, server: t.Optional[str] = None) -> t.Any:
        """One query: to ``server`` without recursion, else to the resolvers in turn (with
        recursion). Returns the response (NOERROR or NXDOMAIN); DnsProviderError otherwise."""
        servers = [server] if server else self.resolvers
        errors = []
        for address in servers:
            query = dns.message.make_query(fqdn(name) + ".", rdtype)
            if server:
                query.flags &= ~dns.flags.RD
            try:
                response = self.send(query, address, self.port, self.timeout)
            except (dns.exception.DNSException, OSError) as exc:
                errors.append("%s: %s" % (address, exc.__class__.__name__ if not str(exc) else exc))
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return response
            errors.append("%s: %s" % (address, dns.rcode.to_text(rcode)))
        raise DnsProviderError("DNS query %s %s failed (%s)" % (fqdn(name), rdtype, "; ".join(errors)),
                               name=fqdn(name))

    # -- look-ups ------------------------------------------------------------------------------
    def follow_cname(self, name: str) -> t.List[str]:
        """The CNAME chain starting at ``name``: ``[name]`` when there is no CNAME, else
        ``[name, target, ...]`` (the last entry is where the TXT record goes)."""
        chain = [fqdn(name)]
        while True:
            response = self.ask(chain[-1], "CNAME")
            target = None
            for rrset in response.answer:
                if rrset.rdtype == dns.rdatatype.CNAME and fqdn(rrset.name.to_text()) == chain[-1]:
                    target = fqdn(rrset[0].target.to_text())
            if target is None:
                return chain
            if target in chain:
                raise DnsProviderError("CNAME loop at %s: %s" % (name, " -> ".join(chain + [target])))
            if len(chain) > MAX_CNAME_HOPS:
                raise DnsProviderError("more than %d CNAMEs from %s" % (MAX_CNAME_HOPS, name))
            chain.append(target)

    def find_zone(self, name: str) -> t.Tuple[str, str]:
        """``(zone, primary)``: the zone that holds ``name`` (SOA walk up the labels; the SOA in
        the authority section of a negative answer counts) and its SOA MNAME."""
        labels = fqdn(name).split(".")
        for index in range(len(labels) - 1):
            candidate = ".".join(labels[index:])
            response = self.ask(candidate, "SOA")
            for section in (response.answer, response.authority):
                for rrset in section:
                    owner = fqdn(rrset.name.to_text())
                    if rrset.rdtype == dns.rdatatype.SOA and (
                            fqdn(name) == owner or fqdn(name).endswith("." + owner)):
                        return owner, fqdn(rrset[0].mname.to_text())
        raise DnsProviderError("no DNS zone found for %s (no SOA record on the way up, asked %s)"
                               % (fqdn(name), ", ".join(self.resolvers)), name=fqdn(name))

    def addresses(self, host: str) -> t.List[str]:
        """IPv4 addresses of ``host``; its IPv6 addresses only when it has no IPv4 address."""
        for rdtype in ("A", "AAAA"):
            found = []
            for rrset in self.ask(host, rdtype).answer:
                if rrset.rdtype == dns.rdatatype.from_text(rdtype):
                    found.extend(rdata.address for rdata in rrset)
            if found:
                return sorted(set(found))
        return []

    def nameservers(self, zone: str) -> t.List[t.Tuple[str, str]]:
        """``[(ns name, address)]`` of every authoritative server of ``zone`` (NS records)."""
        names = []
        for rrset in self.ask(zone, "NS").answer:
            if rrset.rdtype == dns.rdatatype.NS and fqdn(rrset.name.to_text()) == fqdn(zone):
                names.extend(fqdn(rdata.target.to_text()) for rdata in rrset)
        result = []
        for ns in sorted(set(names)):
            result.extend((ns, address) for address in self.addresses(ns))
        if not result:
            raise DnsProviderError("cannot find the authoritative name servers of %s (NS %s)"
                                   % (zone, ", ".join(names) or "none"), zone=zone)
        return result

    def txt_at(self, server: str, name: str) -> t.List[str]:
        """The TXT values at ``name`` as ``server`` answers them authoritatively."""
        response = self.ask(name, "TXT", server=server)
        if not response.flags & dns.flags.AA:
            raise DnsProviderError("%s is not authoritative for %s" % (server, fqdn(name)))
        values = []
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT and fqdn(rrset.name.to_text()) == fqdn(name):
                values.extend(txt_strings(rdata) for rdata in rrset)
        return values
