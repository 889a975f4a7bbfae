# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.backhaul import (
    MARKER,
    BackhaulError,
    managed_mesh,
    mask_token,
    plan_files,
    render_config,
    render_dropin,
    toml_value,
    validate_link,
)

TOKEN = 'a3f1c2d4e5b60718293a4b5c6d7e8f9012345678'

SERVER = {'instance': 'office.node-tr', 'mesh': 'office', 'peer': 'node-tr', 'mode': 'server',
          'bind_port': 21345, 'loopback_port': 24017, 'target_port': 51903, 'token': TOKEN}
CLIENT = {'instance': 'office.node-uae', 'mesh': 'office', 'peer': 'node-uae', 'mode': 'client',
          'bind_port': 22001, 'remote': '198.51.100.7:22001', 'token': TOKEN}


def test_server_config():
    assert render_config(SERVER) == (
        MARKER + 'office\n'
        '[server]\n'
        'bind_addr = "0.0.0.0:21345"\n'
        'transport = "udp"\n'
        'token = "%s"\n'
        'heartbeat = 20\n'
        'channel_size = 2048\n'
        'sniffer = false\n'
        'web_port = 0\n'
        'skip_optz = true\n'
        'log_level = "info"\n'
        'ports = ["127.0.0.1:24017=127.0.0.1:51903"]\n' % TOKEN)


def test_client_config():
    assert render_config(CLIENT, log_level='debug') == (
        MARKER + 'office\n'
        '[client]\n'
        'remote_addr = "198.51.100.7:22001"\n'
        'transport = "udp"\n'
        'token = "%s"\n'
        'retry_interval = 1\n'
        'sniffer = false\n'
        'web_port = 0\n'
        'skip_optz = true\n'
        'log_level = "debug"\n' % TOKEN)


def test_configs_are_valid_toml():
    tomllib = pytest.importorskip('tomllib')
    server = tomllib.loads(render_config(SERVER))['server']
    assert server['skip_optz'] is True and server['web_port'] == 0 and server['token'] == TOKEN
    assert server['ports'] == ['127.0.0.1:24017=127.0.0.1:51903']
    client = tomllib.loads(render_config(dict(CLIENT, remote='[2001:db8::1]:22001')))['client']
    assert client['remote_addr'] == '[2001:db8::1]:22001'


def test_bad_log_level():
    with pytest.raises(BackhaulError, match='log_level'):
        plan_files([SERVER], {}, log_level='loud')


@pytest.mark.parametrize('token', ['a' * 20 + '"', 'a' * 20 + '\\', 'quo"te\\back\\"slash-0123456789'])
def test_token_quotes_and_backslashes_round_trip(token):
    tomllib = pytest.importorskip('tomllib')
    validate_link(dict(SERVER, token=token))
    assert tomllib.loads(render_config(dict(SERVER, token=token)))['server']['token'] == token
    assert token not in mask_token(render_config(dict(SERVER, token=token)))


def test_toml_value_escapes_control_characters():
    tomllib = pytest.importorskip('tomllib')
    text = 'tab\there\nnew \x7f \x01 é'
    assert tomllib.loads('v = %s' % toml_value(text))['v'] == text
    assert tomllib.loads('v = %s' % toml_value([True, 3, 'x"y']))['v'] == [True, 3, 'x"y']


@pytest.mark.parametrize('change, message', [
    ({'token': 'musix'}, "default"),
    ({'token': 'short'}, 'shorter than'),
    ({'token': 'a' * 20 + ' b'}, 'printable ASCII'),
    ({'token': None}, 'printable ASCII'),
    ({'instance': '../../etc/passwd'}, '<mesh>.<peer>'),
    ({'instance': 'office node'}, '<mesh>.<peer>'),
    ({'instance': '.office.x'}, '<mesh>.<peer>'),
    ({'instance': 'backup.node-tr'}, '<mesh>.<peer>'),
    ({'mesh': 'off'}, '<mesh>.<peer>'),
    ({'mesh': 'off=ice', 'instance': 'off=ice.node-tr'}, '<mesh>.<peer>'),
    ({'peer': '../x', 'instance': 'office.../x'}, '<mesh>.<peer>'),
    ({'mode': 'relay'}, 'mode must be'),
    ({'bind_port': 0}, 'bind_port'),
    ({'bind_port': 65536}, 'bind_port'),
    ({'bind_port': True}, 'bind_port'),
    ({'bind_port': '21345'}, 'bind_port'),
    ({'loopback_port': None}, 'loopback_port'),
    ({'target_port': None}, 'target_port'),
])
def test_server_link_refusals(change, message):
    with pytest.raises(BackhaulError, match=message):
        validate_link(dict(SERVER, **change))


@pytest.mark.parametrize('remote', [None, '', '198.51.100.7', '198.51.100.7:', '198.51.100.7:99999',
                                    'host name:22', '"x":1', '2001:db8::1:22001'])
def test_client_remote_refusals(remote):
    with pytest.raises(BackhaulError, match='remote'):
        validate_link(dict(CLIENT, remote=remote))


def test_valid_links_pass():
    validate_link(SERVER)
    validate_link(CLIENT)
    validate_link(dict(CLIENT, instance='office.node.with.dots', peer='node.with.dots', remote='vps.example.net:22001'))


def test_dropin_orders_after_wireguard():
    text = render_dropin('office')
    assert '[Unit]\n' in text
    for key in ('After', 'Wants', 'PartOf'):
        assert '\n%s=wg-quick@wg-office.service\n' % key in text


def test_mask_token():
    masked = mask_token(render_config(SERVER))
    assert TOKEN not in masked
    assert 'token = "********"\n' in masked
    assert 'bind_addr = "0.0.0.0:21345"' in masked
    assert mask_token(None) == ''


def test_managed_mesh():
    assert managed_mesh(render_config(SERVER)) == 'office'
    assert managed_mesh('[server]\nbind_addr = "0.0.0.0:1"\n') is None
    assert managed_mesh(MARKER) is None
    assert managed_mesh(None) is None


def managed(mesh, instance):
    return render_config(dict(SERVER, mesh=mesh, instance=instance))


def test_plan_files_new_changed_unchanged():
    existing = {'office.node-tr': render_config(SERVER),
                'office.node-uae': render_config(dict(CLIENT, token='b' * 40))}
    files = plan_files([SERVER, CLIENT], existing)
    assert files['changed'] == ['office.node-uae']
    assert files['removed'] == []
    assert sorted(files['configs']) == ['office.node-tr', 'office.node-uae']
    assert plan_files([SERVER, CLIENT], {})['changed'] == ['office.node-tr', 'office.node-uae']


def test_plan_files_prune_scope():
    existing = {
        'office.node-old': managed('office', 'office.node-old'),      # stale link of a planned mesh
        'office.x.node-tr': managed('office.x', 'office.x.node-tr'),  # another mesh sharing a prefix
        'backup.node-tr': managed('backup', 'backup.node-tr'),        # another mesh
        'handmade': '[server]\nbind_addr = "0.0.0.0:1"\n',            # not ours
    }
    assert plan_files([SERVER], existing)['removed'] == ['office.node-old']
    assert plan_files([SERVER], existing, meshes=['backup'])['removed'] == ['backup.node-tr', 'office.node-old']
    assert plan_files([], existing, meshes=['backup'])['removed'] == ['backup.node-tr']
    assert plan_files([], existing)['removed'] == []
    assert plan_files([SERVER], existing, prune_all=True)['removed'] == [
        'backup.node-tr', 'office.node-old', 'office.x.node-tr']


def test_plan_files_refuses_duplicates_and_bad_links():
    with pytest.raises(BackhaulError, match='planned twice'):
        plan_files([SERVER, dict(SERVER)], {})
    with pytest.raises(BackhaulError, match='default'):
        plan_files([dict(CLIENT, token='musix')], {})
