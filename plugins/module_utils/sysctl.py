# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind smite.wgmesh.sysctl_settings: key names, values, the sysctl.d file
and the decision what to write live. File access is done through the callables given.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

HEADER = '# managed by smite.wgmesh: changes are overwritten\n'


class SysctlError(Exception):
    """A live value is wrong and cannot be changed."""


def key_path(key):
    """Path of a key below /proc/sys.

    Keys use dots (net.ipv4.ip_forward) or, when a component itself contains dots (an
    interface called wg-a.b), slashes (net/ipv4/conf/wg-a.b/send_redirects), as in sysctl.d.
    """
    key = key.strip()
    parts = key.strip('/').split('/') if '/' in key else key.split('.')
    if not key or any(p in ('', '.', '..') for p in parts):
        raise ValueError('invalid sysctl key %r' % key)
    return os.path.join(*parts)


def normalize(value):
    """Values compare by their whitespace-separated words ('32768\\t60999' == '32768 60999')."""
    if isinstance(value, bool):
        value = int(value)
    return ' '.join(str(value).split())


def render_file(settings):
    """The sysctl.d file for a {key: value} mapping, sorted for a stable diff."""
    lines = [HEADER]
    lines.extend('%s = %s\n' % (key, normalize(value)) for key, value in sorted(settings.items()))
    return ''.join(lines)


def plan_live(settings, read):
    """Which keys need a live write.

    `read(path)` returns the current text of /proc/sys/<path>, or None if the key does
    not exist. Returns (to_write, missing): to_write is a sorted list of
    (key, current, wanted), missing the keys with no /proc/sys entry.
    """
    to_write, missing = [], []
    for key, value in sorted(settings.items()):
        current = read(key_path(key))
        if current is None:
            missing.append(key)
        elif normalize(current) != normalize(value):
            to_write.append((key, normalize(current), normalize(value)))
    return to_write, missing


def apply_live(to_write, write, writable, check_mode=False, optional=()):
    """Write the planned values; fail clearly where /proc/sys will not take them.

    `write(path, value)` raises OSError on failure; `writable(path)` tells (cheaply,
    e.g. os.access) whether a write can work, so check mode can predict the failure.
    Keys in `optional` are best effort: where they cannot be changed the message is
    returned (for a warning) instead of raised. Returns (written, [(key, warning)]).
    """
    written, warnings = [], []
    for key, current, wanted in to_write:
        path = key_path(key)
        problem = None
        if not writable(path):
            problem = '/proc/sys/%s is read-only' % path
        elif not check_mode:
            try:
                write(path, wanted)
            except OSError as exc:
                problem = 'writing /proc/sys/%s failed: %s' % (
                    path, os.strerror(exc.errno) if exc.errno else exc)
        if problem is None:
            written.append((key, current, wanted))
            continue
        message = ('sysctl %s is %s but must be %s, and it cannot be changed here (%s). '
                   'Set it where this node is created (for a container: --sysctl %s=%s).'
                   % (key, current, wanted, problem, key, wanted))
        if key not in optional:
            raise SysctlError(message)
        warnings.append((key, message.replace(' but must be ', ' (wanted: ', 1).replace(
            ', and it cannot be changed here', '), left as it is: it cannot be changed here', 1)))
    return written, warnings
