# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation filters read what the plays registered and hand over to plugin_utils/rotation."""

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


def test_problems_filter_takes_the_registered_result():
    expected = {'node-ir': 'new-node-ir', 'node-tr': 'new-node-tr'}
    assert FILTERS['mesh_rotation_problems'](check('node-ir', 'node-tr', 'new-node-tr'), 'node-ir', expected) == []
    assert FILTERS['mesh_rotation_problems']('not a result', 'node-ir', expected) == [
        'node-ir: interface down or not readable']


def test_report_reads_key_facts_and_checks_from_hostvars():
    hostvars = {
        'node-ir': {'wgmesh_rotation_key': {'old': 'old-node-ir', 'new': 'new-node-ir', 'rotated': True},
                    'wgmesh_rotation_check': check('node-ir', 'node-tr', 'new-node-tr')},
        'node-tr': {'wgmesh_rotation_key': {'old': 'new-node-tr', 'new': 'new-node-tr', 'rotated': False},
                    'wgmesh_rotation_check': check('node-tr', 'node-ir', 'new-node-ir')},
    }
    report = FILTERS['mesh_rotation_report'](PLAN, REQUEST, hostvars)
    assert report['complete'] is True and list(report['rotated']) == ['node-ir']
    # A skipped check (check mode) or a node that never got there counts as not updated.
    hostvars['node-tr']['wgmesh_rotation_check'] = {'skipped': True}
    report = FILTERS['mesh_rotation_report'](PLAN, REQUEST, hostvars)
    assert report['stale'] == {'node-tr': ['node-ir']}
    del hostvars['node-tr']
    assert FILTERS['mesh_rotation_report'](PLAN, REQUEST, hostvars)['stale'] == {'node-tr': ['node-ir']}


def test_live_peer_keys_reads_the_registered_loop():
    allowed = PLAN['meshes']['office']['nodes']['node-ir']['peers'][0]['allowed_ips']
    hostvars = {'node-ir': {'wgmesh_rotation_live': {'results': [
        {'item': 'office', 'up': True, 'peers': [{'public_key': 'key-tr', 'allowed_ips': allowed}]},
        {'item': 'gone', 'up': True, 'peers': [{'public_key': 'key-x', 'allowed_ips': allowed}]}]}}}
    assert FILTERS['mesh_live_peer_keys'](PLAN, hostvars) == {'node-tr': {'office': 'key-tr'}}
