# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_sync's main() against a faked `wg` / `ip` (the real thing is exercised in namespaces)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smite.wgmesh.plugins.modules import wg_sync

# Test-only keys.
PRIV = 'QHTFu+clzfAZCtjBMrQ219IxgDPm+w4N/maRi+FIq0Y='
PUB = 'RPuTrROZOVwXZUHwOt5NJrbUwesD8xzQwblRs/tR7yI='
PEER_A = 'TOMz/DJcJEvZSbHQc/1IhZa+c4NQI1itLNghgv97U0w='
PEER_B = 'To2d+wlmVGGvtT92iFVWnsQHIakfbUxpB18SiO8pm2s='
IFACE = 'wg-office'

CONFIG = """[Interface]
Address = 10.250.0.1/24
ListenPort = 51871
MTU = 1280
Table = off
PostUp = wg set %i private-key {key}
{routes}{peers}"""
PEER = """
[Peer]
PublicKey = {key}
AllowedIPs = {ips}
PersistentKeepalive = 25
"""


class FakeHost(object):
    """Answers the read commands from a live state; records every other command."""

    def __init__(self, peers, routes):
        self.peers = peers            # [(public key, 'ip,ip')]
        self.routes = routes          # ['192.168.20.0/24']
        self.changes = []             # (argv, stdin) of mutating commands
        self.endpoints = {}           # public key -> live endpoint

    def run_command(self, args, data=None, check_rc=False, **kwargs):
        cmd = ' '.join(args[1:])
        if cmd == 'pubkey':  # used where the cryptography library is missing
            assert data.strip() == PRIV
            return 0, PUB + '\n', ''
        if cmd == 'show %s dump' % IFACE:
            lines = ['%s\t%s\t51871\toff' % (PRIV, PUB)]
            lines += ['%s\t(none)\t%s\t%s\t0\t0\t0\t25' % (key, self.endpoints.get(key, '(none)'), ips)
                      for key, ips in self.peers]
            return 0, '\n'.join(lines) + '\n', ''
        if cmd == '-j address show dev %s' % IFACE:
            return 0, json.dumps([{'addr_info': [
                {'family': 'inet', 'local': '10.250.0.1', 'prefixlen': 24, 'scope': 'global'}]}]), ''
        if cmd == '-j link show dev %s' % IFACE:
            return 0, json.dumps([{'mtu': 1280}]), ''
        if cmd == '-j -4 route show dev %s' % IFACE:
            return 0, json.dumps([{'dst': r} for r in self.routes]), ''
        if cmd == '-j -6 route show dev %s' % IFACE:
            return 0, '[]', ''
        if args[1] == 'strip':
            with open(args[2]) as handle:  # good enough: wg-quick's own keys are ignored by wg
                return 0, handle.read(), ''
        self.changes.append((args[1:], data))
        return 0, '', ''


@pytest.fixture
def host(tmp_path, monkeypatch):
    keyfile = tmp_path / 'office.key'
    keyfile.write_text(PRIV + '\n')
    sysnet = tmp_path / 'sys'
    (sysnet / IFACE).mkdir(parents=True)
    monkeypatch.setattr(wg_sync, 'SYS_CLASS_NET', str(sysnet))
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/bin/' + name)
    fake = FakeHost(peers=[(PEER_A, '10.250.0.2/32,192.168.20.0/24')], routes=['192.168.20.0/24'])
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda self, *a, **k: fake.run_command(*a, **k))

    def write_config(peers, routes=('192.168.20.0/24',)):
        path = tmp_path / ('%s.conf' % IFACE)
        body = ''.join(PEER.format(key=k, ips=ips) for k, ips in peers)
        hooks = ''.join('PostUp = ip route replace %s dev %%i\n' % r for r in routes)
        path.write_text(CONFIG.format(key=keyfile, routes=hooks, peers=body))
        return str(path)
    fake.write_config = write_config
    fake.keyfile = str(keyfile)
    fake.sysnet = sysnet
    return fake


def test_nothing_to_do(host, run_module):
    config = host.write_config([(PEER_A, '10.250.0.2/32, 192.168.20.0/24')])
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': config})
    assert result['changed'] is False
    assert result['changes'] == []
    assert host.changes == []


def test_peer_and_route_added_live_with_the_key_only_on_stdin(host, run_module):
    config = host.write_config([(PEER_A, '10.250.0.2/32, 192.168.20.0/24'),
                                (PEER_B, '10.250.0.3/32, 192.168.30.0/24')],
                               routes=['192.168.20.0/24', '192.168.30.0/24'])

    result, out = run_module(wg_sync.main, {'interface': IFACE, 'config': config}, diff=True)

    assert result['changed'] is True
    assert result['changes'] == ['peer added %s' % PEER_B, 'route added 192.168.30.0/24']
    syncs = [(argv, data) for argv, data in host.changes if argv[0] == 'syncconf']
    assert len(syncs) == 1
    argv, data = syncs[0]
    assert argv == ['syncconf', IFACE, '/dev/stdin']
    assert 'PrivateKey = %s' % PRIV in data.splitlines()
    assert (['route', 'replace', '192.168.30.0/24', 'dev', IFACE], None) in host.changes
    assert PRIV not in out
    assert 'peer: %s' % PEER_B in result['diff']['after']


@pytest.mark.parametrize('learned, endpoint, reset', [
    ('loopback', '203.0.113.2:51871', True),   # left over from transport direct: cleared
    ('loopback', '127.0.0.1:40001', False),    # learned through the local tunnel: kept
    ('any', '203.0.113.2:51871', False),       # a roaming peer behind NAT: kept
])
def test_stale_learned_endpoint_is_cleared_by_re_adding_the_peer(host, run_module, learned, endpoint, reset):
    host.endpoints[PEER_A] = endpoint
    config = host.write_config([(PEER_A, '10.250.0.2/32, 192.168.20.0/24')])
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': config, 'learned_endpoints': learned})
    assert result['changed'] is reset
    commands = [argv[:4] for argv, _data in host.changes]
    assert (['set', IFACE, 'peer', PEER_A] in commands) is reset
    if reset:  # removed first, then added back by syncconf
        assert commands.index(['set', IFACE, 'peer', PEER_A]) < [c[0] for c in commands].index('syncconf')


def test_unplanned_route_removed_without_syncconf(host, run_module):
    host.routes = ['192.168.20.0/24', '192.168.99.0/24']
    config = host.write_config([(PEER_A, '10.250.0.2/32, 192.168.20.0/24')])
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': config})
    assert result['changes'] == ['route removed 192.168.99.0/24']
    assert host.changes == [(['route', 'del', '192.168.99.0/24', 'dev', IFACE], None)]


def test_check_mode_reports_and_changes_nothing(host, run_module):
    config = host.write_config([(PEER_B, '10.250.0.3/32')])
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': config}, check_mode=True)
    assert result['changed'] is True
    assert result['details']['peers_added'] == [PEER_B]
    assert result['details']['peers_removed'] == [PEER_A]
    assert host.changes == []


@pytest.mark.parametrize('check_mode, failed', [(True, False), (False, True)])
def test_absent_interface(host, run_module, check_mode, failed):
    config = host.write_config([(PEER_A, '10.250.0.2/32, 192.168.20.0/24')])
    (host.sysnet / IFACE).rmdir()
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': config}, check_mode=check_mode)
    assert bool(result.get('failed')) is failed
    assert result['changed'] is not failed
    assert 'is not up' in (result.get('msg') or result['changes'][0])
    assert host.changes == []


def test_absent_config_in_check_mode_is_a_change(host, run_module, tmp_path):
    result, _out = run_module(wg_sync.main, {'interface': IFACE, 'config': str(tmp_path / 'none.conf')},
                              check_mode=True)
    assert result['changed'] is True
    assert 'does not exist' in result['changes'][0]
