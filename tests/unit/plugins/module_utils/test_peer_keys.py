# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing each peer's public key when nodes are down or outside the play (issue #14):
from the play, from a read outside it, from the last known keys the reachable nodes hold
(config or live), conflicts between them, none known; and the run's pending report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import (
    choose_peer_keys, config_peers, held_key, is_public_key, known_peers, last_known_key, live_peers,
    pending_report, plans_peer,
)
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import (
    host_plan, peer_public_keys, peers_outside, plan_meshes,
)

INVENTORY = dict(('node-%s' % n, {'public_address': '203.0.113.%d' % i})
                 for i, n in enumerate(['ir', 'tr', 'uae', 'x', 'y'], 1))
OFFICE = {'name': 'office', 'nodes': ['node-ir', 'node-tr', 'node-uae', 'node-x'], 'overlay_subnet': '10.250.0.0/24',
          'lan_subnets': {'node-ir': '192.168.10.0/24', 'node-tr': '192.168.20.0/24'}, 'transport': 'direct'}
HUB = {'name': 'star', 'nodes': ['node-ir', 'node-tr', 'node-uae'], 'overlay_subnet': '10.251.0.0/24',
       'topology': 'hub-spoke', 'hub': 'node-ir', 'transport': 'direct',
       'lan_subnets': {'node-tr': '192.168.21.0/24', 'node-uae': '192.168.31.0/24'}}
PLAN = plan_meshes([OFFICE, HUB], INVENTORY, 'peer-keys-secret-0123456789')


def key(label):
    """A well-formed public key, different for each label."""
    raw = (label.encode('ascii') * 32)[:32]
    return base64.b64encode(raw).decode('ascii')


KEYS = dict((node, key(node)) for node in INVENTORY)


def entries(host, mesh=None):
    return [e for e in host_plan(PLAN, host) if mesh is None or e['mesh'] == mesh]


def held(node, peers, live=(), comments=True, mesh='office'):
    """known_peers() of `node` as if its config held `peers` (node -> key) with the planned AllowedIPs."""
    planned = dict((p['node'], p['allowed_ips']) for p in PLAN['meshes'][mesh]['nodes'][node]['peers'])
    config = [{'public_key': k, 'allowed_ips': planned[p], 'node': p if comments else None} for p, k in peers.items()]
    return known_peers(config, [{'public_key': k, 'allowed_ips': planned[p]} for p, k in dict(live).items()])


def play(*nodes, mesh='office'):
    return dict((node, {mesh: KEYS[node]}) for node in nodes)


# --- node side: what a config and an interface hold -------------------------------------

CONFIG = """# managed by smite.wgmesh: changes are overwritten
[Interface]
Address = 10.250.0.1/24
PrivateKey = %(secret)s
PostUp = wg set %%i private-key /etc/wireguard/wgmesh/office.key

[Peer]
# node-tr
PublicKey = %(tr)s
PresharedKey = %(secret)s
AllowedIPs = 10.250.0.2/32, 192.168.20.0/24
Endpoint = 127.0.0.1:24017

[Peer]
PublicKey = %(uae)s   # hand-written, no node comment
AllowedIPs = 10.250.0.3
[peer]
# node-bad
PublicKey = not-a-key
AllowedIPs = 10.250.0.9/32
"""


def test_config_peers_reads_keys_allowed_ips_and_the_node_comment_only():
    secret = key('secret')
    text = CONFIG % {'tr': KEYS['node-tr'], 'uae': KEYS['node-uae'], 'secret': secret}
    peers = config_peers(text)
    assert peers == [
        {'public_key': KEYS['node-tr'], 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'], 'node': 'node-tr'},
        {'public_key': KEYS['node-uae'], 'allowed_ips': ['10.250.0.3/32'], 'node': None},
    ]
    assert secret not in repr(peers)


@pytest.mark.parametrize('text', [None, '', 'garbage', '[Peer]\nAllowedIPs = bad\n', '[Interface]\nPublicKey = x\n'])
def test_config_peers_never_raises(text):
    assert config_peers(text) == []


def test_live_peers_and_merge_prefer_the_config_allowed_ips():
    out = '%s\t10.250.0.2/32 192.168.20.0/24\n%s\t(none)\nnot a line\n' % (KEYS['node-tr'], KEYS['node-x'])
    live = live_peers(out)
    assert live == [{'public_key': KEYS['node-tr'], 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24']},
                    {'public_key': KEYS['node-x'], 'allowed_ips': []}]
    config = [{'public_key': KEYS['node-tr'], 'allowed_ips': ['10.250.0.2/32'], 'node': 'node-tr'}]
    merged = known_peers(config, live)
    by_key = dict((p['public_key'], p) for p in merged)
    assert by_key[KEYS['node-tr']] == {'public_key': KEYS['node-tr'], 'allowed_ips': ['10.250.0.2/32'],
                                       'node': 'node-tr', 'config': True, 'live': True}
    assert by_key[KEYS['node-x']]['config'] is False and by_key[KEYS['node-x']]['node'] is None


# --- where a key comes from ------------------------------------------------------------

def test_key_from_the_play():
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-tr', 'node-uae', 'node-x'), host='node-ir')
    assert choice['public_keys'] == {'office': {'node-tr': KEYS['node-tr'], 'node-uae': KEYS['node-uae'],
                                                'node-x': KEYS['node-x']}}
    assert set(choice['sources']['office'].values()) == {'play'}
    assert choice['missing'] == [] and choice['last_known'] == {}


def test_key_read_outside_the_play_when_the_play_has_none():
    read = {('office', 'node-x'): KEYS['node-x']}
    known = {'node-uae': {'office': held('node-uae', {'node-x': key('stale')})}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-tr', 'node-uae'), read, known, host='node-ir')
    assert choice['public_keys']['office']['node-x'] == KEYS['node-x']
    assert choice['sources']['office']['node-x'] == 'read'


def test_play_wins_over_a_read_and_over_held_keys():
    read = {('office', 'node-tr'): key('read')}
    known = {'node-uae': {'office': held('node-uae', {'node-tr': key('held')})}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-tr'), read, known, host='node-ir')
    assert choice['public_keys']['office']['node-tr'] == KEYS['node-tr']


@pytest.mark.parametrize('source', ['config', 'live'])
def test_last_known_key_from_a_reachable_node(source):
    """node-tr is down: node-uae holds its key in its config or only on its interface."""
    old = key('tr-old')
    if source == 'config':
        holdings = held('node-uae', {'node-tr': old})
    else:
        holdings = held('node-uae', {}, live={'node-tr': old})
    known = {'node-uae': {'office': holdings}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-uae', 'node-x'), known=known, host='node-ir')
    assert choice['public_keys']['office']['node-tr'] == old
    assert choice['sources']['office']['node-tr'] == 'last-known'
    assert choice['last_known'] == {'office': {'node-tr': {'voters': ['node-uae'], 'others': {}}}}


def test_last_known_key_is_matched_by_overlay_address_not_by_comment():
    """An entry commented node-tr but holding another address is not node-tr's; an entry
    without comment holding node-tr's address is."""
    planned = dict((p['node'], p['allowed_ips']) for p in PLAN['meshes']['office']['nodes']['node-uae']['peers'])
    wrong = {'public_key': key('liar'), 'allowed_ips': ['10.250.0.99/32'], 'node': 'node-tr'}
    right = {'public_key': key('tr-old'), 'allowed_ips': planned['node-tr'], 'node': None}
    known = {'node-uae': {'office': known_peers([wrong, right])}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-uae', 'node-x'), known=known, host='node-ir')
    assert choice['public_keys']['office']['node-tr'] == key('tr-old')


def test_a_comment_naming_another_node_vetoes_the_match():
    """Nodes renumbered (a node removed from the middle): the entry holding node-tr's new
    address is commented with the node that had it before, so it is not node-tr's key."""
    stale = {'public_key': key('gone'), 'allowed_ips': ['10.250.0.2/32'], 'node': 'node-gone'}
    assert held_key([stale], 'node-tr', '10.250.0.2') is None
    assert held_key([dict(stale, node=None)], 'node-tr', '10.250.0.2') == key('gone')


def test_most_specific_entry_wins_and_config_beats_live_only():
    wide = {'public_key': key('wide'), 'allowed_ips': ['10.250.0.0/24'], 'node': None, 'config': True}
    narrow = {'public_key': key('narrow'), 'allowed_ips': ['10.250.0.2/32'], 'node': None, 'config': False}
    assert held_key([wide, narrow], 'node-tr', '10.250.0.2') == key('narrow')
    live_only = dict(narrow, public_key=key('live'), config=False)
    in_config = dict(narrow, public_key=key('conf'), config=True)
    assert held_key([live_only, in_config], 'node-tr', '10.250.0.2') == key('conf')
    # two equally good answers: none
    assert held_key([dict(in_config, public_key=key('a')), dict(in_config, public_key=key('b'))],
                    'node-tr', '10.250.0.2') is None


def test_a_key_of_another_node_is_never_chosen():
    """node-uae's config holds node-ir's key at node-tr's address (a mistake): node-ir's key is
    known from the play, so it cannot be node-tr's."""
    known = {'node-uae': {'office': held('node-uae', {'node-tr': KEYS['node-x']})}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-uae', 'node-x'), known=known, host='node-ir')
    assert choice['missing'] == [['office', 'node-tr']]


def test_invalid_held_keys_are_no_votes():
    bad = {'public_key': 'not-a-key', 'allowed_ips': ['10.250.0.2/32'], 'node': 'node-tr', 'config': True}
    assert held_key([bad], 'node-tr', '10.250.0.2') is None
    assert not is_public_key('(check mode placeholder, no key yet)')


# --- conflicts -------------------------------------------------------------------------

def test_conflicting_last_known_keys_majority_wins():
    a, b = key('tr-a'), key('tr-b')
    known = {'node-ir': {'office': held('node-ir', {'node-tr': b})},
             'node-uae': {'office': held('node-uae', {'node-tr': a})},
             'node-x': {'office': held('node-x', {'node-tr': a})}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-uae', 'node-x'), known=known, host='node-ir')
    assert choice['public_keys']['office']['node-tr'] == a
    assert choice['last_known']['office']['node-tr'] == {'voters': ['node-uae', 'node-x'], 'others': {b: ['node-ir']}}


def test_conflicting_last_known_keys_tie_goes_to_the_first_node_name():
    a, b = key('tr-a'), key('tr-b')
    known = {'node-x': {'office': held('node-x', {'node-tr': a})},
             'node-uae': {'office': held('node-uae', {'node-tr': b})}}
    for order in (known, dict(reversed(list(known.items())))):
        chosen, votes = last_known_key(entries('node-ir', 'office')[0], 'node-tr', '10.250.0.2', order)
        assert chosen == b  # held by node-uae, which sorts before node-x
        assert votes == {a: ['node-x'], b: ['node-uae']}


def test_none_known_is_left_out_and_reported():
    """node-x is new and never converged: nobody holds a key for it."""
    known = dict((n, {'office': held(n, {'node-tr': KEYS['node-tr']})}) for n in ('node-ir', 'node-uae'))
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-tr', 'node-uae'), known=known, host='node-ir')
    assert 'node-x' not in choice['public_keys']['office']
    assert choice['missing'] == [['office', 'node-x']]
    assert 'node-x' not in choice['sources']['office']


# --- hub-spoke: only nodes that plan the peer vote -------------------------------------

def test_hub_spoke_a_spoke_does_not_vote_for_another_spoke():
    hub_entry = entries('node-ir', 'star')[0]
    assert plans_peer(dict(hub_entry, _host='node-ir'), 'node-ir', 'node-tr')
    assert not plans_peer(dict(hub_entry, _host='node-ir'), 'node-uae', 'node-tr')
    # node-uae's hub entry holds the whole overlay, so node-tr's address too: no vote from it
    known = {'node-uae': {'star': held('node-uae', {'node-ir': key('hub')}, comments=False, mesh='star')}}
    choice = choose_peer_keys([hub_entry], play('node-uae', mesh='star'), known=known, host='node-ir')
    assert choice['missing'] == [['star', 'node-tr']]


def test_hub_spoke_spokes_vote_for_the_hub():
    spoke_entry = entries('node-tr', 'star')[0]
    known = {'node-uae': {'star': held('node-uae', {'node-ir': key('hub')}, mesh='star')}}
    choice = choose_peer_keys([spoke_entry], {}, known=known, host='node-tr')
    assert choice['public_keys'] == {'star': {'node-ir': key('hub')}}


# --- planner wrappers ------------------------------------------------------------------

def test_planner_wrappers():
    mine = entries('node-ir', 'office')
    assert peers_outside(mine, ['node-ir', 'node-tr']) == [['office', 'node-uae'], ['office', 'node-x']]
    known = {'node-uae': {'office': held('node-uae', {'node-x': KEYS['node-x']})}}
    assert peer_public_keys(mine, play('node-tr'), {('office', 'node-uae'): KEYS['node-uae']}, known, 'node-ir') == {
        'office': {'node-tr': KEYS['node-tr'], 'node-uae': KEYS['node-uae'], 'node-x': KEYS['node-x']}}


# --- the pending report ----------------------------------------------------------------

def _state(reached=True, converged=True, choice=None):
    return {'reached': None if reached is None else ({'unreachable': True} if reached is False else {'ping': 'pong'}),
            'converged': converged, 'choice': choice}


def _choices(down, holders, others=None):
    """Each live node's choice with node `down` kept (from holders) or left out."""
    result = {}
    for node in ('node-ir', 'node-tr', 'node-uae', 'node-x'):
        if node == down:
            continue
        known = dict((h, {'office': held(h, {down: KEYS[down]})}) for h in holders if h != node and h != down)
        if node in holders:
            known[node] = {'office': held(node, {down: KEYS[down]})}
        keys = play(*[n for n in ('node-ir', 'node-tr', 'node-uae', 'node-x') if n not in (down, node)])
        result[node] = choose_peer_keys(entries(node, 'office'), keys, known=known, host=node)
    return result


def test_report_names_unreachable_nodes_and_where_their_key_was_kept():
    plan = plan_meshes([OFFICE], INVENTORY, 'peer-keys-secret-0123456789')
    choices = _choices('node-tr', ['node-ir', 'node-uae'])
    states = dict((n, _state(choice=c)) for n, c in choices.items())
    states['node-tr'] = _state(reached=False, converged=False)
    assert pending_report(plan, states) == [
        'pending: node-tr unreachable: not converged; its last known key kept on node-ir, node-uae, node-x']


def test_report_names_a_new_node_left_out_and_a_failed_one():
    plan = plan_meshes([OFFICE], INVENTORY, 'peer-keys-secret-0123456789')
    choices = _choices('node-x', [])
    states = dict((n, _state(choice=c)) for n, c in choices.items())
    states['node-x'] = _state(reached=False, converged=False)
    states['node-y'] = _state(reached=True, converged=False)  # a fleet host in no mesh that failed
    assert pending_report(plan, states) == [
        'pending: node-x unreachable: not converged; its peer entry left out on node-ir, node-tr, node-uae (no known key)',
        'pending: node-y failed: not converged; in no mesh: meshes no longer planned for it are not taken down yet']


def test_report_outside_the_run_and_conflicts():
    plan = plan_meshes([OFFICE], INVENTORY, 'peer-keys-secret-0123456789')
    a, b = key('tr-a'), key('tr-b')
    # --limit node-ir: node-tr unreachable outside the run, node-x outside and never converged
    known = {'node-ir': {'office': held('node-ir', {'node-tr': a})},
             'node-uae': {'office': held('node-uae', {'node-tr': b})},
             'node-x': {'office': held('node-x', {'node-tr': b})}}
    choice = choose_peer_keys(entries('node-ir', 'office'), play('node-uae'), known=known,
                              unread={'node-tr': 'unreachable', 'node-x': 'failed'}, host='node-ir')
    lines = pending_report(plan, {'node-ir': _state(choice=choice), 'node-uae': _state(reached=None, converged=False)})
    assert lines == [
        'note: node-tr (not in this run): could not be read (unreachable); its last known key kept on node-ir',
        'pending: node-x (not in this run): could not be read (failed); its peer entry left out on node-ir (no known key)',
        'note: mesh office: reachable nodes hold different keys for node-tr; kept %s (held by node-uae, node-x: '
        'most holders, then the first node name) over %s (held by node-ir)' % (b[:12] + '...', a[:12] + '...'),
    ]


def test_report_is_empty_when_everything_converged():
    plan = plan_meshes([OFFICE], INVENTORY, 'peer-keys-secret-0123456789')
    states = dict((n, _state(choice=choose_peer_keys(entries(n, 'office'), play(*OFFICE['nodes']), host=n)))
                  for n in OFFICE['nodes'])
    assert pending_report(plan, states) == []
