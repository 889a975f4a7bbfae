# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden plans: the Backhaul ports of fixed meshes, pinned port by port.

Deployed meshes depend on these ports: a change of the allocation (hashing, probing,
pool order, planning order) would move every Backhaul port of every user. The expected
values were computed by the planner before its 2026 speed-up and must not change. If one
of these tests fails, the allocation changed: fix the planner, do not update the values.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json

from ansible_collections.smite.wgmesh.plugins.plugin_utils import planner
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes

SECRET = 'golden-secret-0123456789'
INVENTORY = {
    'charlie': {'public_address': '198.51.100.3', 'nat': True},
    'alpha': {'public_address': '203.0.113.1'},
    'bravo': {'public_address': '2001:db8::2'},
    'node8843': {'public_address': '203.0.113.4'},
    'node7085': {'public_address': '203.0.113.5'},
    'spoke1378': {'public_address': '203.0.113.6'},
    'spoke1788': {'public_address': '203.0.113.7'},
}
# Names picked for collisions. In mesh gold, alpha-bravo and alpha-node8843 hash to the same
# pair and alpha-node7085 to the one before; the ListenPort 62476 is bravo-node7085's first
# choice; charlie is NATed, so it is the client of every link (the server side flips).
GOLD = {'name': 'gold', 'nodes': ['charlie', 'alpha', 'bravo', 'node8843', 'node7085'],
        'overlay_subnet': '10.77.0.0/24', 'listen_port': 62476}
# Planned after gold (by name): both spokes first hash onto ports alpha took in gold.
HUB = {'name': 'hub', 'nodes': ['alpha', 'spoke1378', 'spoke1788'], 'overlay_subnet': '10.78.0.0/24',
       'topology': 'hub-spoke', 'hub': 'alpha'}

# (server, client, P, L) in the planner's link order.
GOLD_LINKS = [
    ('alpha', 'charlie', 26944, 26945),
    ('bravo', 'charlie', 27221, 27222),
    ('node8843', 'charlie', 30434, 30435),
    ('node7085', 'charlie', 31107, 31108),
    ('alpha', 'bravo', 31654, 31655),
    ('alpha', 'node8843', 31656, 31657),  # hashed to 31654: probed twice
    ('alpha', 'node7085', 31658, 31659),  # hashed to 31653 (L 31654 taken): probed five times
    ('bravo', 'node8843', 20593, 20594),
    ('bravo', 'node7085', 62477, 62478),  # hashed to 62476, the ListenPort
    ('node8843', 'node7085', 17156, 17157),
]
HUB_LINKS = [
    ('alpha', 'spoke1378', 31660, 31661),  # hashed to 31654 (taken in gold)
    ('alpha', 'spoke1788', 26946, 26947),  # hashed to 26944 (taken in gold)
]


def expected_backhaul(links, inventory, listen_port):
    """Each node's `backhaul` list, as the plan must hold it for these links."""
    entries = {}
    for server, client, bind, loop in links:
        address = inventory[server]['public_address']
        remote = '[%s]:%d' % (address, bind) if ':' in address else '%s:%d' % (address, bind)
        entries.setdefault(server, []).append({'peer': client, 'mode': 'server', 'bind_port': bind,
                                               'loopback_port': loop, 'target_port': listen_port})
        entries.setdefault(client, []).append({'peer': server, 'mode': 'client', 'bind_port': bind,
                                               'remote': remote})
    return entries


def expected_endpoints(links):
    """Each node's peers as [(peer, endpoint)]: the server dials its loopback L."""
    endpoints = {}
    for server, client, _bind, loop in links:
        endpoints.setdefault(server, []).append((client, '127.0.0.1:%d' % loop))
        endpoints.setdefault(client, []).append((server, None))
    return endpoints


def check_mesh(mesh_plan, links):
    listen_port = mesh_plan['nodes'][links[0][0]]['listen_port']
    backhaul = expected_backhaul(links, INVENTORY, listen_port)
    endpoints = expected_endpoints(links)
    for node, entry in mesh_plan['nodes'].items():
        assert entry['backhaul'] == backhaul[node], node
        assert [(peer['node'], peer['endpoint']) for peer in entry['peers']] == endpoints[node], node


def test_colliding_links_keep_their_ports():
    plan = plan_meshes([HUB, GOLD], INVENTORY, SECRET)
    check_mesh(plan['meshes']['gold'], GOLD_LINKS)
    check_mesh(plan['meshes']['hub'], HUB_LINKS)
    # spelled out once, for the reader
    gold = plan['meshes']['gold']['nodes']
    assert gold['bravo']['backhaul'][1] == {
        'peer': 'alpha', 'mode': 'client', 'bind_port': 31654, 'remote': '203.0.113.1:31654'}
    assert gold['charlie']['backhaul'][1] == {
        'peer': 'bravo', 'mode': 'client', 'bind_port': 27221, 'remote': '[2001:db8::2]:27221'}
    assert gold['bravo']['peers'][0] == {
        'node': 'charlie', 'allowed_ips': ['10.77.0.1/32'], 'endpoint': '127.0.0.1:27222', 'persistent_keepalive': 25}


# A pool of 11 ports (10 positions for P): nearly every link probes, some pairs straddle the
# two ranges (P 10006, L 61000) and probing wraps from the last pair to the first.
TINY_RANGES = ((10000, 10006), (61000, 61003))
TINY_INVENTORY = {n: {'public_address': '192.0.2.%d' % i} for i, n in enumerate(['w', 'x', 'y', 'z'], 1)}
TINY = {
    # mesh name: (server, client, P, L) in link order; ListenPort 10003 is in the pool
    'tiny': [('w', 'x', 10004, 10005), ('w', 'y', 10006, 61000), ('w', 'z', 10000, 10001),
             ('x', 'y', 10001, 10002), ('x', 'z', 10005, 10006), ('y', 'z', 61000, 61001)],
    't8': [('w', 'x', 10004, 10005), ('w', 'y', 61001, 61002), ('w', 'z', 10006, 61000),
           ('x', 'y', 10005, 10006), ('x', 'z', 61002, 61003), ('y', 'z', 10000, 10001)],
}


def test_probing_in_a_tiny_pool(monkeypatch):
    monkeypatch.setattr(planner, 'TUNNEL_PORT_RANGES', TINY_RANGES)
    for name, links in TINY.items():
        mesh = {'name': name, 'nodes': ['w', 'x', 'y', 'z'], 'overlay_subnet': '10.9.0.0/24', 'listen_port': 10003}
        nodes = plan_meshes([mesh], TINY_INVENTORY, SECRET)['meshes'][name]['nodes']
        assert nodes['w']['backhaul'] == expected_backhaul(links, TINY_INVENTORY, 10003)['w'], name
        got = [(node, link['peer'], link['bind_port'], link['loopback_port'])
               for node, entry in nodes.items() for link in entry['backhaul'] if link['mode'] == 'server']
        assert got == links, name


def test_big_plan_ports_are_pinned():
    """45,250 links (a 300-node full mesh with a NATed node, and a 400-spoke hub on one of
    its nodes): the SHA-256 of every link's [mesh, server, client, P, L]."""
    nodes = ['h%03d' % i for i in range(300)]
    spokes = ['s%03d' % i for i in range(400)]
    inventory = {n: {'public_address': '198.18.%d.%d' % (i // 250, i % 250 + 1), 'nat': i == 7}
                 for i, n in enumerate(nodes)}
    inventory.update({n: {'public_address': '198.19.%d.%d' % (i // 250, i % 250 + 1)} for i, n in enumerate(spokes)})
    meshes = [{'name': 'big', 'nodes': nodes, 'overlay_subnet': '10.80.0.0/23'},
              {'name': 'star', 'nodes': [nodes[0]] + spokes, 'topology': 'hub-spoke', 'hub': nodes[0],
               'overlay_subnet': '10.82.0.0/23'}]
    plan = plan_meshes(meshes, inventory, SECRET)
    links = [[mesh, node, link['peer'], link['bind_port'], link['loopback_port']]
             for mesh in sorted(plan['meshes']) for node, entry in plan['meshes'][mesh]['nodes'].items()
             for link in entry['backhaul'] if link['mode'] == 'server']
    assert len(links) == 45250
    assert links[:3] == [['big', 'h000', 'h001', 15752, 15753], ['big', 'h000', 'h002', 29226, 29227],
                         ['big', 'h000', 'h003', 26441, 26442]]
    digest = hashlib.sha256(json.dumps(links).encode('utf-8')).hexdigest()
    assert digest == 'a309057c651d64dd4ed8c926c651e9b1c9afd2b84ab1b8c24475da99f79d9831'
