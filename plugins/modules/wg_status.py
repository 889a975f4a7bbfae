#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: wg_status
short_description: Read the live state of a WireGuard interface, optionally with a ping burst per peer
version_added: 0.1.0
description:
  - Runs C(wg show <interface> dump) on the node and returns the interface's public key and
    listen port and, per peer, its planned node name, endpoint, AllowedIPs, latest handshake
    and its age, transfer counters and keepalive.
  - The private key and preshared keys in the dump are dropped while parsing; they are never
    returned.
  - A missing interface is not an error; the module returns RV(up=false) and no peers, so a
    status report can show it.
  - Optionally pings addresses (normally each peer's overlay address) with a short burst
    (C(ping -c COUNT -i 0.2 -W TIMEOUT -q -I <interface>)) and returns loss and latency.
    Binding to the interface makes sure the probe crosses the mesh, not another route.
  - Only reads; never changes anything.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  interface:
    description: WireGuard interface name, for example C(wg-office).
    type: str
    required: true
  peers:
    description:
      - Map of peer public key to planned node name, so results name the nodes.
        Peers on the interface that are not in the map get RV(peers[].node=null); planned
        peers not on the interface are listed in RV(missing_peers).
    type: dict
    default: {}
  ping:
    description:
      - Addresses to probe. Skipped (reported with 100% loss and an error) when the interface
        does not exist.
    type: list
    elements: dict
    default: []
    suboptions:
      node:
        description: Node name to report with the result.
        type: str
        required: true
      address:
        description: Address to ping, normally the node's overlay address.
        type: str
        required: true
  ping_count:
    description: Packets per address, sent 0.2 s apart.
    type: int
    default: 5
  ping_timeout:
    description: Seconds to wait for each reply (C(ping -W)).
    type: int
    default: 1
  agent_state:
    description:
      - The health agent's state file (see the C(smite.wgmesh.wireguard) role). When given and
        readable, RV(agent) carries the agent's view of this interface's mesh.
    type: path
requirements:
  - wireguard-tools (C(wg)) on the node; C(ping) (iputils-ping) when O(ping) is used.
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: The module only reads, so it runs the same in check mode.
  diff_mode:
    support: none
seealso:
  - module: smite.wgmesh.wg_keypair
'''

EXAMPLES = r'''
- name: Read the live state of the office mesh and ping every peer
  smite.wgmesh.wg_status:
    interface: wg-office
    peers:
      t1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ=: node-tr
      a+AeZFRg6lx5Ryl8zcJr7LgVJ4kkljd3NfhdtciPjhE=: node-uae
    ping:
      - {node: node-tr, address: 10.250.0.2}
      - {node: node-uae, address: 10.250.0.3}
  register: wgmesh_status

- name: Fail when a peer never handshook
  ansible.builtin.assert:
    that: wgmesh_status.peers | selectattr('handshake_age', 'none') | list | length == 0
'''

RETURN = r'''
agent:
  description:
    - The health agent's view of the mesh on this interface, V(null) when O(agent_state) is not
      given, not readable or does not know the interface.
  returned: always
  type: dict
  contains:
    updated:
      description: Epoch of the agent's last round.
      type: int
    rx_total:
      description: Bytes received on the mesh (the agent's running total, survives interface restarts).
      type: int
    tx_total:
      description: Bytes sent on the mesh (the agent's running total).
      type: int
    last_repair:
      description: The agent's last restart of the interface (C(time), C(reason), C(unit)), or V(null).
      type: dict
    peers:
      description: Per peer node, C(last_repair) (C(time), C(reason), C(unit)) and C(up).
      type: dict
up:
  description: Whether the interface exists.
  returned: always
  type: bool
  sample: true
interface:
  description: The interface's own public data; all but RV(interface.name) V(null) when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Interface name.
      type: str
      sample: wg-office
    public_key:
      description: Public key, or V(null) if no private key is set.
      type: str
      sample: 4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY=
    listen_port:
      description: UDP listen port, V(null) when the interface does not exist.
      type: int
      sample: 51820
    fwmark:
      description: Firewall mark, V(null) when off.
      type: int
      sample: null
peers:
  description: One entry per peer configured on the interface, in C(wg) order.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Planned node name from O(peers), V(null) if the key is not in it.
      type: str
      sample: node-tr
    public_key:
      description: The peer's public key.
      type: str
    endpoint:
      description: Current endpoint C(ip:port) (IPv6 as C([addr]:port)), V(null) if none.
      type: str
      sample: 172.31.77.2:51821
    allowed_ips:
      description: AllowedIPs, empty list if none.
      type: list
      elements: str
      sample: [10.250.0.2/32, 192.168.20.0/24]
    latest_handshake:
      description: Epoch seconds of the latest handshake, V(null) if never.
      type: int
      sample: 1795663789
    handshake_age:
      description: Seconds since the latest handshake, V(null) if never.
      type: int
      sample: 12
    rx_bytes:
      description: Bytes received from the peer.
      type: int
    tx_bytes:
      description: Bytes sent to the peer.
      type: int
    persistent_keepalive:
      description: Keepalive interval in seconds, V(null) when off.
      type: int
      sample: 25
missing_peers:
  description: Peers from O(peers) that are not configured on the interface.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Planned node name.
      type: str
    public_key:
      description: Planned public key.
      type: str
ping:
  description: One entry per O(ping) item, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Node name from O(ping).
      type: str
    address:
      description: Address pinged.
      type: str
    transmitted:
      description: Packets sent.
      type: int
    received:
      description: Replies received.
      type: int
    loss_percent:
      description: Packet loss in percent (one decimal); 100.0 when ping could not run.
      type: float
      sample: 0.0
    latency_min_ms:
      description: Minimum round trip in ms, V(null) when nothing came back.
      type: float
    latency_avg_ms:
      description: Average round trip in ms, V(null) when nothing came back.
      type: float
      sample: 0.432
    latency_max_ms:
      description: Maximum round trip in ms, V(null) when nothing came back.
      type: float
    error:
      description: Why no summary was obtained (ping error text or missing interface), else V(null).
      type: str
'''

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.wg_dump import (
    DumpParseError,
    missing_peers,
    parse_dump,
    parse_ping,
    peer_status,
    ping_command,
)

_C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def _ping_result(target, summary, error):
    result = {'node': target['node'], 'address': target['address'], 'error': error,
              'transmitted': 0, 'received': 0, 'loss_percent': 100.0,
              'latency_min_ms': None, 'latency_avg_ms': None, 'latency_max_ms': None}
    result.update(summary or {})
    return result


def _agent_view(path, iface):
    """The agent's report entry for the mesh on `iface`, None when there is none."""
    try:
        with open(path) as handle:
            state = json.load(handle)
    except (TypeError, IOError, OSError, ValueError):
        return None
    for view in (state.get('report') or {}).values():
        if isinstance(view, dict) and view.get('interface') == iface:
            return dict(view, updated=state.get('updated'))
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type='str', required=True),
            peers=dict(type='dict', default={}),
            ping=dict(type='list', elements='dict', default=[], options=dict(
                node=dict(type='str', required=True),
                address=dict(type='str', required=True),
            )),
            ping_count=dict(type='int', default=5),
            ping_timeout=dict(type='int', default=1),
            agent_state=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    iface = module.params['interface']
    names = dict((str(key), str(value)) for key, value in module.params['peers'].items())
    targets = module.params['ping']
    result = dict(changed=False, up=False, peers=[],
                  interface=dict(name=iface, public_key=None, listen_port=None, fwmark=None),
                  missing_peers=missing_peers([], names), ping=[],
                  agent=_agent_view(module.params['agent_state'], iface))

    # Look the interface up first: wg's error for a missing one differs between kernel
    # WireGuard and wireguard-go, and a missing interface is a status, not a failure.
    if '/' in iface or not os.path.exists(os.path.join('/sys/class/net', iface)):
        result['ping'] = [_ping_result(t, None, 'interface %s does not exist' % iface) for t in targets]
        module.exit_json(**result)

    # Pings first: a peer idle since its last handshake gets a new one from the ping, and the
    # dump read afterwards shows it, so one call reflects the link as it is now.
    if targets:
        ping = module.get_bin_path('ping', required=True)
        count, timeout = module.params['ping_count'], module.params['ping_timeout']

        def probe(target):
            argv = ping_command(ping, target['address'], count, timeout, iface)
            rc, out, err = module.run_command(argv, environ_update=_C_LOCALE)
            summary = parse_ping(out)
            return _ping_result(target, summary, None if summary else (err or out).strip() or 'ping exit code %d' % rc)

        # Bursts run in parallel so a large mesh costs about one burst, not one per peer.
        with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
            result['ping'] = list(pool.map(probe, targets))

    wg = module.get_bin_path('wg', required=True)
    rc, out, err = module.run_command([wg, 'show', iface, 'dump'], environ_update=_C_LOCALE)
    if rc != 0:
        module.fail_json(msg='"wg show %s dump" failed (rc %d): %s' % (iface, rc, err.strip()))
    try:
        parsed = parse_dump(out)
    except DumpParseError as exc:
        module.fail_json(msg='cannot parse "wg show %s dump": %s' % (iface, exc))

    peers = peer_status(parsed['peers'], time.time(), names)
    interface = dict(parsed['interface'], name=iface)
    result.update(up=True, interface=interface, peers=peers, missing_peers=missing_peers(peers, names))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
