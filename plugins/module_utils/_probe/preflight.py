# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""http-01 preflight: fetch every token the way the CA will, before the CA is told anything (standard library only). Private to this collection.

Every token is fetched from every node directly (Host header = the identifier), concurrently, and
``rounds`` times in a row through the public address (a load balancer that round-robins needs at
least as many fetches as it has nodes). Redirects are not followed: the answer must be the key
authorization itself.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError

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


def run_preflight(nodes: t.List[dict], tokens: t.List[dict], public: t.Optional[dict],
                  timeout: float = 5, attempts: int = 2, delay: float = 1,
                  sleep: t.Callable[[float], None] = time.sleep) -> t.Dict[str, t.Any]:
    """Check every token; retry only the tokens that missed somewhere (a file system that syncs late).

    Returns the number of fetches, the misses, the misses as aligned table lines and the nodes that
    missed a token.
    """
    attempts = max(1, int(attempts))
    fetches = len(nodes) * len(tokens) + (len(tokens) * max(1, int(public.get("rounds") or 1)) if public else 0)
    misses: t.List[dict] = []
    todo = tokens
    for attempt in range(1, attempts + 1):
        misses = direct_checks(nodes, todo, timeout) if todo else []
        if public and todo:
            misses += public_checks(public, todo, timeout)
        if not misses or attempt == attempts:
            break
        missed = set(m["token_path"] for m in misses)
        todo = [tok for tok in tokens if tok["path"] in missed]
        sleep(delay)
    for miss in misses:
        miss.pop("token_path", None)
    return {"fetches": fetches, "misses": misses, "table": table(misses) if misses else [],
            "nodes_missing": sorted(set(m["node"] for m in misses if m["node"] != "(public)"))}


def check_module(params: t.Dict[str, t.Any]) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """The challenge_check module: never changes anything; fails (TargetError) on a miss if asked."""
    tokens = []
    for entry in params["challenges"]:
        if entry.get("type", "http-01") != "http-01":
            continue
        if not all(entry.get(k) for k in ("identifier", "path", "content")):
            raise InputError("Each http-01 challenge needs identifier, path and content (from certfleet.acme.order)")
        tokens.append({"certificate": entry.get("certificate", ""), "identifier": entry["identifier"],
                       "path": entry["path"], "content": entry["content"]})
    nodes = [{"node": n["name"], "address": n["address"], "port": n["port"]} for n in params["nodes"]]
    public = None
    if params["check_public"]:
        public = {"address": params["public_address"], "port": params["public_port"],
                  "rounds": params["public_rounds"] or max(1, len(nodes))}
    result = run_preflight(nodes, tokens, public, params["timeout"], params["attempts"], params["retry_delay"])
    if result["misses"] and params["fail_on_miss"]:
        raise TargetError("http-01 preflight: %d of %d fetches did not return the key authorization; the CA "
                          "was not asked to validate anything.\n%s" % (
                              len(result["misses"]), result["fetches"], "\n".join(result["table"])), **result)
    return False, result
