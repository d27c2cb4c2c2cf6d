# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module runner shared by every certfleet.acme module. Private to this collection."""

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import CertfleetError

Runner = t.Callable[[AnsibleModule], t.Tuple[bool, t.Dict[str, t.Any]]]


def run_module(argument_spec: dict, runner: Runner, **module_kwargs: t.Any) -> None:
    """Create the module, run ``runner`` and map the outcome to exit_json / fail_json.

    ``runner(module)`` returns ``(changed, result)``. A CertfleetError becomes a clean failure with
    its message and details; anything else becomes a failure that names the error, with the
    traceback only in the ``exception`` field (shown at -vvv), never as a crash.
    """
    module_kwargs.setdefault("supports_check_mode", True)
    module = AnsibleModule(argument_spec=argument_spec, **module_kwargs)
    try:
        changed, result = runner(module)
    except CertfleetError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Exception as exc:  # noqa: BLE001 -- last line of defence: no raw traceback for users
        module.fail_json(
            msg="Unexpected error in %s: %s: %s" % (module._name, type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )
    module.exit_json(changed=changed, **result)
