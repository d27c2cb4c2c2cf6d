# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy hooks of cert_install: the commands that hand a new certificate to services the
collection does not know (Postfix, Dovecot, a keystore import), with the certificate's paths in
their environment. Private to this collection."""

from __future__ import annotations

import os
import subprocess
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._targets import commands

DEFAULT_TIMEOUT = 120.0
OUTPUT_CHARS = 4000
# One hook, as cert_install's deploy_hooks and certificates[].deploy_hooks take it.
OPTIONS = dict(
    command=dict(type="raw", required=True),
    shell=dict(type="bool", default=False),
    timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    chdir=dict(type="path"),
)


class Hook(t.NamedTuple):
    """One validated hook."""

    command: t.Union[str, t.List[str]]
    shell: bool
    timeout: float
    chdir: t.Optional[str]

    @property
    def label(self) -> str:
        return self.command if isinstance(self.command, str) else " ".join(self.command)


def parse(values: t.Any, what: str) -> t.List[Hook]:
    """The hooks of an option: each a command (a string split like a shell would, or a list of
    arguments) or a dict with command, shell, timeout and chdir."""
    hooks = []
    for index, value in enumerate(values or []):
        where = "%s[%d]" % (what, index)
        spec = dict(value) if isinstance(value, dict) else {"command": value}
        unknown = sorted(set(spec) - set(OPTIONS))
        if unknown:
            raise InputError("%s: unknown keys %s" % (where, ", ".join(unknown)))
        command, shell = spec.get("command"), bool(spec.get("shell") or False)
        if shell:
            if not isinstance(command, str) or not command.strip():
                raise InputError("%s: a shell hook needs its command as one string" % where)
        elif isinstance(command, (str, list)):
            command = commands.command_argv(command)
        else:
            raise InputError("%s: command must be a string or a list of arguments" % where)
        try:
            timeout = float(spec.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            raise InputError("%s: timeout %r is not a number of seconds" % (where, spec.get("timeout"))) from None
        chdir = spec.get("chdir")
        if chdir is not None and (not isinstance(chdir, str) or not os.path.isabs(chdir)):
            raise InputError("%s: chdir %r must be an absolute path" % (where, chdir))
        hooks.append(Hook(command, shell, timeout, chdir))
    return hooks


def environment(name: str, dest: str, paths: t.Mapping[str, str], summary: t.Mapping[str, t.Any],
                previous_serial: t.Optional[str]) -> t.Dict[str, str]:
    """What a hook learns of the certificate it runs for (besides the module's own environment)."""
    env = {"CERTFLEET_NAME": name, "CERTFLEET_DEST": dest,
           "CERTFLEET_CERT": paths["cert"], "CERTFLEET_CHAIN": paths["chain"],
           "CERTFLEET_FULLCHAIN": paths["fullchain"], "CERTFLEET_PRIVKEY": paths["privkey"],
           "CERTFLEET_SERIAL": summary.get("serial") or "",
           "CERTFLEET_PREVIOUS_SERIAL": previous_serial or "",
           "CERTFLEET_NOT_AFTER": summary.get("not_after") or "",
           "CERTFLEET_NAMES": " ".join(summary.get("names") or [])}
    return env


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OUTPUT_CHARS else "..." + text[-OUTPUT_CHARS:]


def run(hook: Hook, env: t.Mapping[str, str]) -> t.Dict[str, t.Any]:
    """Run one hook; its result (rc 127 for a missing program, 124 for a timeout)."""
    full_env = dict(os.environ)
    full_env.update(env)
    try:
        proc = subprocess.run(hook.command, shell=hook.shell, env=full_env, cwd=hook.chdir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=hook.timeout, check=False)
        rc, stdout, stderr = (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                              proc.stderr.decode("utf-8", "replace"))
    except FileNotFoundError:
        rc, stdout, stderr = 127, "", "command not found: %s" % hook.label.split()[0]
    except PermissionError:
        rc, stdout, stderr = 126, "", "permission denied: %s" % hook.label.split()[0]
    except subprocess.TimeoutExpired:
        rc, stdout, stderr = 124, "", "did not finish within %gs" % hook.timeout
    return {"certificate": env.get("CERTFLEET_NAME"), "command": hook.label, "rc": rc,
            "stdout": _tail(stdout), "stderr": _tail(stderr), "ok": rc == 0}


def describe(result: t.Mapping[str, t.Any]) -> str:
    """One line on a failed hook, with its stderr (else its stdout)."""
    output = " | ".join(line.strip() for line in (result["stderr"] or result["stdout"]).splitlines()
                        if line.strip()) or "(no output)"
    return "deploy hook %r of certificate %s failed (rc=%d): %s" % (
        result["command"], result["certificate"], result["rc"], output)
