# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which public key each peer of a node gets, when some nodes cannot be asked.

Pure Python (standard library only), no Ansible runtime: used on the nodes by the
smite.wgmesh.wg_peer_keys module (what a node's configs and live interfaces hold for its
peers) and on the controller by the smite.wgmesh.mesh_peer_key_choice and
smite.wgmesh.mesh_pending_report filters.

Only public keys ever pass through here. The [Interface] section of a config (where a
PrivateKey could be) and PresharedKey lines are never read into a result.

Where a peer's key comes from, in order (choose_peer_keys):

1. ``play``: the peer is in the play and made or kept its key in this run.
2. ``read``: the peer is outside the play (``--limit``) and its public key file was read.
3. ``last-known``: the key the reachable nodes hold for it now, in their config file
   ``/etc/wireguard/wg-<mesh>.conf`` or their live interface. A held peer entry is matched to
   the planned node by the node's overlay address in its AllowedIPs (the most specific entry
   that contains it), never by the ``# node`` comment the role writes above it: the comment
   only vetoes a match (an entry commented with another node's name is not that node's).
   Each reachable node that plans the peer votes once, for its best matching entry (its
   config entry over a live-only one; no vote when two entries match equally well). The key
   with the most votes wins; on a tie, the key held by the node whose name sorts first.
   A key that belongs to another node of the mesh (from 1. or 2.) never wins.
4. none: the peer entry is left out of the config and the run reports it.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re

from ansible_collections.smite.wgmesh.plugins.module_utils import names

# A WireGuard key: base64 of 32 bytes (the last character carries 4 bits, the rest zero).
KEY_RE = re.compile(r'^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$')
FINGERPRINT_CHARS = 12

SOURCE_PLAY = 'play'
SOURCE_READ = 'read'
SOURCE_LAST_KNOWN = 'last-known'


def is_public_key(value):
    return isinstance(value, str) and bool(KEY_RE.match(value))


def fingerprint(key):
    return (key[:FINGERPRINT_CHARS] + '...') if key else '?'


# --- on the node -------------------------------------------------------------------------

def _networks(values):
    nets = []
    for value in values:
        try:
            nets.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            continue
    return nets


def config_peers(text):
    """The peers a wg-quick config holds: [{public_key, allowed_ips, node}].

    `node` is the name in a `# name` comment line directly under `[Peer]` (what the wireguard
    role writes), else None. Only PublicKey and AllowedIPs are read; anything unreadable is
    skipped, never raised: this is a best-effort look at what a node held last.
    """
    peers = []
    peer = None
    for raw in (text or '').splitlines():
        line = raw.strip()
        if line.startswith('['):
            peer = None
            if line.lower() == '[peer]':
                peer = {'public_key': None, 'allowed_ips': [], 'node': None, '_fresh': True}
                peers.append(peer)
            continue
        if peer is None or not line:
            continue
        if line.startswith('#'):
            name = line[1:].strip()
            if peer['_fresh'] and names.is_node_name(name):
                peer['node'] = name
            peer['_fresh'] = False
            continue
        peer['_fresh'] = False
        key, sep, value = line.split('#', 1)[0].partition('=')
        if not sep:
            continue
        key = key.strip().lower()
        if key == 'publickey':
            peer['public_key'] = value.strip()
        elif key == 'allowedips':
            peer['allowed_ips'].extend(_networks(value.split(',')))
    result = []
    for peer in peers:
        if is_public_key(peer['public_key']):
            result.append({'public_key': peer['public_key'], 'allowed_ips': peer['allowed_ips'], 'node': peer['node']})
    return result


def live_peers(text):
    """The peers of `wg show IFACE allowed-ips` output: [{public_key, allowed_ips}]."""
    peers = []
    for line in (text or '').splitlines():
        parts = line.split()
        if not parts or not is_public_key(parts[0]):
            continue
        ips = [p for p in parts[1:] if p != '(none)']
        peers.append({'public_key': parts[0], 'allowed_ips': _networks(ips)})
    return peers


def known_peers(config=None, live=None):
    """Merge config_peers() and live_peers() by public key.

    [{public_key, allowed_ips, node, config, live}], sorted by key; AllowedIPs from the config
    when it has the peer (it is what the last run decided), else from the interface.
    """
    merged = {}
    for peer in config or ():
        merged[peer['public_key']] = {'public_key': peer['public_key'], 'allowed_ips': list(peer['allowed_ips']),
                                      'node': peer.get('node'), 'config': True, 'live': False}
    for peer in live or ():
        entry = merged.get(peer['public_key'])
        if entry is None:
            merged[peer['public_key']] = {'public_key': peer['public_key'], 'allowed_ips': list(peer['allowed_ips']),
                                          'node': None, 'config': False, 'live': True}
        else:
            entry['live'] = True
    return [merged[key] for key in sorted(merged)]


# --- on the controller -------------------------------------------------------------------

def _cover(allowed_ips, address):
    """Prefix length of the most specific network in `allowed_ips` holding `address`, or None."""
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return None
    best = None
    for value in allowed_ips or ():
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            continue
        if net.version == addr.version and addr in net and (best is None or net.prefixlen > best):
            best = net.prefixlen
    return best


def _hub(entry):
    """The hub of a hub-spoke mesh as a host plan entry shows it (a spoke's only peer)."""
    if entry.get('is_hub'):
        return entry.get('_host')
    peers = entry.get('peers') or ()
    return peers[0]['node'] if len(peers) == 1 else None


def plans_peer(entry, voter, peer):
    """Whether `voter`, a node of the entry's mesh, has `peer` as a planned peer."""
    if voter == peer:
        return False
    if entry.get('topology') != 'hub-spoke':
        return True
    hub = _hub(entry)
    return hub is not None and hub in (voter, peer)


def held_key(held, node, address, taken=()):
    """The key a node's held peers (known_peers() output) give `node`, or None.

    The entry must hold `address` in its AllowedIPs; the most specific one wins, then an entry
    commented with `node`, then one from the config file. An entry commented with another
    node's name, or whose key is in `taken`, is not a candidate. Two different keys ranked
    equal: no answer.
    """
    ranked = []
    for entry in held or ():
        key = entry.get('public_key')
        if not is_public_key(key) or key in taken:
            continue
        if entry.get('node') and entry['node'] != node:
            continue
        prefix = _cover(entry.get('allowed_ips'), address)
        if prefix is None:
            continue
        ranked.append(((prefix, entry.get('node') == node, bool(entry.get('config'))), key))
    if not ranked:
        return None
    top = max(rank for rank, dummy in ranked)
    keys = set(key for rank, key in ranked if rank == top)
    return keys.pop() if len(keys) == 1 else None


def last_known_key(entry, node, address, known, taken=()):
    """(key, votes) for `node` of the entry's mesh from every voter's held peers.

    `known`: {voter: {mesh: known_peers() list}}. votes: {key: [voters]}, voters sorted.
    The key with most votes wins; on a tie the one whose first voter sorts first.
    """
    votes = {}
    for voter in sorted(known):
        held = (known[voter] or {}).get(entry['mesh'])
        if held is None or not plans_peer(entry, voter, node):
            continue
        key = held_key(held, node, address, taken)
        if key is not None:
            votes.setdefault(key, []).append(voter)
    if not votes:
        return None, {}
    chosen = sorted(votes, key=lambda k: (-len(votes[k]), votes[k][0]))[0]
    return chosen, votes


def choose_peer_keys(entries, play_keys, read_keys=None, known=None, unread=None, host=None):
    """Choose each peer's key for a host's plan entries (mesh_host_plan output).

    `play_keys`: {node: {mesh: key}} of nodes that made or kept their key in this run;
    `read_keys`: {(mesh, node): key} read from nodes outside the play; `known`: {voter:
    {mesh: known_peers() list}} held by reachable nodes; `unread`: {node: reason} for nodes
    outside the play that could not be read; `host`: this host's name (for hub-spoke votes).

    Returns {public_keys: {mesh: {node: key}}, sources: {mesh: {node: play|read|last-known}},
    missing: [[mesh, node]] (left out), last_known: {mesh: {node: {voters, others}}} where
    others maps other held keys to their voters, unread: {node: reason}}.
    """
    read_keys = read_keys or {}
    known = known or {}
    result = {'public_keys': {}, 'sources': {}, 'missing': [], 'last_known': {},
              'unread': dict((unread or {}).items())}
    for entry in entries:
        mesh = entry['mesh']
        entry = dict(entry, _host=host)
        keys = result['public_keys'].setdefault(mesh, {})
        sources = result['sources'].setdefault(mesh, {})
        addresses = dict((p['node'], p['address']) for p in entry.get('peer_addresses') or ())
        pending = []
        for peer in sorted(p['node'] for p in entry['peers']):
            key = (play_keys.get(peer) or {}).get(mesh)
            source = SOURCE_PLAY
            if not key:
                key, source = read_keys.get((mesh, peer)), SOURCE_READ
            if key:
                keys[peer], sources[peer] = key, source
            else:
                pending.append(peer)
        # Keys known to belong to a node of this mesh cannot be another node's.
        taken = set(keys.values())
        for peer in pending:
            key, votes = last_known_key(entry, peer, addresses.get(peer), known, taken)
            if key is None:
                result['missing'].append([mesh, peer])
                continue
            keys[peer], sources[peer] = key, SOURCE_LAST_KNOWN
            result['last_known'].setdefault(mesh, {})[peer] = {
                'voters': votes[key], 'others': dict((k, v) for k, v in votes.items() if k != key)}
    return result


# --- the run's report --------------------------------------------------------------------

def _names(hosts):
    return ', '.join(sorted(hosts))


def _peer_views(choices, mesh, node):
    """Who chose what for `node` of `mesh`: (kept, current, left, conflicts)."""
    kept, current, left, conflicts = [], [], [], []
    for host in sorted(choices):
        choice = choices[host] or {}
        source = ((choice.get('sources') or {}).get(mesh) or {}).get(node)
        if source == SOURCE_LAST_KNOWN:
            kept.append(host)
            detail = ((choice.get('last_known') or {}).get(mesh) or {}).get(node) or {}
            if detail.get('others'):
                chosen = ((choice.get('public_keys') or {}).get(mesh) or {}).get(node)
                conflicts.append((host, chosen, detail.get('voters') or [], detail['others']))
        elif source in (SOURCE_PLAY, SOURCE_READ):
            current.append(host)
        elif [mesh, node] in (choice.get('missing') or ()):
            left.append(host)
    return kept, current, left, conflicts


def _conflict_line(mesh, node, conflicts):
    host, chosen, voters, others = conflicts[0]
    rest = '; '.join('%s (held by %s)' % (fingerprint(k), _names(v)) for k, v in sorted(others.items()))
    return ('note: mesh %s: reachable nodes hold different keys for %s; kept %s (held by %s: most holders, '
            'then the first node name) over %s' % (mesh, node, fingerprint(chosen), _names(voters), rest))


def pending_report(plan, states):
    """Readable lines on what a site.yml run left pending; [] when nothing is.

    `states`: {host: {reached: the host's first task result or None (not in the run),
    converged: bool, choice: its choose_peer_keys() result or None}}.
    A node of the run that did not converge: "pending: NODE unreachable|failed: not converged;
    its last known key kept on A, B; its peer entry left out on C (no known key)". A node
    outside the run (--limit) that some node could not key: "pending: NODE (not in this run):
    ...". Different last known keys: a "note:" line naming the choice.
    """
    meshes = plan.get('meshes', {})
    multi = len(meshes) > 1
    choices = dict((host, state.get('choice')) for host, state in states.items() if state.get('choice'))
    lines, notes = [], []

    def describe(node):
        parts = []
        for mesh in sorted(plan.get('hosts', {}).get(node, ())):
            kept, dummy, left, conflicts = _peer_views(choices, mesh, node)
            where = 'mesh %s: ' % mesh if multi else ''
            if kept:
                parts.append('%sits last known key kept on %s' % (where, _names(kept)))
            if left:
                parts.append('%sits peer entry left out on %s (no known key)' % (where, _names(left)))
            if conflicts:
                notes.append(_conflict_line(mesh, node, conflicts))
        return parts

    in_run = set(host for host, state in states.items() if state.get('reached') is not None)
    for node in sorted(in_run):
        state = states[node]
        if state.get('converged'):
            continue
        reached = state.get('reached') or {}
        how = 'unreachable' if reached.get('unreachable') else 'failed'
        parts = ['%s %s: not converged' % (node, how)]
        if node in plan.get('hosts', {}):
            parts.extend(describe(node))
        else:
            parts.append('in no mesh: meshes no longer planned for it are not taken down yet')
        lines.append('pending: ' + '; '.join(parts))

    outside = set()
    for choice in choices.values():
        for mesh, node in choice.get('missing') or ():
            outside.add(node)
        for mesh, by_node in (choice.get('last_known') or {}).items():
            outside.update(by_node)
        outside.update(choice.get('unread') or {})
    for node in sorted(outside - in_run):
        reasons = set(r for c in choices.values() for n, r in (c.get('unread') or {}).items() if n == node)
        parts = describe(node)
        head = '%s (not in this run)%s' % (node, ': could not be read (%s)' % ', '.join(sorted(reasons)) if reasons else '')
        left_out = any('left out' in part for part in parts)
        lines.append('%s: %s' % ('pending' if left_out else 'note', '; '.join([head] + parts)))
    return lines + sorted(set(notes))
