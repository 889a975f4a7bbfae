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
    """node-tr was in the play but unreachable: no key of its own in the play; node-uae and
    node-ir hold its key (their registered wg_peer_keys results)."""
    play_keys = {'node-uae': {'office': key('uae')}, 'node-ir': {'office': key('ir')}}
    known = {'node-uae': {'changed': False, 'peers': held('node-uae', 'node-tr', key('tr'))},
             'node-ir': {'skipped': True, 'changed': False}}
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), play_keys, [], known, 'node-ir')
    assert choice['public_keys'] == {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
    assert choice['sources'] == {'office': {'node-tr': 'last-known', 'node-uae': 'play'}}
    # without the voters the key is missing: the role reads what the node holds only then
    assert FILTERS['mesh_peer_key_choice'](entries('node-ir'), play_keys, [], {}, 'node-ir')['missing'] == [['office', 'node-tr']]
    assert FILTERS['mesh_peer_keys'](entries('node-ir'), play_keys, [], known, 'node-ir') == choice['public_keys']


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
    outside = FILTERS['mesh_peers_outside'](entries('node-ir'), ['node-ir'])
    assert outside == [['office', 'node-tr'], ['office', 'node-uae']]
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), {'node-ir': {'office': key('ir')}}, reads,
                                             {'node-ir': {'skipped': True}}, 'node-ir')
    assert choice['public_keys'] == {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
    assert choice['sources'] == {'office': {'node-tr': 'read', 'node-uae': 'last-known'}}
    assert choice['unread'] == {'node-uae': 'unreachable'}
    assert choice['last_known']['office']['node-uae']['voters'] == ['node-tr']


def test_a_failed_read_and_a_new_node_are_left_out():
    reads = {'results': [{'item': 'node-tr', 'failed': False, 'msg': 'MODULE FAILURE'},
                         {'item': 'node-uae', 'public_keys': {}, 'peers': {'office': []}}]}
    choice = FILTERS['mesh_peer_key_choice'](entries('node-ir'), {}, reads, {}, 'node-ir')
    assert choice['missing'] == [['office', 'node-tr'], ['office', 'node-uae']]
    assert choice['unread'] == {'node-tr': 'failed'}


def test_a_vote_that_is_not_a_peer_keys_result_is_an_error():
    """A renamed register handed over as a vote fails loudly instead of counting as no vote."""
    with pytest.raises(AnsibleFilterError, match=r'mesh_peer_key_choice: known\[node-uae\] is not a smite.wgmesh.wg_peer_keys'):
        FILTERS['mesh_peer_key_choice'](entries('node-ir'), {}, [], {'node-uae': {'changed': False}}, 'node-ir')
    with pytest.raises(AnsibleFilterError, match=r'mesh_peer_key_choice: known\[node-uae\] must be a registered result'):
        FILTERS['mesh_peer_key_choice'](entries('node-ir'), {}, [], {'node-uae': 'yes'}, 'node-ir')


CHOICE = {'public_keys': {'office': {'node-tr': key('tr'), 'node-uae': key('uae')}},
          'sources': {'office': {'node-tr': 'last-known', 'node-uae': 'play'}},
          'missing': [], 'last_known': {'office': {'node-tr': {'voters': ['node-ir'], 'others': {}}}}, 'unread': {}}


def test_pending_report_over_explicit_mappings():
    reached = {'node-ir': {'ping': 'pong'}, 'node-tr': {'unreachable': True, 'msg': 'Failed to connect'},
               'node-uae': {}}  # node-uae: not in this run (--limit; map(attribute=..., default={}))
    choices = {'node-ir': CHOICE, 'node-tr': None, 'node-uae': None}
    assert FILTERS['mesh_pending_report'](PLAN, reached, ['node-ir'], choices) == [
        'pending: node-tr unreachable: not converged; its last known key kept on node-ir']
    assert FILTERS['mesh_pending_report'](PLAN, dict(reached, **{'node-tr': {'ping': 'pong'}}),
                                          ['node-ir', 'node-tr'], choices) == []


def test_pending_report_refuses_a_converged_host_without_its_result():
    """What a renamed register looks like: every host converged, none has a result."""
    with pytest.raises(AnsibleFilterError, match='mesh_pending_report: reached has no result for node-ir, node-tr'):
        FILTERS['mesh_pending_report'](PLAN, {'node-ir': None, 'node-tr': None}, ['node-ir', 'node-tr'])


def test_old_slurp_reads_still_work():
    read = {'results': [{'item': ['office', 'node-uae'], 'content': base64.b64encode((key('uae') + '\n').encode()).decode()}]}
    assert FILTERS['mesh_peer_keys'](entries('node-ir'), {'node-tr': {'office': key('tr')}}, read) == {
        'office': {'node-tr': key('tr'), 'node-uae': key('uae')}}
