# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS provider interface every file under _dns/providers/ implements. Private to this collection.

A provider adds TXT values at a name, removes exactly those values, and (optionally) lists the
values at a name. It never sees challenges, CNAMEs or propagation: the engine (_dns/challenge.py)
finds the zone, follows CNAMEs, calls the provider once per zone and then waits for every
authoritative server. docs/dns-providers.md explains how to write one.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError, InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.http import Response, Transport

Records = t.Dict[str, t.List[str]]  # fully qualified name (no trailing dot) -> TXT values


class Option(object):
    """One provider option: its type, whether it is a secret (no_log), environment fallbacks."""

    def __init__(self, description: str, type: str = "str", required: bool = False,
                 default: t.Any = None, secret: bool = False, env: t.Sequence[str] = (),
                 choices: t.Optional[t.Sequence[str]] = None) -> None:
        self.description = description
        self.type = type
        self.required = required
        self.default = default
        self.secret = secret
        self.env = tuple(env)
        self.choices = list(choices) if choices else None

    def argument_spec(self) -> t.Dict[str, t.Any]:
        """This option as an Ansible suboption. Defaults and requirements are applied by the
        provider (options of other providers share the dict), never by Ansible."""
        spec = {"type": self.type}  # type: t.Dict[str, t.Any]
        if self.secret:
            spec["no_log"] = True
        if self.choices:
            spec["choices"] = self.choices
        return spec


class Zone(object):
    """A zone as the engine found it (SOA) plus the provider's handle for it (an id, a URL...)."""

    def __init__(self, name: str, handle: t.Any = None) -> None:
        self.name = name.rstrip(".").lower()
        self.handle = handle

    def relative(self, fqdn: str) -> str:
        """``_acme-challenge.www`` for ``_acme-challenge.www.example.com`` in ``example.com``."""
        fqdn = fqdn.rstrip(".").lower()
        if fqdn == self.name:
            return "@"
        if not fqdn.endswith("." + self.name):
            raise InputError("%s is not inside the zone %s" % (fqdn, self.name))
        return fqdn[:-len(self.name) - 1]

    def __repr__(self) -> str:
        return "Zone(%r, %r)" % (self.name, self.handle)


class Context(object):
    """What the engine hands a provider: an HTTP transport, a DNS client (_dns/resolver.Dns), the
    environment, a clock (epoch seconds) and a nonce source for signatures. Unit tests replace
    them all, so that recorded requests are reproducible byte for byte."""

    def __init__(self, transport: t.Any = None, dns: t.Any = None,
                 environ: t.Optional[t.Mapping[str, str]] = None,
                 clock: t.Optional[t.Callable[[], float]] = None,
                 nonce: t.Optional[t.Callable[[], str]] = None) -> None:
        self.transport = transport
        self.dns = dns
        self.environ = os.environ if environ is None else environ
        self.clock = clock
        self.nonce = nonce


class DnsProvider(object):
    """Base class. Subclasses set ``name``, ``options`` and implement the three operations.

    ``add_txt`` and ``remove_txt`` get every name of one zone at once, so providers whose API can
    change several record sets in one request (RFC 2136, PowerDNS, Route 53) batch them.
    Providers with one-record APIs loop. Both must leave values they were not given alone.
    """

    name = ""
    description = ""
    options = {}  # type: t.Dict[str, Option]
    default_ttl = 60
    # True when add_txt/remove_txt change all names of a zone in one request (documentation).
    batches = False

    def __init__(self, options: t.Optional[t.Mapping[str, t.Any]], context: Context) -> None:
        self.context = context
        self.secrets = []  # type: t.List[str]
        self.config = self._resolve_options(dict(options or {}))

    # -- options ------------------------------------------------------------------------------
    def _resolve_options(self, given: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """Own options from ``given``, else from the environment, else the default; InputError
        for an option of another provider or a missing required one (names only, no values)."""
        foreign = sorted(k for k, v in given.items() if v is not None and k not in self.options)
        if foreign:
            raise InputError("provider_options %s not used by provider %s (its options: %s)"
                             % (", ".join(foreign), self.name, ", ".join(sorted(self.options))))
        config = {}  # type: t.Dict[str, t.Any]
        for key, opt in self.options.items():
            value = given.get(key)
            if value is None:
                for var in opt.env:
                    if self.context.environ.get(var):
                        value = self.context.environ[var]
                        break
            if value is None:
                value = opt.default
            if value is None and opt.required:
                where = (" or the environment variable %s" % " / ".join(opt.env)) if opt.env else ""
                raise InputError("provider %s needs provider_options.%s%s"
                                 % (self.name, key, where))
            if value is not None and opt.type == "int":
                value = int(value)
            if value is not None and opt.type == "bool" and isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on")
            if opt.secret and isinstance(value, str) and value:
                self.secrets.append(value)
            config[key] = value
        return config

    def mask(self, text: t.Any) -> str:
        """``text`` with every secret of this provider replaced by ``********``."""
        text = "%s" % (text,)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "********")
        return text

    def request(self, method: str, url: str, headers: t.Optional[t.Mapping[str, str]] = None,
                body: t.Optional[bytes] = None, validate_certs: bool = True) -> Response:
        """One HTTP request through the context's transport (open_url unless a test replaced it)."""
        if self.context.transport is None:
            self.context.transport = Transport(validate_certs=validate_certs)
        return self.context.transport.request(method, url, headers, body)

    def input_error(self, msg: str) -> InputError:
        return InputError(self.mask("DNS provider %s: %s" % (self.name, msg)), provider=self.name)

    def error(self, msg: str, **details: t.Any) -> DnsProviderError:
        return DnsProviderError(self.mask("DNS provider %s: %s" % (self.name, msg)), provider=self.name,
                                **details)

    # -- the interface ------------------------------------------------------------------------
    def find_zone(self, zone: str) -> Zone:
        """The provider's handle of ``zone`` (found by SOA); DnsProviderError when the provider
        does not serve it or rejects the credentials. Called before anything is written."""
        return Zone(zone)

    def list_txt(self, zone: Zone, name: str) -> t.Optional[t.List[str]]:
        """The TXT values at ``name`` as the provider has them, or None when it cannot list
        (the engine then asks the zone's first authoritative server)."""
        return None

    def add_txt(self, zone: Zone, records: Records, ttl: int) -> None:
        """Add each value at its name, keeping the values already there."""
        raise NotImplementedError

    def remove_txt(self, zone: Zone, records: Records) -> None:
        """Remove exactly these values; other values at the same name stay."""
        raise NotImplementedError


def quote_txt(value: str) -> str:
    """A TXT value as one presentation-format string: ``say "hi"`` -> ``"say \\"hi\\""``."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def unquote_txt(content: str) -> str:
    """A TXT value as presentation text (``"abc"`` or ``"ab" "c"``) -> ``abc``."""
    content = content.strip()
    if len(content) >= 2 and content.startswith('"') and content.endswith('"'):
        parts = []
        for chunk in content[1:-1].split('" "'):
            parts.append(chunk.replace('\\"', '"').replace("\\\\", "\\"))
        return "".join(parts)
    return content
