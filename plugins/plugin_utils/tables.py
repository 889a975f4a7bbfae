# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-text and Markdown tables for the plan and status reports."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def _cell(value):
    return '-' if value is None or value == '' else str(value)


def text_table(headers, rows):
    """Lines of a left-aligned table, columns two spaces apart."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    return ['  '.join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in [list(headers)] + cells]


def markdown_table(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines.extend('| ' + ' | '.join(_cell(v) for v in row) + ' |' for row in rows)
    return lines
