# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters validate their input and hand over to the planner.

Every filter's arguments are checked against its documentation: tests/unit/plugins/plugin_utils/test_filter_args.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import FilterModule

FILTERS = FilterModule().filters()
SECRET = 'filter-secret-0123456789'
HOSTVARS = {
    'node-ir': {'ansible_host': '203.0.113.1'},
    'node-tr': {'ansible_host': '203.0.113.2', 'wgmesh_public_address': '198.51.100.2'},
    'node-uae': {'wgmesh_nat': True},
}
MESHES = [{'name': 'office', 'nodes': ['node-ir', 'node-tr', 'node-uae'], 'overlay_subnet': '10.250.0.0/24',
           'lan_subnets': {'node-ir': '192.168.10.0/24'}}]


def test_mesh_plan_reads_inventory_facts():
    plan = FILTERS['mesh_plan'](MESHES, HOSTVARS, SECRET)
    nodes = plan['meshes']['office']['nodes']
    assert nodes['node-ir']['public_address'] == '203.0.113.1'
    assert nodes['node-tr']['public_address'] == '198.51.100.2'  # wgmesh_public_address wins
    assert nodes['node-uae']['public_address'] == 'node-uae'  # no address: the inventory name
    assert nodes['node-uae']['nat'] is True


def test_mesh_plan_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="mesh 'office', node 'node-x', field 'nodes': not in the inventory"):
        FILTERS['mesh_plan']([dict(MESHES[0], nodes=['node-ir', 'node-x'])], HOSTVARS, SECRET)


def test_mesh_plan_wants_hostvars():
    with pytest.raises(AnsibleFilterError, match='hostvars'):
        FILTERS['mesh_plan'](MESHES, ['node-ir'], SECRET)


def test_mesh_host_plan():
    plan = FILTERS['mesh_plan'](MESHES, HOSTVARS, SECRET)
    entries = FILTERS['mesh_host_plan'](plan, 'node-uae', SECRET)
    assert [(e['mesh'], e['interface'], e['mtu']) for e in entries] == [('office', 'wg-office', 1280)]
    assert all(link['token'] for link in entries[0]['backhaul'])
    assert all('token' not in link for link in FILTERS['mesh_host_plan'](plan, 'node-uae')[0]['backhaul'])


@pytest.mark.parametrize('plan, secret, message', [
    ({'nodes': {}}, None, 'made by smite.wgmesh.mesh_plan'),
    ({'meshes': {}, 'hosts': {}}, 42, "argument 'secret' is of type .*int"),
])
def test_mesh_host_plan_rejects_bad_input(plan, secret, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS['mesh_host_plan'](plan, 'node-ir', secret)


def test_mesh_plan_summary_lists_nodes_and_links():
    lines = FILTERS['mesh_plan_summary'](FILTERS['mesh_plan'](MESHES, HOSTVARS, SECRET))
    text = '\n'.join(lines)
    assert lines[0].startswith('mesh office: full-mesh, transport backhaul, overlay 10.250.0.0/24, MTU 1280')
    assert 'node-ir   10.250.0.1' in text and '192.168.10.0/24' in text
    # node-uae is NATed: it is the client of both its links
    assert sum(1 for line in lines if line.split()[:2] in (['node-ir', 'node-uae'], ['node-tr', 'node-uae'])) == 2


def test_mesh_plan_summary_rejects_bad_input():
    with pytest.raises(AnsibleFilterError, match="mesh_plan_summary: argument '_input' is of type .*list"):
        FILTERS['mesh_plan_summary']([])
    with pytest.raises(AnsibleFilterError, match='made by smite.wgmesh.mesh_plan'):
        FILTERS['mesh_plan_summary']({'office': {}})


def test_peer_keys_from_play_and_from_outside():
    plan = FILTERS['mesh_plan'](MESHES, HOSTVARS, SECRET)
    entries = FILTERS['mesh_host_plan'](plan, 'node-ir')
    outside = FILTERS['mesh_peers_outside'](entries, ['node-ir', 'node-tr'])
    assert outside == [['office', 'node-uae']]
    play_keys = {'node-ir': {'office': 'KEY-IR'}, 'node-tr': {'office': 'KEY-TR'}}
    read = {'results': [{'item': ['office', 'node-uae'], 'content': base64.b64encode(b'KEY-UAE\n').decode()}]}
    assert FILTERS['mesh_peer_keys'](entries, play_keys, read) == {'office': {'node-tr': 'KEY-TR', 'node-uae': 'KEY-UAE'}}
    # a key found nowhere is left out, for the role's check to name it
    assert FILTERS['mesh_peer_keys'](entries, {}) == {'office': {}}


@pytest.mark.parametrize('name, args', [('mesh_peer_keys', ({}, {})), ('mesh_peers_outside', ([], 'node-ir'))])
def test_key_filters_reject_bad_input(name, args):
    with pytest.raises(AnsibleFilterError, match=name):
        FILTERS[name](*args)
