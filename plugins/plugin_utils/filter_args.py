# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter arguments checked against the filter's own documentation.

Each filter is documented in ``plugins/filter/<filter name>.yml``: ``positional`` names the
arguments in order (``_input`` is the value left of the ``|``), ``options`` gives each one's
type, elements, choices, default and whether it is required. ``documented_filter`` reads that
file once and checks every call with Ansible's own argument spec validator, so the rules a
filter's arguments follow are written once, in its documentation, and a wrong argument fails
with a message naming the filter and the argument.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import functools
import os
from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

FILTER_DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'filter')
# The option keys of a filter's documentation that are argument spec keys too.
SPEC_KEYS = ('type', 'elements', 'required', 'default', 'choices')


def _mapping(value):
    """The type check of a C(dict) argument: any mapping (hostvars is one, not a dict)."""
    if isinstance(value, Mapping):
        return value
    raise TypeError('%s is not a dict' % type(value).__name__)


def _text(value):
    """The type check of a C(str) argument: a string, never a number turned into one. An
    inline-vaulted string comes as its text (ansible-core < 2.19 hands it to filters as an
    AnsibleVaultEncryptedUnicode, which is not a str; str() decrypts it)."""
    if isinstance(value, str):
        return value
    if hasattr(value, 'vault'):
        return str(value)
    raise TypeError('%s is not a string' % type(value).__name__)


# Stricter than a module's conversions: a filter's caller is a template, where a wrong type
# is a mistake to name, not a value to convert. Named like the documented types in messages.
# (A list is checked before the validator, which needs its own 'list' type for `elements`.)
_mapping.__name__, _text.__name__ = 'dict', 'str'
CHECKS = {'dict': _mapping, 'str': _text}


class _Arguments(dict):
    """A filter call's arguments. The validator works on a deep copy of what it is given;
    deep-copying Ansible's lazy containers (a whole plan, hostvars) costs milliseconds per
    call, and the validator only replaces top-level values, so a shallow copy is enough."""

    def __deepcopy__(self, memo):
        return _Arguments(self)


def _spec_entry(option):
    entry = dict((key, option[key]) for key in SPEC_KEYS if key in option)
    for key in ('type', 'elements'):
        entry[key] = CHECKS.get(entry.get(key), entry.get(key))
    return dict((key, value) for key, value in entry.items() if value is not None)


@functools.lru_cache(maxsize=None)
def filter_spec(name):
    """(positional names, argument spec) from plugins/filter/<name>.yml."""
    with open(os.path.join(FILTER_DOCS, name + '.yml')) as handle:
        doc = yaml.safe_load(handle)['DOCUMENTATION']
    positional = [part.strip() for part in doc.get('positional', '_input').split(',') if part.strip()]
    spec = dict((option, _spec_entry(value)) for option, value in doc['options'].items())
    return positional, spec


def filter_arguments(name, args, kwargs):
    """The arguments of one call of filter `name` by option name, checked and with defaults.

    Raises AnsibleFilterError naming the filter and every wrong argument."""
    positional, spec = filter_spec(name)
    if len(args) > len(positional):
        raise AnsibleFilterError('%s: takes at most %d arguments (%s), got %d'
                                 % (name, len(positional), ', '.join(positional), len(args)))
    params = _Arguments(zip(positional, args))
    twice = sorted(set(params) & set(kwargs))
    if twice:
        raise AnsibleFilterError('%s: %s given both by position and by name' % (name, ', '.join(twice)))
    params.update(kwargs)
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise AnsibleFilterError('%s: unknown argument(s) %s (arguments: %s)'
                                 % (name, ', '.join(unknown), ', '.join(sorted(spec))))
    not_lists = sorted(option for option, value in params.items()
                       if spec[option].get('type') == 'list' and value is not None and not isinstance(value, (list, tuple)))
    if not_lists:
        raise AnsibleFilterError('%s: %s' % (name, '; '.join("argument '%s' is of type %s, not a list"
                                                             % (option, type(params[option]).__name__)
                                                             for option in not_lists)))
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise AnsibleFilterError('%s: %s' % (name, '; '.join(result.error_messages)))
    return result.validated_parameters


def documented_filter(func):
    """A filter whose arguments are checked against plugins/filter/<its name>.yml.

    `func` takes every documented option as a keyword argument (``_input`` first); options
    that are not given arrive with their documented default, or None.
    """
    @functools.wraps(func)
    def checked(*args, **kwargs):
        return func(**filter_arguments(func.__name__, args, kwargs))
    return checked
