# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh planner: mesh definitions + inventory facts -> one validated plan.

Pure Python (netaddr only), no Ansible runtime: the filter plugin and the tests call
plan_meshes() directly. The plan's shape is described in docs/plan-format.md.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import bisect
import collections
import gc
import hashlib
import hmac
import itertools
import math
import re
import zlib

from ansible_collections.smite.wgmesh.plugins.module_utils import names
from ansible_collections.smite.wgmesh.plugins.plugin_utils.tables import text_table

try:
    import netaddr
    HAS_NETADDR = True
except ImportError:  # reported by the filter, which is where users meet it
    HAS_NETADDR = False

TOPOLOGIES = ('full-mesh', 'hub-spoke')
TRANSPORTS = ('backhaul', 'direct')
MESH_KEYS = frozenset((
    'name', 'nodes', 'lan_subnets', 'overlay_subnet', 'topology', 'hub', 'mtu',
    'transport', 'listen_port', 'overlay_ips',
))
MTU_MIN, MTU_MAX = 1280, 1420  # 1280: IPv6 minimum; 1420: 1500 - 80 (WireGuard over IPv6)
DEFAULT_MTU = 1280
MTU_AUTO = 'auto'  # measured on the nodes at converge (plugin_utils/path_mtu.py)
KEEPALIVE = 25  # Backhaul drops UDP flows idle for 60 s; keep both ends talking
LISTEN_PORT_BASE, LISTEN_PORT_SPAN = 51820, 100
# Backhaul bind (P) and loopback (L) ports: outside Linux's ephemeral range 32768-60999.
# A hub of 10,000 spokes needs 20,000 of them, hence two ranges.
TUNNEL_PORT_RANGES = ((10000, 32767), (61000, 65535))
# wgmesh_secret must carry at least SECRET_MIN_BITS of entropy by this rule: length x log2 of
# the alphabet its characters are drawn from - 16 when every character is a hex digit of one
# case, otherwise the sum of the classes used (26 lowercase, 26 uppercase, 10 digits, 33 other
# printable ASCII). So 32+ hex characters (`openssl rand -hex 24` gives 48), or 22+ characters
# mixing letters and digits (base64). The published example placeholders are refused.
SECRET_MIN_BITS = 128
SECRET_MIN_LENGTH = 16
SECRET_PLACEHOLDERS = frozenset((
    'example-only-replace-me-0123456789',
))
SECRET_HOWTO = ('make one with: ansible-vault encrypt_string --name wgmesh_secret "$(openssl rand -hex 24)" '
                '(paste the output into the inventory\'s group_vars)')
_HEX_RE = re.compile(r'^(?:[0-9a-f]+|[0-9A-F]+)$')
_SECRET_CLASSES = ((re.compile(r'[a-z]'), 26), (re.compile(r'[A-Z]'), 26), (re.compile(r'[0-9]'), 10),
                   (re.compile(r'[^a-zA-Z0-9]'), 33))


class PlanError(ValueError):
    """Invalid mesh definitions. `errors` holds one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(PlanError, self).__init__('\n'.join(self.errors))


def _where(mesh, node=None, field=None):
    parts = ["mesh '%s'" % mesh]
    if node is not None:
        parts.append("node '%s'" % node)
    if field is not None:
        parts.append("field '%s'" % field)
    return ', '.join(parts)


def secret_bits(secret):
    """Entropy credited to `secret` (str) by the rule above SECRET_MIN_BITS."""
    if not secret:
        return 0.0
    if _HEX_RE.match(secret):
        alphabet = 16
    else:
        alphabet = sum(size for pattern, size in _SECRET_CLASSES if pattern.search(secret))
    return len(secret) * math.log(alphabet, 2)


def secret_problem(secret):
    """Why `secret` cannot be wgmesh_secret, or None when it can."""
    if secret is None or secret == '':
        return 'wgmesh_secret is not set; it is required for transport backhaul; ' + SECRET_HOWTO
    if not isinstance(secret, str):
        return 'wgmesh_secret must be a string; ' + SECRET_HOWTO
    if secret in SECRET_PLACEHOLDERS or 'replace-me' in secret.lower():
        return ('wgmesh_secret is the published example placeholder; never use it on real nodes; '
                + SECRET_HOWTO)
    if len(secret) < SECRET_MIN_LENGTH or secret_bits(secret) < SECRET_MIN_BITS:
        return ('wgmesh_secret is too weak: %d characters give about %d bits, at least %d are required '
                '(32+ hex characters, or 22+ characters mixing letters and digits); %s'
                % (len(secret), secret_bits(secret), SECRET_MIN_BITS, SECRET_HOWTO))
    return None


def _stable_hash(*parts):
    return zlib.crc32('|'.join(parts).encode('utf-8'))


def default_listen_port(mesh_name):
    """Deterministic WireGuard ListenPort of a mesh that sets none."""
    return LISTEN_PORT_BASE + _stable_hash('listen', mesh_name) % LISTEN_PORT_SPAN


def _hostport(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


class _MeshChecker:
    """Validates and normalises one mesh definition, collecting every error."""

    def __init__(self, index, raw, inventory, errors):
        self.errors = errors
        self.inventory = inventory
        self.name = raw.get('name') if isinstance(raw, dict) else None
        self.label = self.name if isinstance(self.name, str) and self.name else '#%d' % index
        self.ok = True
        self.raw = raw

    def error(self, message, node=None, field=None):
        self.errors.append('%s: %s' % (_where(self.label, node, field), message))
        self.ok = False

    def _network(self, value, node, field):
        try:
            net = netaddr.IPNetwork(str(value))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            self.error("'%s' is not a valid CIDR" % (value,), node, field)
            return None
        if '/' not in str(value):
            self.error("'%s' needs a prefix length (e.g. /24)" % (value,), node, field)
            return None
        if net.ip != net.network:
            self.error("'%s' has host bits set (did you mean %s?)" % (value, net.cidr), node, field)
            return None
        return net

    def check(self):
        raw = self.raw
        if not isinstance(raw, dict):
            self.error('a mesh must be a dictionary')
            return None
        unknown = sorted(set(raw) - MESH_KEYS)
        if unknown:
            self.error('unknown field(s) %s; known: %s' % (', '.join(unknown), ', '.join(sorted(MESH_KEYS))))
        if not names.is_mesh_name(self.name):
            self.error("'%s' must be %s" % (self.name, names.MESH_NAME_HELP), field='name')

        nodes = self._nodes(raw.get('nodes'))
        topology = raw.get('topology', 'full-mesh')
        if topology not in TOPOLOGIES:
            self.error("'%s' is not one of %s" % (topology, ', '.join(TOPOLOGIES)), field='topology')
        transport = raw.get('transport', 'backhaul')
        if transport not in TRANSPORTS:
            self.error("'%s' is not one of %s" % (transport, ', '.join(TRANSPORTS)), field='transport')
        hub = raw.get('hub')
        if topology == 'hub-spoke':
            if hub is None:
                self.error('hub-spoke needs a hub', field='hub')
            elif hub not in nodes:
                self.error("'%s' is not a member of this mesh" % (hub,), field='hub')
        elif hub is not None:
            self.error('only used with topology hub-spoke', field='hub')
        mtu = raw.get('mtu', DEFAULT_MTU)
        if mtu != MTU_AUTO:
            mtu = self._int(mtu, 'mtu', MTU_MIN, MTU_MAX, "or '%s'" % MTU_AUTO)
        listen_port = raw.get('listen_port')
        if listen_port is None and isinstance(self.name, str):
            listen_port = default_listen_port(self.name)
        else:
            listen_port = self._int(listen_port, 'listen_port', 1, 65535)

        overlay = self._network(raw.get('overlay_subnet'), None, 'overlay_subnet')
        if overlay is not None and overlay.version != 4:
            self.error("'%s': the overlay must be IPv4" % (overlay,), field='overlay_subnet')
            overlay = None
        lans = self._lans(raw.get('lan_subnets', {}), nodes)
        addresses = self._addresses(raw.get('overlay_ips', {}), nodes, overlay)
        if overlay is not None:
            self._no_overlaps([(overlay, None)] + [(net, node) for node in nodes for net in lans.get(node, ())])
        if not self.ok:
            return None
        return {
            'name': self.name, 'interface': names.interface(self.name), 'topology': topology,
            'hub': hub, 'transport': transport, 'overlay': overlay, 'mtu': mtu,
            'listen_port': listen_port, 'nodes': nodes, 'lans': lans, 'addresses': addresses,
        }

    def _int(self, value, field, low, high, other=None):
        also = ' ' + other if other else ''
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(str(value), 10)
            except ValueError:
                self.error("'%s' is not a whole number%s" % (value, also), field=field)
                return None
        if not low <= value <= high:
            self.error('%d is outside %d-%d%s' % (value, low, high, also), field=field)
            return None
        return value

    def _nodes(self, nodes):
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            self.error('must be a list of inventory hostnames', field='nodes')
            return []
        if len(nodes) < 2:
            self.error('a mesh needs at least 2 nodes, got %d' % len(nodes), field='nodes')
        seen = set()
        for node in nodes:
            if node in seen:
                self.error('listed twice', node=node, field='nodes')
            seen.add(node)
            if not names.is_node_name(node):
                self.error('hostnames may use %s' % names.NODE_NAME_HELP, node=node, field='nodes')
            elif node not in self.inventory:
                self.error('not in the inventory', node=node, field='nodes')
        return list(dict.fromkeys(nodes))

    def _lans(self, raw, nodes):
        if not isinstance(raw, dict):
            self.error('must map node names to a CIDR or a list of CIDRs', field='lan_subnets')
            return {}
        members = set(nodes)
        lans = {}
        for node, value in raw.items():
            if node not in members:
                self.error('not a member of this mesh (nodes)', node=node, field='lan_subnets')
                continue
            values = value if isinstance(value, list) else [value]
            nets = [self._network(v, node, 'lan_subnets') for v in values]
            lans[node] = [n for n in nets if n is not None]
        return lans

    def _addresses(self, explicit, nodes, overlay):
        if not isinstance(explicit, dict):
            self.error('must map node names to addresses', field='overlay_ips')
            return {}
        if overlay is None:
            return {}
        members = set(nodes)
        first, last = overlay.first + 1, overlay.last - 1
        if overlay.prefixlen >= 31:  # no network/broadcast address to skip
            first, last = overlay.first, overlay.last
        pinned = {}
        for node, value in explicit.items():
            if node not in members:
                self.error('not a member of this mesh (nodes)', node=node, field='overlay_ips')
                continue
            try:
                ip = netaddr.IPAddress(str(value))
            except (netaddr.AddrFormatError, ValueError, TypeError):
                self.error("'%s' is not a valid IP address" % (value,), node=node, field='overlay_ips')
                continue
            if not first <= int(ip) <= last or ip.version != overlay.version:
                self.error('%s is not a usable address of overlay_subnet %s' % (ip, overlay), node=node,
                           field='overlay_ips')
                continue
            pinned[node] = int(ip)
        # Unpinned nodes take the address at their position in `nodes`, so appending a
        # node never renumbers the others.
        addresses = {}
        owner = {}
        for position, node in enumerate(nodes):
            value = pinned.get(node, first + position)
            if value > last:
                self.error('overlay_subnet %s has %d usable addresses, too few for %d nodes'
                           % (overlay, last - first + 1, len(nodes)), node=node, field='overlay_subnet')
                return {}
            if value in owner:
                self.error('address %s is also taken by %s' % (netaddr.IPAddress(value), owner[value]),
                           node=node, field='overlay_ips')
                continue
            owner[value] = node
            addresses[node] = str(netaddr.IPAddress(value))
        return addresses

    def _no_overlaps(self, owned):
        for (net_a, owner_a), (net_b, owner_b) in find_overlaps(owned):
            self.error('%s overlaps %s' % (_describe(net_b, owner_b), _describe(net_a, owner_a)),
                       node=owner_b, field='lan_subnets')


def find_overlaps(owned):
    """Pairs of overlapping networks among [(IPNetwork, owner)], by a sort-and-sweep."""
    items = sorted(owned, key=lambda item: (item[0].version, item[0].first, -item[0].last))
    pairs = []
    widest = None  # the earlier network reaching furthest
    for item in items:
        if widest is not None and widest[0].version == item[0].version and item[0].first <= widest[0].last:
            pairs.append((widest, item))
        if widest is None or widest[0].version != item[0].version or item[0].last > widest[0].last:
            widest = item
    return pairs


def _routes_except(merged, own):
    """The merged networks `merged` minus the networks in `own`, as CIDR strings."""
    if not own:
        return [str(n) for n in merged]
    result = []
    for block in merged:
        holes = [n for n in own if n in block]
        if not holes:
            result.append(str(block))
            continue
        pieces = [block]
        for hole in holes:
            pieces = [p for piece in pieces for p in
                      (netaddr.cidr_exclude(piece, hole) if hole in piece else [piece])]
        result.extend(str(p) for p in pieces)
    return result


class _RouteIndex:
    """All LANs of a mesh merged once; per node, the merge minus its own LANs."""

    def __init__(self, lans):
        self.merged = netaddr.cidr_merge([net for nets in lans.values() for net in nets])
        self.strings = [str(n) for n in self.merged]
        self.keys = [(n.version, n.first) for n in self.merged]

    def without(self, own):
        if not own:
            return list(self.strings)
        # The merged blocks are disjoint and sorted: only those holding an own LAN change.
        hit = sorted({bisect.bisect_right(self.keys, (n.version, n.first)) - 1 for n in own})
        result, start = [], 0
        for i in hit:
            result.extend(self.strings[start:i])
            result.extend(_routes_except([self.merged[i]], own))
            start = i + 1
        result.extend(self.strings[start:])
        return result


class _PortAllocator:
    """Backhaul port pairs per link: hashed into the pool, then probed to the next free pair.

    A link takes two neighbouring pool ports: P, free on both ends (the server binds it,
    the client dials it), and L, free on the server (its loopback `ports` listener).
    Ports are kept by their position in the pool: L's is the one after P's.
    """

    # Linked to more nodes than this in one mesh (a full mesh, or a hub), a node is `busy`.
    MANY_LINKS = 64

    def __init__(self, listen_ports, busy=()):
        """`listen_ports`: {node: ports it uses already}; `busy`: the nodes with many links."""
        self.pool = [port for low, high in TUNNEL_PORT_RANGES for port in range(low, high + 1)]
        self.size = len(self.pool) - 1  # the positions P can take
        self._strings = None
        # used[node][position] is true once the node uses that pool port. A bytearray over the
        # pool is the fastest to test and mark (a 1000-node full mesh does it 3 million times)
        # but takes 28 KB: other nodes (each spoke of a 10,000-node hub-spoke) get a
        # defaultdict(int), which reads and writes the same way.
        self.used = {}
        for node, ports in listen_ports.items():
            used = bytearray(len(self.pool)) if node in busy else collections.defaultdict(int)
            start = 0
            for low, high in TUNNEL_PORT_RANGES:
                for port in ports:
                    if low <= port <= high:
                        used[start + port - low] = 1
                start += high - low + 1
            self.used[node] = used

    def take(self, seed, server, client):
        """The link's (P, L)."""
        index = self.take_index(seed, server, client)
        return self.pool[index], self.pool[index + 1]

    def take_index(self, seed, server, client):
        """The position of the link's P (L is at the next one), marked used on both ends."""
        size = self.size
        on_server, on_client = self.used[server], self.used[client]
        for step in range(size):
            index = (seed + step) % size
            if not (on_server[index] or on_client[index] or on_server[index + 1]):
                on_server[index] = on_server[index + 1] = on_client[index] = 1
                return index
        raise PlanError(['nodes %s and %s: no free Backhaul ports left in %s' % (
            server, client, ', '.join('%d-%d' % r for r in TUNNEL_PORT_RANGES))])

    def strings(self):
        """Per position, str() of the pool port and the loopback endpoint '127.0.0.1:<port>'.

        Made once rather than once per link (a 1000-node full mesh has 499,500 links).
        """
        if self._strings is None:
            text = [str(port) for port in self.pool]
            self._strings = text, ['127.0.0.1:' + port for port in text]
        return self._strings


def _node_facts(inventory, node):
    facts = inventory.get(node) or {}
    return facts.get('public_address') or node, bool(facts.get('nat', False))


def _check_across_meshes(meshes, errors):
    """Rules between meshes: names, ListenPorts and routed networks on shared nodes."""
    by_name = {}
    for mesh in meshes:
        if mesh['name'] in by_name:
            errors.append("%s: the name is used by two meshes" % _where(mesh['name'], field='name'))
        by_name[mesh['name']] = mesh
    port_owner = {}
    for mesh in meshes:
        for node in mesh['nodes']:
            other = port_owner.setdefault((node, mesh['listen_port']), mesh['name'])
            if other != mesh['name']:
                errors.append("%s: ListenPort %d is also used by mesh '%s' on this node; set listen_port"
                              % (_where(mesh['name'], node, 'listen_port'), mesh['listen_port'], other))
    for i, mesh_a in enumerate(meshes):
        for mesh_b in meshes[i + 1:]:
            shared = set(mesh_a['nodes']) & set(mesh_b['nodes'])
            if not shared:
                continue
            owned = []
            for mesh in (mesh_a, mesh_b):
                owned.append((mesh['overlay'], (mesh['name'], None)))
                owned.extend((net, (mesh['name'], node)) for node, nets in mesh['lans'].items() for net in nets)
            for (net_a, (mesh_x, node_x)), (net_b, (mesh_y, node_y)) in find_overlaps(owned):
                if node_x is not None and node_x == node_y and net_a == net_b:
                    others = sorted(shared - {node_x})
                    if others:  # a node cannot route one LAN through two interfaces
                        errors.append("%s: LAN %s of '%s' is also in mesh '%s'; node(s) %s would route "
                                      "it through both meshes" % (_where(mesh_y, node_y, 'lan_subnets'),
                                                                  net_b, node_y, mesh_x, ', '.join(others)))
                    continue  # else: one node's LAN in two meshes that meet only at that node
                errors.append("%s: %s overlaps %s of mesh '%s' (the meshes share node(s) %s)" % (
                    _where(mesh_y, node_y, 'overlay_subnet' if node_y is None else 'lan_subnets'),
                    _describe(net_b, node_y), _describe(net_a, node_x), mesh_x, ', '.join(sorted(shared))))


def _describe(net, owner):
    return 'overlay_subnet %s' % net if owner is None else "LAN %s of '%s'" % (net, owner)


def _links(mesh):
    """(server, client) pairs: the server is the side that can accept connections."""
    nodes = mesh['nodes']
    if mesh['topology'] == 'hub-spoke':
        return [(mesh['hub'], node) for node in nodes if node != mesh['hub']]
    return [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]


def plan_meshes(meshes, inventory, secret=None):
    """Validate `meshes` and return the plan (docs/plan-format.md).

    `inventory` maps every inventory hostname to {'public_address': str, 'nat': bool}.
    Raises PlanError listing every problem found.
    """
    if not HAS_NETADDR:
        raise PlanError(['the Python library netaddr is required on the controller'])
    errors = []
    if meshes is None:
        raise PlanError(['wgmesh_meshes is not set: define the list of meshes in the inventory '
                         '(e.g. group_vars/all/meshes.yml; README.md, "Inventory")'])
    if not isinstance(meshes, list):
        raise PlanError(['wgmesh_meshes must be a list of meshes, got %s' % type(meshes).__name__])
    # A big mesh makes millions of small containers, none cyclic: the cyclic collector
    # would only rescan them again and again (and any earlier plan still alive). Off from
    # the start, as a full mesh's links alone are n(n-1)/2 tuples.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        checked = [_MeshChecker(i, raw, inventory, errors).check() for i, raw in enumerate(meshes)]
        valid = [m for m in checked if m is not None]
        if not errors:
            _check_across_meshes(valid, errors)
        if any(m['transport'] == 'backhaul' for m in valid):
            problem = secret_problem(secret)
            if problem:
                errors.append(problem)
        for mesh in valid:
            facts = {node: _node_facts(inventory, node) for node in mesh['nodes']}
            mesh['facts'] = facts
            if not any(nat for _address, nat in facts.values()):
                # No link to check or turn round. A full mesh's links, in _links() order, are
                # then made one at a time as _plan_mesh() takes them rather than all kept.
                full = mesh['topology'] == 'full-mesh'
                mesh['links'] = itertools.combinations(mesh['nodes'], 2) if full else _links(mesh)
                continue
            mesh['links'] = []
            for server, client in _links(mesh):
                if facts[server][1] and facts[client][1]:
                    errors.append("%s: the link %s <-> %s cannot work: both nodes are NATed (wgmesh_nat), "
                                  "one side must accept inbound connections"
                                  % (_where(mesh['name'], client, 'wgmesh_nat'), server, client))
                elif facts[server][1]:
                    server, client = client, server
                mesh['links'].append((server, client))
        if errors:
            raise PlanError(errors)

        listen_ports, busy = {}, set()
        for mesh in valid:
            for node in mesh['nodes']:
                listen_ports.setdefault(node, set()).add(mesh['listen_port'])
            if mesh['transport'] == 'backhaul' and len(mesh['nodes']) - 1 > _PortAllocator.MANY_LINKS:
                busy.update(mesh['nodes'] if mesh['topology'] == 'full-mesh' else [mesh['hub']])
        ports = _PortAllocator(listen_ports, busy)
        plan = {'meshes': {}, 'hosts': {}}
        for mesh in sorted(valid, key=lambda m: m['name']):
            plan['meshes'][mesh['name']] = _plan_mesh(mesh, ports)
            for node in mesh['nodes']:
                plan['hosts'].setdefault(node, []).append(mesh['name'])
    finally:
        if gc_was_enabled:
            gc.enable()
    return plan


def _plan_mesh(mesh, ports):
    name, nodes, facts, lans = mesh['name'], mesh['nodes'], mesh['facts'], mesh['lans']
    listen_port = mesh['listen_port']
    backhaul = mesh['transport'] == 'backhaul'
    prefix = '/%d' % mesh['overlay'].prefixlen
    lan_strings = {node: [str(n) for n in lans.get(node, ())] for node in nodes}
    routes = _RouteIndex(lans)
    out = {}
    for node in nodes:
        address = mesh['addresses'][node]
        out[node] = {
            'address': address, 'address_cidr': address + prefix, 'listen_port': listen_port,
            'public_address': facts[node][0], 'nat': facts[node][1],
            'lan_subnets': lan_strings[node], 'is_hub': node == mesh['hub'],
            'peers': [], 'backhaul': [], 'routes': routes.without(lans.get(node, ())),
        }
    # What a node's peer entry for `other` allows: its overlay address and LANs, except
    # that a spoke's only peer, the hub, carries the whole overlay and every other LAN.
    allowed_from = {node: [out[node]['address'] + '/32'] + lan_strings[node] for node in nodes}
    allowed_to = dict.fromkeys(nodes)
    if mesh['topology'] == 'hub-spoke':
        for node in nodes:
            if node != mesh['hub']:
                allowed_to[node] = [str(mesh['overlay'])] + out[node]['routes']
    keepalive = KEEPALIVE
    # The loops below run once per link, n(n-1)/2 times in a full mesh: all they need of
    # one end is in one tuple per node, so that each end costs a single lookup.
    if not backhaul:
        ends = {node: (out[node]['peers'].append, allowed_to[node], allowed_from[node],
                       None if facts[node][1] else _hostport(facts[node][0], listen_port))
                for node in nodes}
        for server, client in mesh['links']:
            s_peers, s_to, s_from, s_endpoint = ends[server]
            c_peers, c_to, c_from, c_endpoint = ends[client]
            s_peers({'node': client, 'allowed_ips': s_to or c_from, 'endpoint': c_endpoint,
                     'persistent_keepalive': keepalive})
            c_peers({'node': server, 'allowed_ips': c_to or s_from, 'endpoint': s_endpoint,
                     'persistent_keepalive': keepalive})
    else:
        # A link's seed is the CRC-32 of 'mesh|lower|higher' (the unordered pair: a link keeps
        # its ports if its server side flips). As crc32(b, crc32(a)) == crc32(a + b), each
        # node's 'mesh|node|' is hashed once here, and a link only hashes the higher name.
        ends = {node: (out[node]['peers'].append, out[node]['backhaul'].append, allowed_to[node],
                       allowed_from[node], ports.used[node], _hostport(facts[node][0], 0)[:-1],
                       zlib.crc32(('%s|%s|' % (name, node)).encode('utf-8')), node.encode('utf-8'))
                for node in nodes}
        pool, size, take_index = ports.pool, ports.size, ports.take_index
        port_text, loopback_endpoint = ports.strings()
        crc32 = zlib.crc32
        last = None
        for server, client in mesh['links']:
            if server is not last:  # links come in runs of one server (a full mesh: i < j)
                s_peers, s_backhaul, s_to, s_from, s_used, s_remote, s_head, s_name = ends[server]
                last = server
            c_peers, c_backhaul, c_to, c_from, c_used, _c_remote, c_head, c_name = ends[client]
            seed = crc32(c_name, s_head) if server < client else crc32(s_name, c_head)
            # ports.take_index(), inlined for the usual case: the hashed pair is free.
            index = seed % size
            loop_index = index + 1
            if s_used[index] or c_used[index] or s_used[loop_index]:
                index = take_index(seed, server, client)
                loop_index = index + 1
            else:
                s_used[index] = s_used[loop_index] = c_used[index] = 1
            bind_port, loop_port = pool[index], pool[loop_index]
            s_backhaul({'peer': client, 'mode': 'server', 'bind_port': bind_port, 'loopback_port': loop_port,
                        'target_port': listen_port})
            c_backhaul({'peer': server, 'mode': 'client', 'bind_port': bind_port,
                        'remote': s_remote + port_text[index]})
            s_peers({'node': client, 'allowed_ips': s_to or c_from, 'endpoint': loopback_endpoint[loop_index],
                     'persistent_keepalive': keepalive})
            c_peers({'node': server, 'allowed_ips': c_to or s_from, 'endpoint': None,
                     'persistent_keepalive': keepalive})
    return {
        'name': name, 'interface': mesh['interface'], 'topology': mesh['topology'], 'hub': mesh['hub'],
        'transport': mesh['transport'], 'overlay_subnet': str(mesh['overlay']), 'mtu': mesh['mtu'],
        'nodes': out,
    }


def link_token(secret, mesh, node_a, node_b):
    """The Backhaul token of one link: HMAC-SHA256 of the link under wgmesh_secret.

    Recomputed on every run, so nothing needs storing; per link, so one leaked token
    (they travel in clear) opens no other link.
    """
    link = '%s|%s|%s' % (mesh, min(node_a, node_b), max(node_a, node_b))
    return hmac.new(secret.encode('utf-8'), b'wgmesh-backhaul|' + link.encode('utf-8'), hashlib.sha256).hexdigest()[:40]


def host_plan(plan, host, secret=None):
    """The host's entries, one per mesh, with the mesh-wide fields merged in and the
    peers' overlay addresses as `peer_addresses`: [{node, address}].

    With `secret`, every Backhaul link also gets its `token` (the plan itself holds none).
    """
    entries = []
    for name in plan.get('hosts', {}).get(host, ()):
        mesh = plan['meshes'][name]
        entry = dict(mesh['nodes'][host])
        entry.update(mesh=name, interface=mesh['interface'], topology=mesh['topology'],
                     transport=mesh['transport'], overlay_subnet=mesh['overlay_subnet'], mtu=mesh['mtu'])
        entry['peer_addresses'] = [{'node': peer['node'], 'address': mesh['nodes'][peer['node']]['address']}
                                   for peer in entry['peers']]
        # Per-link names (backhaul@<mesh>.<peer>) are added here, for one host, rather than
        # for every link of a possibly huge mesh.
        entry['backhaul'] = [dict(link, mesh=name, instance=names.link_instance(name, link['peer']))
                             for link in entry['backhaul']]
        entries.append(entry)
    return entries if secret is None else with_link_tokens(entries, host, secret)


def with_link_tokens(entries, host, secret):
    """A copy of a host's entries in which every Backhaul link carries its `token`."""
    return [dict(entry, backhaul=[dict(link, token=link_token(secret, entry['mesh'], host, link['peer']))
                                  for link in entry['backhaul']]) for entry in entries]


def plan_summary(plan):
    """Readable lines per mesh: its settings, nodes and links (the seed's "list meshes")."""
    lines = []
    for name in sorted(plan['meshes']):
        mesh = plan['meshes'][name]
        nodes = mesh['nodes']
        hub = ' (hub %s)' % mesh['hub'] if mesh['hub'] else ''
        lines.append('mesh %s: %s%s, transport %s, overlay %s, MTU %s, interface %s' % (
            name, mesh['topology'], hub, mesh['transport'], mesh['overlay_subnet'], mesh['mtu'], mesh['interface']))
        lines.extend('  ' + line for line in text_table(
            ('node', 'overlay', 'listen', 'public', 'nat', 'LANs'),
            [(host, n['address'], n['listen_port'], n['public_address'], 'yes' if n['nat'] else 'no',
              ', '.join(n['lan_subnets'])) for host, n in nodes.items()]))
        if mesh['transport'] == 'backhaul':
            headers = ('server', 'client', 'bind P', 'loopback L')
            rows = [(host, link['peer'], link['bind_port'], link['loopback_port'])
                    for host, node in nodes.items() for link in node['backhaul'] if link['mode'] == 'server']
        else:
            headers = ('node', 'peer', 'endpoint')
            rows = [(host, peer['node'], peer['endpoint'])
                    for host, node in nodes.items() for peer in node['peers'] if peer['endpoint']]
        lines.append('  links:')
        lines.extend('  ' + line for line in text_table(headers, rows))
    return lines


def peer_public_keys(entries, keys_by_node, read_keys=None, known=None, host=None):
    """{mesh: {peer: public key}} for a host's plan entries.

    `keys_by_node`: {node: {mesh: key}} from the nodes in the play (their wg_keypair
    results); `read_keys`: {(mesh, node): key} read from nodes outside it; `known`: {node:
    {mesh: held peers}} what reachable nodes hold (module_utils/peer_keys.py, which also
    documents the order and the rule for disagreeing nodes). A key found nowhere is left
    out, for the caller to report.
    """
    # The rule lives in peer_keys (standard library only, shared with the wg_peer_keys module).
    from ansible_collections.smite.wgmesh.plugins.module_utils.peer_keys import choose_peer_keys
    return choose_peer_keys(entries, keys_by_node, read_keys, known, host=host)['public_keys']


def peers_outside(entries, hosts):
    """[mesh, node] of the peers in a host's plan entries that are not among `hosts`."""
    hosts = set(hosts)
    return [[entry['mesh'], peer['node']] for entry in entries for peer in entry['peers'] if peer['node'] not in hosts]
