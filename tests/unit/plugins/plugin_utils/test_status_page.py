# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status page: report fields it draws from, layout, rendering, escaping, the filter."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import json
import math
from html.parser import HTMLParser

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.filter.status_page import FilterModule
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import build_report, report_text
from ansible_collections.smite.wgmesh.plugins.plugin_utils import status_page
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status_page import (
    BOX_H, BOX_W, layout, link_label, render_page, validate_report,
)

SECRET = 'status-page-secret-0123456789'
NOW = 1764248400  # 2025-11-27 13:00:00 UTC
FILTER = FilterModule().filters()['mesh_status_page']


def names_for(count):
    return ['node-ir', 'node-tr', 'node-uae'][:count] if count <= 3 else ['node-%02d' % i for i in range(count)]


def make_plan(names, topology='full-mesh', transport='backhaul', nat=(), mesh='office', hub=None):
    inventory = dict((name, {'public_address': '203.0.113.%d' % (i + 1), 'nat': name in nat})
                     for i, name in enumerate(names))
    definition = {'name': mesh, 'nodes': list(names), 'overlay_subnet': '10.250.0.0/24', 'topology': topology,
                  'transport': transport,
                  'lan_subnets': dict((name, '192.168.%d.0/24' % (i + 10)) for i, name in enumerate(names))}
    if topology == 'hub-spoke':
        definition['hub'] = hub or names[0]
    return plan_meshes([definition], inventory, SECRET)


def statuses_for(plan, mesh='office', loss=None, age=20, drop=()):
    """What every node's wg_status would say; loss: {frozenset(pair): percent}; drop: nodes
    whose interface is down."""
    statuses, services = {}, {}
    for host, node in plan['meshes'][mesh]['nodes'].items():
        peers, ping = [], []
        for peer in node['peers']:
            pair = frozenset((host, peer['node']))
            percent = (loss or {}).get(pair, 0.0)
            peers.append({'allowed_ips': list(peer['allowed_ips']), 'handshake_age': age,
                          'rx_bytes': 20480, 'tx_bytes': 30720})
            ping.append({'node': peer['node'], 'loss_percent': percent,
                         'latency_avg_ms': None if percent >= 100 else 2.5})
        statuses.setdefault(host, {})[mesh] = {'up': host not in drop, 'peers': peers, 'ping': ping}
        services[host] = dict(('%s.%s' % (mesh, entry['peer']), 'active') for entry in node.get('backhaul') or ())
    return statuses, services


def report_for(count, topology='full-mesh', transport='backhaul', **kwargs):
    names = names_for(count)
    plan = make_plan(names, topology, transport)
    statuses, services = statuses_for(plan, **kwargs)
    return build_report(plan, statuses, services, now=NOW)


class Dom(HTMLParser):
    """Start tags with their attributes, the text, and whether a script or a link element or
    an attribute loading something appeared."""

    def __init__(self, page):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.elements, self.text = [], []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, attribute):
        return [attrs for _tag, attrs in self.elements if attribute in attrs]


def pairs_of(report, mesh='office'):
    return dict(('--'.join(sorted(link['nodes'])), link['state']) for link in report['meshes'][mesh]['links'])


# --- report data the page draws from (build_report additions) -------------------------------

def test_report_carries_plan_facts_state_and_time():
    plan = make_plan(names_for(3), nat=('node-uae',))
    statuses, services = statuses_for(plan)
    report = build_report(plan, statuses, services, unreachable=(), now=NOW + 0.7)
    mesh = report['meshes']['office']
    assert report['time'] == NOW
    assert mesh['topology'] == 'full-mesh' and mesh['hub'] is None and mesh['overlay_subnet'] == '10.250.0.0/24'
    assert mesh['nodes']['node-ir'] == {'address': '10.250.0.1', 'lan_subnets': ['192.168.10.0/24'], 'nat': False,
                                        'is_hub': False, 'reachable': True}
    assert mesh['nodes']['node-uae']['nat'] is True
    servers = dict(('--'.join(link['nodes']), link['backhaul_server']) for link in mesh['links'])
    # node-uae is NATed: the other end serves both its links.
    assert servers == {'node-ir--node-tr': 'node-ir', 'node-ir--node-uae': 'node-ir', 'node-tr--node-uae': 'node-tr'}
    assert all(link['state'] == 'up' and link['warnings'] == [] for link in mesh['links'])
    assert build_report(plan, statuses, services)['time'] is None


def test_direct_links_have_no_server_and_hub_is_reported():
    plan = make_plan(names_for(3), topology='hub-spoke', transport='direct', hub='node-tr')
    statuses, services = statuses_for(plan)
    mesh = build_report(plan, statuses, services)['meshes']['office']
    assert mesh['hub'] == 'node-tr' and mesh['nodes']['node-tr']['is_hub'] is True
    assert all(link['backhaul_server'] is None for link in mesh['links'])


@pytest.mark.parametrize('kwargs, state, warning', [
    ({'loss': {frozenset(('node-ir', 'node-tr')): 20.0}}, 'degraded', 'node-ir: 20% loss'),
    ({'age': 160}, 'degraded', 'node-ir: handshake 160s ago'),
    ({'loss': {frozenset(('node-ir', 'node-tr')): 100.0}}, 'down', None),
    ({'age': 181}, 'down', None),
    ({}, 'up', None),
])
def test_link_state_up_degraded_down(kwargs, state, warning):
    report = report_for(3, **kwargs)
    link = report['meshes']['office']['links'][0]
    assert link['nodes'] == ['node-ir', 'node-tr']
    assert link['state'] == state
    assert link['up'] is (state != 'down')
    if warning:
        assert warning in link['warnings']
    # The text table is unchanged: a degraded link is still "up" there.
    assert ('DOWN' in '\n'.join(report_text(report))) is (state == 'down')


def test_unreachable_node_is_marked():
    plan = make_plan(names_for(3))
    statuses, services = statuses_for(plan)
    del statuses['node-uae']
    report = build_report(plan, statuses, services, unreachable=['node-uae'], now=NOW)
    assert report['meshes']['office']['nodes']['node-uae']['reachable'] is False
    page = render_page(report)
    assert 'not reached' in page


# --- layout -----------------------------------------------------------------------------------

def _boxes_apart(places):
    for (a, (xa, ya)), (b, (xb, yb)) in itertools.combinations(sorted(places.items()), 2):
        assert abs(xa - xb) >= BOX_W or abs(ya - yb) >= BOX_H, (a, b)


SIZES = [(2, 'full-mesh'), (3, 'full-mesh'), (12, 'full-mesh'), (30, 'full-mesh'),
         (2, 'hub-spoke'), (3, 'hub-spoke'), (12, 'hub-spoke'), (30, 'hub-spoke')]


@pytest.mark.parametrize('count, topology', SIZES)
def test_layout_places_every_node_apart_inside_the_canvas(count, topology):
    report = report_for(count, topology)
    drawing = layout(report['meshes']['office'])
    places = drawing['nodes']
    assert sorted(places) == sorted(names_for(count))
    _boxes_apart(places)
    for x, y in places.values():
        assert BOX_W / 2.0 <= x <= drawing['width'] - BOX_W / 2.0
        assert BOX_H / 2.0 <= y <= drawing['height'] - BOX_H / 2.0
    # Legible: a linked pair's boxes leave line between them; the canvas grows with the count
    # but stays within reason.
    assert drawing['width'] <= 4200 and drawing['height'] <= 2800


@pytest.mark.parametrize('count', [2, 3, 12, 30])
def test_hub_spoke_puts_the_hub_in_the_centre_and_spokes_around_it(count):
    mesh = report_for(count, 'hub-spoke')['meshes']['office']
    drawing = layout(mesh)
    hub = mesh['hub']
    assert drawing['nodes'][hub] == drawing['centre']
    hx, hy = drawing['centre']
    rx, ry = drawing['radius']
    for name, (x, y) in drawing['nodes'].items():
        if name != hub:
            # On the ellipse around the hub.
            assert abs(((x - hx) / rx) ** 2 + ((y - hy) / ry) ** 2 - 1) < 0.01, name


@pytest.mark.parametrize('count', [3, 12, 30])
def test_full_mesh_goes_clockwise_by_name_from_the_top(count):
    drawing = layout(report_for(count)['meshes']['office'])
    cx, cy = drawing['centre']
    names = names_for(count)
    first = drawing['nodes'][sorted(names)[0]]
    assert abs(first[0] - cx) < 0.2 and first[1] < cy
    angles = [math.atan2(y - cy, x - cx) for x, y in (drawing['nodes'][n] for n in sorted(names))]
    turns = [(b - a) % (2 * math.pi) for a, b in zip(angles, angles[1:])]
    assert all(0 < turn < math.pi for turn in turns)


def test_layout_is_deterministic_and_ignores_dict_order():
    """Same names and topology, same picture: neither the order of the nodes in the report
    nor that of its links moves anything (the table keeps the report's row order)."""
    mesh = report_for(12)['meshes']['office']
    shuffled = dict(mesh, nodes=dict(reversed(list(mesh['nodes'].items()))), links=list(reversed(mesh['links'])))
    assert layout(mesh) == layout(mesh) == layout(shuffled)
    assert status_page.render_drawing('office', mesh, 0) == status_page.render_drawing('office', shuffled, 0)


def test_two_node_full_mesh_is_side_by_side():
    drawing = layout(report_for(2)['meshes']['office'])
    (xa, ya), (xb, yb) = drawing['nodes']['node-ir'], drawing['nodes']['node-tr']
    assert ya == yb and xa < xb


# --- rendering --------------------------------------------------------------------------------

@pytest.mark.parametrize('count, topology', SIZES)
def test_one_shape_per_node_and_one_line_per_link_with_its_state(count, topology):
    names = names_for(count)
    broken = frozenset(names[:2])
    lossy = frozenset((names[0], names[-1])) if count > 2 else None
    loss = {broken: 100.0}
    if lossy and lossy != broken:
        loss[lossy] = 25.0
    report = report_for(count, topology, loss=loss)
    dom = Dom(render_page(report))
    nodes = [attrs['data-node'] for attrs in dom.having('data-node')]
    assert sorted(nodes) == sorted(names)
    links = dict((attrs['data-link'], attrs['data-state']) for attrs in dom.having('data-link'))
    assert len(dom.having('data-link')) == len(report['meshes']['office']['links'])
    assert links == pairs_of(report)
    assert links['--'.join(sorted(broken))] == 'down'
    if lossy and lossy != broken and '--'.join(sorted(lossy)) in links:
        assert links['--'.join(sorted(lossy))] == 'degraded'
    # One <line> in every link group.
    page = render_page(report)
    for link in links:
        group = page.split('data-link="%s"' % link, 1)[1].split('</g>', 1)[0]
        assert group.count('<line ') == 1


def test_title_and_summary_say_links_down_and_when():
    report = report_for(3, loss={frozenset(('node-ir', 'node-tr')): 100.0})
    page = render_page(report)
    title = page.split('<title>', 1)[1].split('</title>', 1)[0]
    assert title.startswith('3 links, 1 down') and '2025-11-27 13:00:00 UTC' in title
    dom = Dom(page)
    summary = dom.having('data-down')[0]
    assert (summary['data-links'], summary['data-down'], summary['data-degraded']) == ('3', '1', '0')
    text = ''.join(dom.text)
    assert '3 links, 1 down' in text and 'report taken 2025-11-27 13:00:00 UTC' in text
    assert 'office: node-ir <-> node-tr' in text  # the Down list


def test_labels_and_server_marks():
    report = report_for(3, loss={frozenset(('node-ir', 'node-uae')): 30.0})
    link = next(lk for lk in report['meshes']['office']['links'] if lk['nodes'] == ['node-ir', 'node-uae'])
    assert link_label(link) == 'degraded \u00b7 2.5 ms \u00b7 30% loss'
    page = render_page(report)
    dom = Dom(page)
    labels = dict((attrs['data-label-for'], attrs) for attrs in dom.having('data-label-for'))
    assert sorted(labels) == ['node-ir--node-tr', 'node-ir--node-uae', 'node-tr--node-uae']
    assert '2.5 ms \u00b7 0% loss' in page
    servers = [attrs['data-server'] for attrs in dom.having('data-server')]
    assert sorted(servers) == sorted(lk['backhaul_server'] for lk in report['meshes']['office']['links'])
    assert 'active (server)' in page


def test_state_is_not_only_colour():
    report = report_for(3, loss={frozenset(('node-ir', 'node-tr')): 100.0,
                                 frozenset(('node-ir', 'node-uae')): 10.0})
    page = render_page(report)
    groups = dict((state, page.split('data-state="%s"' % state, 1)[1].split('</g>', 1)[0])
                  for state in ('up', 'degraded', 'down'))
    assert 'stroke-dasharray' not in groups['up'].split('<line', 1)[1].split('/>', 1)[0]
    dashes = set(groups[s].split('stroke-dasharray="', 1)[1].split('"', 1)[0] for s in ('degraded', 'down'))
    assert len(dashes) == 2
    assert 'DOWN \u00b7 100% loss' in page and 'degraded \u00b7' in page
    # Text alternatives: the drawing is an image with a title and a description naming every link.
    dom = Dom(page)
    svg = [attrs for tag, attrs in dom.elements if tag == 'svg' and attrs.get('role') == 'img'][0]
    title_id, desc_id = svg['aria-labelledby'].split()
    assert '<title id="%s">Topology of mesh office' % title_id in page
    desc = page.split('<desc id="%s">' % desc_id, 1)[1].split('</desc>', 1)[0]
    assert 'node-ir to node-tr: DOWN' in desc and 'node-ir to node-uae: degraded' in desc
    assert '<figcaption>' in page and 'dashed down' in page


def test_table_has_both_directions_repairs_and_traffic():
    plan = make_plan(names_for(3))
    statuses, services = statuses_for(plan)
    statuses['node-uae']['office']['agent'] = {
        'rx_total': 4096, 'tx_total': 1024, 'peers': {},
        'last_repair': {'time': NOW - 60, 'reason': 'interface_missing', 'unit': 'wg-quick@wg-office.service'}}
    report = build_report(plan, statuses, services, now=NOW)
    dom = Dom(render_page(report))
    rows = [(attrs['data-row-link'], attrs['data-from']) for attrs in dom.having('data-row-link')]
    assert sorted(rows) == sorted((link, node) for link in pairs_of(report) for node in link.split('--'))
    text = ''.join(dom.text)
    assert '60s ago: interface_missing' in text
    assert 'rx 4.0 KiB, tx 1.0 KiB' in text and 'from 1 of 3 nodes' in text


def test_self_contained_no_script_nothing_loaded():
    page = render_page(report_for(12, 'hub-spoke'))
    lowered = page.lower()
    for needle in ('<script', '<link', '<img', '<iframe', '<object', ' src=', ' href=', 'url(', '@import',
                   'javascript:', ' on'):
        if needle == ' on':
            assert not [attr for _tag, attrs in Dom(page).elements for attr in attrs if attr.startswith('on')]
            continue
        assert needle not in lowered, needle
    # The only URL is the SVG namespace name (nothing is fetched from it).
    assert lowered.count('http:') == 1 and 'https:' not in lowered and 'xmlns="http://www.w3.org/2000/svg"' in page
    assert "default-src 'none'" in page


HOSTILE = ['<script>alert(1)</script>', 'a"b\'c&d', '{{ lookup("pipe", "id") }}', '{% raw %}', 'x{#y']


def test_values_from_inventory_are_escaped():
    """Node names come from the inventory: each must show as text, never as markup or as a
    Jinja expression (the page passes through Ansible templating on its way to the file)."""
    report = json.loads(json.dumps(report_for(3, loss={frozenset(('node-ir', 'node-tr')): 100.0})))
    renames = dict(zip(['node-ir', 'node-tr', 'node-uae'], HOSTILE[:3]))
    text = json.dumps(report)
    for old, new in renames.items():
        text = text.replace('"%s' % old, '"%s' % json.dumps(new)[1:-1])
    report = json.loads(text)
    report['meshes']['office']['overlay_subnet'] = HOSTILE[3]
    report['down'].append(HOSTILE[4])
    page = render_page(report)
    dom = Dom(page)
    assert not [tag for tag, _attrs in dom.elements if tag == 'script']
    assert sorted(attrs['data-node'] for attrs in dom.having('data-node')) == sorted(renames.values())
    joined = ''.join(dom.text)
    for value in HOSTILE:
        assert value in joined or value[:20] in joined, value
    for marker in ('{{', '{%', '{#', '<script'):
        assert marker not in page, marker


@pytest.mark.parametrize('count, topology', [(2, 'full-mesh'), (30, 'full-mesh'), (30, 'hub-spoke')])
def test_same_report_same_page(count, topology):
    report = report_for(count, topology, loss={frozenset(names_for(count)[:2]): 100.0})
    first = render_page(report)
    assert render_page(json.loads(json.dumps(report))) == first
    assert render_page(report) == first


def test_many_links_label_only_those_not_up():
    report = report_for(12, loss={frozenset(('node-00', 'node-05')): 100.0})
    assert len(report['meshes']['office']['links']) > status_page.LABEL_ALL_MAX
    dom = Dom(render_page(report))
    assert [attrs['data-label-for'] for attrs in dom.having('data-label-for')] == ['node-00--node-05']
    assert len(dom.having('data-link')) == 66


def test_old_report_without_plan_facts_still_draws():
    report = report_for(3)
    for mesh in report['meshes'].values():
        for key in ('nodes', 'topology', 'hub', 'overlay_subnet'):
            mesh.pop(key)
        for link in mesh['links']:
            for key in ('state', 'warnings', 'backhaul_server'):
                link.pop(key)
    report.pop('time')
    dom = Dom(render_page(report))
    assert len(dom.having('data-node')) == 3 and len(dom.having('data-link')) == 3
    assert 'at an unknown time' in ''.join(dom.text)


def test_two_meshes_each_have_a_section():
    office, backup = make_plan(names_for(3)), make_plan(names_for(2), transport='direct', mesh='backup')
    plan = {'meshes': dict(office['meshes'], **backup['meshes']), 'hosts': {}}
    statuses, services = statuses_for(office)
    more = statuses_for(backup, mesh='backup')[0]
    for host, meshes in more.items():
        statuses[host].update(meshes)
    report = build_report(plan, statuses, services, now=NOW)
    dom = Dom(render_page(report))
    assert [attrs['data-mesh'] for attrs in dom.having('data-mesh')] == ['backup', 'office']
    assert len(dom.having('data-link')) == 4
    assert '4 links, 0 down' in ''.join(dom.text)


# --- validation and the filter ----------------------------------------------------------------

@pytest.mark.parametrize('bad, message', [
    (None, "mesh_status_page: argument '_input' is of type .*NoneType"),  # its documentation says dict
    ([], "mesh_status_page: argument '_input' is of type .*list"),
    ({'meshes': []}, 'mesh_status_report'),
    ({'meshes': {'office': {}}}, "mesh 'office': no list of links"),
    ({'meshes': {'office': {'links': [{'nodes': ['a']}]}}}, 'two node names'),
    ({'meshes': {'office': {'links': [{'nodes': ['a', 'b']}]}}}, 'no "directions"'),
    ({'meshes': {'office': {'links': [], 'nodes': []}}}, 'nodes must be a dict'),
])
def test_filter_refuses_what_is_not_a_report(bad, message):
    assert validate_report(bad)
    with pytest.raises(AnsibleFilterError, match=message):
        FILTER(bad)


def test_filter_returns_the_page():
    report = report_for(3)
    assert validate_report(report) == []
    page = FILTER(report)
    assert page.startswith('<!DOCTYPE html>') and page == render_page(report)


def test_heading_shows_the_mtu_when_the_report_has_it():
    report = report_for(3)
    assert 'MTU' not in ''.join(Dom(render_page(report)).text)
    report['meshes']['office']['mtu'] = {'mode': 'auto', 'configured': 'auto',
                                         'interface_mtu': dict.fromkeys(report['meshes']['office']['nodes'], 1340)}
    assert 'transport backhaul, overlay 10.250.0.0/24, MTU 1340 (auto)' in ''.join(Dom(render_page(report)).text)
