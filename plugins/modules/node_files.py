#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: node_files
short_description: Write several small files of a node in one task, each only when it differs
version_added: "0.2.0"
description:
  - Takes the rendered content of several files (for example systemd units and drop-ins rendered
    with C(lookup('ansible.builtin.template', ...))) and writes each one, atomically and owned by
    root, only when its content or mode differs. Missing parent directories are created (0755).
  - One task instead of one per file keeps a converge and an idempotent rerun fast; the roles
    still render each file from its own template.
  - Not for secrets - contents appear in diffs.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The whole content.
        type: str
        required: true
      mode:
        description: Permissions, as an octal string.
        type: str
        default: "0644"
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
  diff_mode:
    support: full
'''

EXAMPLES = r'''
- name: Install a unit and its drop-in
  smite.wgmesh.node_files:
    files:
      - path: /etc/systemd/system/example.service
        content: "{{ lookup('ansible.builtin.template', 'example.service.j2') }}"
      - path: /usr/local/libexec/example/helper
        content: "{{ lookup('ansible.builtin.file', 'helper') }}\n"
        mode: "0755"
  register: written

- name: Reload systemd when a unit changed
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: "'/etc/systemd/system/example.service' in written.written"
'''

RETURN = r'''
written:
  description: The files that were (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/example.service]
'''

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file, write_file


def current(path):
    """(content, mode) of a file, (None, None) when it does not exist."""
    content = read_file(path)
    return (None, None) if content is None else (content, stat.S_IMODE(os.stat(path).st_mode))


def main():
    module = AnsibleModule(
        argument_spec=dict(files=dict(type='list', elements='dict', required=True, options=dict(
            path=dict(type='path', required=True),
            content=dict(type='str', required=True),
            mode=dict(type='str', default='0644'),
        ))),
        supports_check_mode=True,
    )
    changed, diffs = [], []
    for item in module.params['files']:
        path = item['path']
        try:
            mode = int(item['mode'], 8)
        except ValueError:
            module.fail_json(msg='%s: mode %r is not an octal number' % (path, item['mode']))
        if not os.path.isabs(path):
            module.fail_json(msg='%s: the path must be absolute' % path)
        content, have_mode = current(path)
        if content == item['content'] and have_mode == mode:
            continue
        changed.append(path)
        diffs.append(dict(before_header=path, after_header=path, before=content or '', after=item['content']))
        if not module.check_mode:
            write_file(path, item['content'], mode)
    result = dict(changed=bool(changed), written=changed)
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
