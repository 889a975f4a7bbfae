# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One node down must not block the mesh (issue #14), in order:

1. new_node_down: node-x joins the mesh while its container is stopped (a brand-new node
   unreachable on its first converge): the others converge, leave its peer entry out and the
   run names it.
2. limited: node-tr is powered off; the mesh changes (MTU 1280 -> 1380, node-uae's LAN
   announced, node-x still joining) and site.yml runs with --limit node-ir,node-uae: node-tr,
   outside the play and unreachable, keeps its last known key; node-x, outside the play and
   never converged, is left out.
3. degraded: the same change on the whole inventory: every reachable node converges fully
   (node-x too, which gets node-tr's key from what the others hold); only node-tr is
   unreachable; LAN traffic between the live nodes crosses the mesh with the change applied.
4. returned: node-tr is started again; a plain rerun converges it and changes nothing else.
5. settled: one more run changes nothing; a host of the inventory in no mesh (and not in the
   group wgmesh_nodes) is never contacted.

The tests of one phase use the module-scoped fixture of that phase; pytest runs them in file
order, so the phases happen in order too. Converge (molecule) made the three-node mesh.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import re
import socket
import subprocess

import pytest

from labtest import (assert_run_ok, key_forms, lablib, link, node_by_name, observed_source, overlay_address, peers,
                     private_key, public_key, recap, routes_via, run_playbook, wait_for, wait_ping)

MESH = "office"
IFACE = lablib.names.interface(MESH)
NEW, DOWN = "node-x", "node-tr"
NEW_MTU = 1380
REPORT = re.compile(r'"((?:pending|note): [^"]*)"')


def _mesh(lab, members, mtu=None, lans=None):
    """The lab's mesh with `members` (new ones appended: the existing nodes keep their overlay
    addresses), announcing the LANs of `lans` (default: the scenario's)."""
    mesh = dict(lab["meshes"][0])
    mesh["nodes"] = list(members)
    announced = lans if lans is not None else [n for n in members if n in mesh["lan_subnets"] or n == NEW]
    mesh["lan_subnets"] = dict((n["name"], n["lan"]) for n in lab["nodes"] if n["name"] in announced)
    if mtu:
        mesh["mtu"] = mtu
    return mesh


def _changed_mesh(lab):
    """The change made while node-tr is down: new MTU, node-uae's LAN announced, node-x in."""
    members = lab["meshes"][0]["nodes"] + [NEW]
    return _mesh(lab, members, NEW_MTU, lans=members)


def _report(proc):
    return REPORT.findall(proc.stdout)


def _power_off(lab, name):
    subprocess.run(["podman", "stop", "-t", "3", node_by_name(lab, name)["container"]], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ssh_up(address):
    try:
        with socket.create_connection((address, 22), timeout=2) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _power_on(lab, name):
    node = node_by_name(lab, name)
    subprocess.run(["podman", "start", node["container"]], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for("systemd in %s" % node["container"], lambda: lablib.systemd_up(node["container"]), timeout=90)
    wait_for("sshd on %s" % node["wan_ip"], lambda: _ssh_up(node["wan_ip"]), timeout=60)


def _assert_only_unreachable(proc, live, dead):
    """The run failed for `dead` only, and as unreachable: every live node converged."""
    stats = recap(proc.stdout)
    tail = proc.stdout[-4000:]
    assert proc.returncode == 4, tail  # Ansible's exit code for unreachable hosts
    for name in live:
        assert stats[name]["failed"] == 0 and stats[name]["unreachable"] == 0, (name, stats, tail)
    assert stats[dead]["unreachable"] == 1 and stats[dead]["failed"] == 0, (stats, tail)
    return stats


def _assert_lan_path(lab, lanhosts, src, dst):
    """The LAN host of `src` reaches the LAN host of `dst` across the mesh, without NAT (the
    host's isolation rule drops LAN addresses routed between lab bridges)."""
    a, b = node_by_name(lab, src)["lanhost"], node_by_name(lab, dst)["lanhost"]
    wait_ping(lanhosts[a["name"]][0], b["ip"], timeout=60)
    assert observed_source(b["container"], a["container"], b["ip"]) == a["ip"], (src, dst)


def _mtu_crosses(host, address, mtu):
    """A packet of exactly `mtu` bytes, Don't Fragment, crosses the overlay."""
    return host.run("ping -n -c 1 -W 3 -M do -s %s %s", str(mtu - 28), address).rc == 0


@pytest.fixture(scope="module")
def base(lab):
    mesh = lab["meshes"][0]
    assert NEW not in mesh["nodes"] and DOWN in mesh["nodes"]
    return mesh


@pytest.fixture(scope="module")
def keys(nodes, base):
    """Every node's public key and private key, read while every node is up."""
    return dict((name, {"public": public_key(nodes[name], MESH), "private": private_key(nodes[name], MESH)})
                for name in base["nodes"])


# --- 1. a brand-new node unreachable on its first converge -------------------------------

@pytest.fixture(scope="module")
def new_node_down(lab, nodes, base, keys, tmp_path_factory):
    _power_off(lab, NEW)
    mesh = _mesh(lab, base["nodes"] + [NEW])
    proc = run_playbook("site.yml", extra_vars={"wgmesh_meshes": [mesh]}, tmp_path=tmp_path_factory.mktemp("new"))
    _power_on(lab, NEW)  # up again, still never converged: it joins in the next phases
    return {"mesh": mesh, "proc": proc}


def test_new_node_down_fails_only_that_node(base, new_node_down):
    _assert_only_unreachable(new_node_down["proc"], base["nodes"], NEW)


def test_new_node_down_is_reported_with_its_peer_entry_left_out(base, new_node_down):
    assert _report(new_node_down["proc"]) == [
        "pending: %s unreachable: not converged; its peer entry left out on %s (no known key)"
        % (NEW, ", ".join(sorted(base["nodes"])))]


def test_new_node_down_others_keep_their_peers_and_the_mesh(nodes, base, keys, new_node_down):
    for name in base["nodes"]:
        assert peers(nodes[name], IFACE) == sorted(keys[p]["public"] for p in base["nodes"] if p != name), name
        config = nodes[name].file("/etc/wireguard/%s.conf" % IFACE).content_string
        assert "# %s\n" % NEW not in config and "check mode" not in config, name
    for src, dst in itertools.permutations(base["nodes"], 2):
        wait_ping(nodes[src], overlay_address(base, dst))


# --- 2. --limit while a node is powered off ----------------------------------------------

@pytest.fixture(scope="module")
def limited(lab, nodes, base, keys, new_node_down, tmp_path_factory):
    _power_off(lab, DOWN)
    mesh = _changed_mesh(lab)
    proc = run_playbook("site.yml", "--limit", "node-ir,node-uae", extra_vars={"wgmesh_meshes": [mesh]},
                        tmp_path=tmp_path_factory.mktemp("limited"))
    return {"mesh": mesh, "proc": proc}


def test_limited_run_succeeds_and_reports(limited):
    assert_run_ok(limited["proc"], ["node-ir", "node-uae"])
    assert _report(limited["proc"]) == [
        "note: %s (not in this run): could not be read (unreachable); its last known key kept on node-ir, node-uae" % DOWN,
        "pending: %s (not in this run); its peer entry left out on node-ir, node-uae (no known key)" % NEW]


def test_limited_run_applies_the_change_keeping_the_down_node_key(lab, nodes, lanhosts, keys, limited, isolated):
    mesh = limited["mesh"]
    for name in ("node-ir", "node-uae"):
        assert link(nodes[name], IFACE)["mtu"] == NEW_MTU, name
        assert peers(nodes[name], IFACE) == sorted(keys[p]["public"] for p in ("node-ir", DOWN, "node-uae") if p != name)
    assert mesh["lan_subnets"]["node-uae"] in routes_via(nodes["node-ir"], IFACE)
    # node-uae's LAN, announced by this run, is reached across the mesh
    _assert_lan_path(lab, lanhosts, "node-uae", "node-ir")
    _assert_lan_path(lab, lanhosts, "node-ir", "node-uae")


# --- 3. the whole inventory while a node is powered off ----------------------------------

@pytest.fixture(scope="module")
def degraded(lab, nodes, limited, tmp_path_factory):
    mesh = limited["mesh"]
    proc = run_playbook("site.yml", extra_vars={"wgmesh_meshes": [mesh]}, tmp_path=tmp_path_factory.mktemp("degraded"))
    return {"mesh": mesh, "live": [n for n in mesh["nodes"] if n != DOWN], "proc": proc}


def test_degraded_run_fails_only_the_down_node(degraded):
    _assert_only_unreachable(degraded["proc"], degraded["live"], DOWN)


def test_degraded_run_reports_the_down_node_and_no_private_key(nodes, keys, degraded):
    assert _report(degraded["proc"]) == [
        "pending: %s unreachable: not converged; its last known key kept on %s" % (DOWN, ", ".join(degraded["live"]))]
    for name in degraded["live"]:
        for form in key_forms(private_key(nodes[name], MESH)):
            assert form not in degraded["proc"].stdout, name


def test_degraded_live_nodes_have_every_peer_the_change_and_the_down_node_key(nodes, keys, degraded):
    mesh = degraded["mesh"]
    current = dict((name, public_key(nodes[name], MESH)) for name in degraded["live"])
    current[DOWN] = keys[DOWN]["public"]  # its last known key: what the others held for it
    for name in degraded["live"]:
        assert link(nodes[name], IFACE)["mtu"] == NEW_MTU, name
        assert peers(nodes[name], IFACE) == sorted(current[p] for p in mesh["nodes"] if p != name), name
        want = sorted(mesh["lan_subnets"][p] for p in mesh["nodes"] if p != name)
        assert [r for r in routes_via(nodes[name], IFACE) if r.startswith("192.168.")] == want, name


def test_degraded_live_nodes_reach_each_other_at_the_new_mtu(lab, nodes, lanhosts, degraded, isolated):
    mesh = degraded["mesh"]
    for src, dst in itertools.permutations(degraded["live"], 2):
        wait_ping(nodes[src], overlay_address(mesh, dst), timeout=60)
        assert _mtu_crosses(nodes[src], overlay_address(mesh, dst), NEW_MTU), (src, dst)
    for src, dst in itertools.permutations(degraded["live"], 2):
        _assert_lan_path(lab, lanhosts, src, dst)


# --- 4. the node comes back ---------------------------------------------------------------

@pytest.fixture(scope="module")
def returned(lab, degraded, tmp_path_factory):
    _power_on(lab, DOWN)
    proc = run_playbook("site.yml", extra_vars={"wgmesh_meshes": [degraded["mesh"]]},
                        tmp_path=tmp_path_factory.mktemp("returned"))
    return dict(degraded, proc=proc)


def test_returned_rerun_converges_it_and_changes_nothing_else(returned):
    stats = assert_run_ok(returned["proc"], returned["mesh"]["nodes"])
    assert stats[DOWN]["changed"] > 0, stats
    assert all(stats[name]["changed"] == 0 for name in returned["live"]), stats
    assert _report(returned["proc"]) == []
    assert "nothing pending: every node of this run converged" in returned["proc"].stdout


def test_returned_node_has_the_change_and_reaches_everyone(lab, nodes, lanhosts, returned, isolated):
    mesh = returned["mesh"]
    host = nodes[DOWN]
    assert link(host, IFACE)["mtu"] == NEW_MTU
    assert peers(host, IFACE) == sorted(public_key(nodes[p], MESH) for p in mesh["nodes"] if p != DOWN)
    assert [r for r in routes_via(host, IFACE) if r.startswith("192.168.")] == sorted(
        mesh["lan_subnets"][p] for p in mesh["nodes"] if p != DOWN)
    for other in returned["live"]:
        wait_ping(host, overlay_address(mesh, other), timeout=60)
        wait_ping(nodes[other], overlay_address(mesh, DOWN), timeout=60)
        assert _mtu_crosses(host, overlay_address(mesh, other), NEW_MTU), other
        _assert_lan_path(lab, lanhosts, DOWN, other)
        _assert_lan_path(lab, lanhosts, other, DOWN)


# --- 5. settled ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def settled(lab, returned, tmp_path_factory):
    """Once more, with an extra inventory host in no mesh and not in wgmesh_nodes, at an
    address of the lab's WAN that nothing answers: it must not be contacted."""
    tmp = tmp_path_factory.mktemp("settled")
    extra = tmp / "ghost.yml"
    wan = lab["wan_subnet"].rsplit(".", 1)[0]
    extra.write_text("all:\n  hosts:\n    ghost:\n      ansible_host: %s.99\n      ansible_user: root\n" % wan)
    proc = run_playbook("site.yml", "-i", str(extra), extra_vars={"wgmesh_meshes": [returned["mesh"]]}, tmp_path=tmp)
    return dict(returned, proc=proc)


def test_settled_rerun_changes_nothing(settled):
    stats = assert_run_ok(settled["proc"], settled["mesh"]["nodes"])
    assert all(stats[name]["changed"] == 0 for name in settled["mesh"]["nodes"]), stats


def test_hosts_in_no_mesh_are_not_contacted(settled):
    """Contacting ghost would make it unreachable (nothing answers at its address)."""
    stats = recap(settled["proc"].stdout)
    assert stats.get("ghost", {}).get("unreachable", 0) == 0 and stats.get("ghost", {}).get("failed", 0) == 0, stats
    assert "[ghost]" not in settled["proc"].stdout.split("TASK [Reach the node]", 1)[1], "ghost was contacted"
