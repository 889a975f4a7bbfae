# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test over the collection's naming rules (module_utils/names.py) for playbooks and roles."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.smite.wgmesh.plugins.module_utils.names import is_mesh_name


class TestModule(object):
    def tests(self):
        return {'mesh_name': is_mesh_name}
