# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node publishes for a sliced run, and how site.yml takes it back (docs/awx.md).

AWX runs a sliced job as N jobs, each with an inventory holding only its own hosts. So that a
slice of site.yml can plan and key the peers it does not hold, playbooks/publish.yml makes
each node's keys and publishes, through set_stats, one top-level variable per node:

    wgmesh_node_<var-safe name>: {name, public_keys: {mesh: key}, public_address, nat}

One variable per node because AWX hands a workflow's next job the union of its parents'
artifacts merged key by key at the top level. Only public data: a record with any other
field is refused. Pure Python; the filters in plugins/filter/publish.py are thin wrappers.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from collections.abc import Mapping

from ansible_collections.smite.wgmesh.plugins.module_utils.names import is_node_name
from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import is_public_key
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import PlanError

VAR_PREFIX = 'wgmesh_node_'
FIELDS = ('name', 'public_keys', 'public_address', 'nat')
_UNSAFE = re.compile(r'[^A-Za-z0-9_]')


def var_name(node):
    """The variable a node publishes under: wgmesh_node_ + its name with every character
    that cannot be in a variable name (-, .) as _."""
    return VAR_PREFIX + _UNSAFE.sub('_', node)


def _collisions(nodes):
    by_var = {}
    for node in nodes:
        by_var.setdefault(var_name(node), []).append(node)
    return ['nodes %s would all publish as %s: rename one of them' % (', '.join(sorted(names)), var)
            for var, names in sorted(by_var.items()) if len(names) > 1]


def node_record(host, meshes, public_keys, facts, nodes=()):
    """{var_name(host): record} for set_stats: the host's public key for each of its `meshes`
    (names) and its public address and NAT flag (`facts`, as the planner reads them from the
    inventory). Raises PlanError when a key is missing or not a public key, or when another
    of the mesh `nodes` would publish under the same variable."""
    errors = _collisions(set(nodes) | set([host]))
    if not meshes:
        errors.append('%s is in no mesh: it has nothing to publish' % host)
    keys = {}
    for mesh in meshes:
        key = (public_keys or {}).get(mesh)
        if not is_public_key(key):
            errors.append('mesh %s, node %s: no public key to publish (got %r)' % (mesh, host, key))
        keys[mesh] = key
    if errors:
        raise PlanError(errors)
    return {var_name(host): {'name': host, 'public_keys': keys, 'public_address': facts['public_address'],
                             'nat': bool(facts['nat'])}}


def _record_problems(var, record):
    where = 'published %s' % var
    if not isinstance(record, Mapping):
        return ['%s: must be a mapping of %s, got %s' % (where, ', '.join(FIELDS), type(record).__name__)]
    problems = []
    extra = sorted(str(k) for k in record if k not in FIELDS)
    if extra:
        problems.append('%s: unexpected field(s) %s (a record holds only %s)' % (where, ', '.join(extra), ', '.join(FIELDS)))
    name = record.get('name')
    if not is_node_name(name):
        problems.append('%s: name must be an inventory hostname, got %r' % (where, name))
    elif var_name(name) != var:
        problems.append('%s: name %s publishes as %s, not as %s' % (where, name, var_name(name), var))
    keys = record.get('public_keys')
    if not isinstance(keys, Mapping) or not keys:
        problems.append('%s: public_keys must map each mesh to a public key' % where)
    else:
        problems.extend('%s: public_keys.%s is not a WireGuard public key' % (where, mesh)
                        for mesh, key in sorted(keys.items()) if not is_public_key(key))
    if not isinstance(record.get('public_address'), str) or not record.get('public_address'):
        problems.append('%s: public_address must be a non-empty string' % where)
    if not isinstance(record.get('nat'), bool):
        problems.append('%s: nat must be true or false' % where)
    return problems


def published_nodes(variables):
    """{node: record} from {variable name: value} (the wgmesh_node_* extra vars of a job).
    Raises PlanError listing every malformed record."""
    errors, nodes = [], {}
    for var in sorted(variables or {}):
        if not var.startswith(VAR_PREFIX):
            errors.append('%s is not a published node (the names start with %s)' % (var, VAR_PREFIX))
            continue
        problems = _record_problems(var, variables[var])
        errors.extend(problems)
        if not problems:
            record = variables[var]
            nodes[record['name']] = {'name': record['name'], 'public_keys': dict(record['public_keys']),
                                     'public_address': record['public_address'], 'nat': record['nat']}
    if errors:
        raise PlanError(errors)
    return nodes


def with_published(facts, nodes, published):
    """The planner's inventory facts ({node: {public_address, nat}}) completed for the mesh
    `nodes` that are not in the inventory with what they published. Once anything is
    published (a sliced run), a mesh node found in neither is an error: its slice of
    publish did not run or failed, and planning it would guess its address."""
    if not published:
        return facts
    merged = dict(facts)
    missing = []
    for node in sorted(set(nodes)):
        if node in merged:
            continue
        if node in published:
            merged[node] = {'public_address': published[node]['public_address'], 'nat': published[node]['nat']}
        else:
            missing.append(node)
    if missing:
        raise PlanError(['node(s) %s: in a mesh but neither in this inventory nor published by '
                         'smite.wgmesh.publish (did its slice of publish run and succeed?)' % ', '.join(missing)])
    return merged


def as_reads(published):
    """The published keys in the form of a registered loop of smite.wgmesh.wg_peer_keys over
    the nodes outside the play (one result per node, item: node), which is how
    smite.wgmesh.mesh_peer_key_choice takes the keys of peers outside the play."""
    return {'results': [{'item': node, 'public_keys': dict(published[node]['public_keys'])}
                        for node in sorted(published or {})]}
