# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The naming rules of a mesh: the one place that says what a mesh or node name may be and
how interface, unit and link names are made from them (pure Python, used on the controller,
on the nodes and by the tests)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

# A mesh's interface is `wg-<mesh>` (Linux allows 15 characters) and its links are the systemd
# instances `backhaul@<mesh>.<node>`, where '=', '+' or '.' in the mesh name would be ambiguous.
MESH_NAME_PATTERN = r'^[A-Za-z0-9_-]{1,12}$'
MESH_NAME_HELP = "1-12 characters of letters, digits, '_' or '-' (the interface wg-<name> has at most 15)"
# Inventory hostnames as they appear in file names, systemd instances and `# <node>` comments.
NODE_NAME_PATTERN = r'^[A-Za-z0-9_.-]+$'
NODE_NAME_HELP = "letters, digits, '.', '_' and '-' only"

_MESH_NAME_RE = re.compile(MESH_NAME_PATTERN)
_NODE_NAME_RE = re.compile(NODE_NAME_PATTERN)


def is_mesh_name(name):
    """True if name is a valid mesh name."""
    return isinstance(name, str) and bool(_MESH_NAME_RE.match(name))


def is_node_name(name):
    """True if name is usable as a node name."""
    return isinstance(name, str) and bool(_NODE_NAME_RE.match(name)) and name not in ('.', '..')


def interface(mesh):
    """The WireGuard interface of a mesh."""
    return 'wg-' + mesh


def mesh_unit(mesh):
    """The wg-quick unit that brings a mesh's interface up."""
    return 'wg-quick@%s.service' % interface(mesh)


def link_instance(mesh, peer):
    """The Backhaul instance of this node's link to peer in mesh: `<mesh>.<peer>`."""
    return '%s.%s' % (mesh, peer)


def link_unit(instance):
    """The Backhaul unit of one link instance."""
    return 'backhaul@%s.service' % instance
