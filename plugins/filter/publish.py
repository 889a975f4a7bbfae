# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for sliced runs: what playbooks/publish.yml publishes and how site.yml takes it
(plugin_utils/publish.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.mesh import _inventory_facts, _mesh_nodes
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import PlanError
from ansible_collections.smite.wgmesh.plugins.plugin_utils.publish import as_reads, node_record, published_nodes


def _fail(name, exc):
    return AnsibleFilterError('%s:\n- %s' % (name, '\n- '.join(exc.errors)))


@documented_filter
def mesh_publish_record(_input, hostvars, host, public_keys):
    meshes = _input
    if host not in hostvars:
        raise AnsibleFilterError('mesh_publish_record: host %s is not in the inventory' % host)
    # Only this host's facts are read: in a slice the others are not in the inventory.
    facts = _inventory_facts([{'nodes': [host]}], hostvars)[host]
    member_of = [m['name'] for m in meshes
                 if isinstance(m, Mapping) and isinstance(m.get('nodes'), list) and host in m['nodes']]
    try:
        return node_record(host, member_of, dict(public_keys), facts, _mesh_nodes(meshes))
    except PlanError as exc:
        raise _fail('mesh_publish_record', exc) from None


@documented_filter
def mesh_published(_input, values):
    if len(_input) != len(values):
        raise AnsibleFilterError('mesh_published: expects the variable names and, in the same order, their values')
    try:
        return published_nodes(dict(zip(_input, values)))
    except PlanError as exc:
        raise _fail('invalid published nodes (smite.wgmesh.publish)', exc) from None


@documented_filter
def mesh_published_reads(_input):
    return as_reads(_input)


class FilterModule(object):
    def filters(self):
        return {
            'mesh_publish_record': mesh_publish_record,
            'mesh_published': mesh_published,
            'mesh_published_reads': mesh_published_reads,
        }
