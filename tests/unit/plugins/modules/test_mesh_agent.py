# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

from ansible_collections.smite.wgmesh.plugins.modules import mesh_agent

CONFIG = {'interval': 10, 'stall_after': 75, 'backoff_max': 600, 'metrics_file': '/tmp/x.prom',
          'state_file': '/tmp/x.json', 'config_dir': '/etc/wireguard', 'meshes': []}


def args(tmp_path, **extra):
    return dict(dict(config=CONFIG, lib_dir=str(tmp_path / 'lib'), config_file=str(tmp_path / 'etc' / 'agent.json')),
                **extra)


def test_installs_a_program_that_runs_with_the_standard_library_alone(tmp_path, run_module):
    result, _raw = run_module(mesh_agent.main, args(tmp_path))
    assert result['changed'] and result['program_changed'] and result['config_changed']
    lib = tmp_path / 'lib'
    assert sorted(os.listdir(str(lib))) == ['files.py', 'health.py', 'health_agent.py', 'names.py', 'systemd_units.py', 'wg_dump.py']
    assert stat.S_IMODE(os.stat(str(lib / 'health_agent.py')).st_mode) == 0o644
    assert json.loads((tmp_path / 'etc' / 'agent.json').read_text()) == CONFIG
    # As on a node: isolated from site-packages, so no ansible and no ansible_collections.
    proc = subprocess.run([sys.executable, '-I', '-c', 'import sys; sys.path.insert(0, %r); import health_agent; '
                           'print(health_agent.health.Health)' % str(lib)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_second_run_changes_nothing_and_check_mode_writes_nothing(tmp_path, run_module):
    run_module(mesh_agent.main, args(tmp_path))
    result, _raw = run_module(mesh_agent.main, args(tmp_path))
    assert result['changed'] is False
    changed = dict(CONFIG, interval=15)
    result, _raw = run_module(mesh_agent.main, args(tmp_path, config=changed), check_mode=True, diff=True)
    assert result['changed'] and result['config_changed'] and not result['program_changed']
    assert '"interval": 15' in result['diff'][0]['after']
    assert json.loads((tmp_path / 'etc' / 'agent.json').read_text())['interval'] == 10


def test_absent_removes_program_and_config(tmp_path, run_module):
    run_module(mesh_agent.main, args(tmp_path))
    result, _raw = run_module(mesh_agent.main, dict(args(tmp_path), state='absent', config=None))
    assert result['changed']
    assert not os.listdir(str(tmp_path / 'lib')) and not (tmp_path / 'etc' / 'agent.json').exists()
