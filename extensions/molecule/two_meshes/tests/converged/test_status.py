# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Status of the two meshes. With every link up it is an operation: the side_effect status.yml
(../../status.yml) ran playbooks/status.yml with wgmesh_report_dir before this verify step, and
the tests read the report it wrote (operations/status/) and its run's recap. With a node
stopped it is fault injection, run from here (the run must fail, which a side_effect cannot
express): node-uae's container stops, status runs and must name exactly its links, the
container starts and status must pass again within a bound, with no Ansible run between.

Measured figures are printed and saved to build/lab/two_meshes/figures.json.
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

from labtest import (assert_recorded_run_ok, lablib, mesh_by_name, node_by_name, operations_file, overlay_address,
                     record_figures, recorded_runs, run_playbook, wait_for, wait_ping)

OFFICE = "office"
ONLY_OFFICE = "node-uae"
TABLE_ROW = re.compile(r"^\|(.*)\|$")


def _links(mesh):
    """Every link of a full mesh, as (mesh name, frozenset of its two nodes)."""
    return {(mesh["name"], frozenset(pair)) for pair in itertools.combinations(mesh["nodes"], 2)}


def _read_report(report_dir):
    """status.json (parsed) and status.md of a report directory, None for a missing file."""
    report = None
    if os.path.exists(os.path.join(report_dir, "status.json")):
        with open(os.path.join(report_dir, "status.json")) as f:
            report = json.load(f)
    markdown = None
    if os.path.exists(os.path.join(report_dir, "status.md")):
        with open(os.path.join(report_dir, "status.md")) as f:
            markdown = f.read()
    return report, markdown


def _run_status(tmp_path_factory, label, *args):
    report_dir = str(tmp_path_factory.mktemp(label))
    start = time.monotonic()
    proc = run_playbook("status.yml", "-e", "wgmesh_report_dir=%s" % report_dir, *args)
    elapsed = round(time.monotonic() - start, 1)
    report, markdown = _read_report(report_dir)
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
def status_up(lab):
    """What the side_effect status.yml did: its one run (recap) and the report it wrote."""
    runs = recorded_runs("status.yml")
    assert len(runs) == 1, runs
    run = runs[0]
    report, markdown = _read_report(operations_file("status"))
    seconds = round(run["ended"] - run["started"], 1)
    record_figures(lab, status_seconds=seconds)
    return {"run": run, "report": report, "markdown": markdown, "seconds": seconds}


def test_status_passes_with_every_link_up(lab, nodes, status_up):
    # (The side_effect step fails on a failed run.) Every node answered, the report passed.
    assert_recorded_run_ok(status_up["run"], list(nodes) + ["localhost"])
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
    container = node_by_name(lab, ONLY_OFFICE)["container"]
    subprocess.run(["podman", "stop", "-t", "10", container], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    try:
        down = _run_status(tmp_path_factory, "status-down")
    finally:
        subprocess.run(["podman", "start", container], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    record_figures(lab, status_seconds_with_a_node_down=down["seconds"])
    started = time.monotonic()
    wait_for("systemd in %s" % container, lambda: lablib.systemd_up(container), timeout=90)
    office = mesh_by_name(lab, OFFICE)
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
    record_figures(lab, status_recovery_seconds_after_start=round(time.monotonic() - started, 1))
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
