# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the planner and the status report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.module_utils.planner import (
    PlanError, host_plan, peer_public_keys, peers_outside, plan_meshes, plan_summary,
)
from ansible_collections.smite.wgmesh.plugins.module_utils.status import (
    build_report, collect, report_markdown, report_text,
)


def _inventory_facts(meshes, hostvars):
    """Only the facts the planner needs, for only the nodes the meshes name."""
    names = set()
    for mesh in meshes if isinstance(meshes, list) else ():
        if isinstance(mesh, Mapping) and isinstance(mesh.get('nodes'), list):
            names.update(n for n in mesh['nodes'] if isinstance(n, str))
    facts = {}
    for name in names:
        if name not in hostvars:
            continue
        host = hostvars[name]
        facts[name] = {
            'public_address': host.get('wgmesh_public_address') or host.get('ansible_host') or name,
            'nat': host.get('wgmesh_nat', False),
        }
    return facts


def mesh_plan(meshes, hostvars, secret=None):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_plan: the first argument must be hostvars (a mapping of hosts)')
    try:
        return plan_meshes(meshes, _inventory_facts(meshes, hostvars), secret)
    except PlanError as exc:
        raise AnsibleFilterError('invalid wgmesh_meshes:\n- ' + '\n- '.join(exc.errors))


def require_plan(plan, name):
    """Fail unless `plan` looks like a mesh_plan result (also used by the rotation filters)."""
    if not isinstance(plan, Mapping) or not isinstance(plan.get('meshes'), Mapping):
        raise AnsibleFilterError('%s: the input must be a plan made by smite.wgmesh.mesh_plan' % name)


def mesh_host_plan(plan, host, secret=None):
    require_plan(plan, 'mesh_host_plan')
    if secret is not None and not isinstance(secret, str):
        raise AnsibleFilterError('mesh_host_plan: the secret must be a string (wgmesh_secret)')
    return host_plan(plan, host, secret)


def mesh_plan_summary(plan):
    require_plan(plan, 'mesh_plan_summary')
    return plan_summary(plan)


def mesh_status_report(plan, hostvars, mesh=None):
    require_plan(plan, 'mesh_status_report')
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_status_report: the second argument must be hostvars')
    if mesh is not None and mesh not in plan['meshes']:
        raise AnsibleFilterError("mesh_status_report: there is no mesh '%s' (meshes: %s)"
                                 % (mesh, ', '.join(sorted(plan['meshes']))))
    statuses, services, unreachable = collect(plan, hostvars)
    report = build_report(plan, statuses, services, unreachable, mesh)
    report['text'] = report_text(report)
    report['markdown'] = '\n'.join(report_markdown(report)) + '\n'
    return report


def mesh_peer_keys(entries, hostvars, read_results=None):
    if not isinstance(entries, list) or not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_peer_keys: expects a host plan (mesh_host_plan) and hostvars')
    peers = set(peer['node'] for entry in entries for peer in entry.get('peers', ()))
    in_play = {}
    for node in peers:
        if node in hostvars:
            in_play[node] = hostvars[node].get('wireguard_public_keys') or {}
    read = {}
    for result in (read_results or {}).get('results', ()):
        if result.get('content') and not result.get('failed'):
            mesh, node = result['item']
            read[(mesh, node)] = base64.b64decode(result['content']).decode('ascii').strip()
    return peer_public_keys(entries, in_play, read)


def mesh_peers_outside(entries, hosts):
    if not isinstance(entries, list) or not isinstance(hosts, list):
        raise AnsibleFilterError('mesh_peers_outside: expects a host plan (mesh_host_plan) and a list of hosts')
    return peers_outside(entries, hosts)


class FilterModule(object):
    def filters(self):
        return {
            'mesh_plan': mesh_plan,
            'mesh_host_plan': mesh_host_plan,
            'mesh_peer_keys': mesh_peer_keys,
            'mesh_peers_outside': mesh_peers_outside,
            'mesh_plan_summary': mesh_plan_summary,
            'mesh_status_report': mesh_status_report,
        }
