#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: wg_keypair
short_description: Create, keep, rotate or remove a node's WireGuard keys, one pair per mesh
version_added: 0.1.0
description:
  - Makes sure C(<key_dir>/<name>.key) (private key, mode 0600) and C(<key_dir>/<name>.pub)
    (public key, mode 0644) exist for every mesh name given, on the managed node.
  - The private key is generated on the node and never leaves it. The module returns public
    keys only; it never returns or logs a private key.
  - An existing valid key is kept; wrong modes (and, when run as root, owners other than
    root) are fixed; a missing or wrong C(.pub) is rewritten from the private key. A key
    file that does not hold a valid key is replaced, with a warning.
  - Files are written atomically through a temporary file created with mode 0600, so a
    private key is never readable by others, not even briefly.
  - Public keys are derived with the Python C(cryptography) library when the node has it,
    otherwise with C(wg pubkey) from wireguard-tools (fed on stdin). Generating a key needs
    neither. So a Debian node needs no extra package beyond wireguard-tools.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  names:
    description:
      - Mesh names to handle; one key pair per name. Each name becomes a file name.
    type: list
    elements: str
    required: true
  key_dir:
    description:
      - Directory holding the key files. Created with mode 0700 (owner root when run as
        root) if missing; its mode is corrected if different.
    type: path
    default: /etc/wireguard/wgmesh
  rotate:
    description:
      - V(true) replaces the key of every name, V(false) keeps keys. A list of names
        replaces only those (each must be in O(names)).
      - Ignored when O(state=absent).
    type: raw
    default: false
  state:
    description:
      - V(present) makes sure the keys exist. V(absent) removes the C(.key) and C(.pub)
        files of the given names (the directory stays, other meshes may use it).
    type: str
    choices: [present, absent]
    default: present
requirements:
  - wireguard-tools (C(wg)) on the node when the Python C(cryptography) library is absent.
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details:
      - Nothing is written. A key that would be created or rotated has no public key yet;
        RV(public_keys) then holds the placeholder C((check mode placeholder, no key yet))
        for that name, which is not a valid key and never appears outside check mode.
  diff_mode:
    support: full
    details:
      - Shows file presence, mode and owner before and after, and whether a key is new or
        replaced. Never key material.
notes:
  - Run it with become; the key directory is meant to be root's.
seealso:
  - module: smite.wgmesh.wg_status
'''

EXAMPLES = r'''
- name: Make (or keep) this node's key for each of its meshes
  smite.wgmesh.wg_keypair:
    names: [office, backup]
  register: wgmesh_keys

- name: Publish the public keys as a fact
  ansible.builtin.set_fact:
    wgmesh_public_keys: "{{ wgmesh_keys.public_keys }}"

- name: Rotate the key of the office mesh only
  smite.wgmesh.wg_keypair:
    names: [office, backup]
    rotate: [office]
  register: wgmesh_rotated

- name: Remove the keys of a deleted mesh
  smite.wgmesh.wg_keypair:
    names: [office]
    state: absent
'''

RETURN = r'''
public_keys:
  description:
    - Public key (base64) per name after the run. Empty for O(state=absent).
    - In check mode, a key that would be created or rotated maps to the placeholder
      C((check mode placeholder, no key yet)).
  returned: always
  type: dict
  sample: {office: "t1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ="}
previous_public_keys:
  description:
    - Public key per name that was replaced by a rotation (in check mode too). Names whose
      key was created, kept, or was invalid are not listed.
  returned: always
  type: dict
  sample: {office: "4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY="}
other_names:
  description:
    - Names of the other key pairs found in O(key_dir), that is meshes that have a key on
      this node but were not in O(names). The wireguard role removes those meshes.
  returned: always
  type: list
  elements: str
  sample: [lab]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.names import MESH_NAME_HELP, is_mesh_name
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_keys import (
    WgKeyError,
    ensure_key_dir,
    ensure_keypair,
    other_key_names,
    remove_keypair,
    rotate_names,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str', required=True),
            key_dir=dict(type='path', default='/etc/wireguard/wgmesh'),
            rotate=dict(type='raw', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    names = module.params['names']
    key_dir = module.params['key_dir']
    check_mode = module.check_mode

    bad = [name for name in names if not is_mesh_name(name)]
    if bad:
        module.fail_json(msg='not mesh names (%s): %s' % (MESH_NAME_HELP, ', '.join(bad)))
    try:
        to_rotate = rotate_names(module.params['rotate'], names)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    def wg_pubkey(private_key):
        # Only reached when the cryptography library is missing; the key goes on stdin.
        module.no_log_values.add(private_key)
        wg = module.get_bin_path('wg', required=True)
        rc, out, dummy = module.run_command([wg, 'pubkey'], data=private_key, check_rc=False)
        if rc != 0:
            module.fail_json(msg='"wg pubkey" failed with exit code %d' % rc)
        return out

    changes = []
    public_keys = {}
    previous_public_keys = {}
    try:
        if module.params['state'] == 'absent':
            changes = [remove_keypair(key_dir, name, check_mode) for name in names]
        elif names:
            changes.append(ensure_key_dir(key_dir, check_mode))
            for name in names:
                change, public_key, previous = ensure_keypair(
                    key_dir, name, name in to_rotate, check_mode, wg_pubkey)
                changes.append(change)
                public_keys[name] = public_key
                if previous is not None:
                    previous_public_keys[name] = previous
    except (WgKeyError, OSError) as exc:
        module.fail_json(msg='%s: %s' % (key_dir, exc))

    for change in changes:
        for warning in change.warnings:
            module.warn(warning)
    result = dict(
        changed=any(change.changed for change in changes),
        public_keys=public_keys,
        previous_public_keys=previous_public_keys,
        other_names=other_key_names(key_dir, names),
    )
    if module._diff:
        result['diff'] = [change.diff() for change in changes if change.changed]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
