# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx server snippet for an installed certificate set (cert_install's nginx_snippet). Private to
this collection."""

from __future__ import annotations

import re
import subprocess
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError

DEFAULT_FILE_NAME = "nginx-tls.conf"
DEFAULT_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# nginx 1.25.1 added the `http2` directive and deprecated `listen ... http2`.
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
_VERSION_RE = re.compile(r"nginx/(\d+)\.(\d+)\.(\d+)")
_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_SAFE_RE = re.compile(r"^[^;{}\n\r#]+$")


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
    if not _SAFE_RE.fullmatch(value or ""):
        raise InputError("nginx_snippet: %s %r contains characters not allowed in one directive "
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
    listen = [_safe(value, "listen") for value in options.get("listen") or []]
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
