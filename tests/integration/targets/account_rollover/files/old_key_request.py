#!/usr/bin/env python3
"""Sends two requests signed with an account key and prints the CA's answers as JSON:
the account lookup by key (newAccount, onlyReturnExisting) and a POST-as-GET of the account URL
with the key's kid. Usage: old_key_request.py DIRECTORY_URL CA_BUNDLE ACCOUNT_URL KEY_PEM"""

import json
import sys

import josepy as jose
from acme import client, messages
from cryptography.hazmat.primitives import serialization


def answer(call):
    try:
        call()
    except messages.Error as error:
        return {"refused": True, "type": error.typ, "detail": error.detail}
    return {"refused": False}


def main(directory_url, ca_bundle, account_url, key_path):
    with open(key_path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    jwk = jose.JWKEC(key=key)
    alg = {256: jose.ES256, 384: jose.ES384}[key.curve.key_size]
    net = client.ClientNetwork(jwk, alg=alg, verify_ssl=ca_bundle)
    directory = messages.Directory.from_json(net.get(directory_url).json())
    nonce = directory["newNonce"]
    out = {"lookup": answer(lambda: net.post(directory["newAccount"],
                                             messages.NewRegistration(only_return_existing=True),
                                             new_nonce_url=nonce))}
    net.account = messages.RegistrationResource(uri=account_url, body=messages.Registration())
    out["kid_request"] = answer(lambda: net.post(account_url, None, new_nonce_url=nonce))
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:5])
