# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mtu auto filters: input checks, the MTU per mesh for the role, the status report part."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mtu import (
    FilterModule, mesh_mtu_choice, mesh_mtu_probes, mesh_mtu_status, mesh_mtus,
)
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import host_plan, plan_meshes

INVENTORY = {'a': {'public_address': '203.0.113.1'}, 'b': {'public_address': '203.0.113.2'}}


def plan(mtu='auto'):
    return plan_meshes([dict(name='m', nodes=['a', 'b'], overlay_subnet='10.9.0.0/24', mtu=mtu, transport='direct')],
                       INVENTORY)


MEASURED = {'a': {'paths': {'203.0.113.2': {'path_mtu': 1400}}, 'interfaces': {'wg-m': None}},
            'b': {'changed': False, 'skipped': True}}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'mesh_mtu_probes', 'mesh_mtu_choice', 'mesh_mtus', 'mesh_mtu_status'}


def test_choice_and_mtus_for_the_role():
    choice = mesh_mtu_choice(plan(), MEASURED, warn=False)
    assert choice['m']['mtu'] == 1340
    assert mesh_mtus(host_plan(plan(), 'a'), choice) == {'m': 1340}
    assert mesh_mtus(host_plan(plan(1380), 'a')) == {'m': 1380}


def test_auto_without_a_choice_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="mesh 'm' has mtu auto.*wireguard_plan"):
        mesh_mtus(host_plan(plan(), 'a'), None)


@pytest.mark.parametrize('call', [
    lambda: mesh_mtu_probes({'not': 'a list'}),
    lambda: mesh_mtu_choice({}, {}),
    lambda: mesh_mtu_choice(plan(), ['a']),
    lambda: mesh_mtu_status({'meshes': {}}, {}, {}),
    lambda: mesh_mtu_status('report', plan(), {}),
])
def test_bad_inputs_are_named(call):
    with pytest.raises(AnsibleFilterError, match='mesh_mtu_'):
        call()


def test_status_adds_the_mtu_to_the_report_text_and_json():
    report = {'meshes': {'m': {'links': []}}, 'down': [], 'text': ['mesh m'], 'markdown': '# status\n'}
    out = mesh_mtu_status(report, plan(), MEASURED)
    assert out['meshes']['m']['mtu']['links'][0]['path_mtu'] == 1400
    assert out['text'][1] == 'mesh m: MTU auto, on the interfaces: none; a converge would choose 1340'
    assert '## MTU' in out['markdown'] and report['text'] == ['mesh m']
