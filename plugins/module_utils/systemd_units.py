# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `systemctl show` parser shared by the modules, the status report and the health agent (pure Python)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def parse_show(text):
    """{unit Id: {property: value}} from `systemctl show --property=Id,... UNIT...`.

    systemctl prints one block of Key=Value lines per unit, blocks separated by a blank line.
    """
    units = {}
    for block in text.split('\n\n'):
        fields = dict(line.partition('=')[::2] for line in block.splitlines() if '=' in line)
        if fields.get('Id'):
            units[fields['Id']] = fields
    return units
