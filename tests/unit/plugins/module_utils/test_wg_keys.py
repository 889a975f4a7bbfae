# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils import wg_keys
from ansible_collections.smite.wgmesh.plugins.module_utils.files import create_exclusive
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_keys import (
    CHECK_MODE_PLACEHOLDER,
    WgKeyError,
    ensure_key_dir,
    ensure_keypair,
    generate_private_key,
    is_valid_key,
    public_key_from_private,
    remove_keypair,
    rotate_names,
    write_atomic,
)

# RFC 7748 section 6.1, Alice.
RFC_PRIVATE = base64.b64encode(bytes.fromhex(
    '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')).decode()
RFC_PUBLIC = base64.b64encode(bytes.fromhex(
    '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')).decode()

needs_cryptography = pytest.mark.skipif(not wg_keys.HAS_CRYPTOGRAPHY, reason='cryptography not installed')


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def read(path):
    with open(str(path)) as handle:
        return handle.read()


@pytest.mark.parametrize('value, valid', [
    (RFC_PUBLIC, True),
    ('4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY=', True),
    ('4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRZ=', False),  # non-zero padding bits
    ('4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY', False),   # no padding
    ('4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juR!=', False),  # not base64
    (base64.b64encode(b'x' * 31).decode(), False),
    (base64.b64encode(b'x' * 33).decode(), False),
    ('', False),
    (None, False),
    (b'4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY=', False),
    ('é' * 43 + '=', False),
])
def test_is_valid_key(value, valid):
    assert is_valid_key(value) is valid


def test_generate_private_key_is_valid_clamped_and_random():
    keys = set(generate_private_key() for dummy in range(20))
    assert len(keys) == 20
    for key in keys:
        assert is_valid_key(key)
        raw = base64.b64decode(key)
        assert raw[0] & 7 == 0 and raw[31] & 128 == 0 and raw[31] & 64 == 64


@needs_cryptography
def test_public_key_rfc7748_vector():
    assert public_key_from_private(RFC_PRIVATE) == RFC_PUBLIC


def wg_pubkey(private_key):
    return subprocess.run(['wg', 'pubkey'], input=private_key, capture_output=True,
                          text=True, check=True).stdout.strip()


@needs_cryptography
@pytest.mark.skipif(shutil.which('wg') is None, reason='wireguard-tools not installed')
def test_cryptography_agrees_with_wg_pubkey():
    for dummy in range(5):
        key = generate_private_key()
        assert public_key_from_private(key) == wg_pubkey(key)


def test_public_key_fallback_without_cryptography(monkeypatch):
    monkeypatch.setattr(wg_keys, 'HAS_CRYPTOGRAPHY', False)
    seen = []

    def fake_wg_pubkey(private_key):
        seen.append(private_key)
        return RFC_PUBLIC + '\n'
    assert public_key_from_private(RFC_PRIVATE, fake_wg_pubkey) == RFC_PUBLIC
    assert seen == [RFC_PRIVATE]
    with pytest.raises(WgKeyError, match='no "wg pubkey" fallback'):
        public_key_from_private(RFC_PRIVATE)
    with pytest.raises(WgKeyError, match='not a WireGuard key'):
        public_key_from_private(RFC_PRIVATE, lambda k: 'garbage')


def test_public_key_rejects_invalid_private_key():
    with pytest.raises(WgKeyError, match='not a valid'):
        public_key_from_private('nope', lambda k: RFC_PUBLIC)


@pytest.mark.parametrize('rotate, expected', [
    (None, set()), (False, set()), (True, {'a', 'b'}),
    ('yes', {'a', 'b'}), ('False', set()), ('b', {'b'}), ('a, b', {'a', 'b'}),
    ([], set()), (['a'], {'a'}),
])
def test_rotate_names(rotate, expected):
    assert rotate_names(rotate, ['a', 'b']) == expected


@pytest.mark.parametrize('rotate', [['c'], 'a,c', 5, {'a': 1}])
def test_rotate_names_rejects(rotate):
    with pytest.raises(ValueError):
        rotate_names(rotate, ['a', 'b'])


def test_write_atomic_ignores_umask_and_leaves_no_temp(tmp_path):
    old = os.umask(0)
    try:
        write_atomic(str(tmp_path / 'k'), 'secret\n', 0o600)
    finally:
        os.umask(old)
    assert mode(tmp_path / 'k') == 0o600
    assert os.listdir(str(tmp_path)) == ['k']


def test_write_atomic_temp_file_is_private_before_rename(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(mode(src))
        real_replace(src, dst)
    monkeypatch.setattr(os, 'replace', spy)
    write_atomic(str(tmp_path / 'k'), 'secret\n', 0o600)
    assert seen == [0o600]


def test_write_atomic_cleans_up_on_failure(tmp_path, monkeypatch):
    def fail(src, dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', fail)
    with pytest.raises(OSError):
        write_atomic(str(tmp_path / 'k'), 'secret\n', 0o600)
    assert os.listdir(str(tmp_path)) == []


def test_create_exclusive_creates_once_and_never_overwrites(tmp_path):
    path = str(tmp_path / 'k')
    assert create_exclusive(path, 'first\n', 0o600) is True
    assert create_exclusive(path, 'second\n', 0o600) is False
    assert read(path) == 'first\n' and mode(path) == 0o600
    assert os.listdir(str(tmp_path)) == ['k']  # no temporary file left either way


def test_create_exclusive_links_only_a_complete_private_file(tmp_path, monkeypatch):
    seen = []
    real_link = os.link

    def spy(src, dst):
        seen.append((mode(src), read(src)))
        real_link(src, dst)
    monkeypatch.setattr(os, 'link', spy)
    create_exclusive(str(tmp_path / 'k'), 'secret\n', 0o600)
    assert seen == [(0o600, 'secret\n')]


def test_key_dir_created_0700_and_fixed(tmp_path):
    key_dir = str(tmp_path / 'wgmesh')
    change = ensure_key_dir(key_dir, check_mode=True)
    assert change.changed and not os.path.exists(key_dir)
    assert ensure_key_dir(key_dir, check_mode=False).changed
    assert mode(key_dir) == 0o700
    assert not ensure_key_dir(key_dir, check_mode=False).changed
    os.chmod(key_dir, 0o755)
    change = ensure_key_dir(key_dir, check_mode=False)
    assert change.changed and 'mode 0755' in change.diff()['before'] and mode(key_dir) == 0o700


def test_key_dir_must_be_a_directory(tmp_path):
    (tmp_path / 'f').write_text('x')
    with pytest.raises(WgKeyError, match='not a directory'):
        ensure_key_dir(str(tmp_path / 'f'), check_mode=False)


@pytest.fixture
def key_dir(tmp_path):
    path = str(tmp_path / 'wgmesh')
    ensure_key_dir(path, check_mode=False)
    return path


def derive(private_key):
    """The public key a key file should have, with whichever backend is available."""
    return public_key_from_private(private_key, wg_pubkey)


def test_create_then_keep(key_dir):
    change, public, previous = ensure_keypair(key_dir, 'office', False, False, derive)
    key = read(os.path.join(key_dir, 'office.key')).strip()
    assert change.changed and previous is None
    assert is_valid_key(key) and public == derive(key)
    assert read(os.path.join(key_dir, 'office.pub')) == public + '\n'
    assert mode(os.path.join(key_dir, 'office.key')) == 0o600
    assert mode(os.path.join(key_dir, 'office.pub')) == 0o644
    diff = change.diff()
    assert 'new key' in diff['after'] and key not in repr(diff) and public not in repr(diff)

    change, again, previous = ensure_keypair(key_dir, 'office', False, False, derive)
    assert not change.changed and change.diff() is None and again == public and previous is None
    assert read(os.path.join(key_dir, 'office.key')).strip() == key


def test_check_mode_creates_nothing(key_dir):
    change, public, previous = ensure_keypair(key_dir, 'office', False, True, derive)
    assert change.changed and public == CHECK_MODE_PLACEHOLDER and previous is None
    assert not is_valid_key(CHECK_MODE_PLACEHOLDER)
    assert os.listdir(key_dir) == []


FIXES = [
    # (what to break, expected diff text before)
    ('key_mode', 'office.key: present, mode 0644'),
    ('pub_mode', 'office.pub: present, mode 0600'),
    ('pub_missing', 'office.pub: absent'),
    ('pub_wrong', 'office.pub: present, mode 0644'),
]


@pytest.mark.parametrize('breakage, before_text', FIXES)
def test_repairs_keep_the_key(key_dir, breakage, before_text):
    dummy, public, dummy2 = ensure_keypair(key_dir, 'office', False, False, derive)
    key_path, pub_path = os.path.join(key_dir, 'office.key'), os.path.join(key_dir, 'office.pub')
    key = read(key_path)
    if breakage == 'key_mode':
        os.chmod(key_path, 0o644)
    elif breakage == 'pub_mode':
        os.chmod(pub_path, 0o600)
    elif breakage == 'pub_missing':
        os.unlink(pub_path)
    else:
        with open(pub_path, 'w') as handle:
            handle.write(RFC_PUBLIC + '\n')

    # Check mode reports the repair and leaves the files as they are.
    before_files = dict((n, (read(os.path.join(key_dir, n)), mode(os.path.join(key_dir, n))))
                        for n in os.listdir(key_dir))
    change, checked, dummy = ensure_keypair(key_dir, 'office', False, True, derive)
    assert change.changed and checked == public and before_text in change.diff()['before']
    assert before_files == dict((n, (read(os.path.join(key_dir, n)), mode(os.path.join(key_dir, n))))
                                for n in os.listdir(key_dir))

    change, again, previous = ensure_keypair(key_dir, 'office', False, False, derive)
    assert change.changed and again == public and previous is None
    assert read(key_path) == key and read(pub_path) == public + '\n'
    assert (mode(key_path), mode(pub_path)) == (0o600, 0o644)
    assert not ensure_keypair(key_dir, 'office', False, False, derive)[0].changed


def test_rotation_replaces_key_and_reports_previous(key_dir):
    dummy, old_public, dummy2 = ensure_keypair(key_dir, 'office', False, False, derive)
    old_key = read(os.path.join(key_dir, 'office.key'))

    change, public, previous = ensure_keypair(key_dir, 'office', True, True, derive)
    assert change.changed and public == CHECK_MODE_PLACEHOLDER and previous == old_public
    assert read(os.path.join(key_dir, 'office.key')) == old_key

    change, public, previous = ensure_keypair(key_dir, 'office', True, False, derive)
    new_key = read(os.path.join(key_dir, 'office.key')).strip()
    assert change.changed and previous == old_public and public != old_public
    assert public == derive(new_key) and read(os.path.join(key_dir, 'office.pub')) == public + '\n'
    assert 'key replaced' in change.diff()['after']
    assert mode(os.path.join(key_dir, 'office.key')) == 0o600


def test_rotate_without_key_just_creates(key_dir):
    change, public, previous = ensure_keypair(key_dir, 'office', True, False, derive)
    assert change.changed and is_valid_key(public) and previous is None


def test_invalid_key_is_replaced_with_warning(key_dir):
    key_path = os.path.join(key_dir, 'office.key')
    with open(key_path, 'w') as handle:
        handle.write('not a key\n')
    change, public, previous = ensure_keypair(key_dir, 'office', False, False, derive)
    assert change.changed and previous is None and is_valid_key(public)
    assert change.warnings == ['%s does not hold a valid WireGuard key; replacing it' % key_path]
    assert public == derive(read(key_path).strip())


def test_key_path_that_is_not_a_file_fails(key_dir):
    os.mkdir(os.path.join(key_dir, 'office.key'))
    with pytest.raises(WgKeyError, match='not a regular file'):
        ensure_keypair(key_dir, 'office', False, False, derive)


def test_remove_keypair(key_dir):
    ensure_keypair(key_dir, 'office', False, False, derive)
    ensure_keypair(key_dir, 'backup', False, False, derive)
    change = remove_keypair(key_dir, 'office', check_mode=True)
    assert change.changed and len(os.listdir(key_dir)) == 4
    assert remove_keypair(key_dir, 'office', check_mode=False).changed
    assert sorted(os.listdir(key_dir)) == ['backup.key', 'backup.pub']
    assert not remove_keypair(key_dir, 'office', check_mode=False).changed


def test_two_runs_racing_on_a_new_key_both_report_the_key_kept(key_dir, monkeypatch):
    """Run A finds no key; before it writes one, run B (another job on the same node) creates
    it. A must keep B's key and report B's public key, not overwrite it with its own."""
    real_generate = wg_keys.generate_private_key
    other = {}

    def generate_while_another_run_creates_the_key():
        if not other:
            monkeypatch.setattr(wg_keys, 'generate_private_key', real_generate)
            other['public'] = ensure_keypair(key_dir, 'office', False, False, derive)[1]
        return real_generate()
    monkeypatch.setattr(wg_keys, 'generate_private_key', generate_while_another_run_creates_the_key)
    change, public, _previous = ensure_keypair(key_dir, 'office', False, False, derive)
    key = read(os.path.join(key_dir, 'office.key')).strip()
    assert public == other['public'] == derive(key)
    assert read(os.path.join(key_dir, 'office.pub')).strip() == public
    assert mode(os.path.join(key_dir, 'office.key')) == 0o600
    assert sorted(os.listdir(key_dir)) == ['office.key', 'office.pub']
