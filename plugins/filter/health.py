# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the node health agent."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.module_utils.health import agent_config
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter


@documented_filter  # types and defaults: plugins/filter/mesh_agent_config.yml
def mesh_agent_config(_input, interval, stall_after, backoff_max, metrics_file, state_file, config_dir):
    numbers = dict(interval=interval, stall_after=stall_after, backoff_max=backoff_max)
    for name, value in numbers.items():
        if isinstance(value, bool) or value < 1:  # the doc's type int lets a bool through
            raise AnsibleFilterError('mesh_agent_config: %s must be a whole number of seconds >= 1, got %r'
                                     % (name, value))
    if stall_after < 2 * interval:
        raise AnsibleFilterError('mesh_agent_config: stall_after (%d s) must be at least two rounds '
                                 '(2 x interval = %d s)' % (stall_after, 2 * interval))
    for name, value in dict(metrics_file=metrics_file, state_file=state_file, config_dir=config_dir).items():
        if not value.startswith('/'):
            raise AnsibleFilterError('mesh_agent_config: %s must be an absolute path, got %r' % (name, value))
    try:
        return agent_config(_input, dict(numbers, metrics_file=metrics_file, state_file=state_file,
                                         config_dir=config_dir))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError('mesh_agent_config: the input is not a host plan (missing %s)' % exc)


class FilterModule(object):
    def filters(self):
        return {'mesh_agent_config': mesh_agent_config}
