# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health agent's decisions and metrics (plugins/module_utils/health.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.health import (
    Health, agent_config, match_peer, render_metrics,
)

WALL = 1_800_000_000
CONFIG = {'interval': 10, 'stall_after': 75, 'backoff_max': 600, 'meshes': [{
    'mesh': 'office', 'interface': 'wg-office', 'peers': [
        {'node': 'node-tr', 'address': '10.250.0.2', 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'],
         'backhaul': {'instance': 'office.node-tr', 'mode': 'server'}},
        {'node': 'node-uae', 'address': '10.250.0.3', 'allowed_ips': ['10.250.0.3/32'], 'backhaul': None},
    ]}]}


def peer(allowed, rx, tx, handshake):
    return {'public_key': 'k', 'endpoint': None, 'allowed_ips': allowed, 'latest_handshake': handshake,
            'rx_bytes': rx, 'tx_bytes': tx, 'persistent_keepalive': 25}


def seen(rx=0, tx=0, handshake=WALL, unit='active', interface=True, backhaul='active', uae_rx=0):
    dump = {'interface': {}, 'peers': [peer(['192.168.20.0/24', '10.250.0.2/32'], rx, tx, handshake),
                                       peer(['10.250.0.3/32'], uae_rx, 0, handshake)]} if interface else None
    return {'office': {'unit': unit, 'interface': interface, 'dump': dump,
                       'ping': {'node-tr': {'loss_percent': 0.0, 'latency_avg_ms': 1.5}, 'node-uae': None},
                       'backhaul': {'office.node-tr': backhaul}}}


def run(health, rounds):
    """rounds: [(monotonic seconds, observation kwargs)] -> repairs of every round."""
    return [[(r['unit'], r['reason']) for r in health.observe(seen(**kw), now, WALL + now)] for now, kw in rounds]


@pytest.mark.parametrize('name, rounds, expected', [
    ('healthy link: traffic both ways, fresh handshakes',
     [(0, dict(rx=100, tx=100)), (40, dict(rx=200, tx=200, handshake=WALL + 30)),
      (80, dict(rx=300, tx=300, handshake=WALL + 70))], [[], [], []]),
    ('half-open: tx grows, rx does not -> restart after stall_after, reason one_way',
     [(0, dict(rx=100, tx=100)), (40, dict(rx=100, tx=200)), (80, dict(rx=100, tx=300))],
     [[], [], [('backhaul@office.node-tr.service', 'one_way')]]),
    ('dead both ways -> no_rx',
     [(0, dict(rx=100, tx=100)), (80, dict(rx=100, tx=100))], [[], [('backhaul@office.node-tr.service', 'no_rx')]]),
    ('handshake older than 180 s -> handshake_stale',
     [(0, dict(rx=100, tx=100, handshake=WALL - 200))], [[('backhaul@office.node-tr.service', 'handshake_stale')]]),
    ('never a handshake: waits stall_after from first sight',
     [(0, dict(rx=100, tx=100, handshake=None)), (50, dict(rx=150, tx=150, handshake=None)),
      (80, dict(rx=200, tx=200, handshake=None))],
     [[], [], [('backhaul@office.node-tr.service', 'handshake_stale')]]),
    ('admin stopped the mesh unit: nothing is restarted',
     [(0, dict(unit='inactive', interface=False)), (200, dict(unit='inactive', interface=False))], [[], []]),
    ('active unit, interface gone -> restart wg-quick@, then back off from 2 rounds (20, 40 s)',
     [(0, dict(interface=False)), (10, dict(interface=False)), (20, dict(interface=False)),
      (50, dict(interface=False)), (60, dict(interface=False))],
     [[('wg-quick@wg-office.service', 'interface_missing')], [], [('wg-quick@wg-office.service', 'interface_missing')],
      [], [('wg-quick@wg-office.service', 'interface_missing')]]),
    ('interface back for a round ends the backoff: a second crash is repaired at once',
     [(0, dict(interface=False)), (10, dict(rx=1, tx=1)), (12, dict(interface=False))],
     [[('wg-quick@wg-office.service', 'interface_missing')], [], [('wg-quick@wg-office.service', 'interface_missing')]]),
    ('Backhaul instance stopped by an admin: not restarted',
     [(0, dict(rx=100, tx=100, backhaul='inactive')), (80, dict(rx=100, tx=200, backhaul='inactive'))], [[], []]),
])
def test_decisions(name, rounds, expected):
    assert run(Health(CONFIG), rounds) == expected, name


def test_backoff_doubles_up_to_the_cap_for_a_peer_that_stays_down():
    health = Health(CONFIG)
    restarts = []
    for now in range(0, 3000, 10):
        if health.observe(seen(rx=100, tx=now), now, WALL + now):
            restarts.append(now)
    gaps = [b - a for a, b in zip(restarts, restarts[1:])]
    assert restarts[0] == 80  # first round at or past stall_after (75 s)
    assert gaps[:3] == [80, 150, 300]  # 75, 150, 300 s of backoff, rounded up to the 10 s rounds
    assert max(gaps) == 600 and len(restarts) <= 9


def test_recovery_resets_the_backoff():
    health = Health(CONFIG)
    run(health, [(0, dict(rx=1, tx=1)), (80, dict(rx=1, tx=2))])
    run(health, [(90, dict(rx=5, tx=3))])  # traffic again
    assert run(health, [(170, dict(rx=5, tx=9))]) == [[('backhaul@office.node-tr.service', 'one_way')]]


def test_totals_survive_an_interface_restart_and_the_agent_state():
    health = Health(CONFIG)
    run(health, [(0, dict(rx=1000, tx=500)), (10, dict(rx=3000, tx=900))])
    run(health, [(20, dict(interface=False)), (30, dict(rx=200, tx=100))])  # counters restart at 0
    state = json.loads(json.dumps(health.state))
    again = Health(CONFIG, state)
    run(again, [(0, dict(rx=250, tx=150))])
    # First sight counts the whole counter; a recreated interface counts from 0 again.
    assert again.report()['office']['rx_total'] == 1000 + 2000 + 200 + 50
    assert again.report()['office']['tx_total'] == 500 + 400 + 100 + 50


def test_report_names_the_last_repair():
    health = Health(CONFIG)
    run(health, [(0, dict(rx=1, tx=1)), (80, dict(rx=1, tx=5))])
    repair = health.report()['office']['peers']['node-tr']['last_repair']
    assert repair == {'time': WALL + 80, 'reason': 'one_way', 'unit': 'backhaul@office.node-tr.service'}


def test_match_peer_by_allowed_ips_in_any_order():
    live = [peer(['192.168.20.0/24', '10.250.0.2'], 1, 1, None)]
    assert match_peer(live, ['10.250.0.2/32', '192.168.20.0/24']) is live[0]
    assert match_peer(live, ['10.250.0.2/32']) is None


def test_metrics_text_has_help_type_and_escaped_labels():
    config = json.loads(json.dumps(CONFIG))
    config['meshes'][0]['peers'][1]['node'] = 'node"uae'
    health = Health(config)
    health.observe(seen(rx=10, tx=20), 0, WALL)
    text = render_metrics(health, {'wall': WALL, 'duration': 0.4, 'cpu': 0.05})
    assert '# TYPE wgmesh_peer_receive_bytes_total counter' in text
    assert '# HELP wgmesh_peer_up ' in text
    assert 'wgmesh_peer_receive_bytes_total{mesh="office",peer="node\\"uae"} 0' in text
    assert 'wgmesh_peer_latency_seconds{mesh="office",peer="node-tr"} 0.0015' in text
    assert 'wgmesh_peer_latency_seconds{mesh="office",peer="node\\"uae"}' not in text  # no reply, no sample
    assert 'wgmesh_interface_up{mesh="office"} 1' in text


def test_agent_config_from_a_host_plan_holds_no_token():
    entry = {'mesh': 'office', 'interface': 'wg-office',
             'peers': [{'node': 'node-tr', 'allowed_ips': ['10.250.0.2/32']}],
             'peer_addresses': [{'node': 'node-tr', 'address': '10.250.0.2'}],
             'backhaul': [{'peer': 'node-tr', 'instance': 'office.node-tr', 'mode': 'client', 'token': 'x' * 40}]}
    config = agent_config([entry], {'interval': 10})
    assert config['meshes'][0]['peers'][0]['backhaul'] == {'instance': 'office.node-tr', 'mode': 'client'}
    assert 'x' * 40 not in json.dumps(config)
