# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smite.wgmesh.plugins.modules import path_mtu

PATHS = {'203.0.113.1': 1400, '203.0.113.2': None}


def fake_probe(address, timeout):
    assert timeout == 0.5
    return lambda size: PATHS[address] is not None and size <= PATHS[address]


def test_measures_every_target_and_reads_interfaces(run_module, monkeypatch):
    monkeypatch.setattr(path_mtu, 'ping_probe', fake_probe)
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/bin/' + name)
    result, _raw = run_module(path_mtu.main, {'targets': sorted(PATHS), 'interfaces': ['wg-does-not-exist']},
                              check_mode=True)
    assert result['changed'] is False
    assert dict((a, p['path_mtu']) for a, p in result['paths'].items()) == PATHS
    assert result['interfaces'] == {'wg-does-not-exist': None}


def test_no_targets_probes_nothing(run_module, monkeypatch):
    monkeypatch.setattr(path_mtu, 'ping_probe', None)  # would fail if called
    result, _raw = run_module(path_mtu.main, {'interfaces': []})
    assert result['paths'] == {} and result['interfaces'] == {}


def test_a_bad_timeout_is_refused(run_module):
    result, _raw = run_module(path_mtu.main, {'timeout': 0})
    assert result['failed'] and 'timeout' in result['msg']
