# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.names import FilterModule
from ansible_collections.smite.wgmesh.plugins.test.names import TestModule as NameTestPlugins

mesh_interface = FilterModule().filters()['mesh_interface']
mesh_name = NameTestPlugins().tests()['mesh_name']


def test_mesh_interface():
    assert mesh_interface('office') == 'wg-office'


@pytest.mark.parametrize('bad, message', [('off.ice', 'not a mesh name'), ('a=b', 'not a mesh name'),
                                          ('a' * 13, 'not a mesh name'), ('', 'not a mesh name'),
                                          (None, "argument '_input' is of type"), (3, "argument '_input' is of type")])
def test_mesh_interface_refuses_what_is_not_a_mesh_name(bad, message):
    with pytest.raises(AnsibleFilterError, match='^mesh_interface: .*' + message):
        mesh_interface(bad)


@pytest.mark.parametrize('value, expected', [('office', True), ('lab_2-b', True), ('off.ice', False),
                                             ('a+b', False), ('', False), (None, False), (['office'], False)])
def test_mesh_name(value, expected):
    assert mesh_name(value) is expected


mesh_link_unit = FilterModule().filters()['mesh_link_unit']


def test_mesh_link_unit():
    assert mesh_link_unit('office.node-tr') == 'backhaul@office.node-tr.service'
    assert mesh_link_unit('office.vps1.example.net') == 'backhaul@office.vps1.example.net.service'


@pytest.mark.parametrize('bad', ['office', 'off=ice.node', '.node', 'office.', 'office.a b'])
def test_mesh_link_unit_refuses_what_is_not_a_link_instance(bad):
    with pytest.raises(AnsibleFilterError, match='not a link instance'):
        mesh_link_unit(bad)
