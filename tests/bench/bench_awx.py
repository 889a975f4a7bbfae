# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sliced vs unsliced, as AWX runs them, on the 4-node awx lab (docs/awx.md, "Figures").

Run: make bench-awx (as root, after `make setup-host venv image`). Each way starts from fresh
containers: one site job over the whole inventory, then its rerun; then the sliced workflow
(publish in 3 slices in parallel, then site in 3 slices in parallel with the merged
artifacts), then its rerun. Every job is an ansible-runner run from an AWX-shaped private data
directory (tests/lab/awx_jobs.py). Wall times; the lab is taken down at the end.
"""

import os
import sys
import tempfile
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

import awx_jobs  # noqa: E402  pylint: disable=wrong-import-position
import lab as lablib  # noqa: E402  pylint: disable=wrong-import-position

SCENARIO = os.path.join(REPO, 'tests', 'lab', 'scenarios', 'awx.yml')
SLICES = 3
VAULT_PASSWORD = 'bench-vault-password'


def fresh_lab(lab):
    lablib.down(lab)
    lablib.up(lab)


def check(jobs, label):
    failed = [j for j in jobs if j.rc != 0]
    if failed:
        sys.stdout.write(failed[0].stdout[-4000:])
        raise SystemExit('%s: job %s failed' % (label, failed[0].name))


def report(label, seconds, jobs):
    changed = sum(sum(j.changed().values()) for j in jobs)
    print('%-44s %7.1f s   changed=%d' % (label, seconds, changed))


def main():
    lab = lablib.load_scenario(SCENARIO)
    workdir = tempfile.mkdtemp(prefix='bench-awx-')
    _tarball, collections, _out = awx_jobs.build_and_install(workdir)
    inventory = lablib.script_inventory(lablib.inventory(lab))
    inventory['all']['vars']['wgmesh_secret'] = awx_jobs.vault_encrypt(lablib.LAB_SECRET, VAULT_PASSWORD, workdir)
    hosts = [n['name'] for n in lab['nodes']]
    print('awx lab: %d nodes, full mesh over Backhaul; %d slices' % (len(hosts), SLICES))

    fresh_lab(lab)
    for tag in ('first', 'rerun'):
        job = awx_jobs.Job(workdir, 'unsliced-site-' + tag, inventory, {}, VAULT_PASSWORD, collections)
        job.run('playbooks/site.yml')
        check([job], tag)
        report('unsliced: one site job (%s)' % tag, job.seconds, [job])

    fresh_lab(lab)
    for tag in ('first', 'rerun'):
        start = time.monotonic()
        publish, _merged, site = awx_jobs.sliced_pass(workdir, 'sliced-' + tag, inventory, hosts, SLICES,
                                                      VAULT_PASSWORD, collections)
        total = time.monotonic() - start
        check(publish + site, tag)
        report('sliced: publish, %d slices in parallel (%s)' % (SLICES, tag),
               max(j.seconds for j in publish), publish)
        report('sliced: site, %d slices in parallel (%s)' % (SLICES, tag), max(j.seconds for j in site), site)
        report('sliced: whole pass (%s)' % tag, total, publish + site)
    lablib.down(lab)
    print('job directories (artifacts): %s' % workdir)


if __name__ == '__main__':
    main()
