# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mesh_plan's error plumbing: the planner's messages first, no chained cause (issue #13)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import FilterModule

mesh_plan = FilterModule().filters()['mesh_plan']
HOSTVARS = {'node-a': {'ansible_host': '203.0.113.10'}, 'node-b': {'ansible_host': '203.0.113.20'}}
GOOD = [{'name': 'office', 'nodes': ['node-a', 'node-b'], 'overlay_subnet': '10.250.0.0/24'}]
SECRET = '3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e'

# (meshes, secret, words in the first error)
BAD = [
    (None, SECRET, 'wgmesh_meshes is not set'),
    ('office', SECRET, 'wgmesh_meshes must be a list'),
    ([dict(GOOD[0], mtu=9000)], SECRET, "mesh 'office', field 'mtu'"),
    (GOOD, 'example-only-replace-me-0123456789', 'wgmesh_secret is the published example placeholder'),
    (GOOD, 'too-short', 'wgmesh_secret is too weak'),
]


@pytest.mark.parametrize('meshes, secret, words', BAD)
def test_raise_has_the_planners_message_and_no_cause(meshes, secret, words):
    with pytest.raises(AnsibleFilterError) as caught:
        mesh_plan(meshes, HOSTVARS, secret)
    assert str(caught.value).startswith('invalid wgmesh_meshes:\n- ')
    assert words in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize('meshes, secret, words', BAD)
def test_return_gives_the_errors(meshes, secret, words):
    result = mesh_plan(meshes, HOSTVARS, secret, errors='return')
    assert list(result) == ['errors']
    assert words in result['errors'][0]


def test_return_gives_the_plan_when_valid():
    assert 'office' in mesh_plan(GOOD, HOSTVARS, SECRET, errors='return')['meshes']


def test_errors_option_is_checked():
    with pytest.raises(AnsibleFilterError, match='errors must be'):
        mesh_plan(GOOD, HOSTVARS, SECRET, errors='ignore')


class _VaultedText(object):
    """Stands in for ansible-core < 2.19's AnsibleVaultEncryptedUnicode: not a str, str() decrypts."""
    vault = object()

    def __init__(self, text):
        self._text = text

    def __str__(self):
        return self._text


def test_inline_vaulted_secret_is_used_as_text():
    plan = mesh_plan(GOOD, HOSTVARS, _VaultedText(SECRET))
    host = FilterModule().filters()['mesh_host_plan'](plan, 'node-a', _VaultedText(SECRET))
    assert len(host[0]['backhaul'][0]['token']) == 40
