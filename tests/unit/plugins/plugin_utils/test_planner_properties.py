# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties every plan must have, over random meshes."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import netaddr
from hypothesis import given, settings, strategies as st

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes

SECRET = 'property-secret-0123456789'


@st.composite
def meshes(draw):
    count = draw(st.integers(min_value=2, max_value=12))
    names = ['n%d' % i for i in range(count)]
    nat = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    topology = draw(st.sampled_from(['full-mesh', 'hub-spoke']))
    hub = draw(st.sampled_from(names)) if topology == 'hub-spoke' else None
    if topology == 'full-mesh':  # every pair is linked: at most one NATed node
        nated = draw(st.sampled_from([None] + names))
        nat = [name == nated for name in names]
    else:
        nat = [flag and name != hub for name, flag in zip(names, nat)]
    # LANs: distinct /24s (some adjacent, so merging is exercised), some nodes without one
    thirds = draw(st.lists(st.integers(min_value=0, max_value=255), min_size=count, max_size=count, unique=True))
    with_lan = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    lans = {name: '172.20.%d.0/24' % third for name, third, has in zip(names, thirds, with_lan) if has}
    mesh = {
        'name': draw(st.sampled_from(['office', 'lab', 'm1'])),
        'nodes': names, 'lan_subnets': lans, 'overlay_subnet': '10.250.0.0/24',
        'topology': topology, 'transport': draw(st.sampled_from(['backhaul', 'direct'])),
    }
    if hub:
        mesh['hub'] = hub
    inventory = {name: {'public_address': '192.0.2.%d' % (i + 1), 'nat': flag}
                 for i, (name, flag) in enumerate(zip(names, nat))}
    return mesh, inventory


def covered(network, routes):
    return any(network in netaddr.IPNetwork(route) for route in routes)


@settings(max_examples=150, deadline=None)
@given(meshes())
def test_plan_properties(case):
    mesh, inventory = case
    plan = plan_meshes([mesh], inventory, SECRET)
    assert plan == plan_meshes([mesh], inventory, SECRET)  # deterministic
    nodes = plan['meshes'][mesh['name']]['nodes']
    addresses = [n['address'] for n in nodes.values()]
    assert len(set(addresses)) == len(addresses)
    servers = {}
    for name, node in nodes.items():
        # ports unique per node, outside the ephemeral range, never the ListenPort
        ports = [node['listen_port']]
        for link in node['backhaul']:
            ports.append(link['bind_port'])
            if link['mode'] == 'server':
                ports.append(link['loopback_port'])
                servers.setdefault(frozenset((name, link['peer'])), []).append(name)
        assert len(ports) == len(set(ports))
        assert all(not 32768 <= p <= 60999 for p in ports[1:])
        # no two peers with overlapping AllowedIPs
        allowed = [netaddr.IPNetwork(ip) for peer in node['peers'] for ip in peer['allowed_ips']]
        assert sum(a.size for a in allowed) == netaddr.IPSet(allowed).size
        # every other node's LAN is routed, never its own
        for other, other_node in nodes.items():
            for lan in other_node['lan_subnets']:
                assert covered(netaddr.IPNetwork(lan), node['routes']) == (other != name)
        if mesh['topology'] == 'hub-spoke' and name != mesh['hub']:
            assert [p['node'] for p in node['peers']] == [mesh['hub']]
        else:
            assert len(node['peers']) == len(nodes) - 1
        if inventory[name]['nat'] and mesh['transport'] == 'backhaul':
            assert {link['mode'] for link in node['backhaul']} <= {'client'}
    if mesh['transport'] == 'backhaul':
        # exactly one server per link
        link_count = len(nodes) - 1 if mesh['topology'] == 'hub-spoke' else len(nodes) * (len(nodes) - 1) // 2
        assert len(servers) == link_count and all(len(s) == 1 for s in servers.values())


@settings(max_examples=60, deadline=None)
@given(meshes(), st.integers(min_value=1, max_value=3))
def test_appending_nodes_keeps_addresses(case, extra):
    mesh, inventory = case
    before = plan_meshes([mesh], inventory, SECRET)['meshes'][mesh['name']]['nodes']
    grown = dict(mesh, nodes=mesh['nodes'] + ['x%d' % i for i in range(extra)])
    inventory = dict(inventory, **{'x%d' % i: {'public_address': '198.51.100.%d' % (i + 1)} for i in range(extra)})
    after = plan_meshes([grown], inventory, SECRET)['meshes'][mesh['name']]['nodes']
    for name, node in before.items():
        assert after[name]['address'] == node['address']
