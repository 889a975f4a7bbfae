#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: sysctl_settings
short_description: Set kernel parameters persistently and live, failing clearly where /proc/sys is read-only
version_added: "0.1.0"
description:
  - Writes the given settings to one sysctl.d file that this module owns (whole-file content).
  - Reads each live value from C(/proc/sys) first and writes only the values that differ.
    Where C(/proc/sys) is read-only (a container) and the value is already right, nothing is
    reported; where it is wrong and cannot be changed, the module fails naming the key, the
    wanted and the current value.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  settings:
    description:
      - Mapping of key to value, for example C(net.ipv4.ip_forward=1).
      - Keys use dots, or slashes when a part contains a dot (C(net/ipv4/conf/wg-a.b/send_redirects)),
        as sysctl.d accepts both.
    type: dict
    required: true
  path:
    description: The sysctl.d file holding exactly these settings.
    type: path
    default: /etc/sysctl.d/90-wgmesh.conf
  persist:
    description: Write O(path). V(false) only sets the live values (for example per-interface keys
      of an interface that is created at boot after sysctl.d is applied).
    type: bool
    default: true
  optional:
    description:
      - Keys that are best effort, for example hardening that the node works without. Where
        such a key cannot be changed (read-only C(/proc/sys)), the module warns and goes on
        instead of failing; the key stays in the file for the next boot.
    type: list
    elements: str
    default: []
  ignore_missing:
    description: Skip keys that do not exist in C(/proc/sys) (for example of an interface not created
      yet) and return them in RV(missing), instead of failing.
    type: bool
    default: false
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: Also predicts a failure when a wrong value sits in a read-only C(/proc/sys).
  diff_mode:
    support: full
    details: Shows the file change and the live values before and after.
'''

EXAMPLES = r'''
- name: Forward IPv4, persistently and now
  smite.wgmesh.sysctl_settings:
    settings:
      net.ipv4.ip_forward: 1

- name: A hub must not send ICMP redirects on its mesh interface (set once it exists)
  smite.wgmesh.sysctl_settings:
    settings:
      net.ipv4.conf.wg-office.send_redirects: 0
    persist: false
'''

RETURN = r'''
file_changed:
  description: Whether the sysctl.d file was (or would be) rewritten.
  returned: always
  type: bool
live_changed:
  description: The live values written (or that would be written).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "net.ipv4.ip_forward", "before": "0", "after": "1"}]
not_set:
  description: Optional keys whose live value is wrong and could not be changed (each also warned about).
  returned: always
  type: list
  elements: str
missing:
  description: Keys that have no C(/proc/sys) entry (only with O(ignore_missing)).
  returned: always
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file, write_file
from ansible_collections.smite.wgmesh.plugins.module_utils.sysctl import (
    SysctlError, apply_live, key_path, plan_live, render_file,
)

PROC_SYS = '/proc/sys'


def _read(path):
    return read_file(os.path.join(PROC_SYS, path))


def _write(path, value):
    with open(os.path.join(PROC_SYS, path), 'w') as handle:
        handle.write(value + '\n')


def _writable(path):
    # access(2) reports EROFS for a read-only mount, even to root.
    return os.access(os.path.join(PROC_SYS, path), os.W_OK)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            path=dict(type='path', default='/etc/sysctl.d/90-wgmesh.conf'),
            persist=dict(type='bool', default=True),
            optional=dict(type='list', elements='str', default=[]),
            ignore_missing=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    settings = module.params['settings']
    path = module.params['path']
    result = dict(changed=False, file_changed=False, live_changed=[], not_set=[], missing=[])
    try:
        for key in settings:
            key_path(key)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc), **result)

    diffs = []
    if module.params['persist']:
        wanted = render_file(settings)
        current = None
        if os.path.exists(path):
            with open(path) as handle:
                current = handle.read()
        if current != wanted:
            result['file_changed'] = True
            diffs.append(dict(before=current or '', after=wanted, before_header=path, after_header=path))
            if not module.check_mode:
                write_file(path, wanted, 0o644)

    to_write, missing = plan_live(settings, _read)
    result['missing'] = missing
    if missing and not module.params['ignore_missing']:
        module.fail_json(msg='no such sysctl key(s): %s' % ', '.join(missing), **result)
    try:
        to_write, warnings = apply_live(to_write, _write, _writable, check_mode=module.check_mode,
                                        optional=module.params['optional'])
    except SysctlError as exc:
        module.fail_json(msg=to_native(exc), **result)
    for _key, warning in warnings:
        module.warn(warning)
    result['not_set'] = [key for key, _warning in warnings]
    result['live_changed'] = [dict(key=k, before=b, after=a) for k, b, a in to_write]

    result['changed'] = result['file_changed'] or bool(to_write)
    if to_write:
        diffs.append(dict(before=''.join('%s = %s\n' % (k, b) for k, b, _a in to_write),
                          after=''.join('%s = %s\n' % (k, a) for k, _b, a in to_write),
                          before_header='/proc/sys (live)', after_header='/proc/sys (live)'))
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
