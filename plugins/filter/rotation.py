# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/rotate_keys.yml, over plugin_utils/rotation.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import require_plan
from ansible_collections.smite.wgmesh.plugins.plugin_utils.rotation import (
    RotationError, link_problems, live_peer_keys, rotation_report, rotation_request,
)


def _hostvar(hostvars, host, name):
    """A host's variable, or None when the host or the variable is not there."""
    if host not in hostvars:
        return None
    return hostvars[host].get(name)


def mesh_rotation_request(plan, mesh=None, nodes=None):
    require_plan(plan, 'mesh_rotation_request')
    try:
        return rotation_request(plan, mesh, nodes)
    except RotationError as exc:
        raise AnsibleFilterError('mesh_rotation_request: %s' % exc)


def mesh_rotation_problems(status, node, expected_keys):
    if not isinstance(expected_keys, Mapping):
        raise AnsibleFilterError('mesh_rotation_problems: expected_keys must map node names to public keys')
    return link_problems(status if isinstance(status, Mapping) else None, node, dict(expected_keys))


def mesh_live_peer_keys(plan, hostvars, results_var='wgmesh_rotation_live'):
    """Keys of every node as its peers hold them, from each host's registered wg_status loop
    over its mesh names (plan.hosts[host])."""
    require_plan(plan, 'mesh_live_peer_keys')
    statuses = {}
    for host in plan.get('hosts', {}):
        registered = _hostvar(hostvars, host, results_var) or {}
        statuses[host] = dict((result['item'], result) for result in registered.get('results') or ()
                              if isinstance(result.get('item'), str))
    return live_peer_keys(plan, statuses)


def mesh_rotation_report(plan, request, hostvars, check_mode=False,
                         key_var='wgmesh_rotation_key', check_var='wgmesh_rotation_check'):
    """The rotation outcome from each node's key fact and final wg_status check."""
    require_plan(plan, 'mesh_rotation_report')
    if not isinstance(request, Mapping) or request.get('mesh') not in plan['meshes']:
        raise AnsibleFilterError('mesh_rotation_report: the request must come from smite.wgmesh.mesh_rotation_request')
    facts = {}
    for node in request['nodes']:
        check = _hostvar(hostvars, node, check_var)
        # Skipped (check mode) or never registered: the node did not get to the check.
        if not isinstance(check, Mapping) or check.get('skipped'):
            check = None
        facts[node] = {'key': _hostvar(hostvars, node, key_var), 'status': check}
    return rotation_report(plan['meshes'][request['mesh']], request['rotate'], facts, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {
            'mesh_rotation_request': mesh_rotation_request,
            'mesh_rotation_problems': mesh_rotation_problems,
            'mesh_live_peer_keys': mesh_live_peer_keys,
            'mesh_rotation_report': mesh_rotation_report,
        }
