# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the planner and the status report.

Every argument is checked against the filter's documentation (plugins/filter/<name>.yml,
plugin_utils/filter_args.py). Filters read nothing by a hidden name: registered results and
facts of other hosts come in as explicit mappings {host: value} built by the caller.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import time
import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import choose_peer_keys, pending_report
from ansible_collections.smite.wgmesh.plugins.plugin_utils.filter_args import documented_filter
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import (
    PlanError, host_plan, peers_outside, plan_meshes, plan_summary, with_link_tokens,
)
from ansible_collections.smite.wgmesh.plugins.plugin_utils.publish import with_published
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import (
    build_report, collect, report_markdown, report_text,
)


def _mesh_nodes(meshes):
    """Every node name the meshes list (whatever else is wrong with them: the planner says)."""
    names = set()
    for mesh in meshes if isinstance(meshes, list) else ():
        if isinstance(mesh, Mapping) and isinstance(mesh.get('nodes'), list):
            names.update(n for n in mesh['nodes'] if isinstance(n, str))
    return names


def _inventory_facts(meshes, hostvars):
    """Only the facts the planner needs, for only the nodes the meshes name."""
    facts = {}
    for name in _mesh_nodes(meshes):
        if name not in hostvars:
            continue
        host = hostvars[name]
        facts[name] = {
            'public_address': host.get('wgmesh_public_address') or host.get('ansible_host') or name,
            'nat': host.get('wgmesh_nat', False),
        }
    return facts


def require_plan(plan, name):
    """Fail unless `plan` looks like a mesh_plan result (also used by the rotation filters)."""
    if not isinstance(plan.get('meshes'), Mapping):
        raise AnsibleFilterError('%s: the input must be a plan made by smite.wgmesh.mesh_plan' % name)


def _plain(value):
    """A registered result or fact as plain dicts/lists (None stays None)."""
    return value if value is None else json.loads(json.dumps(value, default=str))


def _per_host(name, option, values, required=()):
    """{host: plain mapping or None} from a documented {host: registered result} argument,
    where None or an empty dict (what `map(attribute=NAME, default={})` gives for a host that
    has no such variable) means no result.

    Every host of `required` must have a result: none there means the caller passed the
    wrong variable (a renamed register), which must fail loudly rather than read as a host
    that was not there."""
    result = {}
    for host, value in values.items():
        if value is not None and not isinstance(value, Mapping):
            raise AnsibleFilterError('%s: %s[%s] must be a registered result (a dict) or None, got %s'
                                     % (name, option, host, type(value).__name__))
        result[host] = _plain(value) or None
    missing = sorted(host for host in required if result.get(host) is None)
    if missing:
        raise AnsibleFilterError('%s: %s has no result for %s' % (name, option, ', '.join(missing)))
    return result


@documented_filter
def mesh_plan(_input, hostvars, secret, errors, published):
    try:
        # A sliced run (docs/awx.md): the nodes outside this inventory as they published themselves.
        facts = with_published(_inventory_facts(_input, hostvars), _mesh_nodes(_input), published)
        return plan_meshes(_input, facts, secret)
    except PlanError as exc:
        if errors == 'return':  # playbooks/plan.yml fails with them as its own message
            return {'errors': list(exc.errors)}
        # The planner's errors are the whole message: no chained cause for Ansible to print.
        raise AnsibleFilterError('invalid wgmesh_meshes:\n- ' + '\n- '.join(exc.errors)) from None


@documented_filter
def mesh_host_plan(_input, host, secret):
    require_plan(_input, 'mesh_host_plan')
    return host_plan(_input, host, secret)


@documented_filter
def mesh_link_tokens(_input, host, secret):
    return with_link_tokens(_input, host, secret)


@documented_filter
def mesh_plan_summary(_input):
    require_plan(_input, 'mesh_plan_summary')
    return plan_summary(_input)


@documented_filter
def mesh_status_report(_input, statuses, services, mesh):
    name = 'mesh_status_report'
    require_plan(_input, name)
    if mesh is not None and mesh not in _input['meshes']:
        raise AnsibleFilterError("%s: there is no mesh '%s' (meshes: %s)" % (name, mesh, ', '.join(sorted(_input['meshes']))))
    statuses = _per_host(name, 'statuses', statuses)
    if _input.get('hosts') and not any(statuses.get(host) for host in _input['hosts']):
        raise AnsibleFilterError('%s: statuses has no result for any node of the plan (%s): pass each node\'s '
                                 'registered smite.wgmesh.wg_status loop' % (name, ', '.join(sorted(_input['hosts']))))
    statuses, services, unreachable = collect(_input, statuses, _per_host(name, 'services', services or {}))
    report = build_report(_input, statuses, services, unreachable, mesh, now=time.time())
    report['text'] = report_text(report)
    report['markdown'] = '\n'.join(report_markdown(report)) + '\n'
    return report


def _peer_nodes(entries):
    return set(peer['node'] for entry in entries for peer in entry.get('peers', ()))


def _registered_results(read_results):
    """The loop items of one registered loop result, or of a list of them."""
    registered = read_results if isinstance(read_results, list) else [read_results]
    for item in registered:
        if isinstance(item, Mapping) and not item.get('skipped'):
            for result in item.get('results') or ():
                if isinstance(result, Mapping) and not result.get('skipped'):
                    yield result


def _reads(read_results):
    """(read_keys {(mesh, node): key}, known {node: {mesh: held}}, unread {node: reason}) from a
    registered loop over peers outside the play: smite.wgmesh.wg_peer_keys delegated to each
    node (item: node), or ansible.builtin.slurp of <mesh>.pub (item: [mesh, node])."""
    read, known, unread = {}, {}, {}
    for result in _registered_results(read_results):
        item = result.get('item')
        if isinstance(item, (list, tuple)) and len(item) == 2:  # slurp of <key_dir>/<mesh>.pub
            if result.get('content') and not result.get('failed'):
                read[(item[0], item[1])] = base64.b64decode(result['content']).decode('ascii').strip()
            continue
        if not isinstance(item, str):
            continue
        if result.get('unreachable'):
            unread[item] = 'unreachable'
        elif not isinstance(result.get('public_keys'), Mapping):
            unread[item] = 'failed'
        else:
            for mesh, key in result['public_keys'].items():
                read[(mesh, item)] = key
            if isinstance(result.get('peers'), Mapping):
                known[item] = _plain(result['peers'])
    return read, known, unread


def _peer_key_choice(name, entries, play_keys, read_results, known, host):
    read, held, unread = _reads(read_results)
    for voter, registered in _per_host(name, 'known', known or {}).items():
        if registered is None or registered.get('skipped'):
            continue
        if not isinstance(registered.get('peers'), Mapping):
            raise AnsibleFilterError('%s: known[%s] is not a smite.wgmesh.wg_peer_keys result (no peers)' % (name, voter))
        held[voter] = registered['peers']
    # Only outside nodes that are peers here are reported as not read.
    peers = _peer_nodes(entries)
    unread = dict((node, reason) for node, reason in unread.items() if node in peers)
    return choose_peer_keys(entries, _plain(play_keys), read, held, unread, host)


@documented_filter
def mesh_peer_key_choice(_input, play_keys, read_results, known, host):
    return _peer_key_choice('mesh_peer_key_choice', _input, play_keys, read_results, known, host)


@documented_filter
def mesh_peer_keys(_input, play_keys, read_results, known, host):
    return _peer_key_choice('mesh_peer_keys', _input, play_keys, read_results, known, host)['public_keys']


@documented_filter
def mesh_peers_outside(_input, hosts):
    return peers_outside(_input, hosts)


@documented_filter
def mesh_pending_report(_input, reached, converged, choices):
    name = 'mesh_pending_report'
    require_plan(_input, name)
    reached = _per_host(name, 'reached', reached, required=converged)
    choices = _per_host(name, 'choices', choices or {})
    states = dict((host, {'reached': result, 'converged': host in converged, 'choice': choices.get(host)})
                  for host, result in reached.items())
    return pending_report(_input, states)


class FilterModule(object):
    def filters(self):
        return {
            'mesh_plan': mesh_plan,
            'mesh_host_plan': mesh_host_plan,
            'mesh_link_tokens': mesh_link_tokens,
            'mesh_peer_keys': mesh_peer_keys,
            'mesh_peer_key_choice': mesh_peer_key_choice,
            'mesh_peers_outside': mesh_peers_outside,
            'mesh_pending_report': mesh_pending_report,
            'mesh_plan_summary': mesh_plan_summary,
            'mesh_status_report': mesh_status_report,
        }
