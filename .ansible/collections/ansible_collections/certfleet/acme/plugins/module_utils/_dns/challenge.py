# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns-01: deploy and remove the challenges' TXT records through a DNS provider (the
dns_challenge module, on the store host). Private to this collection.

validate(): every entry is checked, the provider built (credentials), CNAMEs followed, each
target's zone found by SOA and looked up at the provider, the current values read - all before
anything is written. apply(): one add/remove call per zone (providers batch where they can),
then, for state=present, every authoritative server of each zone is polled until it serves
every value.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common import challenges
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import (
    CertfleetError, DnsProviderError, InputError)
from ansible_collections.certfleet.acme.plugins.module_utils._dns import propagation
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import Context, Zone
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS, provider_names
from ansible_collections.certfleet.acme.plugins.module_utils._dns.resolver import Dns, fqdn

Entry = challenges.Entry
PREFIX = "_acme-challenge."
_VALUE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def _where(entry: Entry) -> str:
    return challenges.where(dict(entry, type="dns-01"))


def record_name(entry: Entry) -> str:
    """``_acme-challenge.<identifier without *.>``, checked against ``record`` when given."""
    ident = entry.get("identifier")
    record = entry.get("record")
    if isinstance(ident, str) and ident.strip():
        base = fqdn(ident)
        base = base[2:] if base.startswith("*.") else base
        expected = PREFIX + base
        if record is not None and fqdn(str(record)) != expected:
            raise InputError("%s: record %r does not match the identifier (expected %s)"
                             % (_where(entry), record, expected))
        name = expected
    elif isinstance(record, str) and record.strip():
        name = fqdn(record)
    else:
        raise InputError("%s: needs identifier or record" % _where(entry))
    labels = name.split(".")
    if not name.startswith(PREFIX) or len(name) > 253 or len(labels) < 3 \
            or not all(_LABEL.match(label) for label in labels):
        raise InputError("%s: invalid record name %r (expected _acme-challenge.<name>)" % (_where(entry), name))
    return name


def validate_value(entry: Entry) -> str:
    value = entry.get("value")
    if not isinstance(value, str) or not _VALUE.match(value.strip()):
        raise InputError("%s: value is missing or not a dns-01 TXT value (base64url digest)" % _where(entry))
    return value.strip()


class Target(object):
    """Where the values of one ``_acme-challenge`` name go (after CNAMEs) and what is there."""

    def __init__(self, record: str) -> None:
        self.record = record
        self.chain = [record]
        self.name = record
        self.zone = None  # type: t.Optional[Zone]
        self.values = []  # type: t.List[str]
        self.existing = []  # type: t.List[str]


class Dns01Handler(object):
    """The dns-01 handler of the dns_challenge module (configured by ``provider``)."""

    type = "dns-01"
    result_key = "records"

    def __init__(self, params: t.Dict[str, t.Any], context: t.Optional[Context] = None) -> None:
        self.params = params
        self.state = params.get("state") or "present"
        name = params.get("provider")
        if name not in PROVIDERS:
            raise InputError("unknown DNS provider %r (choose one of %s)" % (name, ", ".join(provider_names())))
        self.context = context or Context()
        self.provider_class = PROVIDERS[name]
        self.provider = None  # type: t.Any
        self.targets = {}  # type: t.Dict[str, Target]
        self.zones = {}  # type: t.Dict[str, Zone]
        self.servers = {}  # type: t.Dict[str, t.List[t.Tuple[str, str]]]
        self.propagation = {}  # type: t.Dict[str, t.Any]

    # -- errors never carry secrets -------------------------------------------------------------
    def _mask(self, text: t.Any) -> str:
        return self.provider.mask(text) if self.provider is not None else "%s" % (text,)

    def _guard(self, what: str, func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        try:
            return func(*args)
        except CertfleetError as exc:
            exc.msg = self._mask(exc.msg)
            exc.args = (exc.msg,)
            raise
        except Exception as exc:  # noqa: BLE001 -- unexpected answers become clean, masked errors
            raise DnsProviderError(self._mask("DNS provider %s: %s failed: %s: %s" % (
                self.provider_class.name, what, type(exc).__name__, exc)))

    # -- before anything is written -------------------------------------------------------------
    def validate(self, entries: t.Sequence[Entry]) -> None:
        for entry in entries:
            name = record_name(entry)
            value = validate_value(entry)
            target = self.targets.setdefault(name, Target(name))
            if value not in target.values:
                target.values.append(value)
        if not self.targets:
            return
        ctx = self.context
        if ctx.dns is None:
            ctx.dns = self._guard("DNS set-up", Dns, self.params.get("dns_resolvers"))
        self.provider = self.provider_class(self.params.get("provider_options"), ctx)
        for target in self.targets.values():
            self._resolve(target)

    def _resolve(self, target: Target) -> None:
        dns = self.context.dns
        if self.params.get("follow_cnames", True):
            target.chain = self._guard("CNAME look-up", dns.follow_cname, target.record)
            target.name = target.chain[-1]
        zone_name = self._guard("zone look-up", dns.find_zone, target.name)[0]
        if zone_name not in self.zones:
            self.zones[zone_name] = self._guard("zone %s" % zone_name, self.provider.find_zone, zone_name)
        target.zone = self.zones[zone_name]
        listed = self._guard("listing %s" % target.name, self.provider.list_txt, target.zone, target.name)
        if listed is None:
            server = self._nameservers(zone_name)[0][1]
            listed = self._guard("TXT query", dns.txt_at, server, target.name)
        target.existing = list(listed)
        if self.state == "present":
            self._nameservers(zone_name)

    def _nameservers(self, zone: str) -> t.List[t.Tuple[str, str]]:
        if zone not in self.servers:
            self.servers[zone] = self._guard("NS look-up", self.context.dns.nameservers, zone)
        return self.servers[zone]

    # -- plan, diff, apply ---------------------------------------------------------------------
    def _changes(self, target: Target) -> t.List[str]:
        if self.state == "present":
            return [v for v in target.values if v not in target.existing]
        return [v for v in target.values if v in target.existing]

    def snapshot(self) -> t.Dict[str, t.List[str]]:
        return dict((t_.name, sorted(t_.existing)) for t_ in self.targets.values() if t_.existing)

    def predicted(self) -> t.Dict[str, t.List[str]]:
        after = {}
        for target in self.targets.values():
            if self.state == "present":
                values = sorted(set(target.existing) | set(target.values))
            else:
                values = sorted(set(target.existing) - set(target.values))
            if values:
                after[target.name] = values
        return after

    def apply(self, check_mode: bool) -> t.List[t.Dict[str, t.Any]]:
        changed = []
        by_zone = {}  # type: t.Dict[str, t.List[Target]]
        for target in self.targets.values():
            by_zone.setdefault(target.zone.name, []).append(target)  # type: ignore[union-attr]
        ttl = self.params.get("record_ttl") or self.provider_class.default_ttl
        for zone_name, targets in sorted(by_zone.items()):
            zone = self.zones[zone_name]
            todo = dict((tg.name, self._changes(tg)) for tg in targets if self._changes(tg))
            for tg in targets:
                if self._changes(tg):
                    changed.append({"record": tg.record, "name": tg.name, "zone": zone_name,
                                    "values": self._changes(tg)})
            if check_mode:
                continue
            if todo and self.state == "present":
                self._guard("adding TXT records in %s" % zone_name, self.provider.add_txt, zone, todo, ttl)
            elif todo:
                self._guard("removing TXT records in %s" % zone_name, self.provider.remove_txt, zone, todo)
            if self.state == "present":
                wanted = dict((tg.name, tg.values) for tg in targets)
                self.propagation[zone_name] = self._guard(
                    "propagation check", propagation.wait_for, self.context.dns, self._nameservers(zone_name),
                    wanted, float(self.params.get("propagation_timeout") or 120.0))
        return changed


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        context: t.Optional[Context] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """The dns_challenge module: add (state=present) or remove (state=absent) the TXT values of
    every dns-01 entry, all validated first; http-01 entries are left alone (``not_handled``)."""
    handler = Dns01Handler(params, context)
    return challenges.run_handler(handler, challenges.group_entries(params.get("challenges") or []),
                                  check_mode, want_diff)
