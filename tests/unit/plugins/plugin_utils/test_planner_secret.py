# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wgmesh_secret strength: the documented 128-bit rule, the placeholder, and the messages."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import (
    PlanError, SECRET_MIN_BITS, plan_meshes, secret_bits, secret_problem,
)

INVENTORY = {
    'node-a': {'public_address': '203.0.113.10', 'nat': False},
    'node-b': {'public_address': '203.0.113.20', 'nat': False},
}


def _mesh(transport='backhaul'):
    return [{'name': 'office', 'nodes': ['node-a', 'node-b'], 'overlay_subnet': '10.250.0.0/24',
             'transport': transport}]


# (secret, accepted, words the refusal must contain)
CASES = [
    # hex: 4 bits a character, 32 needed
    ('0123456789abcdef0123456789abcdef', True, ()),
    ('0123456789ABCDEF0123456789ABCDEF', True, ()),
    ('0123456789abcdef0123456789abcde', False, ('too weak', '31 characters')),
    ('3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e', True, ()),  # openssl rand -hex 24
    # base64 / mixed: 22 characters of upper+lower+digits (62 -> 5.95 bits each = 131)
    ('Qm9vdHN0cmFwU2VjcmV0eA', True, ()),
    ('Qm9vdHN0cmFwU2VjcmV0e', False, ('too weak',)),
    ('abcdefghijklmnopqrstuvwxyz', False, ('too weak',)),             # 26 lowercase: 122 bits
    ('abcdefghijklmnopqrstuvwxyza', False, ('too weak',)),            # 27 lowercase: 126.9 bits
    ('abcdefghijklmnopqrstuvwxyzab', True, ()),                       # 28 lowercase: 131.6 bits
    ('wgmesh-lab-only-secret-0123456789abcdef', True, ()),            # tests/lab/lab.py LAB_SECRET
    ('lab-secret-0123456789', True, ()),                              # unit tests' secret: 128.3 bits
    ('short', False, ('too weak', '5 characters')),
    ('aaaaaaaaaaaaaaa', False, ('too weak',)),                        # under the 16-character floor
    # the published placeholder (inventories/example) and look-alikes
    ('example-only-replace-me-0123456789', False, ('placeholder',)),
    ('Example-Only-REPLACE-ME-0123456789abcdef', False, ('placeholder',)),
    # missing or wrong type
    (None, False, ('not set',)),
    ('', False, ('not set',)),
    (12345678901234567890123456789012, False, ('must be a string',)),
]


@pytest.mark.parametrize('secret, accepted, words', CASES)
def test_secret_rule(secret, accepted, words):
    problem = secret_problem(secret)
    if accepted:
        assert problem is None, problem
        plan_meshes(_mesh(), INVENTORY, secret)
        return
    assert problem is not None
    assert problem.startswith('wgmesh_secret ')
    for word in words:
        assert word in problem
    with pytest.raises(PlanError) as caught:
        plan_meshes(_mesh(), INVENTORY, secret)
    message = str(caught.value)
    assert 'wgmesh_secret' in message
    assert 'openssl rand -hex 24' in message and 'ansible-vault encrypt_string' in message


@pytest.mark.parametrize('secret, bits', [
    ('0' * 32, 128.0),
    ('a' * 10, 40.0),      # hex digits only
    ('g' * 10, 47.0),
    ('aB3' * 10, 178.6),
    ('a-' * 10, 117.7),
])
def test_secret_bits(secret, bits):
    assert secret_bits(secret) == pytest.approx(bits, abs=0.1)


def test_direct_transport_ignores_the_secret():
    plan_meshes(_mesh('direct'), INVENTORY, None)
    plan_meshes(_mesh('direct'), INVENTORY, 'short')


def test_example_inventory_placeholder_is_refused():
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'inventories', 'example',
                        'group_vars', 'all', 'secret.yml')
    if not os.path.exists(path):
        pytest.skip('inventories/example not in this tree')
    with open(path) as f:
        match = re.search(r'^wgmesh_secret:\s*(\S+)\s*$', f.read(), re.M)
    if match is None:  # the example keeps no plain-text secret at all
        return
    assert 'placeholder' in secret_problem(match.group(1))


def test_lab_secret_passes():
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'lab', 'lab.py')
    if not os.path.exists(path):  # ansible-test units copies only tests/unit
        pytest.skip('tests/lab/lab.py not in this tree')
    with open(path) as f:
        secret = re.search(r'^LAB_SECRET = "([^"]+)"', f.read(), re.M).group(1)
    assert secret_problem(secret) is None
    assert secret_bits(secret) >= SECRET_MIN_BITS


def test_missing_meshes_get_the_planners_message():
    with pytest.raises(PlanError) as caught:
        plan_meshes(None, INVENTORY, None)
    assert 'wgmesh_meshes is not set' in str(caught.value)
    with pytest.raises(PlanError) as caught:
        plan_meshes({'name': 'office'}, INVENTORY, None)
    assert 'wgmesh_meshes must be a list' in str(caught.value)
