# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns doc fragment documents exactly the dns-01 option group; every provider follows the rules.

plugins/doc_fragments/dns.py is generated from the provider registry (ansible-test wants a literal
string there): after adding or changing a provider, run
``python tests/unit/plugins/module_utils/_dns/test_dns_spec.py --write``.
"""

from __future__ import annotations

import os
import re
import sys

import yaml

from ansible_collections.certfleet.acme.plugins.doc_fragments.dns import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._dns.provider import DnsProvider
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS, provider_names
from ansible_collections.certfleet.acme.plugins.module_utils._dns.spec import DNS_OPTIONS

# Ansible warns about option names like these when they are not no_log.
_PASSWORDISH = re.compile(r"^(?:auth(?:entication)?|pass(?:word|phrase|wd)?|secret|cred(?:ential)?|token|key)(?:_|$)"
                          r"|_(?:password|secret|token|key)$")


FRAGMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 5, "plugins", "doc_fragments", "dns.py")
HEADER = '''# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The dns-01 options of the dns_challenge module, kept in step with _dns/spec.py DNS_OPTIONS.

    GENERATED from the provider registry: do not edit, run
    python tests/unit/plugins/module_utils/_dns/test_dns_spec.py --write
    """

    DOCUMENTATION = r"""
'''
STATIC = r"""
options:
  provider:
    description:
      - The DNS provider that deploys and removes the C(dns-01) TXT records.
      - "Providers: %(providers)s. C(docs/dns-providers.md) in the collection tells how to add one
        (one file)."
    type: str
    required: true
    choices: %(choices)s
  provider_options:
    description:
      - Settings and credentials of the O(provider). Options of other providers are refused.
      - A secret may also come from the environment variable named in its description (what AWX
        credential types inject). Secrets are never shown in results, diffs or error messages.
    type: dict
    suboptions: {}
  dns_resolvers:
    description:
      - Addresses of the recursive resolvers used to follow CNAMEs, find the zone of each record
        (SOA) and the addresses of the zone's name servers. Defaults to the system's resolvers.
      - The TXT values themselves are checked at every authoritative server of the zone directly.
    type: list
    elements: str
  propagation_timeout:
    description:
      - With O(state=present), how long (seconds) to wait until every authoritative name server
        of each zone serves every value. Polling starts after 50 ms and backs off to 2 s.
    type: float
    default: 120.0
  record_ttl:
    description:
      - TTL of the TXT records written. Defaults to the provider's smallest usual TTL (60 s; 600 s
        for alidns and dnspod, whose free plans allow no less).
    type: int
  follow_cnames:
    description:
      - Follow a CNAME at C(_acme-challenge.<name>) and write the TXT record at its target (a
        validation zone delegated with a CNAME, acme-dns style).
    type: bool
    default: true
"""


def _provider_options() -> dict:
    merged = {}  # type: dict
    for name in provider_names():
        for key, option in PROVIDERS[name].options.items():
            entry = merged.setdefault(key, {"providers": [], "option": option, "texts": []})
            entry["providers"].append(name)
            text = "%s: %s" % (name, option.description)
            if option.env:
                text += " Environment: %s." % ", ".join("C(%s)" % var for var in option.env)
            if option.default is not None:
                text += " Default: V(%s)." % (str(option.default).lower() if isinstance(option.default, bool)
                                              else option.default)
            if option.required:
                text += " Required."
            if option.secret:
                text += " Secret: never shown (no_log)."
            entry["texts"].append(text)
    docs = {}
    for key, entry in sorted(merged.items()):
        option = entry["option"]
        doc = {"description": ["Used by %s." % ", ".join(entry["providers"])] + entry["texts"],
               "type": option.type}
        if option.choices:
            doc["choices"] = list(option.choices)
        docs[key] = doc
    return docs


class _Dumper(yaml.SafeDumper):
    """Indented sequences, as in the other doc fragments."""

    def increase_indent(self, flow=False, indentless=False):  # pylint: disable=unused-argument
        return super(_Dumper, self).increase_indent(flow, False)


def render() -> str:
    data = yaml.safe_load(STATIC % {
        "providers": ", ".join("V(%s) (%s)" % (n, PROVIDERS[n].description) for n in provider_names()),
        "choices": "[%s]" % ", ".join(provider_names()),
    })
    data["options"]["provider_options"]["suboptions"] = _provider_options()
    text = yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + text + '"""\n'


def test_doc_fragment_is_generated_from_the_registry():
    with open(FRAGMENT, encoding="utf-8") as handle:
        assert handle.read() == render(), "run: python %s --write" % __file__


def test_doc_fragment_matches_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(documented) == sorted(DNS_OPTIONS)
    for name, spec in DNS_OPTIONS.items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name
        assert documented[name].get("choices") == spec.get("choices"), name
        assert documented[name].get("elements") == spec.get("elements"), name
        assert documented[name].get("required", False) == spec.get("required", False), name
    subs = documented["provider_options"]["suboptions"]
    assert sorted(subs) == sorted(DNS_OPTIONS["provider_options"]["options"])
    for name, spec in DNS_OPTIONS["provider_options"]["options"].items():
        assert subs[name]["type"] == spec["type"] and subs[name].get("choices") == spec.get("choices"), name
        assert "default" not in subs[name]  # defaults are the provider's, named in the text


def test_every_provider_is_complete():
    assert sorted(PROVIDERS) == ["alidns", "cloudflare", "dnspod", "powerdns", "rfc2136", "route53"]
    for name, provider in PROVIDERS.items():
        assert provider.name == name and provider.description
        for method in ("add_txt", "remove_txt"):
            assert getattr(provider, method) is not getattr(DnsProvider, method), (name, method)
        for key, option in provider.options.items():
            if _PASSWORDISH.search(key) and key not in ("tsig_key_name",):
                assert option.secret, (name, key)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    with open(FRAGMENT, "w", encoding="utf-8") as handle:
        handle.write(render())
    print("wrote", os.path.normpath(FRAGMENT))
