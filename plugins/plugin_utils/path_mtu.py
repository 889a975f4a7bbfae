# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`mtu: auto`: which addresses each node probes, and the mesh MTU chosen from what they measured.

Pure Python, no Ansible runtime: the filters in plugins/filter/mtu.py call these. The probing
itself runs on the nodes (module_utils/path_mtu.py, the smite.wgmesh.path_mtu module).

Who probes a link, over the path WireGuard's packets take:
- transport direct: each end probes the other end's public address when it has an endpoint
  for it (the other end is not NATed); a link between two public nodes is probed both ways.
- transport backhaul: the Backhaul client probes its server's public address (the UDP carrier
  adds no bytes, so the same rule holds).

The choice, per mesh (docs/plan-format.md, "mtu: auto"):
- a link's path MTU is the smallest its probers found; a link whose probes all failed (ICMP
  filtered, black hole) counts as FALLBACK_PATH_MTU and is warned about, never an error;
- mesh MTU = min over links (path MTU - 60 for an IPv4 underlay, - 80 for IPv6), clamped to
  1280-1420;
- a link no prober measured (its prober unreachable or outside the run) cannot raise the MTU:
  the mesh keeps at most its current MTU (1280 when no node has the interface yet);
- hysteresis: the MTU goes down at once, but up only by RAISE_MIN bytes or more, so that a
  rerun on unchanged paths keeps the MTU (changed=0) even if one probe was lost.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import MTU_AUTO, MTU_MAX, MTU_MIN

# WireGuard's bytes around an inner packet: outer IP (20 or 40) + UDP 8 + WireGuard 32.
OVERHEAD = {4: 60, 6: 80}
FALLBACK_PATH_MTU = 1280
# WireGuard pads what it encrypts to a multiple of 16 bytes: a smaller gain is worth no change.
RAISE_MIN = 16


def _host_of(hostport):
    """'203.0.113.1:51820' -> '203.0.113.1'; '[2001:db8::1]:51820' -> '2001:db8::1'."""
    host = hostport.rpartition(':')[0]
    return host[1:-1] if host.startswith('[') else host


def _version(address):
    return 6 if ':' in address else 4


def _probes_of(transport, node):
    """[(peer, address)] this end of a mesh probes (see the module docstring)."""
    if transport == 'backhaul':
        return [(link['peer'], _host_of(link['remote'])) for link in node.get('backhaul') or ()
                if link.get('mode') == 'client']
    return [(peer['node'], _host_of(peer['endpoint'])) for peer in node.get('peers') or () if peer.get('endpoint')]


def probe_targets(entries):
    """What one node measures for its host plan entries (mesh_host_plan): {'targets': addresses
    to probe, 'interfaces': the interfaces of its meshes with mtu auto}. Empty for fixed MTUs."""
    targets, interfaces = set(), []
    for entry in entries:
        if entry.get('mtu') != MTU_AUTO:
            continue
        interfaces.append(entry['interface'])
        targets.update(address for _peer, address in _probes_of(entry.get('transport'), entry))
    return {'targets': sorted(targets), 'interfaces': interfaces}


def _paths(result):
    """The `paths` of a smite.wgmesh.path_mtu result, None when it did not run (skipped, failed)."""
    if not isinstance(result, dict) or result.get('skipped') or result.get('failed'):
        return None
    paths = result.get('paths')
    return paths if isinstance(paths, dict) else None


def _current(mesh, measured):
    """The smallest MTU the mesh interface has now on the nodes that reported it, or None."""
    values = []
    for host in mesh['nodes']:
        result = measured.get(host)
        if isinstance(result, dict) and isinstance(result.get('interfaces'), dict):
            value = result['interfaces'].get(mesh['interface'])
            if isinstance(value, int):
                values.append(value)
    return min(values) if values else None


def mesh_links(name, mesh, measured):
    """Every link of a mesh with what was measured on it, and the warnings about it.

    `measured`: {host: smite.wgmesh.path_mtu result}. Returns (links, warnings); a link is
    {'nodes': [a, b], 'path_mtu': int or None, 'state': 'measured' | 'failed' | 'unmeasured',
    'overhead': 60 or 80, 'probes': [{'from', 'to', 'path_mtu'}]}.
    """
    links, warnings = {}, []
    for host in sorted(mesh['nodes']):
        for peer, address in _probes_of(mesh['transport'], mesh['nodes'][host]):
            key = tuple(sorted((host, peer)))
            link = links.setdefault(key, {'nodes': list(key), 'path_mtu': None, 'state': 'unmeasured',
                                          'overhead': OVERHEAD[4], 'probes': []})
            link['overhead'] = max(link['overhead'], OVERHEAD[_version(address)])
            paths = _paths(measured.get(host))
            if paths is None or not isinstance(paths.get(address), dict):
                continue
            link['probes'].append({'from': host, 'to': address, 'path_mtu': paths[address].get('path_mtu')})
    for key in sorted(links):
        link = links[key]
        found = [p['path_mtu'] for p in link['probes'] if isinstance(p['path_mtu'], int)]
        if found:
            link['state'], link['path_mtu'] = 'measured', min(found)
        elif link['probes']:
            link['state'], link['path_mtu'] = 'failed', FALLBACK_PATH_MTU
        for probe in link['probes']:
            if probe['path_mtu'] is None:
                warnings.append("mesh '%s': every path MTU probe from %s to %s failed (ICMP filtered or a black "
                                "hole); %s" % (name, probe['from'], probe['to'],
                                               'the link counts as %d' % FALLBACK_PATH_MTU if not found else
                                               'the other direction measured %d' % min(found)))
        if link['state'] == 'unmeasured':
            warnings.append("mesh '%s': link %s <-> %s was not measured (its prober is not in this run); "
                            "the mesh MTU cannot go up" % ((name,) + key))
    return [links[key] for key in sorted(links)], warnings


def choose_mesh_mtu(name, mesh, measured):
    """The MTU of one mesh with mtu auto, from what the nodes measured (module docstring).

    Returns {'mode': 'auto', 'mtu': chosen, 'measured_mtu': what the links allow (before the
    hysteresis and the cap of unmeasured links), 'current': MTU the interfaces have now or
    None, 'links': [...], 'warnings': [...]}.
    """
    links, warnings = mesh_links(name, mesh, measured)
    known = [link['path_mtu'] - link['overhead'] for link in links if link['path_mtu'] is not None]
    allowed = max(MTU_MIN, min([MTU_MAX] + known))
    current = _current(mesh, measured)
    chosen = allowed
    if any(link['state'] == 'unmeasured' for link in links) or not links:
        chosen = min(allowed, current if current is not None else MTU_MIN)
    elif current is not None and current < chosen < current + RAISE_MIN:
        chosen = current
    return {'mode': MTU_AUTO, 'mtu': chosen, 'measured_mtu': allowed if known else None, 'current': current,
            'links': links, 'warnings': warnings}


def choose_mtus(plan, measured):
    """{mesh: choice} for every mesh of the plan: choose_mesh_mtu() for mtu auto, and
    {'mode': 'fixed', 'mtu': n} for the others."""
    measured = measured or {}
    return dict((name, choose_mesh_mtu(name, mesh, measured) if mesh['mtu'] == MTU_AUTO
                 else {'mode': 'fixed', 'mtu': mesh['mtu']})
                for name, mesh in plan['meshes'].items())


def status_mtu(plan, measured, only_mesh=None):
    """The MTU part of the status report, per mesh: the mode, the configured value ('auto' or a
    number), each node's live interface MTU and, for mtu auto, each link's path MTU measured now
    and the MTU a converge would choose."""
    out = {}
    for name, mesh in sorted(plan['meshes'].items()):
        if only_mesh is not None and name != only_mesh:
            continue
        live = {}
        for host in mesh['nodes']:
            result = measured.get(host)
            interfaces = result.get('interfaces') if isinstance(result, dict) else None
            live[host] = interfaces.get(mesh['interface']) if isinstance(interfaces, dict) else None
        entry = {'mode': 'auto' if mesh['mtu'] == MTU_AUTO else 'fixed', 'configured': mesh['mtu'],
                 'interface_mtu': live, 'links': [], 'warnings': []}
        if mesh['mtu'] == MTU_AUTO:
            choice = choose_mesh_mtu(name, mesh, measured)
            entry.update(links=choice['links'], warnings=choice['warnings'], would_choose=choice['mtu'])
        out[name] = entry
    return out


def status_mtu_lines(mtus):
    """Readable lines of status_mtu() for the status table."""
    lines = []
    for name, entry in sorted(mtus.items()):
        values = sorted(set(v for v in entry['interface_mtu'].values() if v is not None))
        lines.append('mesh %s: MTU %s, on the interfaces: %s%s' % (
            name, entry['configured'] if entry['mode'] == 'auto' else '%s (fixed)' % entry['configured'],
            ', '.join(str(v) for v in values) or 'none',
            '; a converge would choose %d' % entry['would_choose'] if 'would_choose' in entry else ''))
        for link in entry['links']:
            value = link['path_mtu'] if link['path_mtu'] else '-'
            lines.append('  path MTU %s <-> %s: %s (%s)' % (link['nodes'][0], link['nodes'][1], value, link['state']))
        lines.extend('  warning: ' + warning for warning in entry['warnings'])
    return lines
