# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alternate certificate chains (RFC 8555 section 7.4.2, ``Link: rel="alternate"``) and the choice
of one by the issuer common name of its top certificate. Private to this collection."""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509 as pki_x509
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import PEM_CHAIN

try:
    import requests
    from cryptography import x509
    from cryptography.x509.oid import NameOID
except ImportError:  # pragma: no cover - reported by the module
    requests = x509 = NameOID = None

DOWNLOAD_HEADERS = {"Content-Type": "application/jose+json", "Accept": PEM_CHAIN}


def alternate_links(headers: t.Mapping[str, str]) -> t.List[str]:
    """The URLs of the ``Link`` header(s) with ``rel="alternate"``, in the order given."""
    value = headers.get("Link") or ""
    links = requests.utils.parse_header_links(value) if value else []
    return [link["url"] for link in links if "alternate" in (link.get("rel") or "").split()]


def top_issuer(pem_chain: str) -> t.Optional[str]:
    """The issuer common name of the chain's top certificate (the one closest to the root)."""
    parts = pki_x509.split_pem_chain(pem_chain)
    if not parts:
        return None
    try:
        top = x509.load_pem_x509_certificate(parts[-1].encode())
    except ValueError:
        return None
    names = top.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def choose(chains: t.Sequence[str], preferred: t.Optional[str]) -> t.Tuple[str, t.Dict[str, t.Any]]:
    """The first chain whose top issuer is ``preferred`` (the default, ``chains[0]``, when none or
    when no preference), with ``chain_issuer`` and, on fallback, a ``chain_note``."""
    issuers = [top_issuer(pem) for pem in chains]
    if preferred:
        for pem, issuer in zip(chains, issuers):
            if issuer == preferred:
                return pem, {"chain_issuer": issuer}
        return chains[0], {"chain_issuer": issuers[0], "chain_note": (
            "no chain of the CA has the top issuer %r (offered: %s); the default chain is used"
            % (preferred, ", ".join(repr(i) for i in issuers)))}
    return chains[0], {"chain_issuer": issuers[0]}


def download_preferred(conn: t.Any, cert_url: str,
                       preferred: t.Optional[str]) -> t.Tuple[str, t.Dict[str, t.Any]]:
    """Download the default chain and, when a preference is given that it does not meet, the
    alternates, until one matches; return the chosen PEM chain and what :func:`choose` says."""
    if not preferred:
        return choose([conn.download_chain(cert_url)], None)
    response = conn.post_as_get(cert_url, "the certificate download", headers=DOWNLOAD_HEADERS)
    chains = [response.text]
    if top_issuer(chains[0]) != preferred:
        for url in alternate_links(response.headers):
            chains.append(conn.post_as_get(url, "the alternate chain %s" % url, headers=DOWNLOAD_HEADERS).text)
            if top_issuer(chains[-1]) == preferred:
                break
    return choose(chains, preferred)
