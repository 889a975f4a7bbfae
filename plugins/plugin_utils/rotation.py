# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key rotation of one mesh (playbooks/rotate_keys.yml): the request, the check that every
link handshakes with the new keys, and the report of what was (not) rotated and updated.

Pure Python, no Ansible runtime needed. Only public keys ever pass through here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import HANDSHAKE_DOWN_AFTER, live_peer
from ansible_collections.smite.wgmesh.plugins.plugin_utils.tables import text_table

FINGERPRINT_CHARS = 12


class RotationError(Exception):
    """The rotation request cannot be run."""


def _names(value):
    """A list of node names from a list, a comma separated string or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(',') if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    raise RotationError('wgmesh_rotate_nodes must be a list of node names or a comma separated string')


def rotation_request(plan, mesh, nodes=None):
    """What to rotate: {mesh, interface, nodes (every node of the mesh), rotate (the chosen ones)}.

    `nodes` (list or comma separated string) picks the nodes whose keys are replaced;
    empty means every node of the mesh. Every node of the mesh is updated either way.
    """
    meshes = sorted(plan.get('meshes', {}))
    if not mesh:
        raise RotationError('set the mesh to rotate: -e mesh=NAME (meshes: %s)' % (', '.join(meshes) or 'none'))
    if mesh not in plan['meshes']:
        raise RotationError("there is no mesh '%s' in wgmesh_meshes (meshes: %s)" % (mesh, ', '.join(meshes) or 'none'))
    members = sorted(plan['meshes'][mesh]['nodes'])
    chosen = _names(nodes) or members
    unknown = sorted(set(chosen) - set(members))
    if unknown:
        raise RotationError('not nodes of mesh %s: %s (its nodes: %s)' % (mesh, ', '.join(unknown), ', '.join(members)))
    return {'mesh': mesh, 'interface': plan['meshes'][mesh]['interface'], 'nodes': members,
            'rotate': sorted(set(chosen))}


def link_problems(status, node, expected_keys, max_age=HANDSHAKE_DOWN_AFTER):
    """What is still wrong on `node` after the update, as readable strings (empty: all good).

    `status` is the node's smite.wgmesh.wg_status result, asked with `peers` = the expected
    keys and `ping` = those peers' overlay addresses. `expected_keys` maps the node itself and
    every peer to check to its current public key.

    A handshake proves the new keys: a peer whose key changed is a new peer entry on the
    interface (WireGuard keys peers by public key), so it has no handshake until one is made
    with the new key; and every changed link has such an entry at its other end.
    """
    if not status or not status.get('up'):
        return ['%s: interface down or not readable' % node]
    problems = []
    if (status.get('interface') or {}).get('public_key') != expected_keys.get(node):
        problems.append('%s: interface does not use its current key' % node)
    live = dict((peer.get('node'), peer) for peer in status.get('peers') or () if peer.get('node'))
    probes = dict((probe.get('node'), probe) for probe in status.get('ping') or ())
    for peer in sorted(set(expected_keys) - set([node])):
        entry = live.get(peer)
        if entry is None:
            problems.append('%s: current key of %s not configured' % (node, peer))
            continue
        age = entry.get('handshake_age')
        if age is None:
            problems.append('%s: no handshake with %s yet' % (node, peer))
        elif age > max_age:
            problems.append('%s: last handshake with %s %ds ago' % (node, peer, age))
        probe = probes.get(peer)
        if probe is not None and probe.get('loss_percent', 100) >= 100:
            problems.append('%s: no ping reply from %s' % (node, peer))
    return problems


def live_peer_keys(plan, statuses):
    """{node: {mesh: public key}} as the node's peers' live interfaces hold it.

    `statuses`: {host: {mesh: smite.wgmesh.wg_status result}}. A peer entry is matched to
    its planned node by AllowedIPs. Where peers disagree (an earlier rotation was
    interrupted) the key most of them hold wins, ties broken by the key itself, so the
    answer is stable. Used for nodes that cannot be reached: their peers keep that key.
    """
    votes = {}
    for host, by_mesh in statuses.items():
        for mesh_name, status in (by_mesh or {}).items():
            mesh = plan['meshes'].get(mesh_name)
            if mesh is None or host not in mesh['nodes'] or not (status or {}).get('up'):
                continue
            for planned in mesh['nodes'][host]['peers']:
                live = live_peer(status, planned)
                if live is not None and live.get('public_key'):
                    counts = votes.setdefault(planned['node'], {}).setdefault(mesh_name, {})
                    counts[live['public_key']] = counts.get(live['public_key'], 0) + 1
    return dict((node, dict((mesh_name, sorted(counts, key=lambda k: (-counts[k], k))[0])
                            for mesh_name, counts in by_mesh.items()))
                for node, by_mesh in votes.items())


def _fingerprint(key):
    return key[:FINGERPRINT_CHARS] + '...' if key else None


def _peers(mesh_plan, node):
    return sorted(peer['node'] for peer in mesh_plan['nodes'][node]['peers'])


def rotation_report(mesh_plan, rotate, facts, check_mode=False, max_age=HANDSHAKE_DOWN_AFTER):
    """The outcome of a rotation of one mesh.

    `facts`: {node: {'key': {'old', 'new', 'rotated'} or None (no key step: unreachable or
    failed before), 'status': the wg_status result of the final check, or None when the node
    did not get that far (so it was not updated)}}.

    Returns {complete, rotated: {node: {old, new}}, not_rotated: [node], stale: {node:
    [peers whose new key it lacks]}, unapplied: [node], problems: [str], text: [str]}.
    """
    nodes = sorted(mesh_plan['nodes'])

    def fact(node, name):
        return (facts.get(node) or {}).get(name)

    keys = dict((node, fact(node, 'key')) for node in nodes)
    rotated = dict((node, {'old': key['old'], 'new': key['new']})
                   for node, key in keys.items() if key and key.get('rotated'))
    not_rotated = sorted(node for node in rotate if node not in rotated)
    updated = set(node for node in nodes if fact(node, 'status') is not None)
    stale, unapplied, problems = {}, [], []
    if not check_mode:  # check mode changed no key and checked no link
        # A node that missed the update still holds the old keys of its rotated peers, and a
        # rotated node that missed it has a new key on disk that its interface does not use yet.
        for node in nodes:
            peers = [peer for peer in _peers(mesh_plan, node) if peer in rotated]
            if node not in updated and peers:
                stale[node] = peers
        unapplied = sorted(node for node in rotated if node not in updated)
        for node in sorted(updated):
            expected = dict((name, (keys.get(name) or {}).get('new'))
                            for name in [node] + _peers(mesh_plan, node) if name in updated)
            problems.extend(link_problems(fact(node, 'status'), node, expected, max_age))
    complete = not (not_rotated or stale or unapplied or problems)

    rows = []
    for node in nodes:
        key = keys[node]
        if key is None:
            state, change = 'not rotated' if node in rotate else 'unchanged', 'node unreachable or failed'
        elif node in rotated:
            state = 'would rotate' if check_mode else 'rotated'
            change = '%s -> %s' % (_fingerprint(key['old']), _fingerprint(key['new']) if not check_mode else '(new)')
        else:
            state, change = 'kept', _fingerprint(key['new'])
        if check_mode:
            update = 'check mode'
        elif node not in updated:
            update = 'NOT UPDATED'
        else:
            update = 'links ok' if not any(p.startswith(node + ':') for p in problems) else 'links not ok'
        rows.append((node, state, change, update))
    title = 'Key rotation of mesh %s: %s' % (
        mesh_plan['name'], 'check mode, nothing changed' if check_mode else ('complete' if complete else 'INCOMPLETE'))
    text = [title] + ['  ' + line for line in text_table(('node', 'key', 'public key (old -> new)', 'update'), rows)]
    for node in not_rotated:
        text.append('not rotated: %s (unreachable or failed before its new key was made)' % node)
    for node in unapplied:
        text.append('not live: %s has a new key on disk that its interface does not use yet' % node)
    for node, peers in sorted(stale.items()):
        text.append('not updated: %s still has the old key of %s' % (node, ', '.join(peers)))
    text.extend('link: ' + problem for problem in problems)
    return {'complete': complete, 'rotated': rotated, 'not_rotated': not_rotated, 'stale': stale,
            'unapplied': unapplied, 'problems': problems, 'text': text}
