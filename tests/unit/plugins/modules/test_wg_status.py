# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import time

import pytest

from ansible_collections.smite.wgmesh.plugins.modules import wg_status

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
PRIVATE_KEY = 'CPU/ww+Oc4+uoI8hjJ2jddliwka8ugpQySj2qutE90o='
PRESHARED_KEY = '8B6/zgH2HgmfLqL5PLQGn+AbO+9GvKQPDS3CrczUpOg='
PUB_A = '4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY='
PUB_B = 't1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ='
PUB_NEVER = 'a+AeZFRg6lx5Ryl8zcJr7LgVJ4kkljd3NfhdtciPjhE='
PUB_PLANNED_ABSENT = 'Y' * 43 + '='
HANDSHAKE = 1795663789
# 'lo' exists in every network namespace, so the module's existence check passes
# while the wg and ping commands are answered from real captured output.
IFACE = 'lo'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture
def commands(monkeypatch):
    """Answer wg/ping from fixtures; record every argv."""
    calls = []
    answers = {
        'wg': (0, fixture('wg_dump_two_peers_one_never.txt'), ''),
        '10.99.0.2': (0, fixture('ping_all_received.txt'), ''),
        '10.99.0.3': (1, fixture('ping_total_loss.txt'), ''),
        '10.99.0.4': (0, fixture('ping_partial_loss.txt'), ''),
        '10.123.0.9': (2, '', 'ping: connect: Network is unreachable\n'),
    }

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        return answers['wg' if argv[0].endswith('/wg') else argv[-1]]

    monkeypatch.setattr(wg_status.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(wg_status.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    monkeypatch.setattr(time, 'time', lambda: HANDSHAKE + 30.5)
    return answers, calls


@pytest.mark.parametrize('check_mode', [False, True])
def test_reports_peers_by_planned_name(run_module, commands, check_mode):
    result, out = run_module(wg_status.main, {
        'interface': IFACE,
        'peers': {PUB_B: 'node-tr', PUB_NEVER: 'node-uae', PUB_PLANNED_ABSENT: 'node-de'},
    }, check_mode=check_mode)
    assert result['changed'] is False and result['up'] is True
    assert result['interface'] == {'name': IFACE, 'public_key': PUB_A, 'listen_port': 51820, 'fwmark': None}
    assert result['peers'] == [
        {'node': 'node-tr', 'public_key': PUB_B, 'endpoint': '172.31.77.2:51821',
         'allowed_ips': ['10.99.0.2/32', '192.168.20.0/24'], 'latest_handshake': HANDSHAKE,
         'handshake_age': 30, 'rx_bytes': 1756, 'tx_bytes': 2024, 'persistent_keepalive': 25},
        {'node': 'node-uae', 'public_key': PUB_NEVER, 'endpoint': None,
         'allowed_ips': ['10.99.0.3/32'], 'latest_handshake': None,
         'handshake_age': None, 'rx_bytes': 0, 'tx_bytes': 0, 'persistent_keepalive': None},
    ]
    assert result['missing_peers'] == [{'node': 'node-de', 'public_key': PUB_PLANNED_ABSENT}]
    assert result['ping'] == []
    assert PRIVATE_KEY not in out and PRESHARED_KEY not in out
    assert commands[1] == [['/usr/bin/wg', 'show', IFACE, 'dump']]


def test_unknown_peer_has_no_node(run_module, commands):
    result, dummy = run_module(wg_status.main, {'interface': IFACE})
    assert [peer['node'] for peer in result['peers']] == [None, None]
    assert result['missing_peers'] == []


def test_ping_results(run_module, commands):
    targets = [
        {'node': 'node-tr', 'address': '10.99.0.2'},
        {'node': 'node-uae', 'address': '10.99.0.3'},
        {'node': 'node-de', 'address': '10.99.0.4'},
        {'node': 'node-x', 'address': '10.123.0.9'},
    ]
    result, dummy = run_module(wg_status.main, {'interface': IFACE, 'ping': targets, 'ping_count': 3})
    summary = [(p['node'], p['address'], p['transmitted'], p['received'], p['loss_percent'],
                p['latency_avg_ms'], p['error']) for p in result['ping']]
    assert summary == [
        ('node-tr', '10.99.0.2', 5, 5, 0.0, 0.432, None),
        ('node-uae', '10.99.0.3', 5, 0, 100.0, None, None),
        ('node-de', '10.99.0.4', 10, 6, 40.0, 1.154, None),
        ('node-x', '10.123.0.9', 0, 0, 100.0, None, 'ping: connect: Network is unreachable'),
    ]
    pings = sorted(call for call in commands[1] if call[0] == '/usr/bin/ping')
    assert pings[0] == ['/usr/bin/ping', '-c', '3', '-i', '0.2', '-W', '1', '-q', '-I', IFACE, '10.123.0.9']
    assert len(pings) == 4
    # The dump comes last, so it shows the handshakes the pings made.
    assert commands[1][-1] == ['/usr/bin/wg', 'show', IFACE, 'dump'] and len(commands[1]) == 5


def test_missing_interface_is_a_status_not_a_failure(run_module, commands):
    result, dummy = run_module(wg_status.main, {
        'interface': 'wgt-absent0',
        'peers': {PUB_B: 'node-tr'},
        'ping': [{'node': 'node-tr', 'address': '10.99.0.2'}],
    })
    assert 'failed' not in result
    assert result['up'] is False and result['changed'] is False and result['peers'] == []
    assert result['interface'] == {'name': 'wgt-absent0', 'public_key': None, 'listen_port': None, 'fwmark': None}
    assert result['missing_peers'] == [{'node': 'node-tr', 'public_key': PUB_B}]
    assert result['ping'] == [{
        'node': 'node-tr', 'address': '10.99.0.2', 'transmitted': 0, 'received': 0,
        'loss_percent': 100.0, 'latency_min_ms': None, 'latency_avg_ms': None,
        'latency_max_ms': None, 'error': 'interface wgt-absent0 does not exist'}]
    # Nothing was run: no ping over some other route.
    assert commands[1] == []


def test_wg_failure_fails(run_module, commands):
    commands[0]['wg'] = (1, '', 'Unable to access interface: Protocol not supported\n')
    result, dummy = run_module(wg_status.main, {'interface': IFACE})
    assert result['failed'] is True
    assert result['msg'] == '"wg show lo dump" failed (rc 1): Unable to access interface: Protocol not supported'


def test_unparsable_dump_fails_without_quoting_it(run_module, commands):
    commands[0]['wg'] = (0, '%s\t%s\t%s\toff\n' % (PRIVATE_KEY, PUB_A, PRESHARED_KEY), '')
    result, out = run_module(wg_status.main, {'interface': IFACE})
    assert result['failed'] is True and 'cannot parse' in result['msg']
    assert PRIVATE_KEY not in out and PRESHARED_KEY not in out
