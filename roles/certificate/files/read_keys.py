#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the certificate keys of a run from the store in one call (instead of one slurp per key).

Part of the certfleet.acme.certificate role (run with ansible.builtin.script and no_log on the
store host); standard library only. Argument: base64 of a JSON object {name: key file path}.
Prints {name: base64 of the file}. Exits 1 naming the first file it cannot read.
"""

from __future__ import annotations

import base64
import json
import sys


def main() -> int:
    try:
        paths = json.loads(base64.b64decode(sys.argv[1]).decode("utf-8"))
    except (IndexError, ValueError) as exc:
        sys.stderr.write("usage: read_keys.py BASE64_JSON (%s)\n" % exc)
        return 2
    out = {}
    for name, path in sorted(paths.items()):
        try:
            with open(path, "rb") as handle:
                out[name] = base64.b64encode(handle.read()).decode("ascii")
        except OSError as exc:
            sys.stderr.write("cannot read the key of certificate %s (%s): %s\n" % (name, path, exc.strerror))
            return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
