# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-healing benchmark on the self_heal lab (3 nodes over Backhaul, node-uae NATed).

Run: make bench-heal (as root, after `make setup-host venv image`). The lab is made fresh,
converged, and left running. For each fault, 3 times: the seconds from the fault until a LAN
host behind node-ir gets a reply from the LAN host behind the faulty node (no Ansible runs);
the median is printed. Then, on a 4-node lab with 2 meshes (6 links per node), the agent's
CPU time per round (its own metric, pings included) and the site.yml rerun time.
"""

import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
SCENARIO = os.path.join(REPO, 'tests', 'lab', 'scenarios', 'self_heal.yml')
INVENTORY = os.path.join(REPO, 'build', 'lab', 'self_heal', 'inventory.yml')
AGENT_SCENARIO = os.path.join(REPO, 'tests', 'lab', 'scenarios', 'agent_bench.yml')
AGENT_INVENTORY = os.path.join(REPO, 'build', 'lab', 'agent_bench', 'inventory.yml')
BIN = os.path.join(REPO, '.venv', 'bin')
PREFIX = 'wgmesh-self_heal-'
METRICS = '/var/lib/prometheus/node-exporter/wgmesh.prom'
FAULTS = (
    ('wg-quick@ stopped and started (NATed node)', 'node-uae', 'uae',
     'systemctl stop wg-quick@wg-office && systemctl start wg-quick@wg-office'),
    ('wireguard-go killed (NATed node)', 'node-uae', 'uae', 'pkill -KILL -x wireguard-go'),
    ('interface deleted', 'node-tr', 'tr', 'ip link delete dev wg-office'),
)


def sh(container, cmd, check=True):
    proc = subprocess.run(['podman', 'exec', PREFIX + container, 'sh', '-c', cmd], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise SystemExit('%s: %s failed: %s' % (container, cmd, proc.stdout))
    return proc.stdout


def lan_reply_after(started, short, limit=120):
    """Seconds from `started` until one ping from lanhost-ir to lanhost-<short> is answered."""
    target = {'ir': '192.168.15.10', 'tr': '192.168.25.10', 'uae': '192.168.35.10'}[short]
    while time.monotonic() - started < limit:
        if subprocess.run(['podman', 'exec', PREFIX + 'lanhost-ir', 'ping', '-c1', '-W1', target],
                          stdout=subprocess.DEVNULL, check=False).returncode == 0:
            return time.monotonic() - started
    raise SystemExit('no recovery within %d s' % limit)


def agent_metric(container, name):
    out = subprocess.run(['podman', 'exec', container, 'cat', METRICS], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return float(re.search(r'^%s (\S+)$' % name, out, re.M).group(1))


def run(argv, label=None):
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('%s failed' % ' '.join(argv[-2:]))
    if label:
        print('%-45s %5.1f s' % (label, time.monotonic() - started))


def agent_cost():
    lab = [os.path.join(BIN, 'python'), os.path.join(REPO, 'tests', 'lab', 'lab.py')]
    playbook = [os.path.join(BIN, 'ansible-playbook'), '-i', AGENT_INVENTORY, 'playbooks/site.yml']
    run(lab + ['down', AGENT_SCENARIO])
    run(lab + ['up', AGENT_SCENARIO])
    try:
        run(playbook, 'site.yml first converge (4 nodes, 2 meshes)')
        run(playbook, 'site.yml rerun, agent installed')
        container = 'wgmesh-agent_bench-node-a'
        stamp = agent_metric(container, 'wgmesh_agent_last_round_timestamp_seconds')
        cpu, rounds = agent_metric(container, 'wgmesh_agent_cpu_seconds_total'), 0
        while rounds < 6:
            now = agent_metric(container, 'wgmesh_agent_last_round_timestamp_seconds')
            if now != stamp:
                rounds, stamp = rounds + 1, now
            time.sleep(0.5)  # polling the metrics file for the agent's next round
        per_round = (agent_metric(container, 'wgmesh_agent_cpu_seconds_total') - cpu) / rounds
        print('agent CPU per round, node with 2 meshes and 6 links: %.3f s (last round: %.2f s wall)'
              % (per_round, agent_metric(container, 'wgmesh_agent_round_duration_seconds')))
    finally:
        run(lab + ['down', AGENT_SCENARIO])


def main():
    lab = [os.path.join(BIN, 'python'), os.path.join(REPO, 'tests', 'lab', 'lab.py')]
    run(lab + ['down', SCENARIO])
    run(lab + ['up', SCENARIO])
    run([os.path.join(BIN, 'ansible-playbook'), '-i', INVENTORY, 'playbooks/site.yml'])
    lan_reply_after(time.monotonic(), 'uae')
    lan_reply_after(time.monotonic(), 'tr')
    print('%-45s %s' % ('fault', 'recovery of LAN traffic, s (median of 3; each)'))
    for label, node, short, cmd in FAULTS:
        times = []
        for _attempt in range(3):
            started = time.monotonic()
            sh(node, cmd)
            times.append(lan_reply_after(started, short))
            lan_reply_after(time.monotonic(), 'uae')
            lan_reply_after(time.monotonic(), 'tr')
        print('%-45s %5.1f  (%s)' % (label, statistics.median(times), ', '.join('%.1f' % t for t in times)))
    run(lab + ['down', SCENARIO])
    agent_cost()


if __name__ == '__main__':
    main()
