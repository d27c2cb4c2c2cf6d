# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until every authoritative server of a zone serves the TXT values. Private to this collection.

A recursive resolver's cache is not trusted: each server named by the zone's NS records is asked
directly, again and again (first after 50 ms, backing off to 2 s) until all of them return every
value, or until the deadline, which fails naming the servers that lag.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import CertfleetError, DnsProviderError

FIRST_DELAY = 0.05
MAX_DELAY = 2.0


def missing_values(dns: t.Any, server: str, records: t.Mapping[str, t.Sequence[str]],
                   present: bool = True) -> t.Dict[str, t.List[str]]:
    """Per name, the values ``server`` does not serve yet (present) or still serves (absent)."""
    result = {}
    for name, values in records.items():
        served = set(dns.txt_at(server, name))
        lag = [v for v in values if (v not in served) == present]
        if lag:
            result[name] = lag
    return result


def wait_for(dns: t.Any, servers: t.Sequence[t.Tuple[str, str]], records: t.Mapping[str, t.Sequence[str]],
             timeout: float, present: bool = True, clock: t.Callable[[], float] = time.monotonic,
             sleep: t.Callable[[float], None] = time.sleep) -> t.Dict[str, t.Any]:
    """Poll every ``(ns name, address)`` until none lags; return ``{"servers": [...], "seconds": n}``."""
    start = clock()
    deadline = start + max(0.0, timeout)
    pending = list(servers)
    delay = FIRST_DELAY
    last = {}  # type: t.Dict[t.Tuple[str, str], str]
    while True:
        still = []
        for server in pending:
            try:
                lag = missing_values(dns, server[1], records, present)
            except CertfleetError as exc:
                last[server] = exc.msg
                still.append(server)
                continue
            if lag:
                last[server] = "; ".join("%s %s %s" % (name, "lacks" if present else "still has",
                                                       ", ".join(values)) for name, values in sorted(lag.items()))
                still.append(server)
        if not still:
            return {"servers": ["%s (%s)" % s for s in servers], "seconds": round(clock() - start, 3)}
        now = clock()
        if now >= deadline:
            raise DnsProviderError(
                "after %.0f s, %d of %d authoritative servers do not serve the TXT records yet: %s"
                % (now - start, len(still), len(servers),
                   "; ".join("%s (%s): %s" % (s[0], s[1], last.get(s, "?")) for s in still)),
                lagging=["%s (%s)" % s for s in still])
        sleep(min(delay, max(0.0, deadline - now)))
        delay = min(delay * 2, MAX_DELAY)
        pending = still
