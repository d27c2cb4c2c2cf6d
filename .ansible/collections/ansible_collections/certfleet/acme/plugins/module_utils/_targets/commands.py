# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a server's check and reload commands on a node, without a shell. Private to this collection."""

from __future__ import annotations

import shlex
import subprocess
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError


class Outcome(t.NamedTuple):
    """What a command did: its exit status and its output, decoded."""

    rc: int
    stdout: str
    stderr: str


def command_argv(command: t.Union[str, t.Sequence[str]]) -> t.List[str]:
    """A command as an argument list: a string is split like a shell would (no shell runs)."""
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    except ValueError as exc:
        raise InputError("cannot split the command %r: %s" % (command, exc)) from None
    if not argv:
        raise InputError("empty command")
    return argv


def run(command: t.Union[str, t.Sequence[str]], timeout: float = 120.0) -> Outcome:
    """Run ``command``; a missing program or a timeout is an outcome too (rc 127 / 124)."""
    argv = command_argv(command)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        return Outcome(127, "", "command not found: %s" % argv[0])
    except PermissionError:
        return Outcome(126, "", "permission denied: %s" % argv[0])
    except subprocess.TimeoutExpired:
        return Outcome(124, "", "%s did not finish within %gs" % (argv[0], timeout))
    return Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                   proc.stderr.decode("utf-8", "replace"))
