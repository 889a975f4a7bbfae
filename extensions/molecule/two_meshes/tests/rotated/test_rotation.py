# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key rotation of office, as the side_effect rotate_keys.yml (../../rotate_keys.yml) ran it:
playbooks/rotate_keys.yml -e mesh=office, with a ping running over office (node-tr to node-ir)
and over backup (node-ir to node-tr) from before the rotation to after it. The tests read
the live nodes and what the side_effect recorded in operations/: rotation.json (start and end,
public keys before and after, the pings), rotation/NODE-MESH.log (each ping's output) and the
run's recap (runs.jsonl).

Measured figures are printed and saved to build/lab/two_meshes/figures.json.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re

import pytest

from labtest import (assert_recorded_run_ok, mesh_by_name, names, operations_file, overlay_address, peers, ping,
                     ping_counts, public_key, record_figures, recorded_runs)

OFFICE, BACKUP = "office", "backup"
# The goal for an overlay ping across a full rotation.
ROTATION_LOSS_GOAL = 2.0
# A reply line of `ping -D`: [receipt time] ... icmp_seq=N ...
REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .* icmp_seq=\d+ ", re.M)


def _longest_gap(output):
    """Longest time (s) between two consecutive replies: a stall shows here even when WireGuard
    queued the packets and delivered them late (late replies still count as received)."""
    times = [float(t) for t in REPLY.findall(output)]
    return round(max(b - a for a, b in zip(times, times[1:])), 2) if len(times) > 1 else None


@pytest.fixture(scope="module")
def rotated(lab):
    runs = recorded_runs("rotate_keys.yml")
    assert len(runs) == 1, runs
    with open(operations_file("rotation.json")) as f:
        record = json.load(f)
    pings = {}
    for spec in record["pings"]:
        with open(operations_file("rotation", "%s-%s.log" % (spec["node"], spec["mesh"]))) as f:
            output = f.read()
        sent, got = ping_counts(output)
        pings[spec["mesh"]] = {"from": spec["node"], "to": spec["peer"], "interval": spec["interval"],
                               "sent": sent, "received": got,
                               "loss_seconds": round((sent - got) * spec["interval"], 2),
                               "longest_gap_seconds": _longest_gap(output)}
    assert sorted(pings) == [BACKUP, OFFICE], record["pings"]
    office = pings[OFFICE]
    record_figures(lab, rotation_seconds=round(record["ended"] - record["started"], 1),
                   rotation_office_ping="%d sent, %d received, interval %s s" % (
                       office["sent"], office["received"], office["interval"]),
                   rotation_office_loss_seconds=office["loss_seconds"],
                   rotation_backup_loss_seconds=pings[BACKUP]["loss_seconds"],
                   rotation_office_longest_reply_gap_seconds=office["longest_gap_seconds"],
                   rotation_backup_longest_reply_gap_seconds=pings[BACKUP]["longest_gap_seconds"])
    return {"run": runs[0], "record": record, "pings": pings}


def test_rotation_run_succeeds(nodes, rotated):
    # (The side_effect step fails on a failed run.) Every node and the report took part.
    assert_recorded_run_ok(rotated["run"], list(nodes) + ["localhost"])


def test_rotation_changed_every_office_key_and_no_backup_key(lab, nodes, rotated):
    before, after = rotated["record"]["keys_before"], rotated["record"]["keys_after"]
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            new = public_key(nodes[name], mesh["name"])
            # What the side_effect read right after the run is what the node holds now.
            assert after[name][mesh["name"]] == new, (mesh["name"], name)
            assert nodes[name].check_output("wg show %s public-key", names.interface(mesh["name"])).strip() == new, name
            if mesh["name"] == OFFICE:
                assert new != before[name][OFFICE], name
            else:
                assert new == before[name][mesh["name"]], (mesh["name"], name)


def test_every_office_link_handshakes_with_the_new_keys(lab, nodes, rotated):
    office = mesh_by_name(lab, OFFICE)
    iface = names.interface(OFFICE)
    for name in office["nodes"]:
        want = sorted(public_key(nodes[p], OFFICE) for p in office["nodes"] if p != name)
        assert peers(nodes[name], iface) == want, name
        out = nodes[name].check_output("wg show %s latest-handshakes", iface)
        stamps = [int(line.split()[1]) for line in out.splitlines()]
        # Containers share the host's clock: every handshake happened after the rotation began.
        assert len(stamps) == len(want) and all(s >= int(rotated["record"]["started"]) for s in stamps), (name, out)
        for other in office["nodes"]:
            if other != name:
                assert ping(nodes[name], overlay_address(office, other)).rc == 0, (name, other)


def test_office_ping_during_the_rotation_lost_at_most_the_goal(rotated):
    office = rotated["pings"][OFFICE]
    assert office["sent"] >= 50, "the rotation was too short to tell (%d packets)" % office["sent"]
    assert office["loss_seconds"] <= ROTATION_LOSS_GOAL, office


def test_backup_ping_during_the_office_rotation_lost_nothing(rotated):
    backup = rotated["pings"][BACKUP]
    assert backup["sent"] >= 50 and backup["sent"] - backup["received"] == 0, backup
