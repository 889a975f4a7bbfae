# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every filter checks its arguments against its documentation (plugins/filter/<name>.yml)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import inspect
from collections.abc import Mapping

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter import health, mesh, mtu, names, publish, rotation, status_page
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import filter_arguments, filter_spec
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes

FILTERS = {}
for _module in (health, mesh, mtu, names, publish, rotation, status_page):
    FILTERS.update(_module.FilterModule().filters())

PLAN = plan_meshes([{'name': 'office', 'nodes': ['node-ir', 'node-tr'], 'overlay_subnet': '10.250.0.0/24',
                     'transport': 'direct'}],
                   {'node-ir': {'public_address': '203.0.113.1'}, 'node-tr': {'public_address': '203.0.113.2'}},
                   'filter-secret-0123456789')
REQUEST = {'mesh': 'office', 'interface': 'wg-office', 'nodes': ['node-ir', 'node-tr'], 'rotate': ['node-ir']}

# One call with a wrong argument per filter, and what the error must say besides the filter name.
BAD_CALLS = {
    'mesh_agent_config': (([], ), {'interval': 'often'}, "argument 'interval' is of type .*str"),
    'mesh_host_plan': ((PLAN, ['node-ir']), {}, "argument 'host' is of type .*list"),
    'mesh_peer_key_choice': (([], ['node-ir']), {}, "argument 'play_keys' is of type .*list"),
    'mesh_peer_keys': (({}, {}), {}, "argument '_input' is of type .*dict"),
    'mesh_peers_outside': (([], 'node-ir'), {}, "argument 'hosts' is of type str, not a list"),
    'mesh_pending_report': ((PLAN, {}), {}, 'missing required arguments: converged'),
    'mesh_plan': (([], ['node-ir']), {}, "argument 'hostvars' is of type .*list"),
    'mesh_plan_summary': (([],), {}, "argument '_input' is of type .*list"),
    'mesh_rotation_check': ((PLAN, REQUEST, {}, 'node-ir', 'node-ir'), {}, "argument 'hosts' is of type str, not a list"),
    'mesh_rotation_keys': (({}, 'office'), {}, "argument 'request' is of type .*str"),
    'mesh_rotation_problems': (({'up': True}, 'node-ir', ['key']), {}, "argument 'expected_keys' is of type .*list"),
    'mesh_rotation_report': ((PLAN, REQUEST, {}, {}), {'check_mode': 'maybe'}, "argument 'check_mode' is of type .*str"),
    'mesh_rotation_request': ((PLAN,), {'mesh': 7}, "argument 'mesh' is of type .*int"),
    'mesh_status_page': ((None,), {}, "argument '_input' is of type .*NoneType"),
    'mesh_status_report': ((PLAN,), {'statuses': {}, 'mesh': ['office']}, "argument 'mesh' is of type .*list"),
    'mesh_interface': ((None,), {}, "argument '_input' is of type .*NoneType"),
    'mesh_link_tokens': (([], 'node-ir'), {}, 'missing required arguments: secret'),
    'mesh_link_unit': ((['office.node-ir'],), {}, "argument '_input' is of type .*list"),
    'mesh_mtu_probes': (({},), {}, "argument '_input' is of type dict, not a list"),
    'mesh_mtu_choice': ((PLAN, []), {}, "argument 'measured' is of type .*list"),
    'mesh_mtus': (([],), {'choice': 'auto'}, "argument 'choice' is of type .*str"),
    'mesh_mtu_status': (({'meshes': {}}, PLAN), {}, 'missing required arguments: measured'),
    'mesh_publish_record': (([], {}, 'node-ir', []), {}, "argument 'public_keys' is of type .*list"),
    'mesh_published': ((['wgmesh_node_a'], {}), {}, "argument 'values' is of type dict, not a list"),
    'mesh_published_reads': ((['wgmesh_node_a'],), {}, "argument '_input' is of type .*list"),
}


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_filter_parameters_are_its_documented_options(name):
    positional, spec = filter_spec(name)
    assert positional[0] == '_input' and set(positional) <= set(spec)
    parameters = list(inspect.signature(FILTERS[name].__wrapped__).parameters)
    assert parameters == list(spec), 'the function takes exactly the options of %s.yml, in order' % name


def test_every_filter_has_a_bad_call():
    assert sorted(BAD_CALLS) == sorted(FILTERS)


@pytest.mark.parametrize('name', sorted(BAD_CALLS))
def test_filter_refuses_a_wrong_argument(name):
    args, kwargs, message = BAD_CALLS[name]
    with pytest.raises(AnsibleFilterError, match='^%s: .*%s' % (name, message)):
        FILTERS[name](*args, **kwargs)


@pytest.mark.parametrize('args, kwargs, message', [
    ((PLAN, 'node-ir', None, 'extra'), {}, r'mesh_host_plan: takes at most 3 arguments \(_input, host, secret\), got 4'),
    ((PLAN, 'node-ir'), {'host': 'node-tr'}, 'mesh_host_plan: host given both by position and by name'),
    ((PLAN, 'node-ir'), {'hostvars': {}}, r'mesh_host_plan: unknown argument\(s\) hostvars \(arguments: _input, host, secret\)'),
    ((PLAN,), {}, 'mesh_host_plan: missing required arguments: host'),
    ((PLAN, 'node-ir'), {'secret': 12345}, "mesh_host_plan: argument 'secret' is of type .*int"),
])
def test_calls_the_documentation_does_not_allow(args, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filter_arguments('mesh_host_plan', args, kwargs)


def test_defaults_come_from_the_documentation():
    arguments = filter_arguments('mesh_agent_config', ([],), {'interval': 5})
    assert arguments['interval'] == 5 and arguments['stall_after'] == 75
    assert arguments['config_dir'] == '/etc/wireguard'
    assert filter_arguments('mesh_rotation_request', (PLAN,), {}) == {'_input': PLAN, 'mesh': None, 'nodes': None}


class Vaulted(object):
    """What ansible-core < 2.19 hands a filter for an inline-vaulted string."""
    vault = object()

    def __str__(self):
        return 'decrypted-secret'


class HostVars(Mapping):
    """Like Ansible's hostvars: a mapping, not a dict."""

    def __init__(self, hosts):
        self._hosts = hosts

    def __getitem__(self, name):
        return self._hosts[name]

    def __iter__(self):
        return iter(self._hosts)

    def __len__(self):
        return len(self._hosts)


def test_a_vaulted_string_is_its_text_and_a_mapping_is_a_dict():
    assert filter_arguments('mesh_host_plan', (PLAN, 'node-ir', Vaulted()), {})['secret'] == 'decrypted-secret'
    hostvars = HostVars({'node-ir': {}})
    assert filter_arguments('mesh_plan', ([], hostvars), {})['hostvars'] is hostvars


def test_arguments_are_handed_over_not_copied():
    """The validator copies only the mapping of arguments: a plan is passed as it is."""
    assert filter_arguments('mesh_host_plan', (PLAN, 'node-ir'), {})['_input'] is PLAN
