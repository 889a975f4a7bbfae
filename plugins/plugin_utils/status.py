# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh status report: live state from every node, matched against the plan, per link."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.smite.wgmesh.plugins.module_utils import names
from ansible_collections.smite.wgmesh.plugins.module_utils.systemd_units import parse_show
from ansible_collections.smite.wgmesh.plugins.plugin_utils.tables import markdown_table, text_table

HANDSHAKE_DOWN_AFTER = 180  # seconds: WireGuard rekeys every 120 s, keepalive is 25 s
# A link still up is degraded (state 'degraded') when a direction lost pings or its last
# handshake is older than a renewal should take (120 s rekey + one 25 s keepalive + margin).
HANDSHAKE_STALE_AFTER = 150
HEADERS = ('link', 'from', 'handshake', 'latency', 'loss', 'rx', 'tx', 'backhaul', 'last repair', 'state')


def _size(count):
    if count is None:
        return None
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if count < 1024 or unit == 'GiB':
            return ('%d %s' % (count, unit)) if unit == 'B' else ('%.1f %s' % (count, unit))
        count /= 1024.0


def live_peer(status, planned):
    """The live peer of `status` matching a planned peer, by its AllowedIPs."""
    wanted = set(planned['allowed_ips'])
    for peer in (status or {}).get('peers') or ():
        if set(peer.get('allowed_ips') or ()) == wanted:
            return peer
    return None


def _direction(plan_node, peer_node, status, unreachable):
    """What node A sees of its link to B."""
    view = {'handshake_age': None, 'latency_ms': None, 'loss_percent': None, 'rx_bytes': None,
            'tx_bytes': None, 'problems': []}
    if unreachable:
        view['problems'].append('node unreachable')
        return view
    if not status or not status.get('up'):
        view['problems'].append('interface down')
        return view
    planned = next(p for p in plan_node['peers'] if p['node'] == peer_node)
    live = live_peer(status, planned)
    if live is None:
        view['problems'].append('peer not configured')
        return view
    view.update(handshake_age=live.get('handshake_age'), rx_bytes=live.get('rx_bytes'), tx_bytes=live.get('tx_bytes'))
    probe = next((p for p in status.get('ping') or () if p.get('node') == peer_node), None)
    if probe is not None:
        view['latency_ms'] = probe.get('latency_avg_ms')
        view['loss_percent'] = probe.get('loss_percent')
    if view['handshake_age'] is None:
        view['problems'].append('no handshake ever')
    elif view['handshake_age'] > HANDSHAKE_DOWN_AFTER:
        view['problems'].append('last handshake %ds ago' % view['handshake_age'])
    if view['loss_percent'] is not None and view['loss_percent'] >= 100:
        view['problems'].append('100% loss')
    return view


def build_report(plan, statuses, services, unreachable=(), only_mesh=None, now=None):
    """The report of every planned link.

    `statuses`: {host: {mesh: smite.wgmesh.wg_status result}}; `services`: {host: {instance:
    systemd ActiveState}}; `unreachable`: hosts that could not be asked; `now`: epoch seconds,
    for the age of the health agent's repairs.
    """
    report = {'meshes': {}, 'down': [], 'time': None if now is None else int(now)}
    for name in sorted(plan['meshes']):
        if only_mesh is not None and name != only_mesh:
            continue
        mesh = plan['meshes'][name]
        links = []
        for host, node in mesh['nodes'].items():
            for peer in node['peers']:
                if mesh['topology'] == 'full-mesh' and peer['node'] < host:
                    continue  # each link once
                if mesh['topology'] == 'hub-spoke' and not node['is_hub']:
                    continue  # links listed from the hub
                links.append(_link(name, mesh, host, peer['node'], statuses, services, unreachable, now))
        report['meshes'][name] = {'interface': mesh['interface'], 'transport': mesh['transport'], 'links': links,
                                  'traffic': _traffic(name, mesh, statuses),
                                  'topology': mesh['topology'], 'hub': mesh.get('hub'),
                                  'overlay_subnet': mesh.get('overlay_subnet'),
                                  'nodes': _nodes(mesh, unreachable)}
        report['down'].extend('%s: %s <-> %s (%s)' % (name, link['nodes'][0], link['nodes'][1], '; '.join(link['problems']))
                              for link in links if not link['up'])
    return report


def _nodes(mesh, unreachable):
    """The plan facts of each member that the report shows (status page, JSON)."""
    return dict((host, {'address': node.get('address'), 'lan_subnets': list(node.get('lan_subnets') or ()),
                        'nat': bool(node.get('nat')), 'is_hub': bool(node.get('is_hub')),
                        'reachable': host not in unreachable})
                for host, node in mesh['nodes'].items())


def _state(link):
    """'down' (link['problems']), 'degraded' (up, but loss or a stale handshake: the warnings)
    or 'up'."""
    warnings = []
    for node in link['nodes']:
        view = link['directions'][node]
        loss, age = view['loss_percent'], view['handshake_age']
        if loss is not None and 0 < loss < 100:
            warnings.append('%s: %g%% loss' % (node, loss))
        if age is not None and HANDSHAKE_STALE_AFTER < age <= HANDSHAKE_DOWN_AFTER:
            warnings.append('%s: handshake %ds ago' % (node, age))
    return ('down' if not link['up'] else 'degraded' if warnings else 'up'), warnings


def _backhaul_server(mesh, host_a, host_b):
    """The end of a Backhaul link that runs the server (None for transport direct)."""
    if mesh['transport'] != 'backhaul':
        return None
    for a, b in ((host_a, host_b), (host_b, host_a)):
        if any(entry.get('peer') == b and entry.get('mode') == 'server'
               for entry in mesh['nodes'][a].get('backhaul') or ()):
            return a
    return None


def _agent(statuses, host, mesh):
    return ((statuses.get(host) or {}).get(mesh) or {}).get('agent') or None


def _traffic(name, mesh, statuses):
    """The mesh's traffic as the nodes' health agents counted it (running totals)."""
    views = [view for view in (_agent(statuses, host, name) for host in mesh['nodes']) if view]
    return {'rx_bytes': sum(view.get('rx_total') or 0 for view in views),
            'tx_bytes': sum(view.get('tx_total') or 0 for view in views),
            'nodes_reporting': len(views)}


def _repairs(name, host, peer, statuses, now):
    """The agent's last repairs on `host` that touched its link to `peer`: the link itself and
    the mesh interface, newest first."""
    view = _agent(statuses, host, name)
    if not view:
        return []
    found = [((view.get('peers') or {}).get(peer) or {}).get('last_repair'), view.get('last_repair')]
    repairs = [dict(repair, node=host, age=None if now is None else max(0, int(now) - repair['time']))
               for repair in found if repair and repair.get('time')]
    return sorted(repairs, key=lambda repair: -repair['time'])


def _link(name, mesh, host_a, host_b, statuses, services, unreachable, now=None):
    nodes = mesh['nodes']
    directions = {}
    for a, b in ((host_a, host_b), (host_b, host_a)):
        directions[a] = _direction(nodes[a], b, (statuses.get(a) or {}).get(name), a in unreachable)
    backhaul = None
    problems = ['%s: %s' % (a, p) for a in (host_a, host_b) for p in directions[a]['problems']]
    if mesh['transport'] == 'backhaul':
        backhaul = {}
        for a, b in ((host_a, host_b), (host_b, host_a)):
            instance = names.link_instance(name, b)
            state = None if a in unreachable else (services.get(a) or {}).get(instance)
            backhaul[a] = state
            if state is not None and state != 'active':
                problems.append('%s: backhaul@%s %s' % (a, instance, state))
    repairs = _repairs(name, host_a, host_b, statuses, now) + _repairs(name, host_b, host_a, statuses, now)
    link = {'nodes': [host_a, host_b], 'directions': directions, 'backhaul': backhaul,
            'repairs': sorted(repairs, key=lambda repair: -repair['time']), 'up': not problems, 'problems': problems,
            'backhaul_server': _backhaul_server(mesh, host_a, host_b)}
    link['state'], link['warnings'] = _state(link)
    return link


def _repair_text(repairs, node):
    repair = next((r for r in repairs if r['node'] == node), None)
    if repair is None:
        return None
    when = '%ds ago' % repair['age'] if repair['age'] is not None else 'at %d' % repair['time']
    return '%s: %s' % (when, repair['reason'])


def _rows(mesh_report):
    rows = []
    for link in mesh_report['links']:
        label = '%s <-> %s' % tuple(link['nodes'])
        for a in link['nodes']:
            view = link['directions'][a]
            age = view['handshake_age']
            rows.append((
                label, a, None if age is None else '%ds ago' % age,
                None if view['latency_ms'] is None else '%.1f ms' % view['latency_ms'],
                None if view['loss_percent'] is None else '%g%%' % view['loss_percent'],
                _size(view['rx_bytes']), _size(view['tx_bytes']),
                None if link['backhaul'] is None else link['backhaul'].get(a) or 'unknown',
                _repair_text(link['repairs'], a),
                'up' if link['up'] else 'DOWN'))
            label = ''
    return rows


def _traffic_text(mesh):
    traffic = mesh.get('traffic') or {}
    if not traffic.get('nodes_reporting'):
        return ''
    return '; traffic (agent totals): rx %s, tx %s' % (_size(traffic['rx_bytes']), _size(traffic['tx_bytes']))


def report_text(report):
    lines = []
    for name, mesh in report['meshes'].items():
        down = sum(1 for link in mesh['links'] if not link['up'])
        lines.append('mesh %s (%s, transport %s): %d links, %d down%s' % (
            name, mesh['interface'], mesh['transport'], len(mesh['links']), down, _traffic_text(mesh)))
        lines.extend('  ' + line for line in text_table(HEADERS, _rows(mesh)))
    lines.extend('DOWN ' + line for line in report['down'])
    return lines


def report_markdown(report):
    lines = ['# smite.wgmesh status', '']
    for name, mesh in report['meshes'].items():
        lines.append('## mesh %s (%s, transport %s)%s' % (name, mesh['interface'], mesh['transport'],
                                                          _traffic_text(mesh)))
        lines.append('')
        lines.extend(markdown_table(HEADERS, _rows(mesh)))
        lines.append('')
    if report['down']:
        lines.append('## Down')
        lines.append('')
        lines.extend('- ' + line for line in report['down'])
    return lines


def parse_systemctl_show(text):
    """{unit: ActiveState} from `systemctl show -p Id,ActiveState UNIT...`."""
    return dict((unit, fields['ActiveState']) for unit, fields in parse_show(text).items() if 'ActiveState' in fields)


def collect(plan, statuses, services):
    """Turn the status play's registered results into build_report's inputs.

    `statuses`: {host: its registered smite.wgmesh.wg_status loop (item: host plan entry) or
    None}; `services`: {host: its registered `systemctl show` result or None}. A node of the
    plan with no result, or with an unreachable or failed item, is unreachable."""
    by_host, states, unreachable = {}, {}, []
    for host in plan.get('hosts', {}):
        registered = statuses.get(host) or {}
        results = registered.get('results')
        if not results or any(r.get('unreachable') or r.get('failed') for r in results):
            unreachable.append(host)
            continue
        by_host[host] = dict((r['item']['mesh'], r) for r in results if not r.get('skipped'))
        shown = services.get(host) or {}
        if shown.get('stdout'):
            states[host] = dict((unit[len('backhaul@'):-len('.service')], state)
                                for unit, state in parse_systemctl_show(shown['stdout']).items())
    return by_host, states, unreachable
