# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changing a live mesh, in order: node-x joins (site.yml with the mesh overridden by -e),
node-x leaves (site.yml with the inventory's mesh again), a node's container restarts, then
the mesh switches from transport direct to backhaul.

The tests of one phase use the module-scoped fixture of that phase; pytest runs them in file
order, so the phases happen in order too. Converge (molecule) made the three-node mesh.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import subprocess

import pytest

from labtest import (BackgroundPing, assert_run_ok, ipv4_addresses, key_forms, link, lablib, node_by_name,
                     observed_source, overlay_address, overlay_cidr, peers, ping, private_key, public_key, routes_via, run_playbook,
                     wait_for, wait_ping)

NEW = "node-x"
MESH = "office"
IFACE = lablib.names.interface(MESH)


def _mesh(lab, members):
    """The lab's mesh with `members` as its nodes (new nodes are appended: the planner numbers
    overlay addresses by position, so the existing nodes keep theirs)."""
    mesh = dict(lab["meshes"][0])
    mesh["nodes"] = list(members)
    mesh["lan_subnets"] = {n["name"]: n["lan"] for n in lab["nodes"] if n["name"] in members}
    return mesh


@pytest.fixture(scope="module")
def base(lab):
    mesh = lab["meshes"][0]
    assert NEW not in mesh["nodes"], "the scenario's mesh must not hold %s yet" % NEW
    return mesh


@pytest.fixture(scope="module")
def joined(lab, nodes, base, isolated, tmp_path_factory):
    """node-x joins while an overlay ping runs between two existing nodes; the run is at -vvv
    so its output can be searched for private keys (node-x's is made during this run)."""
    mesh = _mesh(lab, base["nodes"] + [NEW])
    before = {name: {"addresses": ipv4_addresses(nodes[name], IFACE), "index": link(nodes[name], IFACE)["index"]}
              for name in base["nodes"]}
    src, dst = base["nodes"][0], base["nodes"][1]
    bgping = BackgroundPing(node_by_name(lab, src)["container"], overlay_address(mesh, dst))
    bgping.start()
    try:
        proc = run_playbook("site.yml", "-vvv", extra_vars={"wgmesh_meshes": [mesh]},
                            tmp_path=tmp_path_factory.mktemp("join"))
    finally:
        transmitted, received = bgping.stop()
    return {"mesh": mesh, "before": before, "proc": proc, "ping": (transmitted, received)}


def test_join_run_succeeds_and_prints_no_private_key(nodes, joined):
    proc = joined["proc"]
    assert_run_ok(proc, list(nodes))
    for name in joined["mesh"]["nodes"]:
        for form in key_forms(private_key(nodes[name], MESH)):
            assert form not in proc.stdout, "%s's private key is in the output" % name


def test_existing_nodes_keep_their_address_and_interface(nodes, joined):
    for name, was in joined["before"].items():
        assert ipv4_addresses(nodes[name], IFACE) == was["addresses"], name
        # A new ifindex would mean the interface was deleted and made again.
        assert link(nodes[name], IFACE)["index"] == was["index"], name


def test_overlay_ping_during_the_join_lost_at_most_two_packets(joined):
    transmitted, received = joined["ping"]
    assert transmitted >= 20, "the join run was too short to tell (%d packets)" % transmitted
    assert transmitted - received <= 2, "lost %d of %d" % (transmitted - received, transmitted)


def test_existing_nodes_have_the_new_peer_and_its_lan_route(nodes, joined, base):
    new_key = public_key(nodes[NEW], MESH)
    new_lan = joined["mesh"]["lan_subnets"][NEW]
    for name in base["nodes"]:
        assert new_key in peers(nodes[name], IFACE), name
        assert new_lan in routes_via(nodes[name], IFACE), name


def test_new_node_reaches_everyone(lab, nodes, lanhosts, joined, isolated):
    mesh = joined["mesh"]
    assert ipv4_addresses(nodes[NEW], IFACE) == [overlay_cidr(mesh, NEW)]
    for other in mesh["nodes"]:
        if other != NEW:
            wait_ping(nodes[NEW], overlay_address(mesh, other))
            assert ping(nodes[other], overlay_address(mesh, NEW)).rc == 0, other
    new_host = node_by_name(lab, NEW)["lanhost"]
    for name, (host, ip, owner) in lanhosts.items():
        if owner in mesh["nodes"] and owner != NEW:
            other_host = node_by_name(lab, owner)["lanhost"]
            assert ping(lanhosts[new_host["name"]][0], ip).rc == 0, name
            assert observed_source(other_host["container"], new_host["container"], ip) == new_host["ip"], name
            assert observed_source(new_host["container"], other_host["container"], new_host["ip"]) == ip, name


@pytest.fixture(scope="module")
def left(nodes, base, joined):
    """node-x leaves: site.yml with the inventory's three-node mesh."""
    removed = {"key": public_key(nodes[NEW], MESH), "lan": joined["mesh"]["lan_subnets"][NEW]}
    proc = run_playbook("site.yml")
    assert_run_ok(proc, list(nodes))
    return removed


def test_left_node_peer_and_route_are_gone_everywhere(nodes, base, left):
    for name in base["nodes"]:
        assert left["key"] not in peers(nodes[name], IFACE), name
        assert left["lan"] not in routes_via(nodes[name], IFACE), name
        assert peers(nodes[name], IFACE) == sorted(
            public_key(nodes[p], MESH) for p in base["nodes"] if p != name), name


def test_left_node_has_no_mesh_any_more(nodes, left):
    assert link(nodes[NEW], IFACE) is None
    assert not nodes[NEW].file("/etc/wireguard/%s.conf" % IFACE).exists


def test_remaining_mesh_still_works(nodes, base, left):
    for src, dst in itertools.permutations(base["nodes"], 2):
        assert ping(nodes[src], overlay_address(base, dst)).rc == 0, (src, dst)


@pytest.fixture(scope="module")
def restarted(lab, base, left):
    """One node's container restarts; nothing but its own boot may bring the mesh back."""
    node = node_by_name(lab, base["nodes"][1])
    subprocess.run(["podman", "restart", "-t", "10", node["container"]], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for("systemd in %s" % node["container"], lambda: lablib.systemd_up(node["container"]), timeout=90)
    return node["name"]


def test_restarted_node_brings_its_mesh_back_without_ansible(lab, nodes, lanhosts, base, restarted, isolated):
    host = nodes[restarted]
    wait_for("%s up on %s" % (IFACE, restarted),
             lambda: "UP" in (link(host, IFACE) or {}).get("flags", []), timeout=60)
    assert ipv4_addresses(host, IFACE) == [overlay_cidr(base, restarted)]
    assert link(host, IFACE)["mtu"] == base["mtu"]
    for other in base["nodes"]:
        if other != restarted:
            wait_ping(host, overlay_address(base, other), timeout=60)
            assert ping(nodes[other], overlay_address(base, restarted)).rc == 0, other
    lans = [base["lan_subnets"][n] for n in base["nodes"] if n != restarted]
    assert all(lan in routes_via(host, IFACE) for lan in lans), routes_via(host, IFACE)
    mine = [h for h, value in lanhosts.items() if value[2] == restarted]
    for name, (other, ip, owner) in lanhosts.items():
        if owner in base["nodes"] and owner != restarted:
            for own in mine:
                wait_ping(lanhosts[own][0], ip, timeout=30)
                assert ping(other, lanhosts[own][1]).rc == 0, (name, own)


@pytest.fixture(scope="module")
def switched(lab, base, restarted, tmp_path_factory):
    """The live mesh moves from transport direct to backhaul: WireGuard must leave the direct
    path (a learned endpoint is kept by `wg syncconf`, so the role has to clear it)."""
    mesh = dict(_mesh(lab, base["nodes"]), transport="backhaul")
    tmp = tmp_path_factory.mktemp("switch")
    first = run_playbook("site.yml", extra_vars={"wgmesh_meshes": [mesh]}, tmp_path=tmp)
    second = run_playbook("site.yml", extra_vars={"wgmesh_meshes": [mesh]}, tmp_path=tmp)
    return {"mesh": mesh, "first": first, "second": second}


def test_switch_to_backhaul_moves_every_peer_onto_the_tunnels(nodes, base, switched):
    assert_run_ok(switched["first"], base["nodes"])
    for src, dst in itertools.permutations(base["nodes"], 2):
        wait_ping(nodes[src], overlay_address(base, dst), timeout=60)
    for name in base["nodes"]:
        out = nodes[name].check_output("wg show %s endpoints", IFACE)
        endpoints = [line.split("\t")[1] for line in out.splitlines()]
        assert len(endpoints) == len(base["nodes"]) - 1, out
        # every peer is reached through a local Backhaul listener or learned from one
        assert all(e == "(none)" or e.startswith("127.0.0.1:") for e in endpoints), (name, out)


def test_switch_to_backhaul_is_idempotent(base, switched):
    stats = assert_run_ok(switched["second"], base["nodes"])
    assert all(stats[name]["changed"] == 0 for name in base["nodes"]), stats
