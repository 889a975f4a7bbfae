# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import stat

from ansible_collections.smite.wgmesh.plugins.modules import node_files


def files(tmp_path, unit='[Unit]\n'):
    return [{'path': str(tmp_path / 'systemd' / 'x.service.d' / 'a.conf'), 'content': unit},
            {'path': str(tmp_path / 'libexec' / 'helper'), 'content': '#!/bin/sh\n', 'mode': '0755'}]


def test_writes_with_parents_and_modes_then_changes_nothing(tmp_path, run_module):
    result, _raw = run_module(node_files.main, {'files': files(tmp_path)})
    assert result['changed'] and len(result['written']) == 2
    assert (tmp_path / 'systemd' / 'x.service.d' / 'a.conf').read_text() == '[Unit]\n'
    assert stat.S_IMODE(os.stat(str(tmp_path / 'libexec' / 'helper')).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(str(tmp_path / 'systemd' / 'x.service.d' / 'a.conf')).st_mode) == 0o644
    result, _raw = run_module(node_files.main, {'files': files(tmp_path)})
    assert result == dict(result, changed=False, written=[])


def test_a_wrong_mode_alone_is_a_change(tmp_path, run_module):
    run_module(node_files.main, {'files': files(tmp_path)})
    os.chmod(str(tmp_path / 'libexec' / 'helper'), 0o700)
    result, _raw = run_module(node_files.main, {'files': files(tmp_path)})
    assert result['written'] == [str(tmp_path / 'libexec' / 'helper')]


def test_check_mode_reports_the_diff_and_writes_nothing(tmp_path, run_module):
    run_module(node_files.main, {'files': files(tmp_path)})
    result, _raw = run_module(node_files.main, {'files': files(tmp_path, '[Unit]\nAfter=y\n')}, check_mode=True,
                              diff=True)
    assert result['written'] == [str(tmp_path / 'systemd' / 'x.service.d' / 'a.conf')]
    assert result['diff'][0]['after'] == '[Unit]\nAfter=y\n'
    assert (tmp_path / 'systemd' / 'x.service.d' / 'a.conf').read_text() == '[Unit]\n'


def test_relative_path_and_bad_mode_fail(tmp_path, run_module):
    result, _raw = run_module(node_files.main, {'files': [{'path': 'rel/x', 'content': ''}]})
    assert result['failed'] and 'absolute' in result['msg']
    result, _raw = run_module(node_files.main, {'files': [{'path': str(tmp_path / 'x'), 'content': '', 'mode': 'rw'}]})
    assert result['failed'] and 'octal' in result['msg']
