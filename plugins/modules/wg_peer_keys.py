#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: wg_peer_keys
short_description: Read the public keys a node holds, its own and its peers', without changing anything
version_added: 0.2.0
description:
  - For each mesh name, returns the node's own public key from C(<key_dir>/<name>.pub) and the
    peers the node holds for that mesh, from its wg-quick config C(<config_dir>/wg-<name>.conf)
    and from its live interface C(wg-<name>) (C(wg show wg-<name> allowed-ips)).
  - This is how the wireguard role keeps the last known key of a node that cannot be reached
    (or is outside a C(--limit)ed play), and how it reads the key of a peer outside the play.
  - Read only. Private keys are never read; in a config only the C([Peer]) sections' C(PublicKey),
    C(AllowedIPs) and the C(# node) comment line under C([Peer]) are looked at (never C(PrivateKey)
    or C(PresharedKey)).
  - A missing key file, config or interface (a node never converged), or a node without
    C(wg), is not an error; that part is simply empty.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  names:
    description: Mesh names; the interface of mesh C(NAME) is C(wg-NAME).
    type: list
    elements: str
    required: true
  key_dir:
    description: Where M(smite.wgmesh.wg_keypair) keeps C(<name>.pub).
    type: path
    default: /etc/wireguard/wgmesh
  config_dir:
    description: Where the wg-quick configs C(wg-<name>.conf) are.
    type: path
    default: /etc/wireguard
  peers:
    description: Also read the peers held in the configs and on the interfaces (RV(peers)).
    type: bool
    default: true
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: The module never changes anything; it reads the same in check mode.
  diff_mode:
    support: none
requirements:
  - wireguard-tools (C(wg)) on the node to read live interfaces; without it only files are read.
notes:
  - Reading the configs (mode 0600) and the interfaces needs root.
seealso:
  - module: smite.wgmesh.wg_keypair
  - module: smite.wgmesh.wg_status
'''

EXAMPLES = r'''
- name: What this node holds for the peers of its meshes
  smite.wgmesh.wg_peer_keys:
    names: [office, backup]
  register: held

- name: Read the public key of a node outside the play
  smite.wgmesh.wg_peer_keys:
    names: [office]
    peers: false
  delegate_to: node-tr
  ignore_unreachable: true
  register: node_tr_keys
'''

RETURN = r'''
public_keys:
  description: The node's own public key per name, where C(<key_dir>/<name>.pub) holds a valid key.
  returned: always
  type: dict
  sample: {office: "t1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ="}
peers:
  description:
    - Per name, the peers held in the config or on the live interface, merged by public key and
      sorted by it. Empty lists when O(peers=false) or nothing is there.
  returned: always
  type: dict
  sample:
    office:
      - public_key: "4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY="
        allowed_ips: [10.250.0.2/32, 192.168.20.0/24]
        node: node-tr
        config: true
        live: true
  contains:
    public_key:
      description: The peer's public key.
      type: str
    allowed_ips:
      description: Its AllowedIPs (from the config when it has the peer, else from the interface).
      type: list
      elements: str
    node:
      description: The node named by the C(# name) comment under its C([Peer]) line, V(null) if none.
      type: str
    config:
      description: Whether the config file holds this peer.
      type: bool
    live:
      description: Whether the live interface has this peer.
      type: bool
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import (
    config_peers,
    is_public_key,
    known_peers,
    live_peers,
)
from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file
from ansible_collections.smite.wgmesh.plugins.module_utils.names import MESH_NAME_HELP, interface, is_mesh_name

_C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str', required=True),
            key_dir=dict(type='path', default='/etc/wireguard/wgmesh'),
            config_dir=dict(type='path', default='/etc/wireguard'),
            peers=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    names = module.params['names']
    bad = [name for name in names if not is_mesh_name(name)]
    if bad:
        module.fail_json(msg='not mesh names (%s): %s' % (MESH_NAME_HELP, ', '.join(bad)))

    public_keys, peers = {}, {}
    wg = module.get_bin_path('wg') if module.params['peers'] else None
    for name in names:
        own = (read_file(os.path.join(module.params['key_dir'], name + '.pub')) or '').strip()
        if is_public_key(own):
            public_keys[name] = own
        if not module.params['peers']:
            peers[name] = []
            continue
        iface = interface(name)
        config = config_peers(read_file(os.path.join(module.params['config_dir'], iface + '.conf')))
        live = []
        if wg and os.path.exists(os.path.join('/sys/class/net', iface)):
            rc, out, dummy = module.run_command([wg, 'show', iface, 'allowed-ips'], environ_update=_C_LOCALE)
            if rc == 0:
                live = live_peers(out)
        peers[name] = known_peers(config, live)
    module.exit_json(changed=False, public_keys=public_keys, peers=peers)


if __name__ == '__main__':
    main()
