# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health agent's decisions and metrics, as pure functions (Python 3 standard library).

The agent (health_agent.py) observes each mesh every round: the wg-quick unit's state,
whether the interface exists, the parsed `wg show dump`, a ping per peer and the Backhaul
instances' states. `Health.observe()` turns one round into repairs (which unit to restart
and why) and keeps the running totals and repair history; `render_metrics()` writes them
in node_exporter's textfile format. Nothing here runs a command or touches a file.

What is repaired, and what is not:
- a unit an admin stopped (wg-quick@ not active) is left alone: its peers are reported down;
- an active wg-quick@ whose interface is gone (wireguard-go died, `ip link del`) is restarted;
- a peer from which nothing has been received for `stall_after` seconds (both ends send a
  keepalive every 25 s, so a live link always receives) or whose handshake is older than
  HANDSHAKE_STALE gets its Backhaul instance restarted on this end. That covers a dead link
  and a half-open one (traffic one way only: tx grows, rx does not).
- each repair target backs off: the next restart of a link waits stall_after, then twice that,
  ..., up to backoff_max, so a peer that is really down costs one restart per backoff period;
  an interface (seen missing in one round) backs off from two rounds the same way.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress

HANDSHAKE_STALE = 180  # s: WireGuard rekeys every 120 s; status.yml uses the same bound
DEFAULTS = {'interval': 10, 'stall_after': 75, 'backoff_max': 600}

REASON_TEXT = {
    'interface_missing': 'the unit is active but its interface is gone',
    'one_way': 'traffic one way only: sent but nothing received',
    'no_rx': 'nothing received',
    'handshake_stale': 'no handshake',
}


def canonical_networks(values):
    """Sorted canonical network strings (host bits cleared, bare address -> /32 or /128)."""
    return sorted(str(ipaddress.ip_network(value.strip(), strict=False)) for value in values)


def match_peer(live_peers, allowed_ips):
    """The live peer (parsed dump entry) whose AllowedIPs equal `allowed_ips`, else None."""
    wanted = canonical_networks(allowed_ips)
    for peer in live_peers:
        if canonical_networks(peer['allowed_ips']) == wanted:
            return peer
    return None


def _backoff(restarts, stall_after, backoff_max):
    """Seconds to wait after the n-th restart in a row before the next one."""
    return min(backoff_max, stall_after * 2 ** max(0, restarts - 1))


def agent_config(host_plan, settings):
    """The agent's config for one node: `settings` (interval, stall_after, backoff_max, file
    paths) plus, per mesh of the node's host plan (mesh_host_plan, no secret needed), its
    interface and per peer the node name, overlay address, AllowedIPs and Backhaul link."""
    meshes = []
    for entry in host_plan:
        links = dict((link['peer'], {'instance': link['instance'], 'mode': link['mode']})
                     for link in entry.get('backhaul') or ())
        addresses = dict((peer['node'], peer['address']) for peer in entry['peer_addresses'])
        meshes.append({'mesh': entry['mesh'], 'interface': entry['interface'], 'peers': [
            {'node': peer['node'], 'address': addresses[peer['node']], 'allowed_ips': list(peer['allowed_ips']),
             'backhaul': links.get(peer['node'])} for peer in entry['peers']]})
    config = dict(settings)
    config['meshes'] = meshes
    return config


class Health(object):
    """Per-peer and per-mesh memory across rounds; `state` is JSON-serialisable and saved
    by the agent, so totals and repair history survive an agent restart."""

    def __init__(self, config, state=None):
        self.settings = dict(DEFAULTS)
        self.settings.update((k, config[k]) for k in DEFAULTS if config.get(k) is not None)
        self.meshes = config.get('meshes') or []
        self.state = state if isinstance(state, dict) else {}
        self.state.setdefault('meshes', {})
        # Monotonic times and backoff do not survive a restart of the agent (or a reboot):
        # start those afresh, keep the totals and the repair history.
        for mesh_state in self.state['meshes'].values():
            for target in [mesh_state] + list(mesh_state.get('peers', {}).values()):
                target.update(restarts_in_a_row=0, next_restart_after=0)
                for key in ('rx_since', 'live_since'):
                    target.pop(key, None)
        self.samples = {}

    def _mesh_state(self, name):
        return self.state['meshes'].setdefault(name, {
            'rx_total': 0, 'tx_total': 0, 'interface_restarts': {}, 'peers': {},
            'last_repair': None, 'restarts_in_a_row': 0, 'next_restart_after': 0})

    @staticmethod
    def _peer_state(mesh_state, node):
        return mesh_state['peers'].setdefault(node, {
            'rx_total': 0, 'tx_total': 0, 'rx_last': None, 'tx_last': None, 'restarts': {},
            'last_repair': None, 'restarts_in_a_row': 0, 'next_restart_after': 0})

    def _may_restart(self, target, now):
        return now >= target['next_restart_after']

    def _restarted(self, target, reason, now, wall, unit, base):
        target['restarts_in_a_row'] += 1
        wait = _backoff(target['restarts_in_a_row'], base, self.settings['backoff_max'])
        target['next_restart_after'] = now + wait
        target['last_repair'] = {'time': int(wall), 'reason': reason, 'unit': unit}
        return wait

    def observe(self, observations, now, wall):
        """One round. `observations`: {mesh: {'unit': ActiveState of wg-quick@, 'interface':
        bool, 'dump': parse_dump() result or None, 'ping': {node: parse_ping() or None},
        'backhaul': {instance: ActiveState}}}. `now`: monotonic seconds, `wall`: epoch.

        Returns the repairs: [{'unit', 'mesh', 'peer', 'reason', 'message'}]; the round's
        per-peer view is kept for render_metrics().
        """
        repairs = []
        self.samples = {}
        for mesh in self.meshes:
            name = mesh['mesh']
            seen = observations.get(name) or {}
            mesh_state = self._mesh_state(name)
            unit_active = seen.get('unit') == 'active'
            interface_up = unit_active and bool(seen.get('interface')) and seen.get('dump') is not None
            samples = self.samples[name] = {'interface_up': interface_up, 'peers': {}}
            if unit_active and not seen.get('interface'):
                if self._may_restart(mesh_state, now):
                    unit = 'wg-quick@%s.service' % mesh['interface']
                    reason = 'interface_missing'
                    # A vanished interface is seen in one round: back off from two rounds.
                    wait = self._restarted(mesh_state, reason, now, wall, unit, 2 * self.settings['interval'])
                    counts = mesh_state['interface_restarts']
                    counts[reason] = counts.get(reason, 0) + 1
                    repairs.append({'unit': unit, 'mesh': name, 'peer': None, 'reason': reason,
                                    'message': 'restart %s: %s (next restart no sooner than %d s)'
                                    % (unit, REASON_TEXT[reason], wait)})
            elif interface_up:
                mesh_state['restarts_in_a_row'] = 0
                mesh_state['next_restart_after'] = 0
            live_peers = (seen.get('dump') or {}).get('peers') or []
            for peer in mesh['peers']:
                repair = self._observe_peer(name, mesh_state, peer, seen, live_peers if interface_up else None,
                                            now, wall, samples['peers'])
                if repair:
                    repairs.append(repair)
        return repairs

    def _observe_peer(self, mesh, mesh_state, peer, seen, live_peers, now, wall, samples):
        node = peer['node']
        state = self._peer_state(mesh_state, node)
        live = match_peer(live_peers, peer['allowed_ips']) if live_peers is not None else None
        ping = (seen.get('ping') or {}).get(node)
        sample = samples[node] = {
            'up': False, 'handshake': None, 'latency': None, 'loss': None,
            'backhaul': (seen.get('backhaul') or {}).get(peer['backhaul']['instance'])
            if peer.get('backhaul') else None}
        if ping:
            sample['loss'] = ping['loss_percent'] / 100.0
            if ping['latency_avg_ms'] is not None:
                sample['latency'] = ping['latency_avg_ms'] / 1000.0
        if live is None:
            # Interface down or peer not configured: counters restart from zero when it returns.
            state['rx_last'] = state['tx_last'] = state['rx_since'] = state['live_since'] = None
            return None
        rx, tx = live['rx_bytes'], live['tx_bytes']
        for key, value in (('rx', rx), ('tx', tx)):
            last = state[key + '_last']
            # No last value (first sight, or the interface came back) or a counter below it (the
            # interface was recreated): the counter started from 0 since.
            delta = value if last is None or value < last else value - last
            state[key + '_total'] += delta
            mesh_state[key + '_total'] += delta
        received = state['rx_last'] is not None and rx > state['rx_last']
        sent = state['tx_last'] is not None and tx > state['tx_last']
        if received or state.get('rx_since') is None:
            state['rx_since'] = now
        if state.get('live_since') is None:
            state['live_since'] = now
        state['rx_last'], state['tx_last'] = rx, tx
        sample['handshake'] = live['latest_handshake']
        handshake_age = None if live['latest_handshake'] is None else wall - live['latest_handshake']
        stalled_for = now - state['rx_since']
        stall_after = self.settings['stall_after']
        reason = None
        if stalled_for >= stall_after:
            reason = 'one_way' if sent else 'no_rx'
        elif handshake_age is None:
            # A fresh interface or link has no handshake yet: give it stall_after to make one.
            if now - state['live_since'] >= stall_after:
                reason = 'handshake_stale'
        elif handshake_age > HANDSHAKE_STALE:
            reason = 'handshake_stale'
        sample['up'] = reason is None and handshake_age is not None and handshake_age <= HANDSHAKE_STALE
        if reason is None:
            if sample['up'] and received:  # proof of health, not just a grace period: end the backoff
                state['restarts_in_a_row'] = 0
                state['next_restart_after'] = 0
            return None
        instance = (peer.get('backhaul') or {}).get('instance')
        # Only the Backhaul carrier can be repaired from here (direct links are WireGuard's
        # own business), and only while its instance runs: a stopped one was stopped on purpose.
        if instance is None or sample['backhaul'] != 'active' or not self._may_restart(state, now):
            return None
        unit = 'backhaul@%s.service' % instance
        detail = REASON_TEXT[reason]
        if reason in ('one_way', 'no_rx'):
            detail += ' for %d s' % stalled_for
        else:
            detail += ' for %d s' % (handshake_age if handshake_age is not None else now - state['live_since'])
        # A dead link takes stall_after to see: back off from that.
        wait = self._restarted(state, reason, now, wall, unit, self.settings['stall_after'])
        state['restarts'][reason] = state['restarts'].get(reason, 0) + 1
        # Grace: give the restarted link stall_after to carry traffic and handshake again.
        state['rx_since'] = state['live_since'] = now
        return {'unit': unit, 'mesh': mesh, 'peer': node, 'reason': reason,
                'message': 'restart %s (peer %s): %s (next restart no sooner than %d s)'
                % (unit, node, detail, wait)}

    def report(self):
        """What status.yml shows per mesh: traffic totals and, per peer, the last repair."""
        out = {}
        for mesh in self.meshes:
            mesh_state = self._mesh_state(mesh['mesh'])
            out[mesh['mesh']] = {
                'interface': mesh['interface'], 'rx_total': mesh_state['rx_total'], 'tx_total': mesh_state['tx_total'],
                'last_repair': mesh_state['last_repair'],
                'peers': dict((peer['node'], {
                    'last_repair': self._peer_state(mesh_state, peer['node'])['last_repair'],
                    'up': (self.samples.get(mesh['mesh'], {}).get('peers', {}).get(peer['node']) or {}).get('up'),
                }) for peer in mesh['peers']),
            }
        return out


METRICS = (
    ('wgmesh_interface_up', 'gauge', '1 when the mesh interface exists and its wg-quick unit is active.'),
    ('wgmesh_peer_up', 'gauge', '1 when the peer handshook recently and traffic arrives from it.'),
    ('wgmesh_peer_last_handshake_timestamp_seconds', 'gauge',
     'Epoch of the latest handshake with the peer, 0 when none.'),
    ('wgmesh_peer_receive_bytes_total', 'counter', 'Bytes received from the peer (agent running total).'),
    ('wgmesh_peer_transmit_bytes_total', 'counter', 'Bytes sent to the peer (agent running total).'),
    ('wgmesh_peer_latency_seconds', 'gauge', 'Average ping round trip to the peer overlay address.'),
    ('wgmesh_peer_loss_ratio', 'gauge', 'Share of pings to the peer overlay address that got no reply.'),
    ('wgmesh_link_restarts_total', 'counter', 'Backhaul link restarts made by the agent, by reason.'),
    ('wgmesh_interface_restarts_total', 'counter', 'Mesh interface restarts made by the agent, by reason.'),
    ('wgmesh_mesh_receive_bytes_total', 'counter', 'Bytes received on the mesh from all peers.'),
    ('wgmesh_mesh_transmit_bytes_total', 'counter', 'Bytes sent on the mesh to all peers.'),
    ('wgmesh_agent_last_round_timestamp_seconds', 'gauge', 'Epoch at which the agent last finished a round.'),
    ('wgmesh_agent_round_duration_seconds', 'gauge', 'Wall time of the last round.'),
    ('wgmesh_agent_cpu_seconds_total', 'counter', 'CPU time used by the agent process and its commands.'),
)


def _labels(**labels):
    return '{%s}' % ','.join('%s="%s"' % (key, str(value).replace('\\', r'\\').replace('"', r'\"')
                                          .replace('\n', r'\n'))
                             for key, value in sorted(labels.items()))


def _number(value):
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def render_metrics(health, agent):
    """node_exporter textfile text. `agent`: {'wall', 'duration', 'cpu'} of this round."""
    series = dict((name, []) for name, _kind, _help in METRICS)
    for mesh in health.meshes:
        name = mesh['mesh']
        mesh_state = health._mesh_state(name)
        sample = health.samples.get(name) or {'interface_up': False, 'peers': {}}
        series['wgmesh_interface_up'].append((_labels(mesh=name), int(sample['interface_up'])))
        series['wgmesh_mesh_receive_bytes_total'].append((_labels(mesh=name), mesh_state['rx_total']))
        series['wgmesh_mesh_transmit_bytes_total'].append((_labels(mesh=name), mesh_state['tx_total']))
        for reason, count in sorted(mesh_state['interface_restarts'].items()):
            series['wgmesh_interface_restarts_total'].append((_labels(mesh=name, reason=reason), count))
        for peer in mesh['peers']:
            node = peer['node']
            state = health._peer_state(mesh_state, node)
            view = sample['peers'].get(node) or {}
            labels = _labels(mesh=name, peer=node)
            series['wgmesh_peer_up'].append((labels, int(bool(view.get('up')))))
            series['wgmesh_peer_last_handshake_timestamp_seconds'].append((labels, view.get('handshake') or 0))
            series['wgmesh_peer_receive_bytes_total'].append((labels, state['rx_total']))
            series['wgmesh_peer_transmit_bytes_total'].append((labels, state['tx_total']))
            if view.get('latency') is not None:
                series['wgmesh_peer_latency_seconds'].append((labels, float(view['latency'])))
            if view.get('loss') is not None:
                series['wgmesh_peer_loss_ratio'].append((labels, float(view['loss'])))
            for reason, count in sorted(state['restarts'].items()):
                series['wgmesh_link_restarts_total'].append((_labels(mesh=name, peer=node, reason=reason), count))
    series['wgmesh_agent_last_round_timestamp_seconds'].append(('', float(agent['wall'])))
    series['wgmesh_agent_round_duration_seconds'].append(('', float(agent['duration'])))
    series['wgmesh_agent_cpu_seconds_total'].append(('', float(agent['cpu'])))
    lines = []
    for name, kind, text in METRICS:
        if not series[name]:
            continue
        lines.append('# HELP %s %s' % (name, text))
        lines.append('# TYPE %s %s' % (name, kind))
        lines.extend('%s%s %s' % (name, labels, _number(value)) for labels, value in series[name])
    return '\n'.join(lines) + '\n'
