# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key filters of the wireguard role and the site.yml report, over registered results as
Ansible hands them over (issue #14: nodes down must not block the mesh)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import FilterModule

FILTERS = FilterModule().filters()
SECRET = 'filter-secret-0123456789'
NODES = ['node-ir', 'node-tr', 'node-uae']
HOSTVARS = dict((n, {'ansible_host': '203.0.113.%d' % i}) for i, n in enumerate(NODES, 1))
MESHES = [{'name': 'office', 'nodes': NODES, 'overlay_subnet': '10.250.0.0/24'}]
PLAN = FILTERS['mesh_plan'](MESHES, HOSTVARS, SECRET)


def key(label):
    return base64.b64encode((label.encode('ascii') * 32)[:32]).decode('ascii')


def held(node, peer, public_key):
    allowed = next(p['allowed_ips'] for p in PLAN['meshes']['office']['nodes'][node]['peers'] if p['node'] == peer)
    return {'office': [{'public_key': public_key, 'allowed_ips': allowed, 'node': peer, 'config': True, 'live': True}]}


def entries(host):
    return FILTERS['mesh_host_plan'](PLAN, host)


def test_unreachable_peer_in_the_play_gets_its_last_known_key():
    """node-tr was in the play but unreachable: no wireguard_public_keys; node-uae and node-ir
    hold its key (their registered wg_peer_keys results)."""
    hostvars = dict(HOSTVARS)
    hostvars['node-uae'] = dict(HOSTVARS['node-uae'], wireguard_public_keys={'office': key('uae')},
                                _wireguard_known_peers={'changed': False, 'peers': held('node-uae', 'node-tr', key('tr'))})
    hostvars['node-ir'] = dict(HOSTVARS['node-ir'], wireguard_public_keys={'office': key('ir')},
                               _wireguard_known_peers={'skipped': True, 'changed': False})
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), hostvars, [], ['node-ir', 'node-uae'], 'node-ir')
    assert choice['public_keys'] == {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
    assert choice['sources'] == {'office': {'node-tr': 'last-known', 'node-uae': 'play'}}
    # without the voters the key is missing: the role reads what the node holds only then
    assert FILTERS['mesh_peer_key_choice'](entries('node-ir'), hostvars, [], [], 'node-ir')['missing'] == [['office', 'node-tr']]
    assert FILTERS['mesh_peer_keys'](entries('node-ir'), hostvars, [], ['node-ir', 'node-uae'], 'node-ir') == choice['public_keys']


def test_reads_outside_the_play_from_a_list_of_registered_loops():
    """--limit node-ir: node-tr read fine, node-uae unreachable (ignore_unreachable) and held by
    node-tr; results from the host that did the reads and skipped ones from the others."""
    reads = [
        {'skipped': True, 'results': []},
        {'changed': False, 'results': [
            {'item': 'node-tr', 'public_keys': {'office': key('tr')}, 'peers': held('node-tr', 'node-uae', key('uae'))},
            {'item': 'node-uae', 'unreachable': True, 'msg': 'Failed to connect'},
        ]},
    ]
    hostvars = dict(HOSTVARS, **{'node-ir': dict(HOSTVARS['node-ir'], wireguard_public_keys={'office': key('ir')})})
    outside = FILTERS['mesh_peers_outside'](entries('node-ir'), ['node-ir'], hostvars)
    assert outside == [['office', 'node-tr'], ['office', 'node-uae']]
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), hostvars, reads, ['node-ir'], 'node-ir')
    assert choice['public_keys'] == {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
    assert choice['sources'] == {'office': {'node-tr': 'read', 'node-uae': 'last-known'}}
    assert choice['unread'] == {'node-uae': 'unreachable'}
    assert choice['last_known']['office']['node-uae']['voters'] == ['node-tr']


def test_a_failed_read_and_a_new_node_are_left_out():
    reads = {'results': [{'item': 'node-tr', 'failed': False, 'msg': 'MODULE FAILURE'},
                         {'item': 'node-uae', 'public_keys': {}, 'peers': {'office': []}}]}
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), HOSTVARS, reads, ['node-ir'], 'node-ir')
    assert choice['missing'] == [['office', 'node-tr'], ['office', 'node-uae']]
    assert choice['unread'] == {'node-tr': 'failed'}


def test_pending_report_over_hostvars():
    tr_down = {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
    choice = {'public_keys': tr_down, 'sources': {'office': {'node-tr': 'last-known', 'node-uae': 'play'}},
              'missing': [], 'last_known': {'office': {'node-tr': {'voters': ['node-ir'], 'others': {}}}}, 'unread': {}}
    hostvars = {
        'node-ir': {'wgmesh_site_reached': {'ping': 'pong'}, 'wgmesh_site_converged': True, 'wireguard_peer_key_choice': choice},
        'node-tr': {'wgmesh_site_reached': {'unreachable': True, 'msg': 'Failed to connect'}},
        'node-uae': {},  # not in this run (--limit)
        'ghost': {'ansible_host': '192.0.2.1'},  # in no mesh and not in the fleet: never reported
    }
    assert FILTERS['mesh_pending_report'](PLAN, hostvars) == [
        'pending: node-tr unreachable: not converged; its last known key kept on node-ir']
    assert FILTERS['mesh_pending_report'](PLAN, dict(hostvars, **{'node-tr': hostvars['node-ir']})) == []


def test_old_slurp_reads_still_work():
    read = {'results': [{'item': ['office', 'node-uae'], 'content': base64.b64encode((key('uae') + '\n').encode()).decode()}]}
    hostvars = dict(HOSTVARS, **{'node-tr': dict(HOSTVARS['node-tr'], wireguard_public_keys={'office': key('tr')})})
    assert FILTERS['mesh_peer_keys'](entries('node-ir'), hostvars, read) == {
        'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}


@pytest.mark.parametrize('name, args', [
    ('mesh_peer_key_choice', ([], {}, None, 'node-ir')),
    ('mesh_peer_key_choice', ({}, {})),
    ('mesh_peers_outside', ([], [], [])),
    ('mesh_pending_report', ({}, {})),
    ('mesh_pending_report', (PLAN, [])),
    ('mesh_pending_report', (PLAN, {}, 'node-ir')),
])
def test_filters_reject_bad_input(name, args):
    with pytest.raises(AnsibleFilterError, match=name):
        FILTERS[name](*args)
