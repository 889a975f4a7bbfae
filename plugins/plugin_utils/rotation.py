# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key rotation of one mesh (playbooks/rotate_keys.yml): the request, each node's old and new
key, what each node's final check asks and what is still wrong, and the report of what was
(not) rotated and updated.

A node that cannot be reached keeps its key: the nodes that are updated keep its last known
key, as playbooks/site.yml does for any node that is down (module_utils/peer_keys.py).

Pure Python, no Ansible runtime needed. Only public keys ever pass through here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import HANDSHAKE_DOWN_AFTER
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


def key_change(keypair, mesh):
    """{old, new, rotated}: a node's public key for `mesh` before and after its
    smite.wgmesh.wg_keypair result `keypair` (in check mode `new` is the module's placeholder)."""
    try:
        new = keypair['public_keys'][mesh]
    except (KeyError, TypeError):
        raise RotationError('not a smite.wgmesh.wg_keypair result for mesh %s (no public_keys.%s)' % (mesh, mesh))
    previous = keypair.get('previous_public_keys') or {}
    return {'old': previous.get(mesh, new), 'new': new, 'rotated': mesh in previous}


def check_request(mesh_plan, node, keys, hosts):
    """What `node`'s final check asks smite.wgmesh.wg_status, and the keys it expects.

    `keys`: {node: {old, new, rotated}} (key_change); `hosts`: the nodes still in the run.
    Only links to peers that took part in the update are checked; the others are reported.
    Returns {peers: {key: peer}, ping: [{node, address}], expected: {node: key} (itself too)}.
    """
    peers = [peer for peer in _peers(mesh_plan, node) if peer in hosts and peer in keys]
    expected = dict((name, keys[name]['new']) for name in [node] + peers)
    return {'peers': dict((expected[peer], peer) for peer in peers),
            'ping': [{'node': peer, 'address': mesh_plan['nodes'][peer]['address']} for peer in peers],
            'expected': expected}


def _fingerprint(key):
    return key[:FINGERPRINT_CHARS] + '...' if key else None


def _peers(mesh_plan, node):
    return sorted(peer['node'] for peer in mesh_plan['nodes'][node]['peers'])


def rotation_report(mesh_plan, rotate, keys, checks, check_mode=False, max_age=HANDSHAKE_DOWN_AFTER):
    """The outcome of a rotation of one mesh.

    `keys`: {node: {'old', 'new', 'rotated'}} (key_change) of the nodes that made or kept their
    key (a node missing: unreachable or failed before). `checks`: {node: the wg_status result of
    its final check} of the nodes that got that far (a node missing was not updated).

    Returns {complete, rotated: {node: {old, new}}, not_rotated: [node], stale: {node:
    [peers whose new key it lacks]}, unapplied: [node], problems: [str], text: [str]}.
    """
    nodes = sorted(mesh_plan['nodes'])
    keys = dict((node, keys.get(node)) for node in nodes)
    rotated = dict((node, {'old': key['old'], 'new': key['new']})
                   for node, key in keys.items() if key and key.get('rotated'))
    not_rotated = sorted(node for node in rotate if node not in rotated)
    updated = set(node for node in nodes if checks.get(node) is not None)
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
            problems.extend(link_problems(checks[node], node, expected, max_age))
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
