#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: wg_sync
short_description: Apply a wg-quick config to a running WireGuard interface without restarting it
version_added: "0.1.0"
description:
  - Reads a wg-quick config file and the live state of its interface (C(wg show dump),
    C(ip -j addr), C(ip -j link), C(ip -j route)) and changes only what differs.
  - Peers, allowed IPs, endpoints, keepalives, listen port and private key are applied with
    C(wg syncconf), fed with the C(wg-quick strip) output plus the private key read from the key
    file, on standard input. The key never reaches a file, the command line, the log or the result.
  - Addresses are added and removed to match the C(Address) lines, the MTU is set from C(MTU).
  - Routes on the interface are made to match the config's C(PostUp = ip route replace NET dev %i)
    lines; every other non-kernel route on the interface is removed, so the interface must be
    dedicated to this config.
  - The interface is never restarted; established traffic keeps flowing.
  - A learned endpoint of a peer configured without C(Endpoint) is left alone and not reported.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  interface:
    description: The WireGuard interface, for example C(wg-office). It must be up (started by C(wg-quick)).
    type: str
    required: true
  config:
    description:
      - The wg-quick config file. Its name must be C(NAME.conf), as C(wg-quick strip) requires.
      - Defaults to C(/etc/wireguard/<interface>.conf).
    type: path
  private_key_file:
    description:
      - File holding the interface's private key.
      - Defaults to the path in a C(PostUp = wg set %i private-key FILE) line of the config.
        When the config carries a C(PrivateKey) line instead, that key is used and not compared.
    type: path
  learned_endpoints:
    description:
      - Which live endpoints of a peer configured without C(Endpoint) are kept.
      - V(any) keeps whatever WireGuard learned (a peer behind NAT roams).
      - V(loopback) keeps only endpoints on the loopback, as for peers reached through a
        local Backhaul tunnel; any other is stale (for example left over from transport
        C(direct)) and is cleared by removing and re-adding the peer, since C(wg syncconf)
        never clears an endpoint.
    type: str
    choices: [any, loopback]
    default: any
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: Reports what would change. An absent interface, config or key file (a node never
      converged) is reported as a change, not a failure.
  diff_mode:
    support: full
    details: Before/after of peers (by public key), allowed IPs, endpoints, addresses, MTU and routes.
      The private key is only described, never shown.
requirements:
  - wireguard-tools (C(wg), C(wg-quick)) and iproute2 (C(ip)) on the target.
notes:
  - Preshared keys are applied by C(wg syncconf) but not compared (the mesh uses none).
  - Kernel routes (for the interface's own addresses) and IPv6 link-local routes are never touched.
'''

EXAMPLES = r'''
- name: Apply the office mesh config live
  smite.wgmesh.wg_sync:
    interface: wg-office
    private_key_file: /etc/wireguard/wgmesh/office.key

- name: Apply every mesh of this host
  smite.wgmesh.wg_sync:
    interface: "{{ item.interface }}"
  loop: "{{ wireguard_host_plan }}"
'''

RETURN = r'''
interface:
  description: The interface worked on.
  returned: always
  type: str
  sample: wg-office
changes:
  description: One line per change made (or, in check mode, that would be made). Public keys only.
  returned: always
  type: list
  elements: str
  sample: ["peer added hcH8...=", "route added 192.168.40.0/24"]
details:
  description: The same changes, structured.
  returned: when the interface, config and key file exist
  type: dict
  contains:
    private_key:
      description: Whether the live private key differs from the key file.
      type: bool
    peers_added:
      description: Public keys of peers added.
      type: list
      elements: str
    peers_removed:
      description: Public keys of peers removed.
      type: list
      elements: str
    peers_updated:
      description: Public key -> names of the fields that changed.
      type: dict
    addresses_added:
      description: Addresses added.
      type: list
      elements: str
    addresses_removed:
      description: Addresses removed.
      type: list
      elements: str
    mtu:
      description: "[old, new] MTU, or null."
      type: list
    routes_added:
      description: Routes added on the interface.
      type: list
      elements: str
    routes_removed:
      description: Routes removed from the interface.
      type: list
      elements: str
    listen_port:
      description: "[old, new] listen port, or null."
      type: list
    fwmark:
      description: "[old, new] fwmark, or null."
      type: list
  sample:
    private_key: false
    peers_added: ["hcH8...="]
    peers_removed: []
    peers_updated: {}
    addresses_added: []
    addresses_removed: []
    mtu: null
    routes_added: ["192.168.40.0/24"]
    routes_removed: []
    listen_port: null
    fwmark: null
'''

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_dump import parse_dump
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_keys import (
    WgKeyError, public_key_from_private,
)
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_live import (
    ConfigError, compare, has_changes, list_changes, live_wg_state, parse_config,
    parse_ip_addr_json, parse_ip_link_mtu, parse_ip_route_json, summarize, syncconf_stream,
    wg_needs_sync,
)


SYS_CLASS_NET = '/sys/class/net'


def _resolve(host):
    try:
        return set(info[4][0] for info in socket.getaddrinfo(host, None))
    except socket.gaierror:
        return set()


class Syncer(object):
    def __init__(self, module):
        self.module = module
        self.iface = module.params['interface']
        self.ip = module.get_bin_path('ip', required=True)
        self.wg = module.get_bin_path('wg', required=True)

    def run(self, args, data=None, check_rc=True):
        rc, out, err = self.module.run_command(args, data=data, check_rc=False)
        if rc != 0 and check_rc:
            # args never carry a secret: the key only travels in `data`.
            self.module.fail_json(msg='%s failed (rc=%d): %s' % (' '.join(args), rc, err.strip()))
        return rc, out

    def live_routes(self):
        routes = []
        for family in (4, 6):
            rc, out = self.run([self.ip, '-j', '-%d' % family, 'route', 'show', 'dev', self.iface],
                               check_rc=False)
            if rc == 0:  # -6 fails where IPv6 is disabled: no IPv6 routes then
                routes.extend(parse_ip_route_json(out, family))
        return routes

    def public_key(self, private_key):
        def wg_pubkey(key):
            _rc, out = self.run([self.wg, 'pubkey'], data=key)
            return out
        return public_key_from_private(private_key, wg_pubkey)

    def live_state(self):
        _rc, dump = self.run([self.wg, 'show', self.iface, 'dump'])
        _rc, addr = self.run([self.ip, '-j', 'address', 'show', 'dev', self.iface])
        _rc, link = self.run([self.ip, '-j', 'link', 'show', 'dev', self.iface])
        return live_wg_state(parse_dump(dump)), parse_ip_addr_json(addr), parse_ip_link_mtu(link), self.live_routes()

    def apply(self, config, changes, private_key):
        # `wg syncconf` never clears an endpoint: drop those peers, syncconf adds them back.
        for key in changes['peers_reset']:
            self.run([self.wg, 'set', self.iface, 'peer', key, 'remove'])
        if wg_needs_sync(changes):
            wg_quick = self.module.get_bin_path('wg-quick', required=True)
            _rc, stripped = self.run([wg_quick, 'strip', config])
            stream = stripped if private_key is None else syncconf_stream(stripped, private_key)
            self.run([self.wg, 'syncconf', self.iface, '/dev/stdin'], data=stream)
        # Remove before adding: deleting a primary IPv4 address also drops its secondaries.
        for address in changes['addresses_removed']:
            self.run([self.ip, 'address', 'del', address, 'dev', self.iface])
        for address in changes['addresses_added']:
            self.run([self.ip, 'address', 'add', address, 'dev', self.iface])
        if changes['mtu']:
            self.run([self.ip, 'link', 'set', 'dev', self.iface, 'mtu', str(changes['mtu'][1])])

    def apply_routes(self, wanted_routes, planned_removals):
        # Read again: removing the last address of a family flushes the interface's routes.
        added, removed = list_changes(wanted_routes, self.live_routes())
        for route in removed:
            self.run([self.ip, 'route', 'del', route, 'dev', self.iface])
        for route in added:
            self.run([self.ip, 'route', 'replace', route, 'dev', self.iface])
        # Unplanned routes the kernel flushed with an address are gone too: report them.
        return added, planned_removals + [r for r in removed if r not in planned_removals]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type='str', required=True),
            config=dict(type='path'),
            private_key_file=dict(type='path', no_log=False),
            learned_endpoints=dict(type='str', choices=['any', 'loopback'], default='any'),
        ),
        supports_check_mode=True,
    )
    iface = module.params['interface']
    config = module.params['config'] or '/etc/wireguard/%s.conf' % iface
    result = dict(changed=False, interface=iface, changes=[])

    def absent(what):
        # A node that was never converged: in check mode this is the change to come.
        if module.check_mode:
            result.update(changed=True, changes=['%s; it would be created' % what])
            module.exit_json(**result)
        module.fail_json(msg=what, **result)

    text = read_file(config)
    if text is None:
        absent('config %s does not exist' % config)
    try:
        desired = parse_config(text)
    except (ConfigError, ValueError) as exc:
        module.fail_json(msg='cannot parse %s: %s' % (config, to_native(exc)), **result)

    key_file = module.params['private_key_file'] or desired['private_key_file']
    if key_file is None and not desired['has_private_key']:
        module.fail_json(msg='no private_key_file given and %s neither has a PrivateKey nor a '
                         '"PostUp = wg set %%i private-key FILE" line' % config, **result)
    if not os.path.isdir(os.path.join(SYS_CLASS_NET, iface)):
        absent('interface %s is not up (wg-quick@%s brings it up)' % (iface, iface))
    private_key = None
    if key_file is not None:
        private_key = read_file(key_file)
        if private_key is None:
            absent('key file %s does not exist' % key_file)
        private_key = private_key.strip()
        module.no_log_values.add(private_key)

    syncer = Syncer(module)
    try:
        public_key = None if private_key is None else syncer.public_key(private_key)
        live_wg, live_addresses, live_mtu, live_routes = syncer.live_state()
    except WgKeyError as exc:
        module.fail_json(msg='%s: %s' % (key_file, to_native(exc)), **result)
    except ValueError as exc:
        module.fail_json(msg='cannot read live state of %s: %s' % (iface, to_native(exc)), **result)
    changes, diff = compare(desired, live_wg, live_addresses, live_mtu, live_routes,
                            public_key, _resolve, module.params['learned_endpoints'] == 'loopback')

    if has_changes(changes) and not module.check_mode:
        syncer.apply(config, changes, private_key)
        changes['routes_added'], changes['routes_removed'] = syncer.apply_routes(
            desired['routes'], changes['routes_removed'])

    result['changed'] = has_changes(changes)
    result['changes'] = summarize(changes)
    result['details'] = changes
    if module._diff and result['changed']:
        diff.update(before_header='%s (live)' % iface, after_header=config)
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
