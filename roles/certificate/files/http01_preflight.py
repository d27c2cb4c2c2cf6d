#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch every http-01 token the way the CA will, before the CA is told anything.

Part of the certfleet.acme.certificate role (run with ansible.builtin.script on the store host);
standard library only. Argument: base64 of a JSON document::

    {"nodes": [{"node": "web1", "address": "192.0.2.11", "port": 80}, ...],
     "public": {"address": "192.0.2.10" or null (resolve each name), "port": 80, "rounds": 3},
     "tokens": [{"certificate": ..., "identifier": ..., "path": ".well-known/...", "content": ...}],
     "timeout": 5, "attempts": 2, "delay": 1}

Every token is fetched from every node directly (Host header = the identifier), concurrently,
and `rounds` times in a row through the public address (a load balancer that round-robins
needs at least as many fetches as it has nodes). Redirects are not followed: the answer must
be the key authorization itself. Prints one JSON document: the number of fetches, the misses
and the misses as aligned table lines. Always exits 0 unless the input is unusable.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import json
import sys
import time
import typing as t

MAX_BODY = 512


def fetch(address: str, port: int, host_header: str, path: str, timeout: float) -> t.Tuple[t.Optional[int], str]:
    """``(status, text)``: the HTTP status and what came back (the body of a 200, the reason
    phrase and redirect target otherwise), or ``(None, why the fetch failed)``."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", "/" + path.lstrip("/"), headers={
            "Host": host_header, "User-Agent": "certfleet.acme-preflight", "Connection": "close"})
        resp = conn.getresponse()
        body = resp.read(MAX_BODY).decode("utf-8", "replace")
        if resp.status == 200:
            return resp.status, body
        text = resp.reason or ""
        if 300 <= resp.status < 400:
            text = "%s, redirect to %s (the challenge path must not be redirected)" % (
                text, resp.getheader("Location", "?"))
        return resp.status, text
    except (OSError, http.client.HTTPException) as exc:
        return None, ("%s: %s" % (type(exc).__name__, exc)) if str(exc) else type(exc).__name__
    finally:
        conn.close()


def judge(status: t.Optional[int], text: str, content: str) -> t.Optional[str]:
    """None when the answer is the key authorization, else what was returned, in short."""
    if status == 200 and text.strip() == content:
        return None
    if status is None:
        return text
    if status == 200:
        text = " ".join(text.split())
        return "HTTP 200 with other content: %r" % (text if len(text) <= 60 else text[:57] + "...")
    return "HTTP %d %s" % (status, text)


def direct_checks(nodes: t.List[dict], tokens: t.List[dict], timeout: float) -> t.List[dict]:
    jobs = [(node, tok) for node in nodes for tok in tokens]
    misses = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(32, max(1, len(jobs)))) as pool:
        futures = {pool.submit(fetch, node["address"], int(node.get("port") or 80), tok["identifier"],
                               tok["path"], timeout): (node, tok) for node, tok in jobs}
        for future in concurrent.futures.as_completed(futures):
            node, tok = futures[future]
            got = judge(*future.result(), content=tok["content"])
            if got is not None:
                misses.append({"node": node["node"], "via": "%s:%s" % (node["address"], node.get("port") or 80),
                               "identifier": tok["identifier"], "certificate": tok["certificate"],
                               "token": tok["path"].rsplit("/", 1)[-1], "got": got, "token_path": tok["path"]})
    return misses


def public_checks(public: dict, tokens: t.List[dict], timeout: float) -> t.List[dict]:
    """Sequential on purpose: N fetches in a row reach N different nodes of a round-robin."""
    misses = []
    rounds = max(1, int(public.get("rounds") or 1))
    port = int(public.get("port") or 80)
    for tok in tokens:
        address = public.get("address") or tok["identifier"]
        for attempt in range(1, rounds + 1):
            got = judge(*fetch(address, port, tok["identifier"], tok["path"], timeout), content=tok["content"])
            if got is not None:
                misses.append({"node": "(public)", "via": "%s:%s fetch %d/%d" % (address, port, attempt, rounds),
                               "identifier": tok["identifier"], "certificate": tok["certificate"],
                               "token": tok["path"].rsplit("/", 1)[-1], "got": got, "token_path": tok["path"]})
    return misses


def table(misses: t.List[dict]) -> t.List[str]:
    rows = [("NODE", "FETCHED FROM", "IDENTIFIER", "RETURNED")]
    rows += [(m["node"], m["via"], m["identifier"], m["got"]) for m in
             sorted(misses, key=lambda m: (m["node"] == "(public)", m["node"], m["identifier"], m["via"]))]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]


def main() -> int:
    try:
        spec = json.loads(base64.b64decode(sys.argv[1]).decode("utf-8"))
        nodes, tokens, public = spec["nodes"], spec["tokens"], spec.get("public")
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write("usage: http01_preflight.py BASE64_JSON (%s)\n" % exc)
        return 2
    timeout = float(spec.get("timeout") or 5)
    attempts = max(1, int(spec.get("attempts") or 1))
    delay = float(spec.get("delay") or 1)
    fetches = len(nodes) * len(tokens) + (len(tokens) * max(1, int(public.get("rounds") or 1)) if public else 0)
    misses: t.List[dict] = []
    todo_nodes, todo_public = tokens, tokens
    for attempt in range(1, attempts + 1):
        misses = direct_checks(nodes, todo_nodes, timeout) if todo_nodes else []
        if public and todo_public:
            misses += public_checks(public, todo_public, timeout)
        if not misses or attempt == attempts:
            break
        # Retry only the tokens that missed somewhere (a file system that syncs late).
        missed = set(m["token_path"] for m in misses)
        todo_nodes = todo_public = [tok for tok in tokens if tok["path"] in missed]
        time.sleep(delay)
    for miss in misses:
        miss.pop("token_path", None)
    json.dump({"fetches": fetches, "misses": misses, "table": table(misses) if misses else [],
               "nodes_missing": sorted(set(m["node"] for m in misses if m["node"] != "(public)"))}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
