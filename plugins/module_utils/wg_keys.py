# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard (X25519) key helpers and the key files of the wg_keypair module.

Pure Python, no Ansible runtime needed.

Key generation needs only the standard library (32 random bytes, clamped, as
``wg genkey`` does). Deriving the public key needs X25519: the ``cryptography``
library when it is importable, otherwise a caller-supplied function (the
wg_keypair module passes one that runs ``wg pubkey``). Debian 12 nodes often
lack python3-cryptography but always have wireguard-tools before keys are made,
so a node needs no extra package.

Private keys are only ever passed in memory or through stdin; no function here
returns one except generate_private_key().
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import binascii
import os
import stat

from ansible_collections.smite.wgmesh.plugins.module_utils.files import create_exclusive, read_file, write_atomic

try:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

KEY_BYTES = 32
KEY_MODE = 0o600
PUB_MODE = 0o644
DIR_MODE = 0o700

# Returned instead of a public key that only a real (non check mode) run can know.
# Not valid base64 key material, so it can never be mistaken for a real key.
CHECK_MODE_PLACEHOLDER = '(check mode placeholder, no key yet)'

_BOOL_STRINGS = {
    'yes': True, 'on': True, 'true': True, '1': True,
    'no': False, 'off': False, 'false': False, '0': False,
}


class WgKeyError(Exception):
    """A key could not be derived or a key file could not be handled."""


def is_valid_key(value):
    """True if value is a WireGuard key: canonical base64 of exactly 32 bytes."""
    if not isinstance(value, str) or len(value) != 44 or not value.endswith('='):
        return False
    try:
        raw = base64.b64decode(value.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    # Re-encoding rejects non-canonical forms (non-zero padding bits).
    return len(raw) == KEY_BYTES and base64.b64encode(raw).decode('ascii') == value


def generate_private_key():
    """A new private key, base64, clamped like ``wg genkey``."""
    raw = bytearray(os.urandom(KEY_BYTES))
    raw[0] &= 248
    raw[31] = (raw[31] & 127) | 64
    return base64.b64encode(bytes(raw)).decode('ascii')


def public_key_from_private(private_key, wg_pubkey=None):
    """Derive the base64 public key of a base64 private key.

    Uses ``cryptography`` when importable, else ``wg_pubkey(private_key) -> str``.
    """
    if not is_valid_key(private_key):
        raise WgKeyError('not a valid WireGuard private key')
    if HAS_CRYPTOGRAPHY:
        priv = X25519PrivateKey.from_private_bytes(base64.b64decode(private_key))
        raw = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode('ascii')
    if wg_pubkey is None:
        raise WgKeyError('the cryptography library is missing and no "wg pubkey" fallback was given')
    public_key = wg_pubkey(private_key).strip()
    if not is_valid_key(public_key):
        raise WgKeyError('"wg pubkey" returned something that is not a WireGuard key')
    return public_key


def rotate_names(rotate, names):
    """Normalise the ``rotate`` option to the set of names to rotate.

    ``rotate`` may be a bool, a boolean string, a comma separated string or a list of
    names; every listed name must be one of ``names``.
    """
    if rotate is None:
        return set()
    if isinstance(rotate, bool):
        return set(names) if rotate else set()
    if isinstance(rotate, str):
        if rotate.strip().lower() in _BOOL_STRINGS:
            return set(names) if _BOOL_STRINGS[rotate.strip().lower()] else set()
        rotate = [part.strip() for part in rotate.split(',') if part.strip()]
    if not isinstance(rotate, (list, tuple)):
        raise ValueError('rotate must be a boolean or a list of names')
    wanted = set(str(item) for item in rotate)
    unknown = sorted(wanted - set(names))
    if unknown:
        raise ValueError('rotate names not in names: %s' % ', '.join(unknown))
    return wanted


def file_state(path):
    """(mode, uid, gid) of a regular file, or None when it does not exist."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise WgKeyError('%s exists but is not a regular file' % path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def describe(state):
    """Human text for a file_state() value, for diff output (no content)."""
    if state is None:
        return 'absent'
    return 'present, mode %04o, owner %d:%d' % state


def _wanted_owner():
    """Owner to enforce: root:root when running as root, else leave ownership alone."""
    return (0, 0) if os.geteuid() == 0 else None


def _needs_fix(state, mode, owner):
    return state[0] != mode or (owner is not None and state[1:] != owner)


def _fix(path, mode, owner):
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    os.chmod(path, mode)


def _after_state(mode, owner, state):
    """What file_state() will report once the file is made right."""
    uid_gid = owner if owner is not None else (state[1:] if state else (os.geteuid(), os.getegid()))
    return (mode,) + tuple(uid_gid)


class Change(object):
    """Outcome of one ensure_* call: changed flag, diff texts and warnings."""

    def __init__(self, header):
        self.header = header
        self.changed = False
        self.before = []
        self.after = []
        self.warnings = []

    def record(self, path, before, after, note=''):
        self.before.append('%s: %s\n' % (path, describe(before)))
        self.after.append('%s: %s%s\n' % (path, describe(after), note))
        if before != after or note:
            self.changed = True

    def diff(self):
        """A diff dict for Ansible's diff callback, or None when nothing changes."""
        if not self.changed:
            return None
        return {'before_header': self.header, 'after_header': self.header,
                'before': ''.join(self.before), 'after': ''.join(self.after)}


def ensure_key_dir(key_dir, check_mode):
    """Create key_dir 0700 (root when run as root) or fix its mode/owner."""
    change = Change(key_dir)
    owner = _wanted_owner()
    try:
        st = os.lstat(key_dir)
        before = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if not stat.S_ISDIR(st.st_mode):
            raise WgKeyError('%s exists but is not a directory' % key_dir)
    except FileNotFoundError:
        before = None
    after = _after_state(DIR_MODE, owner, before)
    if before == after:
        return change
    change.record(key_dir, before, after)
    if not check_mode:
        if before is None:
            old_umask = os.umask(0o077)
            try:
                os.makedirs(key_dir, DIR_MODE)
            finally:
                os.umask(old_umask)
        _fix(key_dir, DIR_MODE, owner)
    return change


def ensure_keypair(key_dir, name, rotate, check_mode, wg_pubkey=None):
    """Make sure <key_dir>/<name>.key and .pub exist, are valid and have the right modes.

    Returns (change, public_key, previous_public_key). public_key is
    CHECK_MODE_PLACEHOLDER when check mode cannot know it (new or rotated key);
    previous_public_key is set only when an existing valid key is rotated.
    The private key never leaves this function.
    """
    key_path = os.path.join(key_dir, name + '.key')
    pub_path = os.path.join(key_dir, name + '.pub')
    change = Change(name)
    owner = _wanted_owner()

    key_state = file_state(key_path)
    current = (read_file(key_path) or '').strip() if key_state is not None else None
    if current is not None and not is_valid_key(current):
        change.warnings.append('%s does not hold a valid WireGuard key; replacing it' % key_path)
        current = None
    previous_public_key = None
    if current is not None and rotate:
        previous_public_key = public_key_from_private(current, wg_pubkey)
        current = None

    if current is None:
        note = ', new key' if key_state is None else ', key replaced'
        change.record(key_path, key_state, _after_state(KEY_MODE, owner, None), note)
        if check_mode:
            public_key = CHECK_MODE_PLACEHOLDER
        else:
            new_key = generate_private_key()
            # Derived first: a key is only written once its public key is known.
            public_key = public_key_from_private(new_key, wg_pubkey)
            if key_state is not None:
                write_atomic(key_path, new_key + '\n', KEY_MODE)
            elif not create_exclusive(key_path, new_key + '\n', KEY_MODE):
                # Another run made this key since it was looked at (two jobs on one node, e.g.
                # overlapping AWX slices): keep that one, so both report the key the node has.
                new_key = (read_file(key_path) or '').strip()
                if not is_valid_key(new_key):
                    raise WgKeyError('%s was created by another run but does not hold a valid key' % key_path)
                public_key = public_key_from_private(new_key, wg_pubkey)
            if owner is not None:
                os.chown(key_path, owner[0], owner[1])
    else:
        public_key = public_key_from_private(current, wg_pubkey)
        after = _after_state(KEY_MODE, owner, key_state)
        change.record(key_path, key_state, after)
        if _needs_fix(key_state, KEY_MODE, owner) and not check_mode:
            _fix(key_path, KEY_MODE, owner)

    pub_state = file_state(pub_path)
    pub_current = (read_file(pub_path) or '').strip() if pub_state is not None else None
    if pub_current != public_key:
        note = ', content updated' if pub_state is not None else ''
        change.record(pub_path, pub_state, _after_state(PUB_MODE, owner, None), note)
        if not check_mode:
            write_atomic(pub_path, public_key + '\n', PUB_MODE)
            if owner is not None:
                os.chown(pub_path, owner[0], owner[1])
    else:
        change.record(pub_path, pub_state, _after_state(PUB_MODE, owner, pub_state))
        if _needs_fix(pub_state, PUB_MODE, owner) and not check_mode:
            _fix(pub_path, PUB_MODE, owner)
    return change, public_key, previous_public_key


def remove_keypair(key_dir, name, check_mode):
    """Remove <key_dir>/<name>.key and .pub; returns a Change."""
    change = Change(name)
    for suffix in ('.key', '.pub'):
        path = os.path.join(key_dir, name + suffix)
        state = file_state(path)
        change.record(path, state, None)
        if state is not None and not check_mode:
            os.unlink(path)
    return change


def other_key_names(key_dir, names):
    """Names of the other key pairs in key_dir: meshes whose key is here but were not asked for."""
    try:
        files = os.listdir(key_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(f[:-len('.key')] for f in files if f.endswith('.key') and f[:-len('.key')] not in names)
