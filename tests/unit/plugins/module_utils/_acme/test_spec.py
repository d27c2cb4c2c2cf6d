"""The ACME doc fragment and the ACME_OPTIONS argument spec must not drift apart."""
from __future__ import annotations

import yaml

from ansible_collections.certfleet.acme.plugins.doc_fragments.acme import ModuleDocFragment
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import ACME_OPTIONS


def test_doc_fragment_matches_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(ACME_OPTIONS)
    for name, spec in ACME_OPTIONS.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert bool(doc.get("required")) == bool(spec.get("required")), name
        assert doc.get("description"), name


def test_secrets_are_no_log():
    assert ACME_OPTIONS["account_key_content"].get("no_log") is True
