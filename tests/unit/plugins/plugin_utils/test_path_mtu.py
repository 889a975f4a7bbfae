# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of mtu auto: who probes what, min / clamp / fallback / hysteresis."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.path_mtu import (
    RAISE_MIN, choose_mtus, probe_targets, status_mtu, status_mtu_lines,
)
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import host_plan, plan_meshes

SECRET = 'lab-secret-0123456789abcdef0123456789'
INVENTORY = {
    'a': {'public_address': '203.0.113.1'},
    'b': {'public_address': '203.0.113.2'},
    'c': {'public_address': '203.0.113.3'},
    'n': {'public_address': '198.51.100.9', 'nat': True},
    'v6': {'public_address': '2001:db8::6'},
}


def plan(nodes=('a', 'b', 'c'), **fields):
    mesh = dict(name='m', nodes=list(nodes), overlay_subnet='10.9.0.0/24', mtu='auto', transport='direct')
    mesh.update(fields)
    return plan_meshes([mesh], INVENTORY, SECRET)


def result(paths, interface=None):
    """A smite.wgmesh.path_mtu result: {address: path MTU or None}, current MTU of wg-m."""
    return {'paths': dict((address, {'path_mtu': value, 'probes': 3, 'seconds': 0.1})
                          for address, value in paths.items()),
            'interfaces': {'wg-m': interface}}


def ip(node):
    return INVENTORY[node]['public_address']


def full(values, current=None, nodes=('a', 'b', 'c')):
    """Every node measured every other with values[(src, dst)] (default 1500)."""
    return dict((src, result(dict((ip(dst), values.get((src, dst), 1500)) for dst in nodes if dst != src), current))
                for src in nodes)


def test_targets_direct_full_mesh_every_peer_public_address():
    planned = plan()
    assert probe_targets(host_plan(planned, 'a')) == {
        'targets': ['203.0.113.2', '203.0.113.3'], 'interfaces': ['wg-m']}


def test_targets_nothing_for_a_fixed_mtu():
    assert probe_targets(host_plan(plan(mtu=1280), 'a')) == {'targets': [], 'interfaces': []}


def test_targets_a_nated_peer_is_probed_from_its_side_only():
    planned = plan(nodes=('a', 'n'))
    assert probe_targets(host_plan(planned, 'a'))['targets'] == []
    assert probe_targets(host_plan(planned, 'n'))['targets'] == ['203.0.113.1']


def test_targets_backhaul_the_client_probes_its_server():
    planned = plan(transport='backhaul')
    by_node = dict((node, probe_targets(host_plan(planned, node))['targets']) for node in 'abc')
    # Each link is probed once, by its client, towards its server's public address.
    assert sum(len(targets) for targets in by_node.values()) == 3
    for node in 'abc':
        for link in planned['meshes']['m']['nodes'][node]['backhaul']:
            if link['mode'] == 'client':
                assert ip(link['peer']) in by_node[node]


def test_targets_ipv6_peer_address_without_brackets():
    planned = plan(nodes=('a', 'v6'))
    assert probe_targets(host_plan(planned, 'a'))['targets'] == ['2001:db8::6']


@pytest.mark.parametrize('values, mtu', [
    ({}, 1420),                                                    # 1500 everywhere: 1500 - 80 cap
    ({('a', 'b'): 1400, ('b', 'a'): 1400, ('a', 'c'): 1400, ('c', 'a'): 1400}, 1340),
    ({('a', 'b'): 1400}, 1340),                                    # one direction is enough to lower
    ({('b', 'c'): 1492}, 1420),                                    # PPPoE: 1492 - 60 > 1420
    ({('b', 'c'): 1450}, 1390),
    ({('b', 'c'): 1300}, 1280),                                    # 1300 - 60 < 1280: clamped
])
def test_mesh_mtu_is_the_smallest_link_minus_60_clamped(values, mtu):
    choice = choose_mtus(plan(), full(values))['m']
    assert choice['mtu'] == mtu and choice['warnings'] == []
    assert all(link['state'] == 'measured' for link in choice['links'])


def test_ipv6_underlay_costs_80():
    planned = plan(nodes=('a', 'v6'))
    measured = {'a': result({'2001:db8::6': 1500}), 'v6': result({'203.0.113.1': 1500})}
    assert choose_mtus(planned, measured)['m']['mtu'] == 1420
    measured = {'a': result({'2001:db8::6': 1450}), 'v6': result({'203.0.113.1': 1500})}
    assert choose_mtus(planned, measured)['m']['mtu'] == 1370


def test_a_link_whose_probes_all_fail_counts_as_1280_with_a_warning():
    values = dict(((src, dst), None) for src in 'abc' for dst in 'abc')
    choice = choose_mtus(plan(), full(values))['m']
    assert choice['mtu'] == 1280
    assert [link['state'] for link in choice['links']] == ['failed'] * 3
    assert len(choice['warnings']) == 6
    assert "mesh 'm': every path MTU probe from a to 203.0.113.2 failed" in choice['warnings'][0]
    assert 'counts as 1280' in choice['warnings'][0]


def test_one_direction_failing_uses_the_other_and_warns():
    choice = choose_mtus(plan(), full({('a', 'b'): None, ('b', 'a'): 1400}))['m']
    assert choice['mtu'] == 1340
    assert [w for w in choice['warnings'] if 'from a to 203.0.113.2' in w and 'other direction measured 1400' in w]


def test_all_probes_failing_on_a_backhaul_link():
    planned = plan(transport='backhaul')
    measured = dict((node, result(dict((a, None) for a in probe_targets(host_plan(planned, node))['targets'])))
                    for node in 'abc')
    assert choose_mtus(planned, measured)['m']['mtu'] == 1280


def test_an_unmeasured_link_cannot_raise_the_mtu():
    measured = full({}, current=1340)
    del measured['c']  # c unreachable: a and b still probe it (direct, both ends public)
    assert choose_mtus(plan(), measured)['m']['mtu'] == 1420
    planned = plan(transport='backhaul')
    clients = dict((node, probe_targets(host_plan(planned, node))['targets']) for node in 'abc')
    prober = next(node for node in 'abc' if clients[node])
    measured = dict((node, result(dict((a, 1500) for a in clients[node]), 1340)) for node in 'abc' if node != prober)
    choice = choose_mtus(planned, measured)['m']
    assert choice['mtu'] == 1340 and choice['measured_mtu'] == 1420
    assert [link['state'] for link in choice['links']].count('unmeasured') == len(clients[prober])
    assert any('was not measured' in w for w in choice['warnings'])


def test_nothing_measured_and_no_interface_yet_gives_1280():
    choice = choose_mtus(plan(), {})['m']
    assert choice['mtu'] == 1280 and choice['measured_mtu'] is None and choice['current'] is None


def test_an_unmeasured_link_still_lets_the_mtu_go_down():
    planned = plan(transport='backhaul')
    clients = dict((node, probe_targets(host_plan(planned, node))['targets']) for node in 'abc')
    prober = next(node for node in 'abc' if clients[node])
    measured = dict((node, result(dict((a, 1380) for a in clients[node]), 1420)) for node in 'abc')
    measured[prober] = {'skipped': True, 'changed': False}  # e.g. it failed earlier in the run
    choice = choose_mtus(planned, measured)['m']
    assert 'unmeasured' in [link['state'] for link in choice['links']]
    assert choice['mtu'] == 1320


@pytest.mark.parametrize('current, measured, chosen', [
    (1340, 1340, 1340),                   # unchanged path: unchanged MTU
    (1340, 1340 + RAISE_MIN - 1, 1340),   # a small gain is not worth a change
    (1340, 1340 + RAISE_MIN, 1340 + RAISE_MIN),
    (1340, 1339, 1339),                   # down at once, by any amount
    (1280, 1420, 1420),
    (None, 1350, 1350),                   # first converge
])
def test_hysteresis(current, measured, chosen):
    values = dict(((src, dst), measured + 60) for src in 'abc' for dst in 'abc')
    assert choose_mtus(plan(), full(values, current=current))['m']['mtu'] == chosen


def test_fixed_meshes_pass_through():
    assert choose_mtus(plan(mtu=1380), {}) == {'m': {'mode': 'fixed', 'mtu': 1380}}


def test_status_mtu_reports_each_link_and_the_interfaces():
    measured = full({('a', 'b'): 1400}, current=1340)
    mtus = status_mtu(plan(), measured)
    entry = mtus['m']
    assert entry['mode'] == 'auto' and entry['configured'] == 'auto' and entry['would_choose'] == 1340
    assert entry['interface_mtu'] == {'a': 1340, 'b': 1340, 'c': 1340}
    assert [(link['nodes'], link['path_mtu']) for link in entry['links']] == [
        (['a', 'b'], 1400), (['a', 'c'], 1500), (['b', 'c'], 1500)]
    lines = status_mtu_lines(mtus)
    assert lines[0] == 'mesh m: MTU auto, on the interfaces: 1340; a converge would choose 1340'
    assert '  path MTU a <-> b: 1400 (measured)' in lines
    fixed = status_mtu(plan(mtu=1280), {'a': {'interfaces': {'wg-m': 1280}}})
    assert status_mtu_lines(fixed) == ['mesh m: MTU 1280 (fixed), on the interfaces: 1280']
