# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner benchmark: best of N runs for big meshes. Run: make bench (goal: 1000-node backhaul full mesh <= 1 s).

`best s` is wall-clock time; `cpu s`, the least CPU time (user + system) of the runs, tells a
slow planner from a busy machine (other jobs on the same cores inflate `best s` far more).
"""

import sys
import time

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes

CASES = [
    # (label, node count, topology, transport)
    ('1000-node full mesh, direct', 1000, 'full-mesh', 'direct'),
    ('1000-node full mesh, backhaul', 1000, 'full-mesh', 'backhaul'),
    ('10000-node hub-spoke, backhaul', 10000, 'hub-spoke', 'backhaul'),
    ('10000-node hub-spoke, direct', 10000, 'hub-spoke', 'direct'),
]


def case(count, topology, transport):
    nodes = ['n%d' % i for i in range(count)]
    inventory = {n: {'public_address': '10.%d.%d.%d' % (i >> 16, (i >> 8) & 255, i & 255)} for i, n in enumerate(nodes)}
    lans = {n: '172.%d.%d.0/24' % (16 + (i >> 8), i & 255) for i, n in enumerate(nodes)}
    mesh = {'name': 'bench', 'nodes': nodes, 'lan_subnets': lans, 'overlay_subnet': '10.64.0.0/16',
            'topology': topology, 'transport': transport}
    if topology == 'hub-spoke':
        mesh['hub'] = nodes[0]
    return [mesh], inventory


def main(runs=3):
    print('%-34s %8s %8s %10s' % ('case', 'best s', 'cpu s', 'links'))
    for label, count, topology, transport in CASES:
        meshes, inventory = case(count, topology, transport)
        best = cpu = None
        for _run in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            plan = plan_meshes(meshes, inventory, 'benchmark-secret-0123456789')
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            best = elapsed if best is None else min(best, elapsed)
            cpu = elapsed_cpu if cpu is None else min(cpu, elapsed_cpu)
        links = sum(len(n['peers']) for n in plan['meshes']['bench']['nodes'].values()) // 2
        print('%-34s %8.3f %8.3f %10d' % (label, best, cpu, links))
        del plan


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
