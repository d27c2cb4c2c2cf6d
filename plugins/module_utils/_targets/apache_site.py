# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Apache httpd file of TLS virtual hosts that cert_install owns (its ``apache`` option):
render and plan it; writing, backups, test, graceful reload, rollback and commit are those of the
nginx file (nginx_site). Private to this collection."""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._targets import nginx, nginx_site

SERVER = "Apache httpd"
CONF_HEADER = "# managed by certfleet.acme.cert_install; do not edit"
# cert_install's apache option.
OPTIONS = dict(
    conf_path=dict(type="path"),
    address=dict(type="str", default="*"),
    port=dict(type="int", default=443),
    http2=dict(type="bool", default=True),
    vhost_extra=dict(type="str", default=""),
    test_command=dict(type="str", default="apachectl configtest"),
    reload_command=dict(type="str", default="apachectl graceful"),
    error_log=dict(type="path"),
)
# One Apache directive per line: no line breaks, no comments, no section tags of ours.
_DIRECTIVE_RE = re.compile(r"^[A-Za-z<][^\x00-\x1f#]*$")
_NAME_RE = re.compile(r"^[^\s\"'\\<>#]+$")
_SECTION_RE = re.compile(r"^<(/?)([A-Za-z]+)\b[^>]*>$")


# One ``<VirtualHost>`` of the managed file: the same fields as an nginx server block.
VirtualHost = nginx.Server


def options_of(params: t.Dict[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The validated ``apache`` option, None when absent."""
    options = params.get("apache")
    if not options:
        return None
    nginx_site.check_paths_and_commands(options, "apache")
    address_of(options)
    return options


def address_of(options: t.Dict[str, t.Any]) -> str:
    """``<address>:<port>`` of every ``<VirtualHost>`` (an IPv6 address in brackets)."""
    address = options.get("address") or "*"
    port = 443 if options.get("port") is None else options["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputError("apache.port %r is not a TCP port" % (port,))
    if address != "*":
        bare = address[1:-1] if address.startswith("[") and address.endswith("]") else address
        try:
            parsed = ipaddress.ip_address(bare)
        except ValueError:
            raise InputError("apache.address %r is neither * nor an IP address" % address) from None
        address = "[%s]" % parsed.compressed if parsed.version == 6 else parsed.compressed
    return "%s:%d" % (address, port)


def server_names(values: t.Any, what: str) -> t.List[str]:
    return nginx.checked_names(values, what, _NAME_RE,
                               "ServerName/ServerAlias value (no spaces, quotes, backslashes, < > #)")


def directive_lines(text: t.Optional[str], what: str) -> t.List[str]:
    """Directives, one per line; sections (``<Location />`` ... ``</Location>``) must close in the
    same text, and none may open or close a ``VirtualHost``."""
    lines, open_sections = [], []  # type: t.List[str], t.List[str]
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        section = _SECTION_RE.fullmatch(line)
        bad = not _DIRECTIVE_RE.fullmatch(line) or line.count('"') % 2 or \
            (line.startswith("<") and not section)
        if section and section.group(2).lower() == "virtualhost":
            bad = True
        elif section and section.group(1):
            bad = bad or not open_sections or open_sections.pop() != section.group(2).lower()
        elif section:
            open_sections.append(section.group(2).lower())
        if bad:
            raise InputError("%s: %r is not one Apache directive (or a section tag) on one line "
                             "(balanced quotes and sections, no VirtualHost, no #)" % (what, line))
        lines.append(line)
    if open_sections:
        raise InputError("%s: section <%s> is not closed" % (what, open_sections[-1]))
    return lines


def _path(path: str) -> str:
    if '"' in path or "\\" in path or re.search(r"[\x00-\x1f]", path):
        raise InputError("apache: cannot quote the path %r" % path)
    return '"%s"' % path


def render(hosts: t.Sequence[VirtualHost], options: t.Dict[str, t.Any]) -> bytes:
    """The whole managed file: a header, then one ``<VirtualHost>`` per certificate, by name.
    HTTP/2 is ``Protocols h2 http/1.1`` inside ``<IfModule http2_module>``: where mod_http2 is
    loaded the host speaks h2, elsewhere the file still loads."""
    where = address_of(options)
    vhost_extra = directive_lines(options.get("vhost_extra"), "apache.vhost_extra")
    seen = {}  # type: t.Dict[str, str]
    lines = [CONF_HEADER]
    for host in sorted(hosts, key=lambda item: item.name):
        for value in host.server_names:
            if value.lower() in seen:
                raise InputError("certificates %s and %s both have the server name %s"
                                 % (seen[value.lower()], host.name, value))
            seen[value.lower()] = host.name
        plain = [value for value in host.server_names if "*" not in value]
        first = plain[0] if plain else host.server_names[0]
        aliases = [value for value in host.server_names if value != first]
        lines += ["", "# certificate %s" % host.name, "<VirtualHost %s>" % where,
                  "    ServerName %s" % first]
        if aliases:
            lines.append("    ServerAlias %s" % " ".join(aliases))
        lines += ["    SSLEngine on",
                  "    SSLCertificateFile %s" % _path(host.fullchain),
                  "    SSLCertificateKeyFile %s" % _path(host.privkey)]
        if options.get("http2", True):
            lines += ["    <IfModule http2_module>", "        Protocols h2 http/1.1", "    </IfModule>"]
        lines += ["    " + line for line in vhost_extra + host.extra]
        lines.append("</VirtualHost>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def plan(options: t.Dict[str, t.Any], hosts: t.Sequence[VirtualHost]) -> nginx_site.Conf:
    """Render the file (every value checked) and compare it with the disk."""
    content = render(hosts, options)
    path = options["conf_path"]
    before = files.read_bytes(path)
    return nginx_site.Conf(path, before, content, files.file_needs_update(path, content, nginx.CONF_MODE))


def test_and_reload(options: t.Dict[str, t.Any], undo: nginx_site.Undo) -> t.Tuple[bool, bool]:
    """``apachectl configtest``, then the graceful reload (a failed one reloads the restored files)."""
    return nginx_site.test_and_reload(options, undo, server=SERVER, late_errors=False)


def reload_after_rollback(options: t.Dict[str, t.Any]) -> bool:
    return nginx_site.reload_after_rollback(options, server=SERVER)
