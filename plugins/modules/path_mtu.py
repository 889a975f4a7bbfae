#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: path_mtu
short_description: Measure the path MTU from a node to several addresses at once, with DF probes
version_added: "0.3.0"
description:
  - For every address, finds the largest IP packet between 1280 and 1500 bytes that crosses the
    path with the Don't Fragment bit set, by a binary search of ICMP echoes
    (C(ping -M do -c 2 -i 0.2 -W TIMEOUT)). All addresses are probed at once, one thread each;
    a search takes about ten probes.
  - An address whose probes all fail (ICMP filtered, black hole, host down) gets a
    C(path_mtu) of null in RV(paths); that is not an error.
  - Also returns the current MTU of the given interfaces, so that the caller can keep a mesh's
    MTU unless the measurement moved past its hysteresis.
  - Only sends probes and reads; never changes anything.
author:
  - smite.wgmesh contributors (@smite)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  targets:
    description: Addresses (IPv4 or IPv6) to measure the path MTU to, normally the peers' public addresses.
    type: list
    elements: str
    default: []
  interfaces:
    description: Interfaces whose current MTU to return in RV(interfaces).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the reply to one probe size (C(ping -W)). Oversized probes
      that are dropped silently cost this long, so keep it short.
    type: float
    default: 0.5
requirements:
  - C(ping) from iputils-ping on the node.
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
    details: The module only probes and reads, so it runs the same in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Measure the path MTU to two peers
  smite.wgmesh.path_mtu:
    targets: [203.0.113.10, "2001:db8::10"]
    interfaces: [wg-office]
  register: measured
'''

RETURN = r'''
paths:
  description: Per address, the path MTU found (null when every probe failed), probes sent and seconds spent.
  returned: always
  type: dict
  sample: {"203.0.113.10": {"path_mtu": 1400, "probes": 10, "seconds": 2.1}}
interfaces:
  description: Current MTU of each interface of O(interfaces), null when it does not exist.
  returned: always
  type: dict
  sample: {"wg-office": 1340}
seconds:
  description: Wall-clock seconds the measurement took.
  returned: always
  type: float
  sample: 2.3
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.module_utils.path_mtu import interface_mtu, measure, ping_probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type='list', elements='str', default=[]),
            interfaces=dict(type='list', elements='str', default=[]),
            timeout=dict(type='float', default=0.5),
        ),
        supports_check_mode=True,
    )
    if not 0 < module.params['timeout'] <= 10:
        module.fail_json(msg='timeout must be more than 0 and at most 10 seconds')
    if module.params['targets'] and not module.get_bin_path('ping'):
        module.fail_json(msg='ping (iputils-ping) is needed on the node to measure the path MTU')
    start = time.monotonic()
    paths = measure(module.params['targets'], lambda address: ping_probe(address, module.params['timeout']))
    module.exit_json(changed=False, paths=paths, seconds=round(time.monotonic() - start, 3),
                     interfaces=dict((name, interface_mtu(name)) for name in module.params['interfaces']))


if __name__ == '__main__':
    main()
