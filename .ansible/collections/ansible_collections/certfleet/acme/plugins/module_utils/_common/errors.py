# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception tree of certfleet.acme. Private to this collection."""

from __future__ import annotations

import typing as t


class CertfleetError(Exception):
    """Base error: a message for the user plus structured details for the result."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class InputError(CertfleetError):
    """The caller's input is invalid; raised before anything is changed."""


class ProtocolError(CertfleetError):
    """The ACME server answered with an error document or an unexpected response."""


class StoreError(CertfleetError):
    """The store directory cannot be read or written, or a lock cannot be taken."""


class TargetError(CertfleetError):
    """A node-side operation (files, web root, server configuration) failed."""


class DnsProviderError(CertfleetError):
    """A DNS provider rejected or failed an operation."""
