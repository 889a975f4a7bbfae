# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import stat
import sys

import pytest

from ansible_collections.smite.wgmesh.plugins.modules import backhaul_links

TOKEN = 'a3f1c2d4e5b60718293a4b5c6d7e8f9012345678'
OTHER_TOKEN = 'ffffeeeeddddccccbbbbaaaa9999888877776666'

SERVER = {'instance': 'office.node-tr', 'mesh': 'office', 'peer': 'node-tr', 'mode': 'server',
          'bind_port': 21345, 'loopback_port': 24017, 'target_port': 51903, 'token': TOKEN}
CLIENT = {'instance': 'office.node-uae', 'mesh': 'office', 'peer': 'node-uae', 'mode': 'client',
          'bind_port': 22001, 'remote': '198.51.100.7:22001', 'token': TOKEN}
BACKUP = {'instance': 'backup.node-tr', 'mesh': 'backup', 'peer': 'node-tr', 'mode': 'client',
          'bind_port': 23001, 'remote': '198.51.100.8:23001', 'token': OTHER_TOKEN}

# A stand-in for systemctl: logs its arguments and keeps unit states in a JSON file,
# printing `show` blocks the way systemctl does.
FAKE_SYSTEMCTL = r'''#!%s
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
state_file = os.path.join(here, 'state.json')
state = json.load(open(state_file)) if os.path.exists(state_file) else {}
args = sys.argv[1:]
with open(os.path.join(here, 'calls.log'), 'a') as log:
    log.write(json.dumps(args) + '\n')
units = [a for a in args[1:] if not a.startswith('--')]
if args[0] == 'show':
    print('\n\n'.join('Id=%%s\nUnitFileState=%%s\nActiveState=%%s' %% ((u,) + tuple(state.get(u, ['disabled', 'inactive'])))
                      for u in units))
for u in units:
    s = state.setdefault(u, ['disabled', 'inactive'])
    if args[0] == 'enable':
        s[0] = 'enabled'
    elif args[0] == 'restart':
        s[1] = 'active'
    elif args[0] == 'disable':
        state[u] = ['disabled', 'inactive']
json.dump(state, open(state_file, 'w'))
''' % sys.executable


@pytest.fixture
def node(tmp_path, monkeypatch):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    fake = bindir / 'systemctl'
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))

    class Node:
        config_dir = tmp_path / 'etc' / 'backhaul' / 'wgmesh'
        systemd_dir = tmp_path / 'systemd'

        def args(self, links, **extra):
            return dict(links=links, config_dir=str(self.config_dir), systemd_dir=str(self.systemd_dir), **extra)

        def calls(self):
            path = bindir / 'calls.log'
            found = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            if path.exists():
                path.unlink()
            return found

        def mutating_calls(self):
            return [call for call in self.calls() if call[0] != 'show']

        def set_state(self, unit, file_state, active_state):
            path = bindir / 'state.json'
            state = json.loads(path.read_text()) if path.exists() else {}
            state[unit] = [file_state, active_state]
            path.write_text(json.dumps(state))

        def config(self, instance):
            return self.config_dir / (instance + '.toml')

        def dropin(self, instance):
            return self.systemd_dir / ('backhaul@%s.service.d' % instance) / 'wgmesh.conf'

    return Node()


def unit(instance):
    return 'backhaul@%s.service' % instance


def test_first_run_writes_and_starts_then_second_run_is_idempotent(node, run_module):
    result, raw = run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    assert result['changed'] is True
    assert result['instances'] == ['office.node-tr', 'office.node-uae']
    assert result['changed_instances'] == ['office.node-tr', 'office.node-uae']
    assert result['started_instances'] == ['office.node-tr', 'office.node-uae']
    assert result['removed_instances'] == []
    assert TOKEN not in raw

    text = node.config('office.node-tr').read_text()
    assert 'token = "%s"' % TOKEN in text and 'skip_optz = true' in text and 'web_port = 0' in text
    assert stat.S_IMODE(os.stat(str(node.config('office.node-tr'))).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(node.config_dir)).st_mode) == 0o700
    assert 'After=wg-quick@wg-office.service' in node.dropin('office.node-uae').read_text()
    assert node.mutating_calls() == [
        ['daemon-reload'],
        ['enable', unit('office.node-tr'), unit('office.node-uae')],
        ['restart', unit('office.node-tr'), unit('office.node-uae')],
    ]

    again, dummy = run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    assert again['changed'] is False
    assert again['changed_instances'] == [] and again['started_instances'] == []
    assert node.mutating_calls() == []


def test_only_the_changed_link_restarts(node, run_module):
    run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    node.calls()
    result, raw = run_module(backhaul_links.main, node.args([SERVER, dict(CLIENT, token=OTHER_TOKEN)]))
    assert result['changed_instances'] == ['office.node-uae']
    assert node.mutating_calls() == [['restart', unit('office.node-uae')]]
    assert OTHER_TOKEN in node.config('office.node-uae').read_text()
    assert OTHER_TOKEN not in raw


def test_stopped_or_disabled_instances_are_brought_back(node, run_module):
    run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    node.calls()
    node.set_state(unit('office.node-tr'), 'enabled', 'failed')
    node.set_state(unit('office.node-uae'), 'disabled', 'active')
    result, dummy = run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    assert result['changed'] is True and result['changed_instances'] == []
    assert result['started_instances'] == ['office.node-tr']
    assert node.mutating_calls() == [['enable', unit('office.node-uae')], ['restart', unit('office.node-tr')]]


def test_restart_all_and_daemon_reload(node, run_module):
    run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    node.calls()
    result, dummy = run_module(backhaul_links.main, node.args([SERVER, CLIENT], restart_all=True, daemon_reload=True))
    assert result['started_instances'] == ['office.node-tr', 'office.node-uae']
    assert node.mutating_calls() == [['daemon-reload'], ['restart', unit('office.node-tr'), unit('office.node-uae')]]


def test_unplanned_links_are_removed_within_scope_only(node, run_module):
    run_module(backhaul_links.main, node.args([SERVER, CLIENT, BACKUP]))
    handmade = node.config_dir / 'handmade.toml'
    handmade.write_text('[server]\nbind_addr = "0.0.0.0:1"\n')
    node.calls()

    # CLIENT left the office mesh: removed; backup is out of scope: kept.
    result, dummy = run_module(backhaul_links.main, node.args([SERVER]))
    assert result['removed_instances'] == ['office.node-uae']
    assert result['changed'] is True
    assert not node.config('office.node-uae').exists()
    assert not node.dropin('office.node-uae').parent.exists()
    assert node.config('backup.node-tr').exists()
    assert node.mutating_calls() == [['disable', '--now', unit('office.node-uae')], ['daemon-reload']]

    # Deleting the backup mesh: only its links go, office stays.
    result, dummy = run_module(backhaul_links.main, node.args([], meshes=['backup']))
    assert result['removed_instances'] == ['backup.node-tr']
    assert node.mutating_calls() == [['disable', '--now', unit('backup.node-tr')], ['daemon-reload']]
    assert node.config('office.node-tr').exists()

    # prune_all removes every file we wrote, never a file we did not write.
    result, dummy = run_module(backhaul_links.main, node.args([], prune_all=True))
    assert result['removed_instances'] == ['office.node-tr']
    assert handmade.exists()
    assert sorted(os.listdir(str(node.config_dir))) == ['handmade.toml']


def test_check_mode_predicts_and_touches_nothing(node, run_module):
    result, raw = run_module(backhaul_links.main, node.args([SERVER, CLIENT]), check_mode=True)
    assert result['changed'] is True
    assert result['changed_instances'] == ['office.node-tr', 'office.node-uae']
    assert result['started_instances'] == ['office.node-tr', 'office.node-uae']
    assert not node.config_dir.exists() and not node.systemd_dir.exists()
    assert node.mutating_calls() == []

    run_module(backhaul_links.main, node.args([SERVER, CLIENT]))
    node.calls()
    result, raw = run_module(backhaul_links.main, node.args([SERVER]), check_mode=True)
    assert result['removed_instances'] == ['office.node-uae']
    assert node.config('office.node-uae').exists()
    assert node.mutating_calls() == []


def test_diff_masks_the_token(node, run_module):
    result, raw = run_module(backhaul_links.main, node.args([SERVER]), diff=True)
    assert TOKEN not in raw
    configs = [d for d in result['diff'] if d['after_header'].endswith('.toml')]
    assert len(configs) == 1
    assert configs[0]['before'] == ''
    assert 'token = "********"' in configs[0]['after']
    assert 'bind_addr = "0.0.0.0:21345"' in configs[0]['after']
    assert any('PartOf=wg-quick@wg-office.service' in d['after'] for d in result['diff'])

    result, raw = run_module(backhaul_links.main, node.args([dict(SERVER, token=OTHER_TOKEN)]), diff=True)
    assert TOKEN not in raw and OTHER_TOKEN not in raw
    assert [d['before_header'] for d in result['diff']] == [str(node.config('office.node-tr'))]
    assert 'token = "********"' in result['diff'][0]['before']
    assert 'token = "******** (changed)"' in result['diff'][0]['after']


def test_without_service_management_no_systemctl_is_needed(node, run_module, monkeypatch):
    monkeypatch.setenv('PATH', '/nonexistent')
    monkeypatch.setattr(backhaul_links.AnsibleModule, 'get_bin_path',
                        lambda *a, **k: pytest.fail('systemctl looked up'))
    result, dummy = run_module(backhaul_links.main, node.args([SERVER], manage_services=False))
    assert result['changed'] is True and result['started_instances'] == []
    assert node.config('office.node-tr').exists()


def test_nothing_planned_nothing_there_needs_no_systemctl(node, run_module, monkeypatch):
    monkeypatch.setattr(backhaul_links.AnsibleModule, 'get_bin_path',
                        lambda *a, **k: pytest.fail('systemctl looked up'))
    result, dummy = run_module(backhaul_links.main, node.args([], meshes=['office']))
    assert result['changed'] is False and result['instances'] == []


@pytest.mark.parametrize('link, message', [
    (dict(SERVER, token='musix'), 'default'),
    (dict(SERVER, instance='office.../x'), '<mesh>.<peer>'),
    (dict(CLIENT, remote=None), 'remote'),
])
def test_bad_links_fail_without_writing(node, run_module, link, message):
    result, raw = run_module(backhaul_links.main, node.args([link]))
    assert result['failed'] is True and message in result['msg']
    assert not node.config_dir.exists()
    assert TOKEN not in raw


def test_systemctl_failure_is_reported(node, run_module):
    fake = [p for p in os.environ['PATH'].split(':') if os.path.exists(os.path.join(p, 'systemctl'))][0]
    with open(os.path.join(fake, 'systemctl'), 'w') as handle:
        handle.write('#!/bin/sh\necho "Unit backhaul@.service not found." >&2\nexit 5\n')
    result, dummy = run_module(backhaul_links.main, node.args([SERVER]))
    assert result['failed'] is True
    assert 'not found' in result['msg']


def test_template_unit_is_written_once_and_reloads_systemd(node, run_module):
    unit_text = '[Service]\nExecStart=/usr/local/bin/backhaul -c /etc/backhaul/wgmesh/%i.toml\n'
    result, _raw = run_module(backhaul_links.main, node.args([SERVER], unit_content=unit_text))
    assert result['changed']
    assert (node.systemd_dir / 'backhaul@.service').read_text() == unit_text
    assert ['daemon-reload'] in node.mutating_calls()
    result, _raw = run_module(backhaul_links.main, node.args([SERVER], unit_content=unit_text))
    assert result['changed'] is False
    assert ['daemon-reload'] not in node.mutating_calls()
    result, _raw = run_module(backhaul_links.main, node.args([SERVER], unit_content=unit_text + 'Restart=always\n'),
                              check_mode=True, diff=True)
    assert result['changed'] and (node.systemd_dir / 'backhaul@.service').read_text() == unit_text
    assert any(d['after_header'].endswith('backhaul@.service') for d in result['diff'])
