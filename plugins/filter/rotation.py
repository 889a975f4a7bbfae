# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/rotate_keys.yml, over plugin_utils/rotation.py.

Arguments are checked against each filter's documentation (plugins/filter/<name>.yml); what
the nodes registered comes in as explicit mappings {node: result}.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import require_plan
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter
from ansible_collections.smite.wgmesh.plugins.plugin_utils.rotation import (
    RotationError, check_request, key_change, link_problems, rotation_report, rotation_request,
)


def _require_request(request, name, plan=None):
    """The request's mesh plan (with `plan`); fails unless `request` is a rotation request."""
    if not isinstance(request.get('mesh'), str) or not isinstance(request.get('nodes'), list) \
            or (plan is not None and request['mesh'] not in plan['meshes']):
        raise AnsibleFilterError('%s: the request must come from smite.wgmesh.mesh_rotation_request' % name)
    return None if plan is None else plan['meshes'][request['mesh']]


def _require_keys(keys, request, name):
    strangers = sorted(set(keys) - set(request['nodes']))
    if strangers:
        raise AnsibleFilterError('%s: keys of nodes not in mesh %s: %s' % (name, request['mesh'], ', '.join(strangers)))
    for node, key in keys.items():
        if not isinstance(key, Mapping) or not key.get('new'):
            raise AnsibleFilterError('%s: keys[%s] must come from smite.wgmesh.mesh_rotation_keys' % (name, node))
    return dict((node, dict(key)) for node, key in keys.items())


@documented_filter
def mesh_rotation_request(_input, mesh, nodes):
    require_plan(_input, 'mesh_rotation_request')
    try:
        return rotation_request(_input, mesh, nodes)
    except RotationError as exc:
        raise AnsibleFilterError('mesh_rotation_request: %s' % exc)


@documented_filter
def mesh_rotation_keys(_input, request):
    """{node: {old, new, rotated}} from {node: registered wg_keypair result}."""
    _require_request(request, 'mesh_rotation_keys')
    strangers = sorted(set(_input) - set(request['nodes']))
    if strangers:
        raise AnsibleFilterError('mesh_rotation_keys: not nodes of the request: %s' % ', '.join(strangers))
    try:
        return dict((node, key_change(result, request['mesh'])) for node, result in _input.items())
    except RotationError as exc:
        raise AnsibleFilterError('mesh_rotation_keys: %s' % exc)


@documented_filter
def mesh_rotation_check(_input, request, keys, host, hosts):
    require_plan(_input, 'mesh_rotation_check')
    mesh_plan = _require_request(request, 'mesh_rotation_check', _input)
    keys = _require_keys(keys, request, 'mesh_rotation_check')
    if host not in keys:
        raise AnsibleFilterError('mesh_rotation_check: %s has no key in keys' % host)
    return dict(check_request(mesh_plan, host, keys, hosts), interface=mesh_plan['interface'])


@documented_filter
def mesh_rotation_problems(_input, node, expected_keys):
    return link_problems(_input, node, dict(expected_keys))


@documented_filter
def mesh_rotation_report(_input, request, keys, checks, check_mode):
    name = 'mesh_rotation_report'
    require_plan(_input, name)
    mesh_plan = _require_request(request, name, _input)
    keys = _require_keys(keys, request, name)
    reports = {}
    for node, check in checks.items():
        if check is not None and not isinstance(check, Mapping):
            raise AnsibleFilterError('%s: checks[%s] must be a registered smite.wgmesh.wg_status result' % (name, node))
        # Skipped (check mode): the node did not check its links.
        if check is not None and not check.get('skipped'):
            reports[node] = dict(check)
    return rotation_report(mesh_plan, request['rotate'], keys, reports, check_mode)


class FilterModule(object):
    def filters(self):
        return {
            'mesh_rotation_request': mesh_rotation_request,
            'mesh_rotation_keys': mesh_rotation_keys,
            'mesh_rotation_check': mesh_rotation_check,
            'mesh_rotation_problems': mesh_rotation_problems,
            'mesh_rotation_report': mesh_rotation_report,
        }
