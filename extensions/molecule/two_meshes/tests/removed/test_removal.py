# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removal of backup, as the side_effect remove.yml (../../remove.yml) ran it twice in a row:
playbooks/remove.yml -e mesh=backup. The tests read the live nodes, the two runs' recaps
(operations/runs.jsonl) and the office keys the rotation recorded (operations/rotation.json),
which the removal must not touch. Last, remove.yml without a mesh must fail and change nothing:
a run that must fail is not something a side_effect can express, so it runs from here.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import json

import pytest

from labtest import (assert_recorded_run_ok, mesh_by_name, names, node_by_name, operations_file, overlay_address, ping,
                     public_key, recap, recorded_runs, run_playbook, wait_ping)

OFFICE, BACKUP = "office", "backup"
ONLY_OFFICE = "node-uae"


@pytest.fixture(scope="module")
def removed():
    runs = recorded_runs("remove.yml")
    assert len(runs) == 2, runs
    with open(operations_file("rotation.json")) as f:
        keys = json.load(f)["keys_after"]
    return {"first": runs[0], "second": runs[1], "office_keys": {n: k[OFFICE] for n, k in keys.items() if OFFICE in k}}


def test_remove_run_succeeds_and_leaves_office_only_nodes_alone(nodes, removed):
    stats = assert_recorded_run_ok(removed["first"], list(nodes))
    assert stats[ONLY_OFFICE]["changed"] == 0, stats
    assert all(stats[n]["changed"] > 0 for n in nodes if n != ONLY_OFFICE), stats


def test_backup_is_gone_from_its_nodes(lab, nodes, removed):
    backup = mesh_by_name(lab, BACKUP)
    iface = names.interface(BACKUP)
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
    office = mesh_by_name(lab, OFFICE)
    assert sorted(removed["office_keys"]) == sorted(office["nodes"]), removed["office_keys"]
    for name in office["nodes"]:
        assert public_key(nodes[name], OFFICE) == removed["office_keys"][name], name
        assert nodes[name].file("/etc/wireguard/%s.conf" % names.interface(OFFICE)).exists, name
    for src, dst in itertools.permutations(office["nodes"], 2):
        assert ping(nodes[src], overlay_address(office, dst)).rc == 0, (src, dst)
    uae_lanhost = lanhosts[node_by_name(lab, ONLY_OFFICE)["lanhost"]["name"]][0]
    # node-uae's restart (status phase) gave its LAN interface a new MAC: the LAN host's first
    # packets may still go to the old one until its neighbour entry is probed again (~5 s).
    wait_ping(uae_lanhost, overlay_address(office, "node-ir"), timeout=15)


def test_second_remove_run_changes_nothing(nodes, removed):
    stats = assert_recorded_run_ok(removed["second"], list(nodes))
    assert all(stats[n]["changed"] == 0 for n in nodes), stats


def test_remove_without_a_mesh_fails(removed):
    proc = run_playbook("remove.yml")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "Set the mesh to remove" in proc.stdout, proc.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(proc.stdout).values()), proc.stdout[-4000:]
