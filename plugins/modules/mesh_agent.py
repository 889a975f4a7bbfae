#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_agent
short_description: Install the node's mesh health agent program and its config
version_added: "0.2.0"
description:
  - Writes the health agent (C(health_agent.py)) and the collection's node-side modules it
    imports (the same C(wg show dump) and ping parsers the other modules use) into O(lib_dir),
    mode 0644, each only when its content differs.
  - Writes the agent's JSON config O(config_file), mode 0644; it holds node names, overlay
    addresses, AllowedIPs and Backhaul instance names, no key and no token.
  - The C(wgmesh-agent.service) unit that runs it is installed by the C(smite.wgmesh.wireguard)
    role. Python 3 standard library only on the node.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  config:
    description:
      - The agent's config, as made by the C(smite.wgmesh.mesh_agent_config) filter.
      - Required with O(state=present).
    type: dict
  lib_dir:
    description: Where the program goes.
    type: path
    default: /usr/local/lib/smite-wgmesh
  config_file:
    description: The agent's config file.
    type: path
    default: /etc/smite-wgmesh/agent.json
  state:
    description: V(absent) removes the program and the config.
    type: str
    choices: [present, absent]
    default: present
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows the config change; program files are listed by name.
'''

EXAMPLES = r'''
- name: Install the health agent for this node's meshes
  smite.wgmesh.mesh_agent:
    config: "{{ wireguard_host_plan | smite.wgmesh.mesh_agent_config(interval=10) }}"
  register: agent
'''

RETURN = r'''
program_changed:
  description: Whether a program file was (or would be) written or removed.
  returned: always
  type: bool
config_changed:
  description: Whether the config was (or would be) written or removed.
  returned: always
  type: bool
'''

import inspect
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils import health_agent
from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file, write_file


def program_files(lib_dir):
    """{path: source} of the agent and the modules it imports, as shipped in this module."""
    return dict((os.path.join(lib_dir, module.__name__.rsplit('.', 1)[-1] + '.py'), inspect.getsource(module))
                for module in health_agent.PROGRAM_MODULES + (health_agent,))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type='dict'),
            lib_dir=dict(type='path', default='/usr/local/lib/smite-wgmesh'),
            config_file=dict(type='path', default='/etc/smite-wgmesh/agent.json'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'present', ('config',))],
        supports_check_mode=True,
    )
    params = module.params
    present = params['state'] == 'present'
    wanted = program_files(params['lib_dir'])
    wanted[params['config_file']] = json.dumps(params['config'], indent=2, sort_keys=True) + '\n' if present else ''
    touched = [path for path in sorted(wanted)
               if (read_file(path) != wanted[path] if present else os.path.exists(path))]
    result = dict(changed=bool(touched),
                  program_changed=any(path != params['config_file'] for path in touched),
                  config_changed=params['config_file'] in touched)
    if module._diff and touched:
        before = read_file(params['config_file']) or ''
        after = wanted.get(params['config_file'], '') if present else ''
        result['diff'] = [dict(before_header=params['config_file'], after_header=params['config_file'],
                               before=before, after=after)] + [
            dict(before_header=path, after_header=path, before='', after='(%s)\n' % ('written' if present else 'removed'))
            for path in touched if path != params['config_file']]
    if not module.check_mode:
        for path in touched:
            if not present:
                os.unlink(path)
                continue
            write_file(path, wanted[path], 0o644)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
