# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner rules, as tables of mesh definitions and what they must give."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import (
    DEFAULT_MTU, KEEPALIVE, TUNNEL_PORT_RANGES, PlanError, _PortAllocator, default_listen_port, host_plan, with_link_tokens,
    link_token, plan_meshes,
)

SECRET = 'lab-secret-0123456789'
INVENTORY = {
    'node-ir': {'public_address': '203.0.113.1'},
    'node-tr': {'public_address': '203.0.113.2'},
    'node-uae': {'public_address': '203.0.113.3'},
    'node-x': {'public_address': '203.0.113.4'},
    'node-nat1': {'public_address': '198.51.100.1', 'nat': True},
    'node-nat2': {'public_address': '198.51.100.2', 'nat': True},
}
SEED = {
    'name': 'office',
    'nodes': ['node-ir', 'node-tr', 'node-uae'],
    'lan_subnets': {'node-ir': '192.168.10.0/24', 'node-tr': '192.168.20.0/24', 'node-uae': '192.168.30.0/24'},
    'overlay_subnet': '10.250.0.0/24',
    'topology': 'full-mesh',
    'mtu': 1280,
}


def mesh(**changes):
    """The seed mesh with some fields changed (None deletes a field)."""
    result = copy.deepcopy(SEED)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def plan(*meshes, secret=SECRET):
    return plan_meshes(list(meshes), INVENTORY, secret)


def test_seed_mesh_matches_the_seed_note():
    office = plan(mesh(transport='direct'))['meshes']['office']
    assert office['interface'] == 'wg-office'
    assert office['mtu'] == 1280
    ir = office['nodes']['node-ir']
    assert [ir['address'], office['nodes']['node-tr']['address'], office['nodes']['node-uae']['address']] == [
        '10.250.0.1', '10.250.0.2', '10.250.0.3']
    assert ir['address_cidr'] == '10.250.0.1/24'
    assert ir['routes'] == ['192.168.20.0/24', '192.168.30.0/24']
    port = default_listen_port('office')
    assert ir['peers'] == [
        {'node': 'node-tr', 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'],
         'endpoint': '203.0.113.2:%d' % port, 'persistent_keepalive': KEEPALIVE},
        {'node': 'node-uae', 'allowed_ips': ['10.250.0.3/32', '192.168.30.0/24'],
         'endpoint': '203.0.113.3:%d' % port, 'persistent_keepalive': KEEPALIVE},
    ]
    assert ir['backhaul'] == []


def test_backhaul_link_layout():
    nodes = plan(mesh())['meshes']['office']['nodes']
    ir, tr = nodes['node-ir'], nodes['node-tr']
    # node-ir comes first in `nodes`, both are reachable: node-ir serves the link
    server = [link for link in ir['backhaul'] if link['peer'] == 'node-tr'][0]
    client = [link for link in tr['backhaul'] if link['peer'] == 'node-ir'][0]
    assert server['mode'] == 'server' and client['mode'] == 'client'
    assert server['bind_port'] == client['bind_port']
    assert client['remote'] == '203.0.113.1:%d' % server['bind_port']
    assert server['target_port'] == tr['listen_port']
    peer_of_ir = [p for p in ir['peers'] if p['node'] == 'node-tr'][0]
    peer_of_tr = [p for p in tr['peers'] if p['node'] == 'node-ir'][0]
    assert peer_of_ir['endpoint'] == '127.0.0.1:%d' % server['loopback_port']
    assert peer_of_tr['endpoint'] is None
    assert peer_of_ir['persistent_keepalive'] == peer_of_tr['persistent_keepalive'] == 25
    assert 'token' not in server and 'token' not in client


def test_nat_node_is_client_on_every_link():
    nodes = plan(mesh(nodes=['node-nat1', 'node-ir', 'node-tr'], lan_subnets={}))['meshes']['office']['nodes']
    assert {link['mode'] for link in nodes['node-nat1']['backhaul']} == {'client'}
    assert all(p['endpoint'] is None for p in nodes['node-nat1']['peers'])


def test_direct_peer_of_nat_node_has_no_endpoint():
    nodes = plan(mesh(nodes=['node-ir', 'node-nat1'], lan_subnets={}, transport='direct'))['meshes']['office']['nodes']
    assert nodes['node-ir']['peers'][0]['endpoint'] is None
    assert nodes['node-nat1']['peers'][0]['endpoint'] == '203.0.113.1:%d' % default_listen_port('office')


def test_hub_spoke():
    nodes = plan(mesh(topology='hub-spoke', hub='node-ir'))['meshes']['office']['nodes']
    tr = nodes['node-tr']
    assert [p['node'] for p in tr['peers']] == ['node-ir']
    assert tr['peers'][0]['allowed_ips'] == ['10.250.0.0/24', '192.168.10.0/24', '192.168.30.0/24']
    assert tr['routes'] == ['192.168.10.0/24', '192.168.30.0/24']
    assert nodes['node-ir']['is_hub'] and not tr['is_hub']
    assert [p['node'] for p in nodes['node-ir']['peers']] == ['node-tr', 'node-uae']
    assert {link['mode'] for link in nodes['node-ir']['backhaul']} == {'server'}


def test_defaults():
    office = plan(mesh(mtu=None, topology=None))['meshes']['office']
    assert office['mtu'] == DEFAULT_MTU and office['topology'] == 'full-mesh' and office['transport'] == 'backhaul'


def test_lan_list_and_no_lan():
    nodes = plan(mesh(lan_subnets={'node-ir': ['192.168.10.0/24', '10.9.0.0/16']}))['meshes']['office']['nodes']
    assert nodes['node-tr']['peers'][0]['allowed_ips'] == ['10.250.0.1/32', '192.168.10.0/24', '10.9.0.0/16']
    assert nodes['node-tr']['routes'] == ['10.9.0.0/16', '192.168.10.0/24']
    assert nodes['node-ir']['routes'] == []


def test_adjacent_lans_are_routed_as_one_block():
    lans = {'node-ir': '192.168.10.0/24', 'node-tr': '192.168.20.0/24', 'node-uae': '192.168.21.0/24'}
    nodes = plan(mesh(lan_subnets=lans))['meshes']['office']['nodes']
    assert nodes['node-ir']['routes'] == ['192.168.20.0/23']
    assert nodes['node-tr']['routes'] == ['192.168.10.0/24', '192.168.21.0/24']


def test_explicit_overlay_ips_win_and_positions_stay():
    nodes = plan(mesh(overlay_ips={'node-uae': '10.250.0.200'}))['meshes']['office']['nodes']
    assert nodes['node-uae']['address'] == '10.250.0.200'
    assert nodes['node-tr']['address'] == '10.250.0.2'


def test_appending_a_node_keeps_addresses_and_ports():
    before = plan(mesh())['meshes']['office']['nodes']
    lans = dict(SEED['lan_subnets'], **{'node-x': '192.168.40.0/24'})
    after = plan(mesh(nodes=SEED['nodes'] + ['node-x'], lan_subnets=lans))['meshes']['office']['nodes']
    for node in SEED['nodes']:
        assert after[node]['address'] == before[node]['address']
        assert [ln for ln in after[node]['backhaul'] if ln['peer'] != 'node-x'] == before[node]['backhaul']


def test_host_plan_adds_tokens_only_with_secret():
    result = plan(mesh())
    entries = host_plan(result, 'node-tr', SECRET)
    assert [e['interface'] for e in entries] == ['wg-office']
    links = entries[0]['backhaul']
    assert [ln['instance'] for ln in links] == ['office.node-ir', 'office.node-uae']
    assert links[0]['token'] == link_token(SECRET, 'office', 'node-ir', 'node-tr')
    assert links[0]['token'] == link_token(SECRET, 'office', 'node-tr', 'node-ir')
    assert links[0]['token'] != links[1]['token'] and links[0]['token'] != 'musix'
    assert len(links[0]['token']) == 40
    assert link_token('another-secret-0123456', 'office', 'node-ir', 'node-tr') != links[0]['token']
    assert all('token' not in ln for ln in host_plan(result, 'node-tr')[0]['backhaul'])
    assert host_plan(result, 'not-a-member', SECRET) == []


def test_tokens_added_to_a_host_plan_are_the_host_plans_own_and_leave_it_untouched():
    result = plan(mesh())
    bare = host_plan(result, 'node-tr')
    assert with_link_tokens(bare, 'node-tr', SECRET) == host_plan(result, 'node-tr', SECRET)
    assert all('token' not in ln for ln in bare[0]['backhaul'])


def test_two_meshes_on_shared_nodes_get_distinct_ports():
    other = mesh(name='lab', overlay_subnet='10.251.0.0/24', nodes=['node-ir', 'node-tr'],
                 lan_subnets={'node-ir': '192.168.11.0/24', 'node-tr': '192.168.21.0/24'})
    result = plan(mesh(), other)
    assert result['hosts']['node-ir'] == ['lab', 'office']
    for node in ('node-ir', 'node-tr'):
        ports = []
        for name in ('office', 'lab'):
            entry = result['meshes'][name]['nodes'][node]
            ports.append(entry['listen_port'])
            for link in entry['backhaul']:
                ports.append(link['bind_port'])
                if link['mode'] == 'server':
                    ports.append(link['loopback_port'])
        assert len(ports) == len(set(ports))
        assert all(not 32768 <= p <= 60999 for p in ports if p not in (default_listen_port('office'),
                                                                       default_listen_port('lab')))


def test_one_lan_in_two_meshes_meeting_only_at_its_node():
    other = mesh(name='lab', nodes=['node-ir', 'node-x'], overlay_subnet='10.251.0.0/24',
                 lan_subnets={'node-ir': '192.168.10.0/24', 'node-x': '192.168.40.0/24'})
    result = plan(mesh(), other)
    assert result['meshes']['lab']['nodes']['node-x']['routes'] == ['192.168.10.0/24']
    assert result['meshes']['office']['nodes']['node-tr']['routes'] == ['192.168.10.0/24', '192.168.30.0/24']


def test_port_collisions_are_probed_not_fatal():
    ports = _PortAllocator({'a': {10000}, 'b': {10003}})
    # P=10000 is taken on a (its ListenPort): the next pair
    assert ports.take(0, 'a', 'b') == (10001, 10002)
    # b serves now: 10002 is taken on a, 10003 on b
    assert ports.take(2, 'b', 'a') == (10004, 10005)
    assert ports.take(len(ports.pool) - 2, 'a', 'b') == (65534, 65535)


def test_ports_run_out_cleanly():
    ports = _PortAllocator({'a': set(ports_in_pool()), 'b': set()})
    with pytest.raises(PlanError, match='no free Backhaul ports'):
        ports.take(0, 'a', 'b')


def ports_in_pool():
    return [port for low, high in TUNNEL_PORT_RANGES for port in range(low, high + 1)]


def test_same_input_same_plan():
    assert plan(mesh()) == plan(mesh())


# (mesh definitions, inventory override or None, secret, [substrings the error must hold])
INVALID = [
    ([mesh(lan_subnets=dict(SEED['lan_subnets'], **{'node-tr': '192.168.20.0/33'}))], None, SECRET,
     ["mesh 'office', node 'node-tr', field 'lan_subnets'", "'192.168.20.0/33' is not a valid CIDR"]),
    ([mesh(lan_subnets=dict(SEED['lan_subnets'], **{'node-tr': '192.168.20.5/24'}))], None, SECRET,
     ["node 'node-tr', field 'lan_subnets'", 'host bits', '192.168.20.0/24']),
    ([mesh(lan_subnets=dict(SEED['lan_subnets'], **{'node-tr': '192.168.10.128/25'}))], None, SECRET,
     ["mesh 'office'", "'node-tr'", "field 'lan_subnets'", 'overlaps', "'node-ir'"]),
    ([mesh(lan_subnets=dict(SEED['lan_subnets'], **{'node-tr': '10.250.0.0/25'}))], None, SECRET,
     ["mesh 'office'", 'overlaps overlay_subnet 10.250.0.0/24']),
    ([mesh(overlay_subnet='10.250.0.0/31', nodes=['node-ir', 'node-tr', 'node-uae'])], None, SECRET,
     ["mesh 'office'", "field 'overlay_subnet'", 'too few for 3 nodes']),
    ([mesh(overlay_subnet='10.250.0.0/240')], None, SECRET, ["field 'overlay_subnet'", 'not a valid CIDR']),
    ([mesh(overlay_subnet='fd00::/64')], None, SECRET, ["field 'overlay_subnet'", 'IPv4']),
    ([mesh(nodes=['node-ir', 'node-tr', 'node-ir'])], None, SECRET, ["node 'node-ir', field 'nodes'", 'twice']),
    ([mesh(lan_subnets={'node-zz': '192.168.50.0/24'})], None, SECRET,
     ["node 'node-zz', field 'lan_subnets'", 'not a member']),
    ([mesh(overlay_ips={'node-zz': '10.250.0.9'})], None, SECRET, ["node 'node-zz', field 'overlay_ips'"]),
    ([mesh(overlay_ips={'node-tr': '10.251.0.9'})], None, SECRET,
     ["node 'node-tr', field 'overlay_ips'", 'not a usable address']),
    ([mesh(overlay_ips={'node-tr': 'ten'})], None, SECRET, ["node 'node-tr', field 'overlay_ips'", 'not a valid IP']),
    ([mesh(overlay_ips={'node-uae': '10.250.0.1'})], None, SECRET,
     ["field 'overlay_ips'", 'also taken by node-ir']),
    ([mesh(nodes=['node-ir', 'node-ghost'], lan_subnets={})], None, SECRET,
     ["node 'node-ghost', field 'nodes'", 'not in the inventory']),
    ([mesh(topology='ring')], None, SECRET, ["field 'topology'", "'ring'"]),
    ([mesh(transport='carrier-pigeon')], None, SECRET, ["field 'transport'"]),
    ([mesh(topology='hub-spoke')], None, SECRET, ["field 'hub'", 'needs a hub']),
    ([mesh(topology='hub-spoke', hub='node-x')], None, SECRET, ["field 'hub'", 'not a member']),
    ([mesh(hub='node-ir')], None, SECRET, ["field 'hub'", 'only used with topology hub-spoke']),
    ([mesh(nodes=['node-ir'], lan_subnets={})], None, SECRET, ["field 'nodes'", 'at least 2 nodes']),
    ([mesh(nodes=['node-nat1', 'node-nat2'], lan_subnets={})], None, SECRET,
     ["mesh 'office'", "field 'wgmesh_nat'", 'both nodes are NATed']),
    ([mesh(nodes=['node-nat1', 'node-nat2'], lan_subnets={}, transport='direct')], None, SECRET,
     ['both nodes are NATed']),
    ([mesh(name='a-very-long-name')], None, SECRET, ["field 'name'", '15']),
    ([mesh(name='off+ice')], None, SECRET, ["field 'name'"]),
    ([mesh(), mesh(overlay_subnet='10.251.0.0/24', lan_subnets={})], None, SECRET, ["field 'name'", 'two meshes']),
    ([mesh(), mesh(name='lab', overlay_subnet='10.251.0.0/24', lan_subnets={},
                   listen_port=default_listen_port('office'))], None, SECRET,
     ["mesh 'lab', node 'node-ir', field 'listen_port'", "mesh 'office'"]),
    ([mesh(), mesh(name='lab', overlay_subnet='10.250.0.0/25', lan_subnets={})], None, SECRET,
     ["mesh 'lab'", "field 'overlay_subnet'", "of mesh 'office'"]),
    ([mesh(), mesh(name='lab', nodes=['node-ir', 'node-x'], overlay_subnet='10.251.0.0/24',
                   lan_subnets={'node-x': '192.168.20.0/24'})], None, SECRET,
     ["mesh 'lab'", "node 'node-x'", "field 'lan_subnets'", "of mesh 'office'", 'share node(s) node-ir']),
    ([mesh(), mesh(name='lab', nodes=['node-ir', 'node-tr'], overlay_subnet='10.251.0.0/24',
                   lan_subnets={'node-ir': '192.168.10.0/24'})], None, SECRET,
     ["mesh 'lab', node 'node-ir', field 'lan_subnets'", "also in mesh 'office'", 'node(s) node-tr would route']),
    ([mesh(mtu=9000)], None, SECRET, ["field 'mtu'", '1280-1420']),
    ([mesh(mtu=1000)], None, SECRET, ["field 'mtu'"]),
    ([mesh(mtu='big')], None, SECRET, ["field 'mtu'", 'whole number', "or 'auto'"]),
    ([mesh(mtu='Auto')], None, SECRET, ["mesh 'office', field 'mtu'", "'Auto' is not a whole number or 'auto'"]),
    ([mesh(mtu=1500)], None, SECRET, ["mesh 'office', field 'mtu'", "1500 is outside 1280-1420 or 'auto'"]),
    ([mesh(listen_port=70000)], None, SECRET, ["field 'listen_port'"]),
    ([mesh(colour='blue')], None, SECRET, ["mesh 'office'", 'unknown field(s) colour']),
    ([mesh()], None, None, ['wgmesh_secret', 'openssl rand -hex 24']),
    ([mesh()], None, 'short', ['wgmesh_secret']),
    (['office'], None, SECRET, ["mesh '#0'", 'dictionary']),
]


@pytest.mark.parametrize('meshes, inventory, secret, expected', INVALID)
def test_invalid_definitions_name_mesh_node_and_field(meshes, inventory, secret, expected):
    with pytest.raises(PlanError) as caught:
        plan_meshes(meshes, inventory or INVENTORY, secret)
    message = str(caught.value)
    for part in expected:
        assert part in message


def test_direct_transport_needs_no_secret():
    assert plan(mesh(transport='direct'), secret=None)['meshes']['office']['transport'] == 'direct'


def test_all_errors_are_reported_at_once():
    with pytest.raises(PlanError) as caught:
        plan(mesh(topology='ring', mtu=5, lan_subnets={'node-ir': 'nope'}))
    assert len(caught.value.errors) == 3


def test_not_a_list():
    with pytest.raises(PlanError, match='must be a list'):
        plan_meshes({'name': 'office'}, INVENTORY, SECRET)


def test_mtu_auto_is_kept_in_the_plan_the_host_plan_and_the_summary():
    from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_summary
    planned = plan(mesh(mtu='auto'))
    assert planned['meshes']['office']['mtu'] == 'auto'
    assert [entry['mtu'] for entry in host_plan(planned, 'node-ir')] == ['auto']
    assert 'MTU auto' in plan_summary(planned)[0]
