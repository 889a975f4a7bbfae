# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two meshes sharing two nodes (tests/lab/scenarios/two_meshes.yml): office (node-ir, node-tr,
node-uae; Backhaul; carries node-uae's LAN) and backup (node-ir, node-tr; direct; carries their
LANs). Then, in this order: status (all up; a stopped node makes it fail and name the links it
breaks), key rotation of office under a running ping, removal of backup.

The tests of one phase use the module-scoped fixture of that phase; pytest runs them in file
order, so the phases happen in order too. Measured figures are printed and saved to
build/lab/two_meshes/figures.json.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import json
import os
import re
import subprocess
import time

import pytest

from labtest import (BackgroundPing, assert_run_ok, lablib, node_by_name, observed_source, overlay_address, peers, ping,
                     public_key, recap, routes_via, run_playbook, wait_for, wait_ping)
from mesh_checks import (  # noqa: F401  pylint: disable=unused-import
    test_config_is_private_and_holds_no_private_key, test_every_node_pings_every_overlay_address,
    test_every_peer_has_a_recent_handshake, test_host_isolation_drops_lan_traffic_routed_by_the_host,
    test_interface_runs_the_node_key, test_interfaces_up_with_planned_address_and_mtu, test_key_files_are_private,
    test_peers_are_exactly_the_planned_ones)

OFFICE, BACKUP = "office", "backup"
ONLY_OFFICE = "node-uae"
# Background ping interval during the rotation (seconds): loss in seconds = lost packets x this.
PING_INTERVAL = 0.1
# The goal for an overlay ping across a full rotation.
ROTATION_LOSS_GOAL = 2.0
TABLE_ROW = re.compile(r"^\|(.*)\|$")


def _mesh(lab, name):
    return next(m for m in lab["meshes"] if m["name"] == name)


def _iface(name):
    return lablib.names.interface(name)


def _container(lab, name):
    return node_by_name(lab, name)["container"]


def _links(mesh):
    """Every link of a full mesh, as (mesh name, frozenset of its two nodes)."""
    return {(mesh["name"], frozenset(pair)) for pair in itertools.combinations(mesh["nodes"], 2)}


def _record(lab, **figures):
    """Print measured figures and keep them in build/lab/<lab>/figures.json for the report."""
    path = os.path.join(lab["dir"], "figures.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.update(figures)
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    for key, value in sorted(figures.items()):
        print("\nFIGURE %s = %s" % (key, value))


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
            assert _allowed_ips(nodes[name], _iface(mesh["name"])) == want, (mesh["name"], name)


def test_each_mesh_routes_exactly_its_own_remote_lans(lab, nodes):
    for mesh in lab["meshes"]:
        lans = mesh.get("lan_subnets", {})
        for name in mesh["nodes"]:
            want = sorted(lans[p] for p in mesh["nodes"] if p != name and p in lans)
            # routes_via lists the interface's own overlay subnet too (a kernel route).
            got = [r for r in routes_via(nodes[name], _iface(mesh["name"])) if r != mesh["overlay_subnet"]]
            assert got == want, (mesh["name"], name)


def test_lan_hosts_reach_each_other_across_backup(lab, nodes, lanhosts, isolated):
    """LAN host to LAN host over backup, no NAT; the host's isolation rule stops any other path."""
    backup = _mesh(lab, BACKUP)
    hosts = [node_by_name(lab, n)["lanhost"] for n in backup["nodes"]]
    for src, dst in itertools.permutations(hosts, 2):
        owner = next(n for n in backup["nodes"] if node_by_name(lab, n)["lanhost"] is src)
        assert " dev %s " % _iface(BACKUP) in nodes[owner].check_output("ip -4 route get %s", dst["ip"]), owner
        wait_ping(lanhosts[src["name"]][0], dst["ip"])
        assert observed_source(dst["container"], src["container"], dst["ip"]) == src["ip"], (src["name"], dst["name"])


def test_office_lan_host_reaches_the_other_office_nodes(lab, nodes, lanhosts, isolated):
    """node-uae's LAN host reaches node-ir and node-tr over office, with its own source address,
    and they reach it back."""
    office = _mesh(lab, OFFICE)
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
    office, backup = _mesh(lab, OFFICE), _mesh(lab, BACKUP)
    uae = nodes[ONLY_OFFICE]
    uae_lanhost = lanhosts[node_by_name(lab, ONLY_OFFICE)["lanhost"]["name"]][0]
    assert ping(uae, overlay_address(office, "node-ir")).rc == 0
    targets = [overlay_address(backup, n) for n in backup["nodes"]]
    targets += [node_by_name(lab, n)["lanhost"]["ip"] for n in backup["lan_subnets"]]
    for target in targets:
        assert " dev wg-" not in uae.check_output("ip -4 route get %s", target), target
        assert ping(uae, target, timeout=1).rc != 0, target
        assert uae.run("ping -n -c 1 -W 1 -I %s %s", _iface(OFFICE), target).rc != 0, target
        assert ping(uae_lanhost, target, timeout=1).rc != 0, target


# --- status -------------------------------------------------------------------------------------

def _run_status(tmp_path_factory, label, *args):
    report_dir = str(tmp_path_factory.mktemp(label))
    start = time.monotonic()
    proc = run_playbook("status.yml", "-e", "wgmesh_report_dir=%s" % report_dir, *args)
    elapsed = round(time.monotonic() - start, 1)
    report = None
    if os.path.exists(os.path.join(report_dir, "status.json")):
        with open(os.path.join(report_dir, "status.json")) as f:
            report = json.load(f)
    markdown = None
    if os.path.exists(os.path.join(report_dir, "status.md")):
        with open(os.path.join(report_dir, "status.md")) as f:
            markdown = f.read()
    return {"proc": proc, "report": report, "markdown": markdown, "seconds": elapsed}


def _json_links(report):
    """{(mesh, frozenset(nodes)): link} from status.json."""
    return {(name, frozenset(link["nodes"])): link
            for name, mesh in report["meshes"].items() for link in mesh["links"]}


def _markdown_rows(markdown):
    """[(mesh, frozenset(link nodes), from node, state)] from status.md: one row per direction;
    a link's second row has '-' in the link column."""
    rows, mesh, label = [], None, None
    for line in markdown.splitlines():
        heading = re.match(r"^## mesh (\S+)", line)
        if heading:
            mesh = heading.group(1)
            continue
        match = TABLE_ROW.match(line.strip())
        if not match or mesh is None:
            continue
        cells = [c.strip() for c in match.group(1).split("|")]
        if cells[0] == "link" or set(cells[0]) <= set("-:") and cells[0] != "-":
            continue  # header and separator rows
        if cells[0] != "-":
            label = frozenset(cells[0].split(" <-> "))
        rows.append((mesh, label, cells[1], cells[-1]))
    return rows


def _expected_rows(lab):
    return sorted((m, frozenset(pair), node, "up") for m, pair in set().union(*(_links(x) for x in lab["meshes"]))
                  for node in sorted(pair))


@pytest.fixture(scope="module")
def status_up(lab, tmp_path_factory):
    result = _run_status(tmp_path_factory, "status-up")
    _record(lab, status_seconds=result["seconds"])
    return result


def test_status_passes_with_every_link_up(lab, status_up):
    proc = status_up["proc"]
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = status_up["report"]
    assert report is not None and report["down"] == [], report
    links = _json_links(report)
    assert set(links) == set().union(*(_links(m) for m in lab["meshes"]))
    for key, link in links.items():
        assert link["up"] and link["problems"] == [], (key, link)
        for node in key[1]:
            view = link["directions"][node]
            assert view["handshake_age"] is not None and view["handshake_age"] < 180, (key, node, view)
            assert view["loss_percent"] == 0, (key, node, view)


def test_status_markdown_has_a_row_per_link_direction(lab, status_up):
    assert status_up["markdown"], "no status.md"
    assert sorted(_markdown_rows(status_up["markdown"]), key=str) == sorted(_expected_rows(lab), key=str)


def test_status_shows_the_backhaul_instance_state_of_office_links(lab, status_up):
    """Both ends of every Backhaul link report their backhaul@ instance as active."""
    for (mesh, pair), link in _json_links(status_up["report"]).items():
        if mesh == OFFICE:
            assert link["backhaul"] == {n: "active" for n in pair}, (mesh, sorted(pair), link["backhaul"])
        else:
            assert link["backhaul"] is None, (mesh, sorted(pair))


@pytest.fixture(scope="module")
def status_node_stopped(lab, nodes, status_up, tmp_path_factory):
    """node-uae's container stops; status runs; the container starts again and status must pass
    again within a bound (its own boot brings office back, no Ansible)."""
    container = _container(lab, ONLY_OFFICE)
    subprocess.run(["podman", "stop", "-t", "10", container], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    try:
        down = _run_status(tmp_path_factory, "status-down")
    finally:
        subprocess.run(["podman", "start", container], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _record(lab, status_seconds_with_a_node_down=down["seconds"])
    started = time.monotonic()
    wait_for("systemd in %s" % container, lambda: lablib.systemd_up(container), timeout=90)
    office = _mesh(lab, OFFICE)
    # From the Backhaul server side, which has the endpoint: handshakes at once.
    for other in office["nodes"]:
        if other != ONLY_OFFICE:
            wait_ping(nodes[other], overlay_address(office, ONLY_OFFICE), timeout=90)
    again = {}

    def status_passes():
        again.update(_run_status(tmp_path_factory, "status-again"))
        return again["proc"].returncode == 0

    try:
        wait_for("status.yml passing after %s is back" % ONLY_OFFICE, status_passes, timeout=120)
    except lablib.LabError:
        pytest.fail("status still fails after the restart:\n%s" % again["proc"].stdout[-4000:])
    _record(lab, status_recovery_seconds_after_start=round(time.monotonic() - started, 1))
    return {"down": down, "again": again}


def test_status_fails_and_names_exactly_the_links_of_the_stopped_node(lab, status_node_stopped):
    down = status_node_stopped["down"]
    proc, report = down["proc"], down["report"]
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert report is not None, proc.stdout[-4000:]
    every = set().union(*(_links(m) for m in lab["meshes"]))
    broken = {key for key in every if ONLY_OFFICE in key[1]}
    links = _json_links(report)
    assert {key for key, link in links.items() if not link["up"]} == broken
    assert {key for key, link in links.items() if link["up"]} == every - broken
    # The summary and the failure message name the same links.
    named = set()
    for line in report["down"]:
        match = re.match(r"^(\S+): (\S+) <-> (\S+) ", line)
        assert match, line
        named.add((match.group(1), frozenset(match.group(2, 3))))
    assert named == broken, report["down"]
    assert "%d link(s) down" % len(broken) in proc.stdout
    for mesh, pair in broken:
        assert re.search(r"%s: %s <-> %s" % ((mesh,) + tuple(sorted(pair))), proc.stdout) or re.search(
            r"%s: %s <-> %s" % ((mesh,) + tuple(sorted(pair, reverse=True))), proc.stdout), (mesh, pair)
    down_rows = {(m, pair) for m, pair, _direction, state in _markdown_rows(down["markdown"]) if state == "DOWN"}
    assert down_rows == broken


def test_status_passes_again_once_the_node_is_back(status_node_stopped):
    again = status_node_stopped["again"]
    assert again["report"]["down"] == []
    assert all(link["up"] for link in _json_links(again["report"]).values())


# --- key rotation of office -------------------------------------------------------------------

@pytest.fixture(scope="module")
def rotated(lab, nodes, status_node_stopped):
    office, backup = _mesh(lab, OFFICE), _mesh(lab, BACKUP)
    before = {m["name"]: {n: public_key(nodes[n], m["name"]) for n in m["nodes"]} for m in (office, backup)}
    office_ping = BackgroundPing(_container(lab, "node-tr"), overlay_address(office, "node-ir"), interval=PING_INTERVAL)
    backup_ping = BackgroundPing(_container(lab, "node-ir"), overlay_address(backup, "node-tr"), interval=PING_INTERVAL)
    office_ping.start()
    backup_ping.start()
    started = int(time.time())
    clock = time.monotonic()
    try:
        proc = run_playbook("rotate_keys.yml", "-e", "mesh=%s" % OFFICE)
    finally:
        office_sent, office_got = office_ping.stop()
        backup_sent, backup_got = backup_ping.stop()
    result = {
        "proc": proc, "before": before, "started": started,
        "office_ping": (office_sent, office_got), "backup_ping": (backup_sent, backup_got),
        "office_loss_seconds": round((office_sent - office_got) * PING_INTERVAL, 2),
        "backup_loss_seconds": round((backup_sent - backup_got) * PING_INTERVAL, 2),
    }
    _record(lab, rotation_seconds=round(time.monotonic() - clock, 1),
            rotation_office_ping="%d sent, %d received, interval %s s" % (office_sent, office_got, PING_INTERVAL),
            rotation_office_loss_seconds=result["office_loss_seconds"],
            rotation_backup_loss_seconds=result["backup_loss_seconds"])
    return result


def test_rotation_run_succeeds(nodes, rotated):
    assert_run_ok(rotated["proc"], list(nodes))


def test_rotation_changed_every_office_key_and_no_backup_key(nodes, rotated):
    for name, old in rotated["before"][OFFICE].items():
        new = public_key(nodes[name], OFFICE)
        assert new != old, name
        assert nodes[name].check_output("wg show %s public-key", _iface(OFFICE)).strip() == new, name
    for name, old in rotated["before"][BACKUP].items():
        assert public_key(nodes[name], BACKUP) == old, name
        assert nodes[name].check_output("wg show %s public-key", _iface(BACKUP)).strip() == old, name


def test_every_office_link_handshakes_with_the_new_keys(lab, nodes, rotated):
    office = _mesh(lab, OFFICE)
    for name in office["nodes"]:
        want = sorted(public_key(nodes[p], OFFICE) for p in office["nodes"] if p != name)
        assert peers(nodes[name], _iface(OFFICE)) == want, name
        out = nodes[name].check_output("wg show %s latest-handshakes", _iface(OFFICE))
        stamps = [int(line.split()[1]) for line in out.splitlines()]
        # Containers share the host's clock: every handshake happened after the rotation began.
        assert len(stamps) == len(want) and all(s >= rotated["started"] for s in stamps), (name, out)
        for other in office["nodes"]:
            if other != name:
                assert ping(nodes[name], overlay_address(office, other)).rc == 0, (name, other)


def test_office_ping_during_the_rotation_lost_at_most_the_goal(rotated):
    sent = rotated["office_ping"][0]
    assert sent >= 50, "the rotation was too short to tell (%d packets)" % sent
    assert rotated["office_loss_seconds"] <= ROTATION_LOSS_GOAL, rotated["office_ping"]


def test_backup_ping_during_the_office_rotation_lost_nothing(rotated):
    sent, got = rotated["backup_ping"]
    assert sent >= 50 and sent - got == 0, rotated["backup_ping"]


# --- removal of backup ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def removed(lab, nodes, rotated):
    office = _mesh(lab, OFFICE)
    keys = {n: public_key(nodes[n], OFFICE) for n in office["nodes"]}
    first = run_playbook("remove.yml", "-e", "mesh=%s" % BACKUP)
    second = run_playbook("remove.yml", "-e", "mesh=%s" % BACKUP)
    return {"first": first, "second": second, "office_keys": keys}


def test_remove_run_succeeds_and_leaves_office_only_nodes_alone(nodes, removed):
    stats = assert_run_ok(removed["first"], list(nodes))
    assert stats[ONLY_OFFICE]["changed"] == 0, stats
    assert all(stats[n]["changed"] > 0 for n in nodes if n != ONLY_OFFICE), stats


def test_backup_is_gone_from_its_nodes(lab, nodes, removed):
    backup = _mesh(lab, BACKUP)
    iface = _iface(BACKUP)
    for name in backup["nodes"]:
        host = nodes[name]
        assert host.run("ip link show dev %s", iface).rc != 0, name
        for path in ("/etc/wireguard/%s.conf" % iface, "/etc/wireguard/wgmesh/%s.key" % BACKUP,
                     "/etc/wireguard/wgmesh/%s.pub" % BACKUP):
            assert not host.file(path).exists, (name, path)
        assert not host.service("wg-quick@%s" % iface).is_enabled, name
        assert not host.service("wg-quick@%s" % iface).is_running, name
        # The routes backup added to the other node's LAN are gone with it.
        for other in backup["lan_subnets"]:
            if other != name:
                assert host.check_output("ip -4 route show %s", backup["lan_subnets"][other]) == "", (name, other)


def test_office_still_works_after_removing_backup(lab, nodes, lanhosts, removed, isolated):
    office = _mesh(lab, OFFICE)
    for name in office["nodes"]:
        assert public_key(nodes[name], OFFICE) == removed["office_keys"][name], name
        assert nodes[name].file("/etc/wireguard/%s.conf" % _iface(OFFICE)).exists, name
    for src, dst in itertools.permutations(office["nodes"], 2):
        assert ping(nodes[src], overlay_address(office, dst)).rc == 0, (src, dst)
    uae_lanhost = lanhosts[node_by_name(lab, ONLY_OFFICE)["lanhost"]["name"]][0]
    # node-uae's restart (status phase) gave its LAN interface a new MAC: the LAN host's first
    # packets may still go to the old one until its neighbour entry is probed again (~5 s).
    wait_ping(uae_lanhost, overlay_address(office, "node-ir"), timeout=15)


def test_second_remove_run_changes_nothing(nodes, removed):
    stats = assert_run_ok(removed["second"], list(nodes))
    assert all(stats[n]["changed"] == 0 for n in nodes), stats


def test_remove_without_a_mesh_fails(removed):
    proc = run_playbook("remove.yml")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "Set the mesh to remove" in proc.stdout, proc.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(proc.stdout).values()), proc.stdout[-4000:]
