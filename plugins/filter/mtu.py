# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for `mtu: auto` (plugins/plugin_utils/path_mtu.py): what each node probes, the MTU
chosen from the measurements, and the MTU part of the status report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.smite.wgmesh.plugins.filter.mesh import require_plan
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import MTU_AUTO
from ansible_collections.smite.wgmesh.plugins.plugin_utils.path_mtu import (
    choose_mtus, probe_targets, status_mtu, status_mtu_lines,
)


def _plan(plan, name):
    require_plan(plan, name)
    return plan


def _measured(measured):
    """{host: path_mtu result} as plain data (hostvars values are lazy Ansible objects)."""
    return json.loads(json.dumps(dict(measured), default=str))


@documented_filter
def mesh_mtu_probes(_input):
    return probe_targets(_input)


@documented_filter
def mesh_mtu_choice(_input, measured, warn):
    choice = choose_mtus(_plan(_input, 'mesh_mtu_choice'), _measured(measured))
    if warn:
        for name in sorted(choice):
            for warning in choice[name].get('warnings', ()):
                Display().warning(warning)
    return choice


@documented_filter
def mesh_mtus(_input, choice):
    mtus = {}
    for entry in _input:
        if entry['mtu'] != MTU_AUTO:
            mtus[entry['mesh']] = entry['mtu']
        elif isinstance((choice or {}).get(entry['mesh']), Mapping):
            mtus[entry['mesh']] = choice[entry['mesh']]['mtu']
        else:
            raise AnsibleFilterError("mesh_mtus: mesh '%s' has mtu auto and no MTU was chosen for it "
                                     "(smite.wgmesh.mesh_mtu_choice; the wireguard role needs wireguard_plan)"
                                     % entry['mesh'])
    return mtus


@documented_filter
def mesh_mtu_status(_input, plan, measured):
    report = _input
    if not isinstance(report.get('meshes'), Mapping):
        raise AnsibleFilterError('mesh_mtu_status: expects a report made by smite.wgmesh.mesh_status_report')
    mtus = status_mtu(_plan(plan, 'mesh_mtu_status'), _measured(measured))
    report = dict(report)
    report['meshes'] = dict((name, dict(mesh, mtu=mtus.get(name))) for name, mesh in report['meshes'].items())
    shown = dict((name, entry) for name, entry in mtus.items() if name in report['meshes'])
    lines = status_mtu_lines(shown)
    if isinstance(report.get('text'), list):
        report['text'] = report['text'] + lines
    if isinstance(report.get('markdown'), str):
        report['markdown'] = report['markdown'] + '\n## MTU\n\n' + ''.join('    %s\n' % line for line in lines)
    return report


class FilterModule(object):
    def filters(self):
        return {
            'mesh_mtu_probes': mesh_mtu_probes,
            'mesh_mtu_choice': mesh_mtu_choice,
            'mesh_mtus': mesh_mtus,
            'mesh_mtu_status': mesh_mtu_status,
        }
