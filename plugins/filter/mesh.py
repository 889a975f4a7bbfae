# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the planner and the status report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import time
import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import choose_peer_keys, pending_report
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import (
    PlanError, host_plan, peers_outside, plan_meshes, plan_summary,
)
from ansible_collections.smite.wgmesh.plugins.plugin_utils.publish import with_published
from ansible_collections.smite.wgmesh.plugins.plugin_utils.status import (
    build_report, collect, report_markdown, report_text,
)


def _mesh_nodes(meshes):
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


def _secret_text(secret):
    """An inline-vaulted wgmesh_secret as text: ansible-core < 2.19 passes it to filters as an
    AnsibleVaultEncryptedUnicode (not a str; str() decrypts it)."""
    if secret is not None and not isinstance(secret, str) and hasattr(secret, 'vault'):
        return str(secret)
    return secret


def mesh_plan(meshes, hostvars, secret=None, errors='raise', published=None):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_plan: the first argument must be hostvars (a mapping of hosts)')
    if errors not in ('raise', 'return'):
        raise AnsibleFilterError("mesh_plan: errors must be 'raise' or 'return'")
    if published is not None and not isinstance(published, Mapping):
        raise AnsibleFilterError('mesh_plan: published must be the result of smite.wgmesh.mesh_published')
    try:
        # A sliced run (docs/awx.md): the nodes outside this inventory as they published themselves.
        facts = with_published(_inventory_facts(meshes, hostvars), _mesh_nodes(meshes), published)
        return plan_meshes(meshes, facts, _secret_text(secret))
    except PlanError as exc:
        if errors == 'return':  # playbooks/plan.yml fails with them as its own message
            return {'errors': list(exc.errors)}
        # The planner's errors are the whole message: no chained cause for Ansible to print.
        raise AnsibleFilterError('invalid wgmesh_meshes:\n- ' + '\n- '.join(exc.errors)) from None


def require_plan(plan, name):
    """Fail unless `plan` looks like a mesh_plan result (also used by the rotation filters)."""
    if not isinstance(plan, Mapping) or not isinstance(plan.get('meshes'), Mapping):
        raise AnsibleFilterError('%s: the input must be a plan made by smite.wgmesh.mesh_plan' % name)


def mesh_host_plan(plan, host, secret=None):
    require_plan(plan, 'mesh_host_plan')
    secret = _secret_text(secret)
    if secret is not None and not isinstance(secret, str):
        raise AnsibleFilterError('mesh_host_plan: the secret must be a string (wgmesh_secret)')
    return host_plan(plan, host, secret)


def mesh_plan_summary(plan):
    require_plan(plan, 'mesh_plan_summary')
    return plan_summary(plan)


def mesh_status_report(plan, hostvars, mesh=None):
    require_plan(plan, 'mesh_status_report')
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_status_report: the second argument must be hostvars')
    if mesh is not None and mesh not in plan['meshes']:
        raise AnsibleFilterError("mesh_status_report: there is no mesh '%s' (meshes: %s)"
                                 % (mesh, ', '.join(sorted(plan['meshes']))))
    statuses, services, unreachable = collect(plan, hostvars)
    report = build_report(plan, statuses, services, unreachable, mesh, now=time.time())
    report['text'] = report_text(report)
    report['markdown'] = '\n'.join(report_markdown(report)) + '\n'
    return report


def _plain(value):
    """A registered result or hostvars entry as plain dicts/lists (None stays None)."""
    return value if value is None else json.loads(json.dumps(value, default=str))


def _peer_nodes(entries):
    return set(peer['node'] for entry in entries for peer in entry.get('peers', ()))


def _play_keys(entries, hostvars):
    keys = {}
    for node in _peer_nodes(entries):
        if node in hostvars:
            keys[node] = hostvars[node].get('wireguard_public_keys') or {}
    return keys


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


def mesh_peer_key_choice(entries, hostvars, read_results=None, hosts=None, host=None,
                         known_var='_wireguard_known_peers'):
    if not isinstance(entries, list) or not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_peer_key_choice: expects a host plan (mesh_host_plan) and hostvars')
    if hosts is not None and not isinstance(hosts, list):
        raise AnsibleFilterError('mesh_peer_key_choice: hosts must be a list of hosts (ansible_play_hosts)')
    read, known, unread = _reads(read_results)
    for voter in hosts or ():
        registered = hostvars[voter].get(known_var) if voter in hostvars else None
        if isinstance(registered, Mapping) and not registered.get('skipped') \
                and isinstance(registered.get('peers'), Mapping):
            known[voter] = _plain(registered['peers'])
    # Only outside nodes that are peers here are reported as not read.
    peers = _peer_nodes(entries)
    unread = dict((node, reason) for node, reason in unread.items() if node in peers)
    return choose_peer_keys(entries, _play_keys(entries, hostvars), read, known, unread, host)


def mesh_peer_keys(entries, hostvars, read_results=None, hosts=None, host=None):
    if not isinstance(entries, list) or not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_peer_keys: expects a host plan (mesh_host_plan) and hostvars')
    return mesh_peer_key_choice(entries, hostvars, read_results, hosts, host)['public_keys']


def mesh_peers_outside(entries, hosts, hostvars=None):
    if not isinstance(entries, list) or not isinstance(hosts, list):
        raise AnsibleFilterError('mesh_peers_outside: expects a host plan (mesh_host_plan) and a list of hosts')
    if hostvars is not None and not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_peers_outside: the third argument must be hostvars')
    return peers_outside(entries, hosts, _play_keys(entries, hostvars) if hostvars is not None else None)


def mesh_pending_report(plan, hostvars, hosts=None, reached_var='wgmesh_site_reached',
                        converged_var='wgmesh_site_converged', choice_var='wireguard_peer_key_choice'):
    require_plan(plan, 'mesh_pending_report')
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mesh_pending_report: the second argument must be hostvars')
    if hosts is not None and not isinstance(hosts, list):
        raise AnsibleFilterError('mesh_pending_report: hosts must be a list of hosts')
    states = {}
    for host in sorted(set(list(plan.get('hosts', {})) + list(hosts or ()))):
        if host not in hostvars:
            continue
        facts = hostvars[host]
        reached = facts.get(reached_var)
        choice = facts.get(choice_var)
        states[host] = {
            'reached': _plain(reached) if isinstance(reached, Mapping) else None,
            'converged': bool(facts.get(converged_var)),
            'choice': _plain(choice) if isinstance(choice, Mapping) else None,
        }
    return pending_report(plan, states)


class FilterModule(object):
    def filters(self):
        return {
            'mesh_plan': mesh_plan,
            'mesh_host_plan': mesh_host_plan,
            'mesh_peer_keys': mesh_peer_keys,
            'mesh_peer_key_choice': mesh_peer_key_choice,
            'mesh_peers_outside': mesh_peers_outside,
            'mesh_pending_report': mesh_pending_report,
            'mesh_plan_summary': mesh_plan_summary,
            'mesh_status_report': mesh_status_report,
        }
