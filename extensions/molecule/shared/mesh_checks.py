# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks every converged mesh of a lab must pass, whatever its topology.

A scenario's test module imports the test functions it wants (pytest collects them there).
Topology decides only the expected peers (labtest.planned_peers).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import re

from labtest import (CONFIG_DIR, KEY_DIR, ipv4_addresses, isolation_drops, link, names, node_by_name, observed_source,
                     overlay_address, overlay_cidr, peers, ping, planned_peers, private_key, public_key, remote_lans, routes_via, wait_ping)


# Every check: a scenario that wants them all takes them with `from mesh_checks import *`.
__all__ = [
    "test_host_isolation_drops_lan_traffic_routed_by_the_host",
    "test_interfaces_up_with_planned_address_and_mtu",
    "test_interface_runs_the_node_key",
    "test_peers_are_exactly_the_planned_ones",
    "test_routes_to_every_remote_lan_via_the_mesh",
    "test_every_node_pings_every_overlay_address",
    "test_lan_hosts_reach_each_other_without_nat",
    "test_every_peer_has_a_recent_handshake",
    "test_key_files_are_private",
    "test_config_is_private_and_holds_no_private_key",
]


def _iface(mesh):
    return names.interface(mesh["name"])


def test_host_isolation_drops_lan_traffic_routed_by_the_host(lab, nodes, isolated):
    """Positive control for the isolation rule: a node's packet to a remote LAN host forced out
    of its WAN interface (the host's path, not the overlay) is dropped by that rule."""
    for mesh in isolated["meshes"]:
        src, dst = mesh["nodes"][0], mesh["nodes"][1]
        target = node_by_name(lab, dst)["lanhost"]["ip"]
        before = isolation_drops(lab)
        assert nodes[src].run("ping -n -c 1 -W 2 -I wan0 %s", target).rc != 0, (src, target)
        assert isolation_drops(lab) > before, "the host's isolation rule did not see %s -> %s" % (src, target)


def test_interfaces_up_with_planned_address_and_mtu(lab, nodes):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            state = link(nodes[name], _iface(mesh))
            assert state, "%s: %s missing" % (name, _iface(mesh))
            assert "UP" in state["flags"] and state["mtu"] == mesh["mtu"], (name, state)
            assert ipv4_addresses(nodes[name], _iface(mesh)) == [overlay_cidr(mesh, name)]


def test_interface_runs_the_node_key(lab, nodes):
    """The key wg_keypair made is the one the interface uses (PostUp loaded it)."""
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            live = nodes[name].check_output("wg show %s public-key", _iface(mesh)).strip()
            derived = nodes[name].check_output("wg pubkey < %s/%s.key", KEY_DIR, mesh["name"]).strip()
            assert live == derived == public_key(nodes[name], mesh["name"]), name


def test_peers_are_exactly_the_planned_ones(lab, nodes):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            want = sorted(public_key(nodes[p], mesh["name"]) for p in planned_peers(mesh, name))
            assert peers(nodes[name], _iface(mesh)) == want, name


def test_routes_to_every_remote_lan_via_the_mesh(lab, nodes, lanhosts):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            via = routes_via(nodes[name], _iface(mesh))
            missing = [lan for lan in remote_lans(mesh, name) if lan not in via]
            assert not missing, (name, via)
            for host, ip, owner in lanhosts.values():
                if owner != name and owner in mesh["nodes"]:
                    assert " dev %s " % _iface(mesh) in nodes[name].check_output("ip -4 route get %s", ip), (name, ip)


def test_every_node_pings_every_overlay_address(lab, nodes):
    for mesh in lab["meshes"]:
        for src, dst in itertools.permutations(mesh["nodes"], 2):
            assert ping(nodes[src], overlay_address(mesh, dst)).rc == 0, "%s -> %s" % (src, dst)


def test_lan_hosts_reach_each_other_without_nat(lab, lanhosts, isolated):
    containers = {n["lanhost"]["name"]: n["lanhost"]["container"] for n in lab["nodes"] if n["lanhost"]}
    for src, dst in itertools.permutations(sorted(lanhosts), 2):
        src_host, src_ip = lanhosts[src][:2]
        dst_ip = lanhosts[dst][1]
        assert ping(src_host, dst_ip).rc == 0, "%s -> %s" % (src, dst)
        assert observed_source(containers[dst], containers[src], dst_ip) == src_ip, "%s -> %s" % (src, dst)


def test_every_peer_has_a_recent_handshake(lab, nodes):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            for peer in planned_peers(mesh, name):
                wait_ping(nodes[name], overlay_address(mesh, peer))
            out = nodes[name].check_output("wg show %s latest-handshakes", _iface(mesh))
            now = int(nodes[name].check_output("date +%s"))
            stamps = [int(line.split()[1]) for line in out.splitlines()]
            assert len(stamps) == len(planned_peers(mesh, name)), (name, out)
            # 0 means never; WireGuard re-handshakes every 2 minutes while traffic flows.
            assert all(0 < now - s < 180 for s in stamps), (name, out)


def test_key_files_are_private(lab, nodes):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            keydir = nodes[name].file(KEY_DIR)
            assert keydir.is_directory and (keydir.user, keydir.group, keydir.mode) == ("root", "root", 0o700), name
            key = nodes[name].file("%s/%s.key" % (KEY_DIR, mesh["name"]))
            assert key.is_file and (key.user, key.group, key.mode) == ("root", "root", 0o600), name


def test_config_is_private_and_holds_no_private_key(lab, nodes):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            conf = nodes[name].file("%s/%s.conf" % (CONFIG_DIR, _iface(mesh)))
            assert conf.is_file and (conf.user, conf.group, conf.mode) == ("root", "root", 0o600), name
            text = conf.content_string
            assert not re.search(r"^\s*PrivateKey\s*=", text, re.I | re.M), name
            assert private_key(nodes[name], mesh["name"]) not in text, name
