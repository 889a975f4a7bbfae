# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_peer_keys: a node's own public keys and what its configs and interfaces hold for its
peers, read only, never a private or preshared key."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.smite.wgmesh.plugins.modules import wg_peer_keys

PRIVATE_KEY = 'CPU/ww+Oc4+uoI8hjJ2jddliwka8ugpQySj2qutE90o='
PRESHARED_KEY = '8B6/zgH2HgmfLqL5PLQGn+AbO+9GvKQPDS3CrczUpOg='
OWN = '4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY='
TR = 't1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ='
UAE = 'a+AeZFRg6lx5Ryl8zcJr7LgVJ4kkljd3NfhdtciPjhE='

CONFIG = """[Interface]
Address = 10.250.0.1/24
PrivateKey = %s
MTU = 1280

[Peer]
# node-tr
PublicKey = %s
PresharedKey = %s
AllowedIPs = 10.250.0.2/32, 192.168.20.0/24
PersistentKeepalive = 25
""" % (PRIVATE_KEY, TR, PRESHARED_KEY)


@pytest.fixture
def dirs(tmp_path):
    key_dir, config_dir = tmp_path / 'wgmesh', tmp_path / 'wireguard'
    key_dir.mkdir()
    config_dir.mkdir()
    (key_dir / 'office.pub').write_text(OWN + '\n')
    (key_dir / 'office.key').write_text(PRIVATE_KEY + '\n')
    (key_dir / 'backup.pub').write_text('garbage\n')
    (config_dir / 'wg-office.conf').write_text(CONFIG)
    return {'key_dir': str(key_dir), 'config_dir': str(config_dir)}


@pytest.fixture
def live(monkeypatch):
    """wg-office exists and `wg show wg-office allowed-ips` answers with two peers."""
    calls = []
    real_exists = os.path.exists

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        return 0, '%s\t10.250.0.2/32 192.168.20.0/24\n%s\t10.250.0.3/32\n' % (TR, UAE), ''

    monkeypatch.setattr(wg_peer_keys.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(wg_peer_keys.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    monkeypatch.setattr(wg_peer_keys.os.path, 'exists',
                        lambda path: path == '/sys/class/net/wg-office' or real_exists(path))
    return calls


@pytest.mark.parametrize('check_mode', [False, True])
def test_reads_own_keys_config_and_live_peers(run_module, dirs, live, check_mode):
    result, out = run_module(wg_peer_keys.main, dict(dirs, names=['office', 'backup']), check_mode=check_mode)
    assert result['changed'] is False
    assert result['public_keys'] == {'office': OWN}  # backup.pub holds no key
    assert result['peers']['office'] == [
        {'public_key': UAE, 'allowed_ips': ['10.250.0.3/32'], 'node': None, 'config': False, 'live': True},
        {'public_key': TR, 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'], 'node': 'node-tr',
         'config': True, 'live': True},
    ]
    assert result['peers']['backup'] == []
    assert live == [['/usr/bin/wg', 'show', 'wg-office', 'allowed-ips']]
    assert PRIVATE_KEY not in out and PRESHARED_KEY not in out


def test_a_node_never_converged_holds_nothing(run_module, tmp_path, monkeypatch):
    monkeypatch.setattr(wg_peer_keys.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: None)
    result, dummy = run_module(wg_peer_keys.main, {'names': ['office'], 'key_dir': str(tmp_path / 'none'),
                                                   'config_dir': str(tmp_path / 'none')})
    assert result == dict(result, changed=False, public_keys={}, peers={'office': []})


def test_own_keys_only(run_module, dirs, live):
    result, dummy = run_module(wg_peer_keys.main, dict(dirs, names=['office'], peers=False))
    assert result['public_keys'] == {'office': OWN} and result['peers'] == {'office': []}
    assert live == []


def test_refuses_names_that_are_not_mesh_names(run_module, dirs):
    result, dummy = run_module(wg_peer_keys.main, dict(dirs, names=['../etc']))
    assert result['failed'] is True and 'not mesh names' in result['msg']
