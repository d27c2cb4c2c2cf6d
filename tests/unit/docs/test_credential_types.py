# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/awx/credential_types/*.yml against what the providers and the role read.

Each DNS file injects only environment variables its provider reads (Option.env in
plugins/module_utils/_dns/providers/<name>.py), marks exactly the provider's secrets secret, and
every provider has a file.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TYPES = os.path.join(ROOT, "docs", "awx", "credential_types")
FILES = sorted(n for n in os.listdir(TYPES) if n.endswith(".yml"))
DNS_FILES = [n for n in FILES if n.startswith("dns_")]
FIELD_KEYS = {"id", "type", "label", "secret", "multiline", "choices", "default", "help_text", "format"}
TEMPLATE = re.compile(r"^\{\{ (\w+) \}\}$")


def _load(name):
    with open(os.path.join(TYPES, name)) as f:
        return yaml.safe_load(f)


def _injected(doc, kind):
    """{target name: input field id} of one injector kind (env or extra_vars)."""
    result = {}
    for target, template in (doc["injectors"].get(kind) or {}).items():
        match = TEMPLATE.match(template)
        assert match, "%s: injector %s is not a plain {{ field }}" % (doc["name"], target)
        result[target] = match.group(1)
    return result


@pytest.mark.parametrize("name", FILES)
def test_schema(name):
    doc = _load(name)
    assert set(doc) == {"name", "description", "kind", "inputs", "injectors"}
    assert doc["kind"] == "cloud"
    assert doc["name"].startswith("certfleet ") and doc["description"].strip()
    assert set(doc["inputs"]) <= {"fields", "required"}
    assert set(doc["injectors"]) <= {"env", "extra_vars", "file"} and doc["injectors"]
    ids = [f["id"] for f in doc["inputs"]["fields"]]
    assert len(ids) == len(set(ids))
    for field in doc["inputs"]["fields"]:
        assert set(field) <= FIELD_KEYS and {"id", "type", "label"} <= set(field), field
        assert field["type"] == "string"
        assert field.get("default") is None or field.get("default") in field.get("choices", [field["default"]])
    assert set(doc["inputs"].get("required", [])) <= set(ids)
    used = set(_injected(doc, "env").values()) | set(_injected(doc, "extra_vars").values())
    assert used == set(ids), "every field is injected and every injector names a field"


def test_every_provider_has_a_credential_type():
    assert sorted(n[len("dns_"):-len(".yml")] for n in DNS_FILES) == sorted(PROVIDERS)


@pytest.mark.parametrize("name", DNS_FILES)
def test_dns_injects_the_variables_the_provider_reads(name):
    doc = _load(name)
    provider = PROVIDERS[name[len("dns_"):-len(".yml")]]
    reads = {var: option for option, opt in provider.options.items() for var in opt.env}
    env = _injected(doc, "env")
    assert not doc["injectors"].get("extra_vars")
    assert set(env) <= set(reads), "not read by the provider: %s" % sorted(set(env) - set(reads))
    fields = dict((f["id"], f) for f in doc["inputs"]["fields"])
    for var, field_id in env.items():
        option = provider.options[reads[var]]
        assert field_id == reads[var], "%s feeds option %s from field %s" % (var, reads[var], field_id)
        assert bool(fields[field_id].get("secret")) == option.secret, field_id
        if option.required:
            assert field_id in doc["inputs"]["required"], field_id
        if option.choices:
            assert sorted(fields[field_id]["choices"]) == sorted(option.choices)
        if option.default is not None:
            assert fields[field_id].get("default") == option.default


@pytest.mark.parametrize("name", DNS_FILES)
def test_every_secret_the_provider_reads_from_the_environment_is_offered(name):
    doc = _load(name)
    provider = PROVIDERS[name[len("dns_"):-len(".yml")]]
    offered = set(_injected(doc, "env").values())
    secrets = {option for option, opt in provider.options.items() if opt.secret and opt.env}
    assert secrets <= offered


def test_acme_account_feeds_the_role():
    doc = _load("acme_account.yml")
    extra = _injected(doc, "extra_vars")
    assert not doc["injectors"].get("env")
    with open(os.path.join(ROOT, "roles", "certificate", "meta", "argument_specs.yml")) as f:
        role_options = set(yaml.safe_load(f)["argument_specs"]["main"]["options"])
    with open(os.path.join(ROOT, "docs", "awx.md")) as f:
        awx_md = f.read()
    for var in extra:
        assert var in role_options or var in awx_md, "%s is read by neither the role nor docs/awx.md" % var
    fields = dict((f["id"], f) for f in doc["inputs"]["fields"])
    assert fields["account_key"].get("secret") and fields["eab_hmac_key"].get("secret")
    assert not fields["eab_kid"].get("secret")
