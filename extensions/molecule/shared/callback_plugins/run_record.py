# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records each ansible-playbook run of a Molecule scenario (playbook, start, end, PLAY RECAP
counters) as one JSON line, so that the verify tests can assert on what a side_effect run did."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: run_record
type: aggregate
short_description: One JSON line per playbook run with its recap counters
description:
  - At the end of a run, appends the playbook's path, the run's start and end (epoch seconds)
    and each host's PLAY RECAP counters (ok, changed, unreachable, failures,
    skipped, rescued, ignored) to a file, as one JSON object per line.
  - Test harness of the Molecule scenarios (extensions/molecule); not part of the collection.
requirements:
  - enabled in the configuration (callbacks_enabled)
options:
  log:
    description: The file the lines are appended to; nothing is recorded when it is not set.
    type: path
    env:
      - name: WGMESH_RUN_LOG
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "run_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._playbook = None
        self._started = None

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.abspath(playbook._file_name)
        self._started = time.time()

    def v2_playbook_on_stats(self, stats):
        path = self.get_option("log")
        if not path:
            return
        record = {
            "playbook": self._playbook,
            "started": self._started,
            "ended": time.time(),
            "stats": {host: stats.summarize(host) for host in sorted(stats.processed)},
        }
        parent = os.path.dirname(path)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent)
        with open(path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
