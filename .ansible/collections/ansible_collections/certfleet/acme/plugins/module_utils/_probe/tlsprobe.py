# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch the certificate a TLS endpoint serves (standard library ssl). Private to this collection."""

from __future__ import annotations

import os
import socket
import ssl
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError


class PeerCertificate(t.NamedTuple):
    """What the handshake yielded: the leaf in DER, the ALPN protocol and the TLS version."""

    der: bytes
    alpn_protocol: t.Optional[str]
    tls_version: t.Optional[str]


def _context(ca_file: t.Optional[str], check_hostname: bool,
             alpn: t.Optional[t.Sequence[str]]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        if not os.path.exists(ca_file):
            raise InputError("CA file or directory %s does not exist" % ca_file)
        try:
            if os.path.isdir(ca_file):
                context.load_verify_locations(capath=ca_file)
            else:
                context.load_verify_locations(cafile=ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise InputError("cannot load CA certificates from %s: %s" % (ca_file, exc)) from None
        context.check_hostname = check_hostname
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        # Inspection only: we want to see whatever the endpoint serves, trusted or not.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _describe(host: str, port: int, server_name: t.Optional[str]) -> str:
    where = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    return "%s (SNI %s)" % (where, server_name) if server_name else "%s (no SNI)" % where


def fetch_peer_certificate(host: str, port: int = 443, server_name: t.Optional[str] = None,
                           timeout: float = 10.0, ca_file: t.Optional[str] = None,
                           check_hostname: bool = False,
                           alpn: t.Optional[t.Sequence[str]] = None) -> PeerCertificate:
    """Connect to ``host:port`` sending SNI ``server_name`` (default: ``host``) and return the leaf.

    Without ``ca_file`` nothing is verified (we are inspecting); with it the chain is verified, and
    the name only with ``check_hostname``. Failures raise TargetError naming host, port and SNI.
    """
    if server_name is None:
        server_name = host
    if check_hostname and not ca_file:
        raise InputError("checking the host name needs a CA file (ca_path)")
    context = _context(ca_file, check_hostname, alpn)
    where = _describe(host, port, server_name or None)
    details = {"host": host, "port": port, "server_name": server_name}
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=server_name or None) as tls:
                der = tls.getpeercert(binary_form=True)
                alpn_protocol = tls.selected_alpn_protocol()
                version = tls.version()
    except ssl.SSLCertVerificationError as exc:
        raise TargetError("TLS probe of %s: certificate verification failed: %s"
                          % (where, exc.verify_message or exc.reason or exc), **details) from None
    except ssl.SSLError as exc:
        raise TargetError("TLS probe of %s: handshake failed: %s" % (where, exc.reason or exc),
                          **details) from None
    except socket.timeout:
        raise TargetError("TLS probe of %s: timed out after %gs" % (where, timeout), **details) from None
    except ConnectionRefusedError:
        raise TargetError("TLS probe of %s: connection refused" % where, **details) from None
    except socket.gaierror as exc:
        raise TargetError("TLS probe of %s: cannot resolve host: %s" % (where, exc.strerror or exc),
                          **details) from None
    except OSError as exc:
        raise TargetError("TLS probe of %s: %s" % (where, exc.strerror or exc), **details) from None
    if not der:
        raise TargetError("TLS probe of %s: the server sent no certificate" % where, **details)
    return PeerCertificate(der, alpn_protocol, version)
