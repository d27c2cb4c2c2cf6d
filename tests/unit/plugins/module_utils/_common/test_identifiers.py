from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    is_safe_name, normalize_identifier, normalize_identifiers, validate_certificate_name)


def test_dns_and_ip_normalized():
    assert normalize_identifier("WWW.Example.TEST.", "http-01", "c") == ("dns", "www.example.test")
    assert normalize_identifier("127.0.0.1", "http-01", "c") == ("ip", "127.0.0.1")
    assert normalize_identifier("::1", "http-01", "c") == ("ip", "::1")
    assert normalize_identifier("*.example.test", "dns-01", "c") == ("dns", "*.example.test")


@pytest.mark.parametrize("value", ["", "   ", None, "no_underscore.example", "-bad.example", "single",
                                   "a..b", "x" * 64 + ".example", "exa mple.test"])
def test_invalid_identifiers(value):
    with pytest.raises(InputError) as info:
        normalize_identifier(value, "http-01", "web")
    assert "web" in info.value.msg


def test_wildcard_needs_dns01():
    with pytest.raises(InputError, match="wildcards need dns-01"):
        normalize_identifiers(["*.example.test"], "http-01", "wild")


def test_list_rules():
    assert normalize_identifiers(["a.example", "A.example", "b.example"], "http-01", "c") == ["a.example", "b.example"]
    with pytest.raises(InputError, match="at least one identifier"):
        normalize_identifiers([], "http-01", "c")
    with pytest.raises(InputError, match="unknown challenge"):
        normalize_identifiers(["a.example"], "tls-alpn-01", "c")


@pytest.mark.parametrize("name", ["../etc", "a/b", ".", "..", "", "-x", ".hidden", "*.example.test",
                                  "x" * 129, "a b", None])
def test_certificate_names(name):
    with pytest.raises(InputError):
        validate_certificate_name(name)
    assert validate_certificate_name("example.test") == "example.test"


@pytest.mark.parametrize("value, want", [
    ("straße.de", "xn--strae-oqa.de"),  # IDNA 2008: ß stays (IDNA 2003 would give strasse.de)
    ("Bücher.Example", "xn--bcher-kva.example"),
    ("xn--strae-oqa.de", "xn--strae-oqa.de"),  # a valid A-label is kept
    ("*.straße.de", "*.xn--strae-oqa.de"),
])
def test_idna2008(value, want):
    assert normalize_identifier(value, "dns-01", "c") == ("dns", want)


@pytest.mark.parametrize("value, challenge, reason", [
    ("xn--zz.example", "http-01", "not a valid IDNA 2008 name"),
    ("fe80::1%eth0", "http-01", "scoped address"),
    ("123.456", "http-01", "all-numeric top-level label"),
    ("example.123", "http-01", "all-numeric top-level label"),
    ("127.1", "http-01", "all-numeric top-level label"),
    ("192.0.2.7", "dns-01", "IP identifiers need http-01"),
    ("2001:db8::7", "dns-01", "IP identifiers need http-01"),
])
def test_refused_before_any_order(value, challenge, reason):
    with pytest.raises(InputError) as info:
        normalize_identifiers([value], challenge, "c")
    assert reason in info.value.msg and "\n" not in info.value.msg


def test_node_side_import_needs_no_idna():
    """identifiers (and idna2008) import without the idna package; ASCII names never need it."""
    code = ("import sys; sys.modules['idna'] = None\n"
            "from ansible_collections.certfleet.acme.plugins.module_utils._common import identifiers as i\n"
            "assert i.normalize_identifier('www.example.test', 'http-01', 'c') == ('dns', 'www.example.test')\n"
            "try:\n    i.normalize_identifier('straße.de', 'http-01', 'c')\n"
            "except i.InputError as e:\n    assert 'idna on the store host' in e.msg, e.msg\n"
            "else:\n    raise AssertionError('no error without idna')\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ,
                   PYTHONPATH=":".join(sys.path)))


@pytest.mark.parametrize("name", ["example.test", "wildcard.example.test", "a", "A_b-c.9", "x" * 128])
def test_valid_certificate_names(name):
    assert validate_certificate_name(name) == name and is_safe_name(name)
