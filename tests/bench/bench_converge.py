# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge benchmark on the 3-node seed lab: first converge, idempotent rerun, status run.

Run: make bench-converge (as root, after `make setup-host venv image`). The lab is made
fresh (the seed scenario's containers are removed and started again) and left running.
Goals: first converge <= 15 s, rerun <= 10 s.
"""

import os
import re
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
SCENARIO = os.path.join(REPO, 'tests', 'lab', 'scenarios', 'seed.yml')
INVENTORY = os.path.join(REPO, 'build', 'lab', 'seed', 'inventory.yml')
BIN = os.path.join(REPO, '.venv', 'bin')


def run(argv, label):
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('%s failed (exit %d)' % (label, proc.returncode))
    changed = sum(int(n) for n in re.findall(r'changed=(\d+)', proc.stdout))
    print('%-28s %7.1f s   changed=%d' % (label, elapsed, changed))
    return elapsed


def main():
    lab = [os.path.join(BIN, 'python'), os.path.join(REPO, 'tests', 'lab', 'lab.py')]
    playbook = [os.path.join(BIN, 'ansible-playbook'), '-i', INVENTORY]
    run(lab + ['down', SCENARIO], 'lab down')
    run(lab + ['up', SCENARIO], 'lab up (fresh containers)')
    run(playbook + ['playbooks/site.yml'], 'site.yml first converge')
    run(playbook + ['playbooks/site.yml'], 'site.yml rerun')
    run(playbook + ['playbooks/status.yml'], 'status.yml')


if __name__ == '__main__':
    main()
