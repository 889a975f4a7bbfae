# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two meshes sharing two nodes (tests/lab/scenarios/two_meshes.yml), as converge built them:
office (node-ir, node-tr, node-uae; Backhaul; carries node-uae's LAN) and backup (node-ir,
node-tr; direct; carries their LANs). Each mesh has its own addresses, LANs and peers, and
node-uae (office only) cannot reach backup.

The operations that follow (status, rotation, removal) are the scenario's side_effect playbooks;
see ../../molecule.yml for the order of the phases.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools

from labtest import (mesh_by_name, names, node_by_name, observed_source, overlay_address, ping, public_key, routes_via,
                     wait_ping)
from mesh_checks import (  # noqa: F401  pylint: disable=unused-import
    test_config_is_private_and_holds_no_private_key, test_every_node_pings_every_overlay_address,
    test_every_peer_has_a_recent_handshake, test_host_isolation_drops_lan_traffic_routed_by_the_host,
    test_interface_runs_the_node_key, test_interfaces_up_with_planned_address_and_mtu, test_key_files_are_private,
    test_peers_are_exactly_the_planned_ones)

OFFICE, BACKUP = "office", "backup"
ONLY_OFFICE = "node-uae"


def _container(lab, name):
    return node_by_name(lab, name)["container"]


def _allowed_ips(host, iface):
    """{peer public key: sorted AllowedIPs} of a live interface."""
    out = host.check_output("wg show %s allowed-ips", iface)
    result = {}
    for line in out.splitlines():
        key, _tab, nets = line.partition("\t")
        result[key] = sorted(n for n in nets.split() if n != "(none)")
    return result


# --- both meshes, each with its own addresses, LANs and peers ----------------------------------

def test_each_mesh_allows_only_its_own_addresses_and_lans(lab, nodes):
    """A peer entry allows exactly the peer's overlay address in that mesh and the LANs that
    mesh carries for it: nothing of the other mesh leaks into an interface."""
    for mesh in lab["meshes"]:
        lans = mesh.get("lan_subnets", {})
        for name in mesh["nodes"]:
            want = {public_key(nodes[p], mesh["name"]): sorted([overlay_address(mesh, p) + "/32"] + (
                [lans[p]] if p in lans else [])) for p in mesh["nodes"] if p != name}
            assert _allowed_ips(nodes[name], names.interface(mesh["name"])) == want, (mesh["name"], name)


def test_each_mesh_routes_exactly_its_own_remote_lans(lab, nodes):
    for mesh in lab["meshes"]:
        lans = mesh.get("lan_subnets", {})
        for name in mesh["nodes"]:
            want = sorted(lans[p] for p in mesh["nodes"] if p != name and p in lans)
            # routes_via lists the interface's own overlay subnet too (a kernel route).
            got = [r for r in routes_via(nodes[name], names.interface(mesh["name"])) if r != mesh["overlay_subnet"]]
            assert got == want, (mesh["name"], name)


def test_lan_hosts_reach_each_other_across_backup(lab, nodes, lanhosts, isolated):
    """LAN host to LAN host over backup, no NAT; the host's isolation rule stops any other path."""
    backup = mesh_by_name(lab, BACKUP)
    hosts = [node_by_name(lab, n)["lanhost"] for n in backup["nodes"]]
    for src, dst in itertools.permutations(hosts, 2):
        owner = next(n for n in backup["nodes"] if node_by_name(lab, n)["lanhost"] is src)
        assert " dev %s " % names.interface(BACKUP) in nodes[owner].check_output("ip -4 route get %s", dst["ip"]), owner
        wait_ping(lanhosts[src["name"]][0], dst["ip"])
        assert observed_source(dst["container"], src["container"], dst["ip"]) == src["ip"], (src["name"], dst["name"])


def test_office_lan_host_reaches_the_other_office_nodes(lab, nodes, lanhosts, isolated):
    """node-uae's LAN host reaches node-ir and node-tr over office, with its own source address,
    and they reach it back."""
    office = mesh_by_name(lab, OFFICE)
    uae_host = node_by_name(lab, ONLY_OFFICE)["lanhost"]
    for other in office["nodes"]:
        if other == ONLY_OFFICE:
            continue
        address = overlay_address(office, other)
        wait_ping(lanhosts[uae_host["name"]][0], address)
        assert observed_source(_container(lab, other), uae_host["container"], address) == uae_host["ip"], other
        assert ping(nodes[other], uae_host["ip"]).rc == 0, other


def test_node_only_in_office_cannot_reach_backup(lab, nodes, lanhosts, isolated):
    """node-uae and its LAN host reach office (control) but neither backup's overlay nor its
    LANs: no route, and the office interface does not carry them even when forced into it."""
    office, backup = mesh_by_name(lab, OFFICE), mesh_by_name(lab, BACKUP)
    uae = nodes[ONLY_OFFICE]
    uae_lanhost = lanhosts[node_by_name(lab, ONLY_OFFICE)["lanhost"]["name"]][0]
    assert ping(uae, overlay_address(office, "node-ir")).rc == 0
    targets = [overlay_address(backup, n) for n in backup["nodes"]]
    targets += [node_by_name(lab, n)["lanhost"]["ip"] for n in backup["lan_subnets"]]
    for target in targets:
        assert " dev wg-" not in uae.check_output("ip -4 route get %s", target), target
        assert ping(uae, target, timeout=1).rc != 0, target
        assert uae.run("ping -n -c 1 -W 1 -I %s %s", names.interface(OFFICE), target).rc != 0, target
        assert ping(uae_lanhost, target, timeout=1).rc != 0, target
