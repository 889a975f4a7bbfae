# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The naming rules every layer uses (planner, modules, agent, playbooks' test plugin, lab)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils import names


@pytest.mark.parametrize('name, valid', [
    ('office', True), ('a', True), ('mesh_2-b', True), ('a' * 12, True),
    ('', False), ('a' * 13, False), ('off.ice', False), ('a=b', False), ('a+b', False), ('a/b', False),
    ('a b', False), ('.', False), (None, False), (7, False),
])
def test_mesh_names(name, valid):
    assert names.is_mesh_name(name) is valid


def test_every_mesh_name_makes_a_linux_interface_name():
    assert len(names.interface('a' * 12)) == 15  # IFNAMSIZ - 1


@pytest.mark.parametrize('name, valid', [
    ('node-ir', True), ('vps1.example.net', True), ('n_1', True),
    ('', False), ('.', False), ('..', False), ('a/b', False), ('a b', False), ('#x', False), (None, False),
])
def test_node_names(name, valid):
    assert names.is_node_name(name) is valid


def test_unit_and_instance_names():
    assert names.interface('office') == 'wg-office'
    assert names.mesh_unit('office') == 'wg-quick@wg-office.service'
    assert names.link_instance('office', 'node-tr') == 'office.node-tr'
    assert names.link_unit('office.node-tr') == 'backhaul@office.node-tr.service'
