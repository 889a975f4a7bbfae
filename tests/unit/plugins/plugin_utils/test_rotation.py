# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key rotation: the request, each node's key change, the post-update link check, the report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes
from ansible_collections.smite.wgmesh.plugins.plugin_utils.rotation import (
    RotationError, check_request, key_change, link_problems, rotation_report, rotation_request,
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


def test_key_change_from_a_keypair_result():
    rotated = {'changed': True, 'public_keys': {'office': NEW['node-ir'], 'backup': 'bk'},
               'previous_public_keys': {'office': OLD['node-ir']}}
    assert key_change(rotated, 'office') == {'old': OLD['node-ir'], 'new': NEW['node-ir'], 'rotated': True}
    assert key_change(rotated, 'backup') == {'old': 'bk', 'new': 'bk', 'rotated': False}
    with pytest.raises(RotationError, match='not a smite.wgmesh.wg_keypair result for mesh lab'):
        key_change(rotated, 'lab')


def test_check_request_asks_only_for_the_peers_still_in_the_run():
    keys = dict((node, key(node)) for node in NODES)
    check = check_request(MESH, 'node-ir', keys, ['node-ir', 'node-uae'])
    assert check['expected'] == {'node-ir': NEW['node-ir'], 'node-uae': NEW['node-uae']}
    assert check['peers'] == {NEW['node-uae']: 'node-uae'}
    assert check['ping'] == [{'node': 'node-uae', 'address': MESH['nodes']['node-uae']['address']}]


def test_report_of_a_complete_rotation_shows_public_key_fingerprints():
    keys = dict((node, key(node)) for node in NODES)
    report = rotation_report(MESH, NODES, keys, dict((node, status(node, NEW)) for node in NODES))
    assert report['complete'] is True
    assert report['rotated'] == dict((node, {'old': OLD[node], 'new': NEW[node]}) for node in NODES)
    assert (report['not_rotated'], report['stale'], report['unapplied'], report['problems']) == ([], {}, [], [])
    assert report['text'][0] == 'Key rotation of mesh office: complete'
    assert any('node-ir' in line and 'old-node-ir... -> new-node-ir...' in line and 'links ok' in line
               for line in report['text'])


def test_report_of_one_chosen_node_keeps_the_others():
    held = dict(OLD, **{'node-tr': NEW['node-tr']})
    keys = dict((node, key(node, node == 'node-tr')) for node in NODES)
    report = rotation_report(MESH, ['node-tr'], keys, dict((node, status(node, held)) for node in NODES))
    assert report['complete'] is True and list(report['rotated']) == ['node-tr']
    assert any(line.split()[:2] == ['node-ir', 'kept'] for line in report['text'][1:])


def test_report_of_a_rotation_interrupted_by_an_unreachable_node():
    # node-uae did not answer: not rotated, not updated; it still has the others' old keys.
    held = dict(NEW, **{'node-uae': OLD['node-uae']})
    keys = {'node-ir': key('node-ir'), 'node-tr': key('node-tr')}
    checks = {'node-ir': status('node-ir', held, skip=['node-uae']), 'node-tr': status('node-tr', held, skip=['node-uae'])}
    report = rotation_report(MESH, NODES, keys, checks)
    assert report['complete'] is False
    assert report['not_rotated'] == ['node-uae']
    assert report['stale'] == {'node-uae': ['node-ir', 'node-tr']}
    assert report['problems'] == []  # the links between the nodes that were updated are fine
    assert 'Key rotation of mesh office: INCOMPLETE' == report['text'][0]
    assert 'not rotated: node-uae (unreachable or failed before its new key was made)' in report['text']
    assert 'not updated: node-uae still has the old key of node-ir, node-tr' in report['text']


def test_report_of_a_node_lost_after_its_key_was_made():
    keys = {'node-ir': key('node-ir'), 'node-tr': key('node-tr', False), 'node-uae': key('node-uae', False)}
    checks = {'node-tr': status('node-tr', NEW, skip=['node-ir']), 'node-uae': status('node-uae', NEW, skip=['node-ir'])}
    report = rotation_report(MESH, ['node-ir'], keys, checks)
    assert report['complete'] is False
    assert report['unapplied'] == ['node-ir'] and report['stale'] == {}
    assert 'not live: node-ir has a new key on disk that its interface does not use yet' in report['text']


def test_report_names_links_that_did_not_come_back():
    keys = dict((node, key(node)) for node in NODES)
    checks = dict((node, status(node, NEW)) for node in NODES)
    checks['node-tr'] = status('node-tr', NEW, age=None)
    report = rotation_report(MESH, NODES, keys, checks)
    assert report['complete'] is False
    assert report['problems'] == ['node-tr: no handshake with node-ir yet', 'node-tr: no handshake with node-uae yet']
    assert 'link: node-tr: no handshake with node-ir yet' in report['text']


def test_report_in_check_mode_changes_nothing_and_passes():
    keys = dict((node, {'old': OLD[node], 'new': '(check mode placeholder, no key yet)', 'rotated': True})
                for node in NODES)
    report = rotation_report(MESH, NODES, keys, {}, check_mode=True)
    assert report['complete'] is True
    assert report['text'][0] == 'Key rotation of mesh office: check mode, nothing changed'
    assert [line.split()[1:3] for line in report['text'][2:]] == [['would', 'rotate']] * 3
