# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with args; return (parsed result, raw stdout).

    The module really prints its JSON (so no_log masking and the output path are
    exercised); the raw text lets tests assert that a secret appears nowhere.
    """
    def run(main, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        return json.loads(out), out
    return run
