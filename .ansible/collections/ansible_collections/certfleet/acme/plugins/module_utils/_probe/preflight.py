"""http-01 preflight: fetch every token the way the CA will, before the CA is told anything (standard library only). Private to this collection.

Every token is fetched from every node directly (Host header = the identifier), concurrently, and
``rounds`` times in a row through the public address (a load balancer that round-robins needs at
least as many fetches as it has nodes). Redirects are followed as Let's Encrypt's validation
authority does: http and https only, ports 80 and 443 only, no reserved IP addresses, at most 10
redirects, no loops, https without certificate validation but with the target's name as SNI.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import ipaddress
import socket
import ssl
import time
import typing as t
from urllib.parse import urldefrag, urljoin, urlsplit

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError

MAX_BODY = 512
MAX_REDIRECTS = 10


class Target(t.NamedTuple):
    """Where the CA's port 80 and 443 of one host land: an address and its two ports."""

    address: str
    http_port: int = 80
    https_port: int = 443


Resolver = t.Callable[[str], Target]


def resolve(host: str) -> Target:
    """What the CA does with a redirect to another host: look it up in the DNS."""
    return Target(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0])


def refused_redirect(url: str) -> t.Optional[str]:
    """Why the CA would not follow a redirect to ``url`` (None when it would)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "the CA follows only http and https, not %s" % (parts.scheme or "a relative scheme")
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number"
    if port is not None and port not in (80, 443):
        return "the CA follows only ports 80 and 443, not %d" % port
    host = parts.hostname or ""
    if not host:
        return "the redirect target has no host"
    if host.endswith(".well-known"):
        return "host %s: a '/' is missing between the host and the path in the redirect" % host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "the CA does not follow redirects to the reserved address %s" % host
    return None


def _request(scheme: str, where: t.Tuple[str, int], url: str, timeout: float
             ) -> t.Tuple[int, str, t.Optional[str]]:
    """One GET of ``url`` sent to ``where`` (address, port): (status, body or reason, Location)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = 80 if scheme == "http" else 443
    host_header = host if parts.port in (None, default) else "%s:%d" % (host, parts.port)
    if scheme == "https":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # as the CA does for http-01 redirects
        conn = _SniConnection(where, host, context, timeout)  # type: http.client.HTTPConnection
    else:
        conn = http.client.HTTPConnection(where[0], where[1], timeout=timeout)
    try:
        conn.request("GET", (parts.path or "/") + ("?" + parts.query if parts.query else ""), headers={
            "Host": host_header, "User-Agent": "certfleet.acme-preflight", "Connection": "close"})
        resp = conn.getresponse()
        body = resp.read(MAX_BODY).decode("utf-8", "replace")
        return resp.status, body if resp.status == 200 else (resp.reason or ""), resp.getheader("Location")
    finally:
        conn.close()


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to a given address with the SNI name of the URL's host (no SNI for an IP)."""

    def __init__(self, where: t.Tuple[str, int], server_name: str, context: ssl.SSLContext,
                 timeout: float) -> None:
        super().__init__(where[0], where[1], timeout=timeout, context=context)
        self._where, self._sni, self._ctx = where, server_name, context

    def connect(self) -> None:
        sock = socket.create_connection(self._where, self.timeout)
        try:
            ipaddress.ip_address(self._sni)
            sni = None  # type: t.Optional[str]
        except ValueError:
            sni = self._sni
        self.sock = self._ctx.wrap_socket(sock, server_hostname=sni)


def fetch(target: Target, identifier: str, path: str, timeout: float,
          resolver: Resolver = resolve) -> t.Tuple[t.Optional[int], str, t.List[str]]:
    """``(status, text, chain)`` for ``http://<identifier>/<path>`` fetched from ``target``,
    following redirects as the CA does. A redirect to the same host name is fetched from the same
    target (the point of a per-node check); another host through ``resolver``. ``text`` is the
    body of a 200, else what went wrong; ``chain`` lists the URLs fetched. ``status`` is None
    when no HTTP answer came back."""
    url = "http://%s/%s" % (identifier, path.lstrip("/"))
    chain = [url]
    targets = {identifier.lower(): target}  # type: t.Dict[str, Target]
    while True:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            if host not in targets:
                targets[host] = resolver(host)
            where = targets[host]
            port = where.http_port if parts.scheme == "http" else where.https_port
            status, text, location = _request(parts.scheme, (where.address, port), url, timeout)
        except (OSError, http.client.HTTPException) as exc:
            why = ("%s: %s" % (type(exc).__name__, exc)) if str(exc) else type(exc).__name__
            return None, why + _via(chain), chain
        if not 300 <= status < 400 or status == 304:
            return status, text, chain
        if not location:
            return status, "%s, redirect without a Location header%s" % (text, _via(chain)), chain
        nxt = urldefrag(urljoin(url, location.strip()))[0]
        chain.append(nxt)
        if nxt in chain[:-1]:
            return status, "redirect loop: %s" % " -> ".join(chain), chain
        if len(chain) - 1 > MAX_REDIRECTS:
            return status, "more than %d redirects: %s" % (MAX_REDIRECTS, " -> ".join(chain)), chain
        why = refused_redirect(nxt)
        if why:
            return status, "%s, redirect the CA refuses (%s): %s" % (text, why, " -> ".join(chain)), chain
        url = nxt


def _via(chain: t.Sequence[str]) -> str:
    return " (after redirects: %s)" % " -> ".join(chain) if len(chain) > 1 else ""


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


def _miss(node: str, via: str, tok: dict, answer: t.Tuple[t.Optional[int], str, t.List[str]]) -> t.Optional[dict]:
    status, text, chain = answer
    got = judge(status, text, tok["content"])
    if got is None:
        return None
    if status == 200 and len(chain) > 1:
        got += _via(chain)
    return {"node": node, "via": via, "identifier": tok["identifier"], "certificate": tok["certificate"],
            "token": tok["path"].rsplit("/", 1)[-1], "got": got, "redirects": chain[1:],
            "token_path": tok["path"]}


def other_hosts(public: t.Optional[dict], resolver: Resolver = resolve) -> Resolver:
    """Redirects to another host name: through the public address when one is set (the load
    balancer serves every name), else resolved as the CA does."""
    if public and public.get("address"):
        fixed = Target(public["address"], int(public.get("port") or 80), int(public.get("https_port") or 443))
        return lambda _host: fixed
    return resolver


def direct_checks(nodes: t.List[dict], tokens: t.List[dict], timeout: float,
                  resolver: Resolver = resolve) -> t.List[dict]:
    jobs = [(node, tok) for node in nodes for tok in tokens]
    misses = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(32, max(1, len(jobs)))) as pool:
        futures = {pool.submit(fetch, Target(node["address"], int(node.get("port") or 80),
                                             int(node.get("https_port") or 443)),
                               tok["identifier"], tok["path"], timeout, resolver): (node, tok)
                   for node, tok in jobs}
        for future in concurrent.futures.as_completed(futures):
            node, tok = futures[future]
            miss = _miss(node["node"], "%s:%s" % (node["address"], node.get("port") or 80), tok, future.result())
            if miss:
                misses.append(miss)
    return misses


def public_checks(public: dict, tokens: t.List[dict], timeout: float,
                  resolver: Resolver = resolve) -> t.List[dict]:
    """Sequential on purpose: N fetches in a row reach N different nodes of a round-robin."""
    misses = []
    rounds = max(1, int(public.get("rounds") or 1))
    port = int(public.get("port") or 80)
    for tok in tokens:
        address = public.get("address") or tok["identifier"]
        target = Target(address, port, int(public.get("https_port") or 443))
        for attempt in range(1, rounds + 1):
            miss = _miss("(public)", "%s:%s fetch %d/%d" % (address, port, attempt, rounds), tok,
                         fetch(target, tok["identifier"], tok["path"], timeout, resolver))
            if miss:
                misses.append(miss)
    return misses


def table(misses: t.List[dict]) -> t.List[str]:
    rows = [("NODE", "FETCHED FROM", "IDENTIFIER", "RETURNED")]
    rows += [(m["node"], m["via"], m["identifier"], m["got"]) for m in
             sorted(misses, key=lambda m: (m["node"] == "(public)", m["node"], m["identifier"], m["via"]))]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]


def run_preflight(nodes: t.List[dict], tokens: t.List[dict], public: t.Optional[dict],
                  timeout: float = 5, attempts: int = 2, delay: float = 1,
                  sleep: t.Callable[[float], None] = time.sleep,
                  resolver: t.Optional[Resolver] = None) -> t.Dict[str, t.Any]:
    """Check every token; retry only the tokens that missed somewhere (a file system that syncs late).

    Returns the number of fetches, the misses, the misses as aligned table lines and the nodes that
    missed a token.
    """
    attempts = max(1, int(attempts))
    fetches = len(nodes) * len(tokens) + (len(tokens) * max(1, int(public.get("rounds") or 1)) if public else 0)
    misses: t.List[dict] = []
    todo = tokens
    for attempt in range(1, attempts + 1):
        others = resolver or other_hosts(public)
        misses = direct_checks(nodes, todo, timeout, others) if todo else []
        if public and todo:
            misses += public_checks(public, todo, timeout, others)
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
    nodes = [{"node": n["name"], "address": n["address"], "port": n["port"],
              "https_port": n.get("https_port") or 443} for n in params["nodes"]]
    public = None
    if params["check_public"] or params.get("public_address"):
        public = {"address": params["public_address"], "port": params["public_port"],
                  "https_port": params.get("public_https_port") or 443,
                  "rounds": params["public_rounds"] or max(1, len(nodes))}
    result = run_preflight(nodes, tokens, public if params["check_public"] else None, params["timeout"],
                           params["attempts"], params["retry_delay"],
                           resolver=other_hosts(public))
    if result["misses"] and params["fail_on_miss"]:
        raise TargetError("http-01 preflight: %d of %d fetches did not return the key authorization; the CA "
                          "was not asked to validate anything.\n%s" % (
                              len(result["misses"]), result["fetches"], "\n".join(result["table"])), **result)
    return False, result
