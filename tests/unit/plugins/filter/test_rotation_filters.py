# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation filters take what the nodes registered, as {node: result}, and hand over to plugin_utils/rotation."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.rotation import FilterModule
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes

FILTERS = FilterModule().filters()
INVENTORY = {'node-ir': {'public_address': '203.0.113.1'}, 'node-tr': {'public_address': '203.0.113.2'}}
PLAN = plan_meshes([{'name': 'office', 'nodes': ['node-ir', 'node-tr'], 'overlay_subnet': '10.250.0.0/24',
                     'transport': 'direct'}], INVENTORY, 'filter-secret-0123456789')
REQUEST = FILTERS['mesh_rotation_request'](PLAN, 'office', 'node-ir')


def check(node, peer, key):
    return {'up': True, 'interface': {'public_key': 'new-' + node},
            'peers': [{'node': peer, 'public_key': key, 'handshake_age': 2}], 'ping': []}


def test_request_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="mesh_rotation_request: there is no mesh 'lab'"):
        FILTERS['mesh_rotation_request'](PLAN, 'lab')
    with pytest.raises(AnsibleFilterError, match='a plan made by smite.wgmesh.mesh_plan'):
        FILTERS['mesh_rotation_request']({'office': {}}, 'office')


def keypair(node, rotated):
    result = {'changed': rotated, 'public_keys': {'office': 'new-' + node}, 'previous_public_keys': {}}
    if rotated:
        result['previous_public_keys']['office'] = 'old-' + node
    return result


KEYS = FILTERS['mesh_rotation_keys']({'node-ir': keypair('node-ir', True), 'node-tr': keypair('node-tr', False)},
                                     REQUEST)


def test_problems_filter_takes_the_registered_result():
    expected = {'node-ir': 'new-node-ir', 'node-tr': 'new-node-tr'}
    assert FILTERS['mesh_rotation_problems'](check('node-ir', 'node-tr', 'new-node-tr'), 'node-ir', expected) == []
    assert FILTERS['mesh_rotation_problems']({'unreachable': True}, 'node-ir', expected) == [
        'node-ir: interface down or not readable']


def test_keys_from_the_registered_keypair_results():
    assert KEYS == {'node-ir': {'old': 'old-node-ir', 'new': 'new-node-ir', 'rotated': True},
                    'node-tr': {'old': 'new-node-tr', 'new': 'new-node-tr', 'rotated': False}}
    with pytest.raises(AnsibleFilterError, match='mesh_rotation_keys: not nodes of the request: node-x'):
        FILTERS['mesh_rotation_keys']({'node-x': keypair('node-x', True)}, REQUEST)
    with pytest.raises(AnsibleFilterError, match='mesh_rotation_keys: not a smite.wgmesh.wg_keypair result'):
        FILTERS['mesh_rotation_keys']({'node-ir': {'changed': False}}, REQUEST)
    with pytest.raises(AnsibleFilterError, match='mesh_rotation_keys: the request must come from smite.wgmesh.mesh_rotation_request'):
        FILTERS['mesh_rotation_keys']({}, {'mesh': 'office'})


def test_check_asks_for_the_peers_still_in_the_run():
    check_args = FILTERS['mesh_rotation_check'](PLAN, REQUEST, KEYS, 'node-ir', ['node-ir', 'node-tr'])
    assert check_args['interface'] == 'wg-office'
    assert check_args['peers'] == {'new-node-tr': 'node-tr'}
    assert check_args['expected'] == {'node-ir': 'new-node-ir', 'node-tr': 'new-node-tr'}
    assert [probe['node'] for probe in check_args['ping']] == ['node-tr']
    assert FILTERS['mesh_rotation_check'](PLAN, REQUEST, KEYS, 'node-ir', ['node-ir'])['peers'] == {}
    with pytest.raises(AnsibleFilterError, match='mesh_rotation_check: node-tr has no key in keys'):
        FILTERS['mesh_rotation_check'](PLAN, REQUEST, {'node-ir': KEYS['node-ir']}, 'node-tr', ['node-tr'])


def test_report_from_keys_and_registered_checks():
    checks = {'node-ir': check('node-ir', 'node-tr', 'new-node-tr'), 'node-tr': check('node-tr', 'node-ir', 'new-node-ir')}
    report = FILTERS['mesh_rotation_report'](PLAN, REQUEST, KEYS, checks)
    assert report['complete'] is True and list(report['rotated']) == ['node-ir']
    # A skipped check (check mode) or a node that never got there counts as not updated.
    report = FILTERS['mesh_rotation_report'](PLAN, REQUEST, KEYS, dict(checks, **{'node-tr': {'skipped': True}}))
    assert report['stale'] == {'node-tr': ['node-ir']}
    assert FILTERS['mesh_rotation_report'](PLAN, REQUEST, KEYS, {'node-ir': checks['node-ir']})['stale'] == {
        'node-tr': ['node-ir']}


@pytest.mark.parametrize('keys, checks, message', [
    ({'node-ir': {'old': 'a'}}, {}, r'keys\[node-ir\] must come from smite.wgmesh.mesh_rotation_keys'),
    ({'node-x': {'new': 'a'}}, {}, 'keys of nodes not in mesh office: node-x'),
    (KEYS, {'node-ir': 'done'}, r'checks\[node-ir\] must be a registered smite.wgmesh.wg_status result'),
])
def test_report_refuses_what_did_not_come_from_the_rotation(keys, checks, message):
    with pytest.raises(AnsibleFilterError, match='mesh_rotation_report: ' + message):
        FILTERS['mesh_rotation_report'](PLAN, REQUEST, keys, checks)
    with pytest.raises(AnsibleFilterError, match='the request must come from smite.wgmesh.mesh_rotation_request'):
        FILTERS['mesh_rotation_report'](PLAN, {'mesh': 'lab'}, KEYS, {})
