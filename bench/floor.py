#!/usr/bin/env python3
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ACME protocol floor: the benchmark's issuance with no Ansible and no SSH.

One new account, then N orders (one name each) on a pool of threads (8, like certfleet's
order module). The http-01 key authorization is written straight into the web roots of all
web nodes (they are directories on this machine), the challenge is answered, the
authorization is polled (20 ms first, growing, badNonce retried), the order finalized and the
chain downloaded; key and full chain are written to each node's per-case directory, then the
tokens are removed.

It uses certfleet's own ACME client (plugins/module_utils/_acme: AcmeConnection on certbot's
acme library with bounded badNonce/5xx retries and the 20 ms poller), so the floor is exactly
the protocol work certfleet's order module does, minus Ansible. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory-url", required=True)
    parser.add_argument("--ca-bundle", required=True)
    parser.add_argument("--collections", required=True, help="directory holding ansible_collections/certfleet/acme")
    parser.add_argument("--node-prefix", action="append", required=True,
                        help="a web node's prefix ($LAB_DIR/nodes/webN); repeat for every node")
    parser.add_argument("--case-subdir", default="bench/fl", help="per-case directory below each node prefix")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()

    sys.path.insert(0, args.collections)
    from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
    from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeConnection

    started = time.monotonic()
    conn = AcmeConnection(args.directory_url, keys.generate_key("ec-p256"), verify=args.ca_bundle,
                          timeout=20.0, poll_timeout=120.0)
    conn.create_account([], True)
    account_seconds = time.monotonic() - started
    token_dirs = [os.path.join(p, "www", ".well-known", "acme-challenge") for p in args.node_prefix]
    for directory in token_dirs:
        os.makedirs(directory, exist_ok=True)

    def issue(name: str) -> dict:
        t0 = time.monotonic()
        order_url, order = conn.new_order([("dns", name)])
        written = []
        try:
            for url in order.authorizations:
                authz = conn.get_authorization(url)
                if authz.status.name != "pending":
                    continue
                chall = next(c for c in authz.challenges if c.chall.typ == "http-01")
                token = chall.chall.encode("token")
                content = conn.key_authorization(chall.chall)
                for directory in token_dirs:
                    path = os.path.join(directory, token)
                    with open(path, "w") as handle:
                        handle.write(content)
                    written.append(path)
                conn.answer(chall.uri)
            poller = conn.poller()
            done = conn.wait_authorizations(order.authorizations, poller)
            bad = [a for a in done.values() if a.status.name != "valid"]
            if bad:
                raise RuntimeError("%s: authorization %s" % (name, bad[0].status.name))
            order = conn.get_order(order_url)
        finally:
            for path in written:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        key = keys.generate_key("ec-p256")
        order = conn.finalize(order_url, order, keys.make_csr(key, [name]), conn.poller())
        if order.status.name != "valid" or not order.certificate:
            raise RuntimeError("%s: order %s" % (name, order.status.name))
        fullchain = conn.download_chain(order.certificate)
        key_pem = keys.key_to_pem(key)
        for prefix in args.node_prefix:
            dest = os.path.join(prefix, args.case_subdir, name)
            os.makedirs(dest, exist_ok=True)
            with open(os.path.join(dest, "fullchain.pem"), "w") as handle:
                handle.write(fullchain)
            fd = os.open(os.path.join(dest, "privkey.pem"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key_pem)
        return {"name": name, "seconds": round(time.monotonic() - t0, 3)}

    failures = []
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.threads)) as pool:
        futures = {pool.submit(issue, name): name for name in args.names}
        for future in concurrent.futures.as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # report every failure, not only the first
                failures.append("%s: %s" % (futures[future], exc))
    total = time.monotonic() - started
    per_cert = sorted(r["seconds"] for r in results)
    print(json.dumps({"certificates": len(results), "failed": failures, "seconds": round(total, 3),
                      "account_seconds": round(account_seconds, 3),
                      "median_cert_seconds": per_cert[len(per_cert) // 2] if per_cert else None}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
