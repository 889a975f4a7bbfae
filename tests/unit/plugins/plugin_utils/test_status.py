# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status report: live views matched to planned links, and what counts as down."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import (
    build_report, collect, parse_systemctl_show, report_markdown, report_text,
)

INVENTORY = {'node-ir': {'public_address': '203.0.113.1'}, 'node-tr': {'public_address': '203.0.113.2'},
             'node-uae': {'public_address': '203.0.113.3', 'nat': True}}
MESH = {'name': 'office', 'nodes': ['node-ir', 'node-tr', 'node-uae'], 'overlay_subnet': '10.250.0.0/24',
        'lan_subnets': {'node-ir': '192.168.10.0/24', 'node-tr': '192.168.20.0/24', 'node-uae': '192.168.30.0/24'}}
PLAN = plan_meshes([MESH], INVENTORY, 'status-secret-0123456789')


def live(host, age=5, loss=0.0, drop=()):
    """What wg_status would return on `host` when every link is healthy."""
    node = PLAN['meshes']['office']['nodes'][host]
    peers, ping = [], []
    for peer in node['peers']:
        if peer['node'] in drop:
            continue
        peers.append({'public_key': 'k-' + peer['node'], 'allowed_ips': list(peer['allowed_ips']),
                      'handshake_age': age, 'rx_bytes': 2048, 'tx_bytes': 4096})
        address = PLAN['meshes']['office']['nodes'][peer['node']]['address']
        ping.append({'node': peer['node'], 'address': address, 'loss_percent': loss, 'latency_avg_ms': 0.42})
    return {'up': True, 'peers': peers, 'ping': ping}


def healthy():
    statuses = {host: {'office': live(host)} for host in INVENTORY}
    services = {host: {'office.' + peer: 'active' for peer in INVENTORY if peer != host} for host in INVENTORY}
    return statuses, services


def test_all_links_up():
    statuses, services = healthy()
    report = build_report(PLAN, statuses, services)
    links = report['meshes']['office']['links']
    assert [link['nodes'] for link in links] == [['node-ir', 'node-tr'], ['node-ir', 'node-uae'], ['node-tr', 'node-uae']]
    assert all(link['up'] for link in links) and report['down'] == []
    assert links[0]['directions']['node-tr']['latency_ms'] == 0.42
    text = '\n'.join(report_text(report))
    assert '3 links, 0 down' in text and 'DOWN' not in text
    assert '5s ago' in text and '0.4 ms' in text and '2.0 KiB' in text


@pytest.mark.parametrize('change, expected', [
    (lambda st, sv: st['node-tr']['office'].update(live('node-tr', age=400)), 'node-tr: last handshake 400s ago'),
    (lambda st, sv: st['node-tr']['office'].update(live('node-tr', age=None)), 'node-tr: no handshake ever'),
    (lambda st, sv: st['node-tr']['office'].update(live('node-tr', loss=100.0)), 'node-tr: 100% loss'),
    (lambda st, sv: st['node-tr']['office'].update(up=False), 'node-tr: interface down'),
    (lambda st, sv: st['node-tr']['office'].update(live('node-tr', drop=('node-ir',))),
     'node-tr: peer not configured'),
    (lambda st, sv: sv['node-tr'].update({'office.node-ir': 'failed'}), 'node-tr: backhaul@office.node-ir failed'),
])
def test_down_links_are_named(change, expected):
    statuses, services = healthy()
    change(statuses, services)
    report = build_report(PLAN, statuses, services)
    assert any(expected in line and 'node-ir <-> node-tr' in line for line in report['down'])
    assert len(report['down']) >= 1
    assert not any('node-ir <-> node-uae' in line for line in report['down'])


def test_unreachable_node_downs_its_links_only():
    statuses, services = healthy()
    del statuses['node-uae']
    report = build_report(PLAN, statuses, services, unreachable=['node-uae'])
    assert sorted(line.split(' (')[0] for line in report['down']) == [
        'office: node-ir <-> node-uae', 'office: node-tr <-> node-uae']
    assert 'DOWN office: node-ir <-> node-uae' in '\n'.join(report_text(report))
    assert any(line.startswith('| node-ir <-> node-uae') for line in report_markdown(report))


def test_only_one_mesh():
    statuses, services = healthy()
    assert list(build_report(PLAN, statuses, services, only_mesh='office')['meshes']) == ['office']
    assert build_report(PLAN, statuses, services, only_mesh='other')['meshes'] == {}


def test_parse_systemctl_show():
    # systemctl prints the properties in its own order, not the order asked for
    text = 'ActiveState=active\nId=backhaul@office.node-tr.service\n\nId=backhaul@office.node-uae.service\nActiveState=failed\n'
    assert parse_systemctl_show(text) == {'backhaul@office.node-tr.service': 'active',
                                          'backhaul@office.node-uae.service': 'failed'}


def test_collect_reads_registered_results():
    statuses, _services = healthy()
    registered = {
        'node-ir': {'results': [dict(statuses['node-ir']['office'], item={'mesh': 'office'})]},
        'node-tr': {'results': [{'unreachable': True, 'item': {'mesh': 'office'}}]},
        'node-uae': None,  # not asked
    }
    shown = {'node-ir': {'stdout': 'Id=backhaul@office.node-tr.service\nActiveState=active\n'}}
    statuses, services, unreachable = collect(PLAN, registered, shown)
    assert list(statuses) == ['node-ir'] and services == {'node-ir': {'office.node-tr': 'active'}}
    assert sorted(unreachable) == ['node-tr', 'node-uae']


def test_agent_totals_and_last_repairs_are_shown_per_mesh_and_link():
    statuses, services = healthy()
    statuses['node-ir']['office']['agent'] = {
        'rx_total': 1024, 'tx_total': 2048, 'last_repair': None,
        'peers': {'node-uae': {'last_repair': {'time': 1000, 'reason': 'one_way',
                                               'unit': 'backhaul@office.node-uae.service'}}}}
    statuses['node-uae']['office']['agent'] = {
        'rx_total': 1024, 'tx_total': 0, 'peers': {},
        'last_repair': {'time': 1030, 'reason': 'interface_missing', 'unit': 'wg-quick@wg-office.service'}}
    report = build_report(PLAN, statuses, services, now=1090)
    mesh = report['meshes']['office']
    assert mesh['traffic'] == {'rx_bytes': 2048, 'tx_bytes': 2048, 'nodes_reporting': 2}
    link = next(link for link in mesh['links'] if link['nodes'] == ['node-ir', 'node-uae'])
    assert [(r['node'], r['reason'], r['age']) for r in link['repairs']] == [
        ('node-uae', 'interface_missing', 60), ('node-ir', 'one_way', 90)]
    text = '\n'.join(report_text(report))
    assert 'traffic (agent totals): rx 2.0 KiB, tx 2.0 KiB' in text
    assert '90s ago: one_way' in text and '60s ago: interface_missing' in text
