# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module EXAMPLES run as written: every variable they use is registered by an earlier example."""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
MODULES = os.path.join(ROOT, "plugins", "modules")
NAMES = sorted(n[:-3] for n in os.listdir(MODULES) if n.endswith(".py") and n != "__init__.py")
# Jinja words that are not variables: filters, tests, keywords, lookups.
NOT_VARIABLES = {"map", "attribute", "lookup", "dict2items", "items2dict", "selectattr", "in",
                 "if", "else", "not", "and", "or", "none", "true", "false", "omit", "default", "list",
                 "length", "join", "b64decode", "from_json"}
# Variables Ansible defines for every host (magic and connection variables).
MAGIC = {"inventory_hostname", "ansible_host", "hostvars", "groups", "ansible_play_hosts",
         "ansible_play_hosts_all", "ansible_check_mode", "play_hosts"}
PENDING = set()


def _examples(name):
    with open(os.path.join(MODULES, name + ".py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXAMPLES":
            return node.value.value
    raise AssertionError("%s has no EXAMPLES" % name)


def _strings(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _variables(expression):
    without_strings = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expression)
    return set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)", without_strings)) - NOT_VARIABLES


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason="other branch"))
                                  if n in PENDING else n for n in NAMES])
def test_examples_define_what_they_use(name):
    text = _examples(name)
    registered = set()
    for task in yaml.safe_load(text):
        assert "name" in task
        module = [k for k in task if k.startswith("certfleet.acme.")]
        assert len(module) <= 1, task["name"]
        used = set()
        for text in _strings(task):
            for expression in re.findall(r"\{\{(.*?)\}\}", text, re.S):
                used |= _variables(expression)
        used -= MAGIC
        assert used <= registered, "%s: %s used before any example registers it" % (
            task["name"], sorted(used - registered))
        if "register" in task:
            registered.add(task["register"])
