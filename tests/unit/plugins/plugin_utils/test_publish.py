# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node publishes for a sliced run and how a slice of site.yml plans from it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import FilterModule as MeshFilters
from ansible_collections.smite.wgmesh.plugins.filter.publish import FilterModule as PublishFilters
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import PlanError
from ansible_collections.smite.wgmesh.plugins.plugin_utils.publish import (
    as_reads, node_record, published_nodes, var_name, with_published,
)

MESH = MeshFilters().filters()
PUB = PublishFilters().filters()
SECRET = 'publish-secret-0123456789abcdef'
KEYS = dict((n, base64.b64encode(bytes([i + 1]) * 32).decode()) for i, n in enumerate(['node-ir', 'node.tr', 'node-uae']))
MESHES = [{'name': 'office', 'nodes': ['node-ir', 'node.tr', 'node-uae'], 'overlay_subnet': '10.250.0.0/24',
           'transport': 'backhaul', 'lan_subnets': {'node-ir': '192.168.10.0/24', 'node.tr': '192.168.20.0/24'}},
          {'name': 'ops', 'nodes': ['node-ir', 'node-uae'], 'overlay_subnet': '10.251.0.0/24', 'transport': 'direct'}]
HOSTVARS = {'node-ir': {'ansible_host': '203.0.113.1'},
            'node.tr': {'ansible_host': '10.0.0.2', 'wgmesh_public_address': '198.51.100.2'},
            'node-uae': {'ansible_host': '203.0.113.3', 'wgmesh_nat': True}}


def _full_plan():
    return MESH['mesh_plan'](MESHES, HOSTVARS, SECRET)


def _publish_all(plan):
    """What one-host slices of publish would hand on, merged at the top level as AWX does."""
    merged = {}
    for node, meshes in plan['hosts'].items():
        keys = dict((m, KEYS[node]) for m in meshes)
        merged.update(PUB['mesh_publish_record'](MESHES, {node: HOSTVARS[node]}, node, keys))
    return merged


def test_var_name_is_a_valid_variable_name_per_node():
    assert var_name('node-ir') == 'wgmesh_node_node_ir'
    assert var_name('node.tr') == 'wgmesh_node_node_tr'
    assert var_name('Node_9') == 'wgmesh_node_Node_9'


def test_record_holds_public_data_only_one_key_per_node():
    record = PUB['mesh_publish_record'](MESHES, HOSTVARS, 'node-uae', {'office': KEYS['node-uae'], 'ops': KEYS['node-uae']})
    assert record == {'wgmesh_node_node_uae': {'name': 'node-uae', 'public_address': '203.0.113.3', 'nat': True,
                                               'public_keys': {'office': KEYS['node-uae'], 'ops': KEYS['node-uae']}}}
    assert SECRET not in json.dumps(record)


def test_record_needs_a_public_key_for_every_mesh_of_the_node():
    with pytest.raises(AnsibleFilterError, match="mesh ops, node node-ir: no public key to publish"):
        PUB['mesh_publish_record'](MESHES, HOSTVARS, 'node-ir', {'office': KEYS['node-ir']})
    with pytest.raises(AnsibleFilterError, match='mesh office, node node-ir: no public key'):
        PUB['mesh_publish_record'](MESHES, HOSTVARS, 'node-ir',
                                   {'office': '(check mode placeholder, no key yet)', 'ops': KEYS['node-ir']})
    with pytest.raises(AnsibleFilterError, match='node-x is in no mesh'):
        PUB['mesh_publish_record'](MESHES, {'node-x': {}}, 'node-x', {})
    with pytest.raises(AnsibleFilterError, match='host node-ir is not in the inventory'):
        PUB['mesh_publish_record'](MESHES, {}, 'node-ir', {})


def test_nodes_that_would_publish_under_one_name_are_refused():
    meshes = [{'name': 'office', 'nodes': ['node-a', 'node.a'], 'overlay_subnet': '10.250.0.0/24', 'transport': 'direct'}]
    with pytest.raises(AnsibleFilterError, match=r'nodes node-a, node\.a would all publish as wgmesh_node_node_a'):
        PUB['mesh_publish_record'](meshes, {'node-a': {}}, 'node-a', {'office': KEYS['node-ir']})
    with pytest.raises(PlanError, match='would all publish'):
        node_record('node-a', ['office'], {'office': KEYS['node-ir']}, {'public_address': 'a', 'nat': False}, ['node.a'])


def test_published_round_trip_plans_a_slice_like_the_whole_inventory():
    full = _full_plan()
    published = published_nodes(_publish_all(full))
    assert sorted(published) == ['node-ir', 'node-uae', 'node.tr']
    # The slice holding only node-ir: its plan is the whole inventory's.
    sliced = MESH['mesh_plan'](MESHES, {'node-ir': HOSTVARS['node-ir']}, SECRET, published=published)
    assert sliced == full
    # Without published data a slice cannot plan at all.
    alone = MESH['mesh_plan'](MESHES, {'node-ir': HOSTVARS['node-ir']}, SECRET, errors='return')
    assert "mesh 'office', node 'node.tr', field 'nodes': not in the inventory" in alone['errors']


def test_inventory_wins_over_published():
    full = _full_plan()
    published = published_nodes(_publish_all(full))
    published['node-ir'] = dict(published['node-ir'], public_address='192.0.2.99')
    plan = MESH['mesh_plan'](MESHES, HOSTVARS, SECRET, published=published)
    assert plan['meshes']['office']['nodes']['node-ir']['public_address'] == '203.0.113.1'


def test_a_node_neither_in_the_slice_nor_published_is_an_error():
    published = published_nodes(_publish_all(_full_plan()))
    del published['node.tr']
    planned = MESH['mesh_plan'](MESHES, {'node-ir': HOSTVARS['node-ir']}, SECRET, errors='return', published=published)
    assert planned == {'errors': ['node(s) node.tr: in a mesh but neither in this inventory nor published by '
                                  'smite.wgmesh.publish (did its slice of publish run and succeed?)']}
    # Nothing published: the facts are left as they are.
    assert with_published({'a': 1}, ['a', 'b'], {}) == {'a': 1}


@pytest.mark.parametrize('var, value, message', [
    ('wgmesh_node_node_ir', 'x', 'must be a mapping'),
    ('wgmesh_node_node_ir', {'name': 'node-tr', 'public_keys': {'office': KEYS['node-ir']}, 'public_address': 'a',
                             'nat': False}, 'name node-tr publishes as wgmesh_node_node_tr, not as wgmesh_node_node_ir'),
    ('wgmesh_node_node_ir', {'name': 'node-ir', 'public_keys': {'office': 'nope'}, 'public_address': 'a', 'nat': False},
     'public_keys.office is not a WireGuard public key'),
    ('wgmesh_node_node_ir', {'name': 'node-ir', 'public_keys': {}, 'public_address': 'a', 'nat': False},
     'public_keys must map each mesh'),
    ('wgmesh_node_node_ir', {'name': 'node-ir', 'public_keys': {'office': KEYS['node-ir']}, 'public_address': '',
                             'nat': False}, 'public_address must be a non-empty string'),
    ('wgmesh_node_node_ir', {'name': 'node-ir', 'public_keys': {'office': KEYS['node-ir']}, 'public_address': 'a',
                             'nat': 'no'}, 'nat must be true or false'),
    ('wgmesh_node_node_ir', {'name': 'node-ir', 'public_keys': {'office': KEYS['node-ir']}, 'public_address': 'a',
                             'nat': False, 'private_key': 'x'}, r'unexpected field\(s\) private_key'),
    ('other_var', {}, 'other_var is not a published node'),
])
def test_malformed_records_are_refused_naming_variable_and_field(var, value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        PUB['mesh_published']([var], [value])


def test_mesh_published_takes_names_and_values_in_order():
    assert PUB['mesh_published']([], []) == {}
    with pytest.raises(AnsibleFilterError, match='in the same order'):
        PUB['mesh_published'](['wgmesh_node_a'], [])


def test_published_keys_key_the_peers_outside_the_slice():
    """A slice holding node-ir keys its peers from what they published (source 'read'),
    and lists no peer as outside the play: nothing is delegated to hosts it does not hold."""
    full = _full_plan()
    published = published_nodes(_publish_all(full))
    entries = MESH['mesh_host_plan'](full, 'node-ir')
    play_keys = {'node-ir': {'office': KEYS['node-ir'], 'ops': KEYS['node-ir']}}
    assert MESH['mesh_peers_outside'](entries, ['node-ir'] + list(published)) == []
    choice = MESH['mesh_peer_key_choice'](entries, play_keys, [{}, PUB['mesh_published_reads'](published)], {}, 'node-ir')
    assert choice['public_keys'] == {'office': {'node.tr': KEYS['node.tr'], 'node-uae': KEYS['node-uae']},
                                     'ops': {'node-uae': KEYS['node-uae']}}
    assert not choice['missing'] and not choice['last_known']
    assert as_reads({}) == {'results': []}
