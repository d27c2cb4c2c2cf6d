from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._acme import chains
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import parse_wants


@pytest.fixture(scope="module")
def pems(pki):
    """Leaf + intermediate under root X (default) and the same under root Y (alternate)."""
    out = {}
    for root_cn in ("Root X", "Root Y"):
        root = pki.make_cert(names=(), cn=root_cn, ca=True, serial=1)
        inter = pki.make_cert(names=(), cn="Intermediate", ca=True, issuer=root, serial=2)
        leaf = pki.make_cert(names=("a.test",), issuer=inter, serial=3)
        out[root_cn] = leaf.cert_pem + inter.cert_pem
    return out


class Response(object):
    def __init__(self, text, link=None):
        self.text = text
        self.headers = {"Link": link} if link else {}


class FakeConn(object):
    def __init__(self, by_url, link):
        self.by_url, self.link, self.asked = by_url, link, []

    def post_as_get(self, url, what, headers=None):
        assert headers["Accept"] == "application/pem-certificate-chain"
        self.asked.append(url)
        return Response(self.by_url[url], self.link if url == "https://ca/cert/1" else None)

    def download_chain(self, url):
        self.asked.append(url)
        return self.by_url[url]


LINK = '<https://ca/dir>;rel="index", <https://ca/cert/1/1>;rel="alternate", <https://ca/cert/1/2>; rel="alternate"'


def test_alternate_links():
    assert chains.alternate_links({"Link": LINK}) == ["https://ca/cert/1/1", "https://ca/cert/1/2"]
    assert chains.alternate_links({}) == []


def test_top_issuer(pems):
    assert chains.top_issuer(pems["Root Y"]) == "Root Y"
    assert chains.top_issuer("") is None


def conn_for(pems):
    return FakeConn({"https://ca/cert/1": pems["Root X"], "https://ca/cert/1/1": pems["Root Y"],
                     "https://ca/cert/1/2": pems["Root X"]}, LINK)


def test_preferred_alternate_is_chosen(pems):
    conn = conn_for(pems)
    pem, info = chains.download_preferred(conn, "https://ca/cert/1", "Root Y")
    assert pem == pems["Root Y"] and info == {"chain_issuer": "Root Y"}
    assert conn.asked == ["https://ca/cert/1", "https://ca/cert/1/1"], "stops at the first match"


def test_default_matches_without_alternates_downloaded(pems):
    conn = conn_for(pems)
    pem, info = chains.download_preferred(conn, "https://ca/cert/1", "Root X")
    assert pem == pems["Root X"] and info == {"chain_issuer": "Root X"} and conn.asked == ["https://ca/cert/1"]


def test_no_match_falls_back_to_default_with_a_note(pems):
    pem, info = chains.download_preferred(conn_for(pems), "https://ca/cert/1", "Root Z")
    assert pem == pems["Root X"] and info["chain_issuer"] == "Root X"
    assert info["chain_note"] == ("no chain of the CA has the top issuer 'Root Z' (offered: 'Root X', 'Root Y', "
                                  "'Root X'); the default chain is used")


def test_no_preference_downloads_only_the_default(pems):
    conn = conn_for(pems)
    assert chains.download_preferred(conn, "https://ca/cert/1", None) == (pems["Root X"], {"chain_issuer": "Root X"})
    assert conn.asked == ["https://ca/cert/1"]


def test_per_certificate_preference_overrides_the_module_wide_one():
    wants = parse_wants([{"name": "a", "identifiers": ["a.test"], "preferred_chain": "Root Y"},
                         {"name": "b", "identifiers": ["b.test"]}], {"preferred_chain": "Root X"})
    assert [w.preferred_chain for w in wants] == ["Root Y", "Root X"]
