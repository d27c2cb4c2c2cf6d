"""Revoke a certificate at the lab's Pebble, signed with the certificate's own key (RFC 8555
section 7.6); the collection has no revocation yet. Usage: revoke.py DIRECTORY_URL CA_BUNDLE CERT KEY"""
from __future__ import annotations

import sys

import josepy as jose
from acme import client, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def main() -> None:
    directory_url, ca_bundle, cert_path, key_path = sys.argv[1:5]
    with open(key_path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), None)
    with open(cert_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    net = client.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256, verify_ssl=ca_bundle,
                               user_agent="certfleet-integration")
    acme = client.ClientV2(messages.Directory.from_json(net.get(directory_url).json()), net)
    for attempt in range(5):   # Pebble rejects 5% of the nonces
        try:
            acme.revoke(cert, 0)
            return
        except (messages.Error, errors.Error) as exc:
            if attempt == 4 or "badNonce" not in str(exc):
                raise


if __name__ == "__main__":
    main()
