# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils import wg_keys
from ansible_collections.smite.wgmesh.plugins.modules import wg_keypair


@pytest.fixture
def key_dir(tmp_path):
    return str(tmp_path / 'etc' / 'wgmesh')


def private_keys(key_dir):
    return [open(os.path.join(key_dir, n)).read().strip()
            for n in sorted(os.listdir(key_dir)) if n.endswith('.key')]


def assert_no_private_key(key_dir, out):
    keys = private_keys(key_dir)
    assert keys
    for key in keys:
        assert key not in out


def test_creates_keys_then_is_idempotent(run_module, key_dir):
    result, out = run_module(wg_keypair.main, {'names': ['office', 'backup'], 'key_dir': key_dir})
    assert result['changed'] is True
    assert sorted(result['public_keys']) == ['backup', 'office']
    assert result['previous_public_keys'] == {}
    for name, public in result['public_keys'].items():
        assert wg_keys.is_valid_key(public)
        assert open(os.path.join(key_dir, name + '.pub')).read() == public + '\n'
    assert stat.S_IMODE(os.stat(key_dir).st_mode) == 0o700
    assert_no_private_key(key_dir, out)

    again, out = run_module(wg_keypair.main, {'names': ['office', 'backup'], 'key_dir': key_dir})
    assert again['changed'] is False and again['public_keys'] == result['public_keys']
    assert_no_private_key(key_dir, out)


def test_check_mode_writes_nothing_and_marks_new_keys(run_module, key_dir):
    result, dummy = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir},
                               check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['public_keys'] == {'office': wg_keys.CHECK_MODE_PLACEHOLDER}
    assert not os.path.exists(key_dir)
    headers = [d['before_header'] for d in result['diff']]
    assert headers == [key_dir, 'office']
    assert 'absent' in result['diff'][1]['before'] and 'new key' in result['diff'][1]['after']


def test_diff_shows_mode_fix_without_key_material(run_module, key_dir):
    first, dummy = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir})
    os.chmod(os.path.join(key_dir, 'office.key'), 0o644)
    result, out = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir}, diff=True)
    assert result['changed'] is True
    assert result['diff'] == [{
        'before_header': 'office', 'after_header': 'office',
        'before': '%s/office.key: present, mode 0644, owner %d:%d\n%s/office.pub: present, mode 0644, owner %d:%d\n'
                  % (key_dir, os.geteuid(), os.getegid(), key_dir, os.geteuid(), os.getegid()),
        'after': '%s/office.key: present, mode 0600, owner %d:%d\n%s/office.pub: present, mode 0644, owner %d:%d\n'
                 % (key_dir, os.geteuid(), os.getegid(), key_dir, os.geteuid(), os.getegid()),
    }]
    assert first['public_keys']['office'] not in repr(result['diff'])
    assert_no_private_key(key_dir, out)


@pytest.mark.parametrize('rotate, rotated', [
    (True, ['backup', 'office']),
    (['office'], ['office']),
    ('office', ['office']),
    (False, []),
])
def test_rotate(run_module, key_dir, rotate, rotated):
    args = {'names': ['office', 'backup'], 'key_dir': key_dir}
    first, dummy = run_module(wg_keypair.main, args)
    result, out = run_module(wg_keypair.main, dict(args, rotate=rotate))
    assert result['changed'] is bool(rotated)
    assert sorted(result['previous_public_keys']) == rotated
    for name in ('office', 'backup'):
        if name in rotated:
            assert result['previous_public_keys'][name] == first['public_keys'][name]
            assert result['public_keys'][name] != first['public_keys'][name]
        else:
            assert result['public_keys'][name] == first['public_keys'][name]
    assert_no_private_key(key_dir, out)


def test_rotate_in_check_mode_keeps_the_key(run_module, key_dir):
    args = {'names': ['office'], 'key_dir': key_dir}
    first, dummy = run_module(wg_keypair.main, args)
    keys = private_keys(key_dir)
    result, dummy = run_module(wg_keypair.main, dict(args, rotate=True), check_mode=True)
    assert result['changed'] is True
    assert result['public_keys'] == {'office': wg_keys.CHECK_MODE_PLACEHOLDER}
    assert result['previous_public_keys'] == first['public_keys']
    assert private_keys(key_dir) == keys


def test_absent_removes_only_given_names(run_module, key_dir):
    run_module(wg_keypair.main, {'names': ['office', 'backup'], 'key_dir': key_dir})
    result, dummy = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir, 'state': 'absent'})
    assert result['changed'] is True and result['public_keys'] == {}
    assert sorted(os.listdir(key_dir)) == ['backup.key', 'backup.pub']
    again, dummy = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir, 'state': 'absent'})
    assert again['changed'] is False


@pytest.mark.parametrize('args, message', [
    ({'names': ['../etc']}, 'not mesh names'),
    ({'names': ['a b']}, 'not mesh names'),
    ({'names': ['off.ice']}, 'not mesh names'),
    ({'names': ['office'], 'rotate': ['other']}, 'rotate names not in names: other'),
])
def test_bad_input_fails(run_module, key_dir, args, message):
    result, dummy = run_module(wg_keypair.main, dict(args, key_dir=key_dir))
    assert result['failed'] is True and message in result['msg']
    assert not os.path.exists(key_dir)


@pytest.mark.skipif(shutil.which('wg') is None, reason='wireguard-tools not installed')
def test_without_cryptography_uses_wg_and_hides_the_key(run_module, key_dir, monkeypatch):
    monkeypatch.setattr(wg_keys, 'HAS_CRYPTOGRAPHY', False)
    result, out = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir})
    assert result['changed'] is True
    (key,) = private_keys(key_dir)
    expected = subprocess.run(['wg', 'pubkey'], input=key, capture_output=True, text=True,
                              check=True).stdout.strip()
    assert result['public_keys'] == {'office': expected}
    assert key not in out


def test_without_cryptography_and_wg_fails_clearly(run_module, key_dir, monkeypatch, tmp_path):
    monkeypatch.setattr(wg_keys, 'HAS_CRYPTOGRAPHY', False)
    monkeypatch.setattr(wg_keypair.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: self.fail_json(
                            msg='Failed to find required executable "%s"' % name))
    result, dummy = run_module(wg_keypair.main, {'names': ['office'], 'key_dir': key_dir})
    assert result['failed'] is True and '"wg"' in result['msg']
    # The key is only written once its public key is known: nothing half-made is left.
    assert os.listdir(key_dir) == []
