# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind smite.wgmesh.wg_sync: what a wg-quick config wants, what the
interface has, and what must change to get there without restarting it.

Nothing here runs commands or touches files; the module feeds in command output.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import json
import re

# `PostUp = ip route replace <net> dev %i` (what the wireguard role writes); `add` and
# an explicit -4/-6 are accepted too so hand-written configs are understood.
_ROUTE_HOOK = re.compile(r'^ip\s+(?:-[46]\s+)?route\s+(?:replace|add)\s+(\S+)\s+dev\s+%i\s*$')
_KEY_HOOK = re.compile(r'^wg\s+set\s+%i\s+private-key\s+(\S+)\s*$')


class ConfigError(ValueError):
    """The wg-quick config cannot be understood."""


def _split_list(value):
    return [item.strip() for item in value.split(',') if item.strip()]


def _network(value):
    """Canonical network string: host bits cleared, bare host address -> /32 or /128."""
    return str(ipaddress.ip_network(value.strip(), strict=False))


def _interface_address(value):
    return str(ipaddress.ip_interface(value.strip()))


def parse_config(text):
    """Parse a wg-quick config into the state it asks for.

    Keys are case-insensitive and comments start with '#', as in wg-quick.
    Returns a dict: addresses, mtu, listen_port, fwmark, routes (from PostUp route
    hooks), private_key_file (from a `wg set %i private-key FILE` PostUp),
    has_private_key, and peers (list of dicts keyed by public_key).
    """
    state = {
        'addresses': [], 'mtu': None, 'listen_port': None, 'fwmark': None,
        'routes': [], 'private_key_file': None, 'has_private_key': False, 'peers': [],
    }
    section = None
    peer = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1].strip().lower()
            if section == 'peer':
                peer = {'public_key': None, 'allowed_ips': [], 'endpoint': None,
                        'persistent_keepalive': 0}
                state['peers'].append(peer)
            elif section != 'interface':
                raise ConfigError('line %d: unknown section [%s]' % (lineno, section))
            continue
        if '=' not in line:
            raise ConfigError('line %d: expected "Key = Value"' % lineno)
        key, value = line.split('=', 1)
        key, value = key.strip().lower(), value.strip()
        try:
            if section == 'interface':
                _interface_key(state, key, value)
            elif section == 'peer':
                _peer_key(peer, key, value)
            else:
                raise ConfigError('line %d: %s outside of a section' % (lineno, key))
        except ValueError as exc:
            raise ConfigError('line %d: %s' % (lineno, exc))
    seen = set()
    for item in state['peers']:
        if not item['public_key']:
            raise ConfigError('a [Peer] has no PublicKey')
        if item['public_key'] in seen:
            raise ConfigError('peer %s appears twice' % item['public_key'])
        seen.add(item['public_key'])
    return state


def _interface_key(state, key, value):
    if key == 'address':
        state['addresses'].extend(_interface_address(v) for v in _split_list(value))
    elif key == 'mtu':
        state['mtu'] = int(value)
    elif key == 'listenport':
        state['listen_port'] = int(value)
    elif key == 'fwmark':
        state['fwmark'] = _fwmark(value)
    elif key == 'privatekey':
        state['has_private_key'] = True
    elif key == 'postup':
        route = _ROUTE_HOOK.match(value)
        if route:
            state['routes'].append(_network(route.group(1)))
        keyfile = _KEY_HOOK.match(value)
        if keyfile:
            state['private_key_file'] = keyfile.group(1)
    # DNS, Table, SaveConfig, other hooks: wg-quick's business, nothing to reconcile live.


def _peer_key(peer, key, value):
    if key == 'publickey':
        peer['public_key'] = value
    elif key == 'allowedips':
        peer['allowed_ips'].extend(_network(v) for v in _split_list(value))
    elif key == 'endpoint':
        peer['endpoint'] = value
    elif key == 'persistentkeepalive':
        peer['persistent_keepalive'] = 0 if value.lower() == 'off' else int(value)
    elif key != 'presharedkey':  # a preshared key is applied by syncconf, not compared
        raise ValueError('unknown peer key %s' % key)


def _fwmark(value):
    value = str(value).strip().lower()
    if value in ('', 'off', '0'):
        return 0
    return int(value, 0)


def live_wg_state(dump):
    """Normalize `wg_dump.parse_dump` output for comparison with a parsed config.

    Returns public_key, listen_port, fwmark (0 = off) and peers keyed by public key,
    each with canonical sorted allowed_ips and persistent_keepalive (0 = off).
    """
    peers = {}
    for peer in dump['peers']:
        peers[peer['public_key']] = {
            'public_key': peer['public_key'],
            'allowed_ips': sorted(_network(v) for v in peer['allowed_ips']),
            'endpoint': peer['endpoint'],
            'persistent_keepalive': peer['persistent_keepalive'] or 0,
        }
    return {
        'public_key': dump['interface']['public_key'],
        'listen_port': dump['interface']['listen_port'],
        'fwmark': dump['interface']['fwmark'] or 0,
        'peers': peers,
    }


def parse_ip_addr_json(text):
    """Global addresses of one interface from `ip -j addr show dev X` (link-local skipped)."""
    addresses = []
    for link in json.loads(text or '[]'):
        for info in link.get('addr_info', []):
            if info.get('family') not in ('inet', 'inet6') or info.get('scope') == 'link':
                continue
            addresses.append(_interface_address('%s/%s' % (info['local'], info['prefixlen'])))
    return addresses


def parse_ip_link_mtu(text):
    links = json.loads(text or '[]')
    return links[0]['mtu'] if links else None


def parse_ip_route_json(text, family=4):
    """Routes on one interface from `ip -j -4|-6 route show dev X`.

    Kernel routes (made by the kernel for the interface's own addresses) and IPv6
    link-local/multicast routes are not ours and are skipped.
    """
    routes = []
    for route in json.loads(text or '[]'):
        if route.get('protocol') == 'kernel':
            continue
        dst = route.get('dst')
        if dst == 'default':
            dst = '0.0.0.0/0' if family == 4 else '::/0'
        net = ipaddress.ip_network(dst, strict=False)
        if net.version == 6 and (net.is_link_local or net.is_multicast):
            continue
        routes.append(str(net))
    return routes


def split_endpoint(endpoint):
    """'1.2.3.4:51820', '[::1]:51820' or 'host.example:51820' -> (host, port)."""
    if endpoint.startswith('['):
        host, _sep, port = endpoint[1:].partition(']:')
    else:
        host, _sep, port = endpoint.rpartition(':')
    if not host or not port.isdigit():
        raise ValueError('bad endpoint %s' % endpoint)
    return host, int(port)


def endpoint_matches(wanted, live, resolve=None, loopback_only=False):
    """Whether the live endpoint is the one the config asks for.

    `wanted` None means "learn it from the peer": anything live matches, except that with
    `loopback_only` (a peer reached through a local tunnel such as Backhaul) an endpoint
    off the loopback is stale, e.g. left over from transport direct. A host name is
    compared through `resolve(host)` -> iterable of address strings.
    """
    if wanted is None:
        return not loopback_only or live is None or ipaddress.ip_address(split_endpoint(live)[0]).is_loopback
    if live is None:
        return False
    want_host, want_port = split_endpoint(wanted)
    live_host, live_port = split_endpoint(live)
    if want_port != live_port:
        return False
    live_ip = ipaddress.ip_address(live_host)
    try:
        return ipaddress.ip_address(want_host) == live_ip
    except ValueError:
        candidates = resolve(want_host) if resolve else ()
        return any(ipaddress.ip_address(c) == live_ip for c in candidates)


def peer_differences(wanted, live, resolve=None, loopback_only=False):
    """Field names in which one live peer differs from the configured one."""
    fields = []
    if set(wanted['allowed_ips']) != set(live['allowed_ips']):
        fields.append('allowed_ips')
    if not endpoint_matches(wanted['endpoint'], live['endpoint'], resolve, loopback_only):
        fields.append('endpoint')
    if wanted['persistent_keepalive'] != live['persistent_keepalive']:
        fields.append('persistent_keepalive')
    return fields


def wg_changes(desired, live, public_key, resolve=None, loopback_only=False):
    """What `wg syncconf` would change.

    `public_key` is the one derived from the key file (None: not compared). Preshared
    keys are not compared (`wg show dump` parsing drops them; the mesh uses none).
    Returns a dict: private_key (bool: the live key is not the key file's),
    listen_port ((old, new) or None), fwmark,
    peers_added / peers_removed (public keys), peers_updated ({public key: [fields]}),
    peers_reset (public keys whose stale endpoint only removing the peer can clear).
    """
    wanted_peers = dict((p['public_key'], p) for p in desired['peers'])
    changes = {
        'private_key': public_key is not None and public_key != live['public_key'],
        'listen_port': None,
        'fwmark': None,
        'peers_added': sorted(set(wanted_peers) - set(live['peers'])),
        'peers_removed': sorted(set(live['peers']) - set(wanted_peers)),
        'peers_updated': {},
        'peers_reset': [],
    }
    if desired['listen_port'] is not None and desired['listen_port'] != live['listen_port']:
        changes['listen_port'] = (live['listen_port'], desired['listen_port'])
    wanted_fwmark = desired['fwmark'] or 0
    if wanted_fwmark != live['fwmark']:
        changes['fwmark'] = (live['fwmark'], wanted_fwmark)
    for key in sorted(set(wanted_peers) & set(live['peers'])):
        fields = peer_differences(wanted_peers[key], live['peers'][key], resolve, loopback_only)
        if fields:
            changes['peers_updated'][key] = fields
            if 'endpoint' in fields and wanted_peers[key]['endpoint'] is None:
                changes['peers_reset'].append(key)
    return changes


def wg_needs_sync(changes):
    return bool(changes['private_key'] or changes['listen_port'] or changes['fwmark']
                or changes['peers_added'] or changes['peers_removed'] or changes['peers_updated'])


def list_changes(desired, live):
    """(to_add, to_remove) between two lists, order of `desired` kept."""
    live_set = set(live)
    desired_set = set(desired)
    return ([x for x in _unique(desired) if x not in live_set],
            [x for x in _unique(live) if x not in desired_set])


def _unique(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def syncconf_stream(stripped, private_key):
    """`wg-quick strip` output with the private key put back into [Interface].

    `wg syncconf` treats a missing PrivateKey as "no key" and would wipe the key a
    PostUp loaded, so the stream must carry it. A PrivateKey already present wins.
    """
    lines = stripped.splitlines()
    in_interface = False
    insert_at = None
    for index, line in enumerate(lines):
        text = line.split('#', 1)[0].strip()
        if text.startswith('['):
            in_interface = text.lower() == '[interface]'
            if in_interface:
                insert_at = index + 1
        elif in_interface and text.split('=', 1)[0].strip().lower() == 'privatekey':
            return stripped
    if insert_at is None:
        raise ConfigError('no [Interface] section in the stripped config')
    lines.insert(insert_at, 'PrivateKey = %s' % private_key)
    return '\n'.join(lines) + '\n'


def render_state(addresses, mtu, routes, listen_port, peers, key_note):
    """A readable, secret-free text form of interface state, for diff mode.

    `peers` is a list of dicts with public_key, allowed_ips, endpoint (None to leave
    out) and persistent_keepalive.
    """
    out = ['private_key: %s' % key_note]
    if listen_port is not None:
        out.append('listen_port: %s' % listen_port)
    out.append('mtu: %s' % mtu)
    out.extend('address: %s' % a for a in sorted(addresses))
    out.extend('route: %s' % r for r in sorted(routes))
    for peer in sorted(peers, key=lambda p: p['public_key']):
        out.append('peer: %s' % peer['public_key'])
        out.append('  allowed_ips: %s' % ', '.join(sorted(peer['allowed_ips'])))
        if peer.get('endpoint'):
            out.append('  endpoint: %s' % peer['endpoint'])
        out.append('  persistent_keepalive: %s' % (peer['persistent_keepalive'] or 'off'))
    return '\n'.join(out) + '\n'


def compare(desired, live_wg, live_addresses, live_mtu, live_routes, public_key, resolve=None,
            loopback_only=False):
    """Everything that differs between a parsed config and the live interface.

    `live_wg` comes from live_wg_state; `public_key` is the key file's public key.
    Returns (changes, diff): changes is a dict of wg changes plus addresses_added,
    addresses_removed, mtu ((old, new) or None), routes_added, routes_removed;
    diff is {'before': text, 'after': text} with no secrets.
    """
    changes = wg_changes(desired, live_wg, public_key, resolve, loopback_only)
    changes['addresses_added'], changes['addresses_removed'] = list_changes(
        desired['addresses'], live_addresses)
    changes['mtu'] = None
    if desired['mtu'] is not None and desired['mtu'] != live_mtu:
        changes['mtu'] = (live_mtu, desired['mtu'])
    changes['routes_added'], changes['routes_removed'] = list_changes(desired['routes'], live_routes)

    wanted_endpoints = dict((p['public_key'], p['endpoint']) for p in desired['peers'])
    live_peers = []
    for key, peer in live_wg['peers'].items():
        shown = dict(peer)
        # A learned endpoint of a peer configured without one is not a difference.
        if wanted_endpoints.get(key) is None and key not in changes['peers_reset']:
            shown['endpoint'] = None
        live_peers.append(shown)
    diff = {
        'before': render_state(
            live_addresses, live_mtu, live_routes,
            live_wg['listen_port'] if desired['listen_port'] is not None else None,
            live_peers, 'differs from key file' if changes['private_key'] else 'from key file'),
        'after': render_state(desired['addresses'], desired['mtu'] or live_mtu, desired['routes'],
                              desired['listen_port'], desired['peers'], 'from key file'),
    }
    return changes, diff


def has_changes(changes):
    return wg_needs_sync(changes) or bool(
        changes['addresses_added'] or changes['addresses_removed'] or changes['mtu']
        or changes['routes_added'] or changes['routes_removed'])


def summarize(changes):
    """Short human lines for what changes (public keys only, never secrets)."""
    lines = []
    if changes['private_key']:
        lines.append('private key replaced from key file')
    if changes['listen_port']:
        lines.append('listen port %s -> %s' % changes['listen_port'])
    if changes['fwmark']:
        lines.append('fwmark %s -> %s' % changes['fwmark'])
    lines.extend('peer added %s' % k for k in changes['peers_added'])
    lines.extend('peer removed %s' % k for k in changes['peers_removed'])
    lines.extend('peer updated %s (%s)' % (k, ', '.join(v))
                 for k, v in sorted(changes['peers_updated'].items()))
    lines.extend('address added %s' % a for a in changes['addresses_added'])
    lines.extend('address removed %s' % a for a in changes['addresses_removed'])
    if changes['mtu']:
        lines.append('mtu %s -> %s' % changes['mtu'])
    lines.extend('route added %s' % r for r in changes['routes_added'])
    lines.extend('route removed %s' % r for r in changes['routes_removed'])
    return lines
