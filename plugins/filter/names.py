# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter over the collection's naming rules (module_utils/names.py) for playbooks and roles."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.module_utils import names
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter


@documented_filter
def mesh_interface(_input):
    if not names.is_mesh_name(_input):
        raise AnsibleFilterError('mesh_interface: %r is not a mesh name (%s)' % (_input, names.MESH_NAME_HELP))
    return names.interface(_input)


@documented_filter
def mesh_link_unit(_input):
    instance = _input
    mesh, dot, peer = instance.partition('.')
    if not dot or instance != names.link_instance(mesh, peer) or not names.is_mesh_name(mesh) \
            or not names.is_node_name(peer):
        raise AnsibleFilterError('mesh_link_unit: %r is not a link instance <mesh>.<peer>' % (instance,))
    return names.link_unit(instance)


class FilterModule(object):
    def filters(self):
        return {'mesh_interface': mesh_interface, 'mesh_link_unit': mesh_link_unit}
