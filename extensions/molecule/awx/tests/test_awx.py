# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection run as AWX runs it (issue #9), on a fresh lab, in order:

1. sliced: the sliced workflow builds the mesh in one pass. publish runs as 3 slices in
   parallel (each slice's inventory holds only its hosts, with every group var); their
   set_stats artifacts are merged at the top level as AWX merges them; site runs as 3 slices
   in parallel with that as extra vars. Every LAN then reaches every other LAN across the
   mesh, and no job contacted a host outside its slice.
2. resliced: the same workflow again changes nothing anywhere.
3. jobs: plan, site, status, rotate_keys and remove as single jobs (the whole inventory), the
   mesh passed in extra vars as a survey passes it. status fails on a stopped Backhaul link and
   names it in the job events.
4. leaks: no private key (before and after rotation), no Backhaul token, no wgmesh_secret and
   no vault password anywhere under any job's artifacts/ (what AWX stores as events).

Every job is `ansible-runner run` on a private data directory laid out as AWX writes it, with
the collection installed from its built tarball and the secret vaulted in the inventory,
unlocked the way AWX's vault credential does (tests/lab/awx_jobs.py).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import subprocess

import pytest

from labtest import key_forms, lablib, overlay_address, private_key, public_key, wait_ping

import awx_jobs  # tests/lab, put on sys.path by labtest

MESH = "office"
IFACE = "wg-" + MESH
SLICES = 3
VAULT_PASSWORD = "awx-lab-vault-password-4f1c9a"
BROKEN = ("node-a", "node-b")  # the Backhaul link stopped on node-a


@pytest.fixture(scope="session")
def awx(lab, tmp_path_factory):
    """The collection built and installed as an EE holds it, and the lab's inventory in AWX's
    script form with wgmesh_secret vaulted."""
    workdir = str(tmp_path_factory.mktemp("awx"))
    _tarball, collections, _out = awx_jobs.build_and_install(workdir)
    inventory = lablib.script_inventory(lablib.inventory(lab))
    inventory["all"]["vars"]["wgmesh_secret"] = awx_jobs.vault_encrypt(lablib.LAB_SECRET, VAULT_PASSWORD, workdir)
    hosts = [n["name"] for n in lab["nodes"]]
    return {"dir": workdir, "collections": collections, "inventory": inventory, "hosts": hosts, "secrets": []}


def _job(awx, name, extravars=None):
    return awx_jobs.Job(awx["dir"], name, awx["inventory"], extravars or {}, VAULT_PASSWORD, awx["collections"])


def _keep_secrets(awx, nodes):
    """Remember every node's private key and every Backhaul token as they are now."""
    for name, host in nodes.items():
        awx["secrets"].extend(key_forms(private_key(host, MESH)))
        for path in host.run("ls /etc/backhaul/wgmesh/%s.*.toml", MESH).stdout.split():
            awx["secrets"].extend(re.findall(r'token\s*=\s*"([^"]+)"', host.file(path).content_string))


def _lan_to_lan(lab, lanhosts):
    for src in lab["nodes"]:
        for dst in lab["nodes"]:
            if src is not dst:
                wait_ping(lanhosts[src["lanhost"]["name"]][0], dst["lanhost"]["ip"], timeout=60)


def _events(job, event):
    return [e for e in job.events() if e.get("event") == event]


def _assert_ok(job):
    assert job.rc == 0 and job.status == "successful", job.stdout[-4000:]


# --- 1. the sliced workflow builds a fresh mesh in one pass ---------------------------------

@pytest.fixture(scope="module")
def sliced(awx, nodes):
    for host in nodes.values():  # a fresh lab: no key yet
        assert not host.file("/etc/wireguard/wgmesh/%s.key" % MESH).exists
    publish, merged, site = awx_jobs.sliced_pass(awx["dir"], "pass1", awx["inventory"], awx["hosts"], SLICES,
                                                 VAULT_PASSWORD, awx["collections"])
    return {"publish": publish, "merged": merged, "site": site, "slices": awx_jobs.slices(awx["hosts"], SLICES)}


def test_slices_hold_only_their_hosts_and_every_group_var(sliced, awx):
    assert sliced["slices"] == [["node-a", "node-d"], ["node-b"], ["node-c"]]
    for job, part in zip(sliced["publish"] + sliced["site"], sliced["slices"] * 2):
        script = os.path.join(job.dir, "inventory", "hosts")
        inv = json.loads(subprocess.run([script], stdout=subprocess.PIPE, check=True).stdout)
        assert sorted(inv["_meta"]["hostvars"]) == inv["wgmesh_nodes"]["hosts"] == part, job.name
        assert inv["all"]["vars"] == awx["inventory"]["all"]["vars"], job.name


def test_publish_slices_publish_one_public_record_per_node(sliced, nodes, lab):
    for job in sliced["publish"]:
        _assert_ok(job)
    merged = sliced["merged"]
    assert sorted(merged) == ["wgmesh_node_node_a", "wgmesh_node_node_b", "wgmesh_node_node_c", "wgmesh_node_node_d"]
    for node in lab["nodes"]:
        record = merged["wgmesh_node_" + node["name"].replace("-", "_")]
        assert record == {"name": node["name"], "public_keys": {MESH: public_key(nodes[node["name"]], MESH)},
                          "public_address": node["wan_ip"], "nat": node["nat"]}


def test_site_slices_converge_with_lan_to_lan_traffic(sliced, lab, lanhosts, isolated):
    for job in sliced["site"]:
        _assert_ok(job)
    _lan_to_lan(lab, lanhosts)


def test_no_slice_contacts_a_host_outside_it(sliced):
    for job, part in zip(sliced["publish"] + sliced["site"], sliced["slices"] * 2):
        hosts = set(e["event_data"]["host"] for e in job.events() if e.get("event", "").startswith("runner_on_")
                    and "host" in e.get("event_data", {}))
        assert hosts <= set(part) | {"localhost"}, (job.name, hosts)
        for event in job.events():
            data = event.get("event_data", {})
            if data.get("task") == "Read the keys of peers outside this play" and event["event"] == "runner_on_ok":
                assert data["res"].get("results") == [], (job.name, data["res"])  # nothing delegated


# --- 2. the same workflow again changes nothing -------------------------------------------

@pytest.fixture(scope="module")
def resliced(awx, sliced, nodes):
    _keep_secrets(awx, nodes)
    return awx_jobs.sliced_pass(awx["dir"], "pass2", awx["inventory"], awx["hosts"], SLICES, VAULT_PASSWORD,
                                awx["collections"])


def test_second_sliced_pass_changes_nothing(resliced, sliced):
    publish, merged, site = resliced
    for job in publish + site:
        _assert_ok(job)
        assert job.changed() == {}, (job.name, job.changed())
    assert merged == sliced["merged"]


# --- 3. one job per playbook, the mesh from extra vars ---------------------------------------

def test_plan_job_shows_the_plan(awx, resliced):
    job = _job(awx, "plan").run("playbooks/plan.yml")
    _assert_ok(job)
    shown = [e for e in _events(job, "runner_on_ok") if e["event_data"]["task"] == "Show the plan"]
    assert shown and "node-c" in str(shown[0]["event_data"]["res"]["msg"])


def test_unsliced_site_job_agrees_with_the_sliced_pass(awx, resliced):
    job = _job(awx, "site").run("playbooks/site.yml")
    _assert_ok(job)
    assert job.changed() == {}, job.changed()


def test_status_job_succeeds_on_a_healthy_mesh(awx, resliced):
    """The status survey left empty (mesh: ""): every mesh is checked."""
    job = _job(awx, "status-healthy", {"mesh": ""}).run("playbooks/status.yml")
    _assert_ok(job)
    shown = [e["event_data"]["res"]["msg"] for e in _events(job, "runner_on_ok")
             if e["event_data"]["task"] == "Show the status of every link"]
    assert shown and shown[0][0].startswith("mesh office (wg-office, transport backhaul): 6 links, 0 down"), shown


@pytest.fixture(scope="module")
def broken_status(awx, resliced, lab, nodes):
    a, b = BROKEN
    unit = "backhaul@%s.%s" % (MESH, b)
    nodes[a].run("systemctl stop %s", unit)
    try:
        job = _job(awx, "status-broken", {"mesh": MESH}).run("playbooks/status.yml")
    finally:
        nodes[a].run("systemctl start %s", unit)
        wait_ping(nodes[a], overlay_address(lab["meshes"][0], b), timeout=60)
    return job


def test_status_job_fails_naming_the_broken_link(broken_status):
    assert broken_status.rc != 0 and broken_status.status == "failed"
    failed = [e["event_data"] for e in _events(broken_status, "runner_on_failed")]
    assert [d["task"] for d in failed] == ["Fail when a link is down"], failed
    msg = failed[0]["res"]["msg"]
    assert re.match(r"^1 link\(s\) down: office: (node-a <-> node-b|node-b <-> node-a) \(", msg), msg


@pytest.fixture(scope="module")
def rotated(awx, broken_status, nodes):
    before = dict((name, public_key(host, MESH)) for name, host in nodes.items())
    job = _job(awx, "rotate", {"mesh": MESH}).run("playbooks/rotate_keys.yml")
    _keep_secrets(awx, nodes)
    return job, before


def test_rotate_keys_job_takes_the_mesh_from_extra_vars(rotated, nodes, lab, lanhosts, isolated):
    job, before = rotated
    _assert_ok(job)
    for name, host in nodes.items():
        assert public_key(host, MESH) != before[name], name
    _lan_to_lan(lab, lanhosts)


@pytest.fixture(scope="module")
def removed(awx, rotated):
    return _job(awx, "remove", {"mesh": MESH}).run("playbooks/remove.yml")


def test_remove_job_takes_the_mesh_from_extra_vars(removed, nodes):
    _assert_ok(removed)
    for name, host in nodes.items():
        assert host.run("ip link show dev %s", IFACE).rc != 0, name
        assert not host.file("/etc/wireguard/wgmesh/%s.key" % MESH).exists, name


# --- 4. nothing secret in any artifact -------------------------------------------------------

def test_no_secret_in_any_artifact(awx, removed):
    needles = set(awx["secrets"]) | {lablib.LAB_SECRET, VAULT_PASSWORD}
    tokens = set(s for s in awx["secrets"] if re.match(r"^[0-9a-f]{40}$", s))
    assert len(tokens) == 6, tokens  # one per link of the 4-node full mesh
    roots = [os.path.join(awx["dir"], job, "artifacts") for job in os.listdir(awx["dir"])]
    files = [os.path.join(d, f) for root in roots if os.path.isdir(root) for d, _s, fs in os.walk(root) for f in fs]
    assert len(files) > 100, files
    for path in files:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        found = [n[:8] for n in needles if n in data]
        assert not found, (path, found)
