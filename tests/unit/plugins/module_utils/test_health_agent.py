# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health agent's rounds (plugins/module_utils/health_agent.py) with stand-in commands."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

from ansible_collections.smite.wgmesh.plugins.module_utils.health_agent import Agent, main

PING_OK = ("3 packets transmitted, 3 received, 0% packet loss, time 401ms\n"
           "rtt min/avg/max/mdev = 0.500/0.800/1.100/0.200 ms\n")
DUMP = ("PRIVATEKEYPRIVATEKEYPRIVATEKEYPRIVATEKEY0=\tPUBLIC=\t51820\toff\n"
        "PEERKEY=\t(none)\t127.0.0.1:20001\t10.250.0.2/32,192.168.20.0/24\t%d\t%d\t%d\t25\n")


class FakePing(object):
    def __init__(self, argv, **_kwargs):
        self.argv = argv

    def communicate(self):
        return PING_OK, ''

    def poll(self):
        return 0


class Node(object):
    """systemctl, wg and /sys/class/net as the agent sees them."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.sys_class_net = tmp_path / 'sys'
        self.sys_class_net.mkdir()
        (tmp_path / 'wireguard').mkdir()
        (tmp_path / 'wireguard' / 'wg-office.conf').write_text('[Interface]\n')
        self.units = {'wg-quick@wg-office.service': 'active', 'backhaul@office.node-tr.service': 'active'}
        self.counters = [100, 100]
        self.calls = []
        self.interface(True)

    def interface(self, present):
        path = self.sys_class_net / 'wg-office'
        if present and not path.exists():
            path.mkdir()
        elif not present and path.exists():
            path.rmdir()

    def run(self, argv):
        self.calls.append(argv)
        if argv[:2] == ['systemctl', 'show']:
            return 0, '\n\n'.join('Id=%s\nActiveState=%s' % (u, self.units.get(u, 'inactive'))
                                  for u in argv[4:])
        if argv[:2] == ['wg', 'show']:
            return 0, DUMP % (1_800_000_000, self.counters[0], self.counters[1])
        return 0, ''

    def config(self):
        return {'interval': 10, 'stall_after': 20, 'backoff_max': 600,
                'metrics_file': str(self.tmp / 'prom' / 'wgmesh.prom'), 'state_file': str(self.tmp / 'state.json'),
                'config_dir': str(self.tmp / 'wireguard'),
                'meshes': [{'mesh': 'office', 'interface': 'wg-office', 'peers': [
                    {'node': 'node-tr', 'address': '10.250.0.2', 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'],
                     'backhaul': {'instance': 'office.node-tr', 'mode': 'server'}}]}]}

    def agent(self):
        return Agent(self.config(), self.run, str(self.sys_class_net), FakePing)

    def restarts(self):
        return [c[3] for c in self.calls if c[:3] == ['systemctl', 'restart', '--no-block']]


def test_a_round_writes_metrics_and_state_and_pings_through_the_interface(tmp_path):
    node = Node(tmp_path)
    agent = node.agent()
    pings = []
    agent.popen = lambda argv, **kw: pings.append(argv) or FakePing(argv)
    assert agent.round() == []
    metrics = (tmp_path / 'prom' / 'wgmesh.prom').read_text()
    assert 'wgmesh_peer_latency_seconds{mesh="office",peer="node-tr"} 0.0008' in metrics
    assert oct(os.stat(str(tmp_path / 'prom' / 'wgmesh.prom')).st_mode & 0o777) == '0o644'
    assert pings and pings[0][-1] == '10.250.0.2' and '-I' in pings[0] and 'wg-office' in pings[0]
    state = json.loads((tmp_path / 'state.json').read_text())
    assert state['report']['office']['interface'] == 'wg-office'
    assert 'PRIVATEKEY' not in metrics + (tmp_path / 'state.json').read_text()


def test_a_vanished_interface_is_restarted_without_blocking(tmp_path):
    node = Node(tmp_path)
    node.interface(False)
    repairs = node.agent().round()
    assert [r['reason'] for r in repairs] == ['interface_missing']
    assert node.restarts() == ['wg-quick@wg-office.service']


def test_a_stopped_unit_is_left_alone(tmp_path):
    node = Node(tmp_path)
    node.units['wg-quick@wg-office.service'] = 'inactive'
    node.interface(False)
    assert node.agent().round() == []
    assert node.restarts() == []


def test_a_removed_mesh_is_no_longer_watched(tmp_path):
    node = Node(tmp_path)
    os.unlink(str(tmp_path / 'wireguard' / 'wg-office.conf'))
    node.interface(False)
    assert node.agent().round() == []
    assert 'mesh="office"' not in (tmp_path / 'prom' / 'wgmesh.prom').read_text()


def test_once_with_an_unreadable_config_fails(tmp_path):
    assert main(['--config', str(tmp_path / 'missing.json'), '--once']) == 1
