# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key rotation: the request, the post-update link check, the report, keys of unreachable nodes."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes
from ansible_collections.smite.wgmesh.plugins.plugin_utils.rotation import (
    RotationError, link_problems, live_peer_keys, rotation_report, rotation_request,
)

INVENTORY = {'node-ir': {'public_address': '203.0.113.1'}, 'node-tr': {'public_address': '203.0.113.2'},
             'node-uae': {'public_address': '203.0.113.3'}}
OFFICE = {'name': 'office', 'nodes': ['node-ir', 'node-tr', 'node-uae'], 'overlay_subnet': '10.250.0.0/24',
          'transport': 'direct'}
BACKUP = {'name': 'backup', 'nodes': ['node-ir', 'node-tr'], 'overlay_subnet': '10.251.0.0/24',
          'transport': 'direct'}
PLAN = plan_meshes([OFFICE, BACKUP], INVENTORY, 'rotation-secret-0123456789')
MESH = PLAN['meshes']['office']
NODES = ['node-ir', 'node-tr', 'node-uae']
OLD = dict((node, 'old-' + node) for node in NODES)
NEW = dict((node, 'new-' + node) for node in NODES)


def status(node, keys, age=3, loss=0.0, skip=(), own=None):
    """A wg_status result on `node` whose peers hold `keys`, asked with those keys as `peers`."""
    peers, ping = [], []
    for peer in MESH['nodes'][node]['peers']:
        if peer['node'] in skip:
            continue
        peers.append({'node': peer['node'], 'public_key': keys[peer['node']], 'handshake_age': age,
                      'allowed_ips': list(peer['allowed_ips'])})
        ping.append({'node': peer['node'], 'loss_percent': loss})
    return {'up': True, 'interface': {'public_key': own or keys[node]}, 'peers': peers, 'ping': ping}


# --- the request ---------------------------------------------------------------------------

def test_request_defaults_to_every_node_of_the_mesh():
    assert rotation_request(PLAN, 'office') == {'mesh': 'office', 'interface': 'wg-office',
                                                'nodes': NODES, 'rotate': NODES}


@pytest.mark.parametrize('nodes', ['node-tr', ' node-tr , ', ['node-tr'], ['node-tr', 'node-tr']])
def test_request_takes_a_list_or_a_comma_separated_string(nodes):
    request = rotation_request(PLAN, 'office', nodes)
    assert request['rotate'] == ['node-tr'] and request['nodes'] == NODES


@pytest.mark.parametrize('mesh, nodes, message', [
    (None, None, 'set the mesh to rotate: -e mesh=NAME (meshes: backup, office)'),
    ('', None, 'set the mesh to rotate'),
    ('lab', None, "there is no mesh 'lab'"),
    ('backup', 'node-uae', 'not nodes of mesh backup: node-uae'),
    ('office', {'node-ir': 1}, 'must be a list'),
])
def test_request_refuses_what_it_cannot_rotate(mesh, nodes, message):
    with pytest.raises(RotationError, match=message.replace('(', r'\(').replace(')', r'\)')):
        rotation_request(PLAN, mesh, nodes)


# --- the link check ------------------------------------------------------------------------

def test_link_check_passes_when_every_link_handshook_and_answers():
    assert link_problems(status('node-ir', NEW), 'node-ir', NEW) == []


def test_link_check_names_each_problem():
    live = status('node-ir', NEW, age=None, loss=100.0, skip=['node-uae'], own=OLD['node-ir'])
    assert link_problems(live, 'node-ir', NEW) == [
        'node-ir: interface does not use its current key',
        'node-ir: no handshake with node-tr yet',
        'node-ir: no ping reply from node-tr',
        'node-ir: current key of node-uae not configured',
    ]


def test_link_check_counts_an_old_handshake_as_down():
    assert link_problems(status('node-ir', NEW, age=181), 'node-ir', NEW) == [
        'node-ir: last handshake with node-tr 181s ago', 'node-ir: last handshake with node-uae 181s ago']


def test_link_check_only_looks_at_the_given_peers():
    expected = {'node-ir': NEW['node-ir'], 'node-tr': NEW['node-tr']}
    assert link_problems(status('node-ir', NEW, skip=['node-uae']), 'node-ir', expected) == []


@pytest.mark.parametrize('live', [None, {}, {'up': False}, {'unreachable': True, 'msg': 'no route'}])
def test_link_check_reports_an_interface_it_cannot_read(live):
    assert link_problems(live, 'node-ir', NEW) == ['node-ir: interface down or not readable']


# --- the report ----------------------------------------------------------------------------

def key(node, rotated=True):
    return {'old': OLD[node], 'new': NEW[node] if rotated else OLD[node], 'rotated': rotated}


def test_report_of_a_complete_rotation_shows_public_key_fingerprints():
    facts = dict((node, {'key': key(node), 'status': status(node, NEW)}) for node in NODES)
    report = rotation_report(MESH, NODES, facts)
    assert report['complete'] is True
    assert report['rotated'] == dict((node, {'old': OLD[node], 'new': NEW[node]}) for node in NODES)
    assert (report['not_rotated'], report['stale'], report['unapplied'], report['problems']) == ([], {}, [], [])
    assert report['text'][0] == 'Key rotation of mesh office: complete'
    assert any('node-ir' in line and 'old-node-ir... -> new-node-ir...' in line and 'links ok' in line
               for line in report['text'])


def test_report_of_one_chosen_node_keeps_the_others():
    keys = dict(OLD, **{'node-tr': NEW['node-tr']})
    facts = dict((node, {'key': key(node, node == 'node-tr'), 'status': status(node, keys)}) for node in NODES)
    report = rotation_report(MESH, ['node-tr'], facts)
    assert report['complete'] is True and list(report['rotated']) == ['node-tr']
    assert any(line.split()[:2] == ['node-ir', 'kept'] for line in report['text'][1:])


def test_report_of_a_rotation_interrupted_by_an_unreachable_node():
    # node-uae did not answer: not rotated, not updated; it still has the others' old keys.
    keys = dict(NEW, **{'node-uae': OLD['node-uae']})
    facts = {'node-ir': {'key': key('node-ir'), 'status': status('node-ir', keys, skip=['node-uae'])},
             'node-tr': {'key': key('node-tr'), 'status': status('node-tr', keys, skip=['node-uae'])},
             'node-uae': {'key': None, 'status': None}}
    report = rotation_report(MESH, NODES, facts)
    assert report['complete'] is False
    assert report['not_rotated'] == ['node-uae']
    assert report['stale'] == {'node-uae': ['node-ir', 'node-tr']}
    assert report['problems'] == []  # the links between the nodes that were updated are fine
    assert 'Key rotation of mesh office: INCOMPLETE' == report['text'][0]
    assert 'not rotated: node-uae (unreachable or failed before its new key was made)' in report['text']
    assert 'not updated: node-uae still has the old key of node-ir, node-tr' in report['text']


def test_report_of_a_node_lost_after_its_key_was_made():
    facts = {'node-ir': {'key': key('node-ir'), 'status': None},
             'node-tr': {'key': key('node-tr', False), 'status': status('node-tr', NEW, skip=['node-ir'])},
             'node-uae': {'key': key('node-uae', False), 'status': status('node-uae', NEW, skip=['node-ir'])}}
    report = rotation_report(MESH, ['node-ir'], facts)
    assert report['complete'] is False
    assert report['unapplied'] == ['node-ir'] and report['stale'] == {}
    assert 'not live: node-ir has a new key on disk that its interface does not use yet' in report['text']


def test_report_names_links_that_did_not_come_back():
    facts = dict((node, {'key': key(node), 'status': status(node, NEW)}) for node in NODES)
    facts['node-tr']['status'] = status('node-tr', NEW, age=None)
    report = rotation_report(MESH, NODES, facts)
    assert report['complete'] is False
    assert report['problems'] == ['node-tr: no handshake with node-ir yet', 'node-tr: no handshake with node-uae yet']
    assert 'link: node-tr: no handshake with node-ir yet' in report['text']


def test_report_in_check_mode_changes_nothing_and_passes():
    facts = dict((node, {'key': {'old': OLD[node], 'new': '(check mode placeholder, no key yet)', 'rotated': True},
                         'status': None}) for node in NODES)
    report = rotation_report(MESH, NODES, facts, check_mode=True)
    assert report['complete'] is True
    assert report['text'][0] == 'Key rotation of mesh office: check mode, nothing changed'
    assert [line.split()[1:3] for line in report['text'][2:]] == [['would', 'rotate']] * 3


# --- keys of nodes that cannot be reached ------------------------------------------------

def test_live_peer_keys_reads_every_mesh_from_the_peers():
    backup = PLAN['meshes']['backup']
    statuses = {
        'node-ir': {'office': status('node-ir', OLD),
                    'backup': {'up': True, 'peers': [{'public_key': 'bk-tr', 'allowed_ips':
                                                      backup['nodes']['node-ir']['peers'][0]['allowed_ips']}]}},
        'node-tr': {'office': status('node-tr', OLD), 'backup': {'up': False}},
    }
    assert live_peer_keys(PLAN, statuses) == {
        'node-ir': {'office': OLD['node-ir']},
        'node-tr': {'office': OLD['node-tr'], 'backup': 'bk-tr'},
        'node-uae': {'office': OLD['node-uae']},
    }


def test_live_peer_keys_takes_the_key_most_peers_hold():
    statuses = {'node-ir': {'office': status('node-ir', NEW)},
                'node-tr': {'office': status('node-tr', OLD)},
                'node-uae': {'office': status('node-uae', NEW)}}
    keys = live_peer_keys(PLAN, statuses)
    assert keys['node-tr']['office'] == NEW['node-tr']  # node-ir and node-uae agree
    assert keys['node-ir']['office'] == min(OLD['node-ir'], NEW['node-ir'])  # a tie: stable choice
