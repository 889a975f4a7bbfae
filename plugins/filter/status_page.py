# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the status report as a self-contained HTML page (plugins/plugin_utils/status_page.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status_page import render_page, validate_report


@documented_filter
def mesh_status_page(_input):
    report = _input
    errors = validate_report(report)
    if errors:
        raise AnsibleFilterError('mesh_status_page: the input is not a status report '
                                 '(smite.wgmesh.mesh_status_report): ' + '; '.join(errors))
    try:
        return render_page(report)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError('mesh_status_page: cannot draw the report: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'mesh_status_page': mesh_status_page}
