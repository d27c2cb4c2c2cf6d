# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx configuration written by cert_install: the server snippet of a certificate set
(nginx_snippet) and the file of TLS server blocks (nginx), with the checks that keep every value
one directive. Private to this collection."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.challenges import validate_thumbprint
from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

DEFAULT_FILE_NAME = "nginx-tls.conf"
DEFAULT_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# nginx 1.25.1 added the `http2` directive and deprecated `listen ... http2`.
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
_VERSION_RE = re.compile(r"nginx/(\d+)\.(\d+)\.(\d+)")
_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_SAFE_RE = re.compile(r"^[^;{}\n\r#]+$")
_SERVER_NAME_RE = re.compile(r"^[^\s;{}#\"'\\]+$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
CONF_HEADER = "# managed by certfleet.acme.cert_install; do not edit"
CONF_MODE = 0o644
ERROR_LOG_LINES = 20
# After a reload that exits 0 the master process may still fail to apply the new configuration
# (`bind() ... failed`); it says so in the error log within this many seconds.
RELOAD_SETTLE_SECONDS = 1.5
_RELOAD_DONE_RE = re.compile(r"start worker process|\[(emerg|alert)\]")
_RELOAD_FAILED_RE = re.compile(r"\[(emerg|alert)\]")


class Server(t.NamedTuple):
    """One TLS server block of the managed file."""

    name: str
    server_names: t.List[str]
    fullchain: str
    privkey: str
    extra: t.List[str]


def parse_version(text: t.Optional[str]) -> t.Optional[t.Tuple[int, int, int]]:
    match = _VERSION_RE.search(text or "") or _VERSION_RE.search("nginx/" + (text or ""))
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def detect_version(binary: str = "nginx") -> t.Optional[t.Tuple[int, int, int]]:
    """The version of the nginx on this host (``nginx -v`` prints it on stderr), None if absent."""
    try:
        proc = subprocess.run([binary, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(proc.stdout.decode("utf-8", "replace"))


def _safe(value: str, what: str) -> str:
    if not isinstance(value, str) or not _SAFE_RE.fullmatch(value) or not value.strip():
        raise InputError("%s %r contains characters not allowed in one directive "
                         "(; { } # or a line break)" % (what, value))
    return value.strip()


def _path(path: str) -> str:
    if re.search(r'[\s;{}#"\'\\]', path):
        if '"' in path or "\\" in path:
            raise InputError("nginx_snippet: cannot quote the path %r" % path)
        return '"%s"' % path
    return path


def render(name: str, fullchain: str, privkey: str, options: t.Dict[str, t.Any],
           version: t.Optional[t.Tuple[int, int, int]]) -> bytes:
    """The snippet to ``include`` inside a ``server {}`` block."""
    protocols = list(options.get("protocols") or DEFAULT_PROTOCOLS)
    unknown = [proto for proto in protocols if proto not in _PROTOCOLS]
    if unknown:
        raise InputError("nginx_snippet: unknown protocols %s (choose from %s)"
                         % (", ".join(unknown), ", ".join(_PROTOCOLS)))
    listen = [_safe(value, "nginx_snippet: listen") for value in options.get("listen") or []]
    http2 = options.get("http2", True)
    use_directive = False
    if http2:
        if version is None and not listen:
            raise InputError("nginx_snippet: cannot tell how to enable HTTP/2 (nginx not found on the "
                             "host): set nginx_snippet.nginx_version, or listen, or http2=false")
        use_directive = version is not None and version >= HTTP2_DIRECTIVE_SINCE
        if not use_directive:
            if not listen:
                raise InputError("nginx %s enables HTTP/2 on the listen directive (the http2 directive "
                                 "needs 1.25.1): set nginx_snippet.listen, e.g. ['443 ssl']"
                                 % ".".join(str(part) for part in version or ()))
            listen = [value if re.search(r"\bhttp2\b", value) else value + " http2" for value in listen]
    lines = ["# Managed by certfleet.acme.cert_install for %s: include it inside a server block." % name]
    lines += ["listen %s;" % value for value in listen]
    lines += ["ssl_certificate %s;" % _path(fullchain), "ssl_certificate_key %s;" % _path(privkey),
              "ssl_protocols %s;" % " ".join(protocols)]
    if use_directive:
        lines.append("http2 on;")
    return ("\n".join(lines) + "\n").encode("ascii")


def _balanced(line: str) -> bool:
    depth = 0
    for char in line:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def directive_lines(text: t.Optional[str], what: str) -> t.List[str]:
    """The directives of a multi-line option, one per line: each ends with ``;`` (or is a whole
    block on its line, such as ``location / { return 204; }``), keeps its braces balanced so it
    cannot close the server block, and holds no comment (``#``) and no unbalanced quote."""
    lines = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if (not (line.endswith(";") or (line.endswith("}") and "{" in line))
                or re.search(r"[#\x00-\x1f]", line) or not _balanced(line)
                or line.count('"') % 2 or line.count("'") % 2):
            raise InputError("%s: %r is not one directive (or one whole block) on one line ending with "
                             "';' or '}' (balanced braces and quotes, no #)" % (what, line))
        lines.append(line)
    return lines


def checked_names(values: t.Any, what: str, pattern: t.Pattern[str], kind: str) -> t.List[str]:
    """A non-empty list of server names, each matching ``pattern`` (one value of ``kind``)."""
    if not isinstance(values, list) or not values:
        raise InputError("%s: server_names must be a non-empty list" % what)
    for value in values:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InputError("%s: server name %r is not one %s" % (what, value, kind))
    return list(values)


def server_names(values: t.Any, what: str) -> t.List[str]:
    return checked_names(values, what, _SERVER_NAME_RE,
                         "nginx server_name value (no spaces, quotes, backslashes, ; { } #)")


def _listen_address(address: str) -> str:
    bare = address[1:-1] if address.startswith("[") and address.endswith("]") else address
    try:
        parsed = ipaddress.ip_address(bare)
    except ValueError:
        if address == "*" or _HOST_RE.fullmatch(address):
            return address
        raise InputError("nginx.address %r is neither an IP address nor a host name" % address) from None
    return "[%s]" % parsed.compressed if parsed.version == 6 else parsed.compressed


def listen_values(options: t.Dict[str, t.Any]) -> t.List[str]:
    """The ``listen`` values (without ``http2``): given, or ``<address>:<port> ssl``/``<port> ssl``."""
    given = options.get("listen")
    if given:
        # An http2 parameter (the form before nginx 1.25.1) is dropped: nginx.http2 adds HTTP/2 in
        # the form this nginx version understands.
        return [" ".join(part for part in _safe(value, "nginx.listen").split() if part != "http2")
                for value in given]
    port = 443 if options.get("port") is None else options["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputError("nginx.port %r is not a TCP port" % (port,))
    address = options.get("address")
    return ["%s:%d ssl" % (_listen_address(address), port) if address else "%d ssl" % port]


def version_of(options: t.Dict[str, t.Any]) -> t.Optional[t.Tuple[int, int, int]]:
    """nginx.version, else what ``<binary> -v`` says (None when unknown); only asked for HTTP/2."""
    if options.get("version"):
        version = parse_version(options["version"])
        if version is None:
            raise InputError("nginx.version %r is not a version such as 1.22.1" % options["version"])
        return version
    if not options.get("http2", True):
        return None
    return detect_version(options.get("binary") or "nginx")


def render_servers(servers: t.Sequence[Server], options: t.Dict[str, t.Any],
                   version: t.Optional[t.Tuple[int, int, int]]) -> bytes:
    """The whole managed file: a header, then one server block per certificate, by name.

    HTTP/2 is ``http2 on;`` from nginx 1.25.1, else (older or unknown version) a ``http2``
    parameter on each listen line, which every nginx accepts (1.25.1+ with a deprecation warning).
    """
    listen = listen_values(options)
    server_extra = directive_lines(options.get("server_extra"), "nginx.server_extra")
    http2 = options.get("http2", True)
    use_directive = bool(http2) and version is not None and version >= HTTP2_DIRECTIVE_SINCE
    if http2 and not use_directive:
        listen = [value + " http2" for value in listen]
    seen = {}  # type: t.Dict[str, str]
    lines = [CONF_HEADER]
    for server in sorted(servers, key=lambda item: item.name):
        for value in server.server_names:
            if value.lower() in seen:
                raise InputError("certificates %s and %s both have the server name %s"
                                 % (seen[value.lower()], server.name, value))
            seen[value.lower()] = server.name
        lines += ["", "# certificate %s" % server.name, "server {"]
        lines += ["    listen %s;" % value for value in listen]
        lines += ["    server_name %s;" % " ".join(server.server_names),
                  "    ssl_certificate %s;" % _path(server.fullchain),
                  "    ssl_certificate_key %s;" % _path(server.privkey)]
        if use_directive:
            lines.append("    http2 on;")
        lines += ["    " + line for line in server_extra + server.extra]
        lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# The stateless http-01 answer: any token, followed by the account thumbprint (acme.sh's stateless mode).
CHALLENGE_LOCATION = '"^/\\.well-known/acme-challenge/([-_a-zA-Z0-9]+)$"'
HTTP_HEADER = "# managed by certfleet.acme.cert_install (nginx.http_server); do not edit"


def render_http_server(http: t.Dict[str, t.Any], address: t.Optional[str]) -> bytes:
    """The port-80 server block of nginx.http_server: the http-01 path answered without a file
    (stateless_thumbprint) or from the web root (webroot), everything else redirected to https
    (redirect_https) or left to the directives of ``extra``."""
    what = "nginx.http_server"
    names = server_names(http.get("server_names"), what)
    stateless = http.get("stateless_thumbprint")
    webroot = http.get("webroot")
    if stateless and webroot:
        raise InputError("%s: stateless_thumbprint and webroot exclude each other (stateless mode "
                         "serves no token files)" % what)
    if not stateless and not webroot and not http.get("redirect_https"):
        raise InputError("%s: nothing to serve (set stateless_thumbprint, webroot or redirect_https)" % what)
    port = 80 if http.get("port") is None else http["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputError("%s.port %r is not a TCP port" % (what, port))
    listen = [_safe(value, what + ".listen") for value in http.get("listen") or []] or \
        ["%s:%d" % (_listen_address(address), port) if address else "%d" % port]
    lines = [HTTP_HEADER, "", "server {"]
    lines += ["    listen %s;" % value for value in listen]
    lines.append("    server_name %s;" % " ".join(names))
    if stateless:
        lines += ["    location ~ %s {" % CHALLENGE_LOCATION, "        default_type text/plain;",
                  '        return 200 "$1.%s";' % validate_thumbprint(stateless, what + ".stateless_thumbprint"),
                  "    }"]
    elif webroot:
        if not os.path.isabs(webroot):
            raise InputError("%s.webroot %r must be an absolute path" % (what, webroot))
        lines += ["    location ^~ /.well-known/acme-challenge/ {", "        root %s;" % _path(webroot),
                  "        default_type text/plain;", "    }"]
    lines += ["    " + line for line in directive_lines(http.get("extra"), what + ".extra")]
    if http.get("redirect_https"):
        lines += ["    location / {", "        return 301 https://$host$request_uri;", "    }"]
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def log_size(path: t.Optional[str]) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _read_from(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def log_tail(path: t.Optional[str], lines: int = ERROR_LOG_LINES, offset: int = 0) -> t.List[str]:
    """The last lines of the error log written after ``offset`` (all of them when it wrote none
    since), read from at most its last 64 KiB."""
    if not path:
        return []
    size = log_size(path)
    start = offset if 0 < offset < size else max(0, size - 65536)
    found = [line for line in _read_from(path, start).splitlines() if line.strip()][-lines:]
    return found or (log_tail(path, lines) if start else [])


def reload_error(path: t.Optional[str], offset: int, settle: t.Optional[float] = None) -> t.Optional[str]:
    """The ``[emerg]``/``[alert]`` line the master logged after a reload (since ``offset``), waiting
    up to ``settle`` seconds for it to report; None when it reloaded or the log is not given."""
    if not path:
        return None
    deadline = time.monotonic() + (RELOAD_SETTLE_SECONDS if settle is None else settle)
    while True:
        text = _read_from(path, offset) if log_size(path) > offset else ""
        if _RELOAD_DONE_RE.search(text) or time.monotonic() >= deadline:
            failed = [line for line in text.splitlines() if _RELOAD_FAILED_RE.search(line)]
            return failed[-1].strip() if failed else None
        time.sleep(0.05)
