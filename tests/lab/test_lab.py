# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lab tool's pure parts: what it derives from a scenario file."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lab  # noqa: E402  pylint: disable=wrong-import-position

SEED = os.path.join(HERE, "scenarios", "seed.yml")


def test_seed_addresses_follow_the_design():
    seed = lab.load_scenario(SEED)
    ir = seed["nodes"][0]
    assert (ir["name"], ir["container"], ir["wan_ip"]) == ("node-ir", "wgmesh-seed-node-ir", "172.31.250.11")
    # The node is .1 on its LAN (the seed pings 192.168.20.1); podman's gateway is .254.
    assert (ir["lan_ip"], ir["lan_gateway"], ir["lanhost"]["ip"]) == ("192.168.10.1", "192.168.10.254", "192.168.10.10")
    assert seed["meshes"][0]["lan_subnets"] == {
        "node-ir": "192.168.10.0/24", "node-tr": "192.168.20.0/24", "node-uae": "192.168.30.0/24"}


def test_inventory_connects_over_ssh_and_carries_the_mesh():
    inv = lab.inventory(lab.load_scenario(SEED))
    hosts = inv["all"]["children"]["wgmesh_nodes"]["hosts"]
    node = hosts["node-tr"]
    # node-tr is reached as a non-root user with sudo (scenario option `user:`), the others as root.
    assert (node["ansible_host"], node["ansible_user"], node["ansible_ssh_private_key_file"]) == (
        "172.31.250.12", "admin", lab.SSH_KEY)
    assert hosts["node-ir"]["ansible_user"] == hosts["node-uae"]["ansible_user"] == "root"
    assert (node["ansible_python_interpreter"], node["wgmesh_public_address"]) == ("/usr/bin/python3", "172.31.250.12")
    assert "ansible_connection" not in node  # ssh, Ansible's default
    assert [m["name"] for m in inv["all"]["vars"]["wgmesh_meshes"]] == ["office"]
    assert len(inv["all"]["vars"]["wgmesh_secret"]) >= 32


def test_script_inventory_has_the_same_hosts_and_vars():
    inv = lab.inventory(lab.load_scenario(SEED))
    script = lab.script_inventory(inv)
    assert script["_meta"]["hostvars"] == inv["all"]["children"]["wgmesh_nodes"]["hosts"]
    assert script["wgmesh_nodes"]["hosts"] == ["node-ir", "node-tr", "node-uae"]
    assert script["all"]["vars"] == inv["all"]["vars"]


def test_backhaul_scenario_nats_only_uae():
    scen = lab.load_scenario(os.path.join(HERE, "scenarios", "backhaul.yml"))
    assert [n["name"] for n in scen["nodes"] if n["nat"]] == ["node-uae"]
    hosts = lab.inventory(scen)["all"]["children"]["wgmesh_nodes"]["hosts"]
    assert hosts["node-uae"]["wgmesh_nat"] is True and "wgmesh_nat" not in hosts["node-ir"]


def test_scenarios_that_may_run_together_do_not_share_subnets():
    # seed and default are the same lab twice; every other scenario must fit beside it.
    subnets = {}
    for path in sorted(glob.glob(os.path.join(HERE, "scenarios", "*.yml"))):
        scen = lab.load_scenario(path)
        if scen["name"] == "default":
            continue
        for net in [scen["wan_subnet"]] + [n["lan"] for n in scen["nodes"]]:
            assert net not in subnets, "%s used by %s and %s" % (net, subnets.get(net), scen["name"])
            subnets[net] = scen["name"]


def test_bad_scenario_name_is_refused(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: Bad-Name\nwan_subnet: 172.31.1.0/24\nnodes: []\n")
    with pytest.raises(lab.LabError, match="scenario name"):
        lab.load_scenario(str(bad))


def test_node_user_option(tmp_path):
    """`user:` makes a non-root login (root or absent: root); a bad user name is refused."""
    good = tmp_path / "users.yml"
    good.write_text("name: users\nwan_subnet: 172.31.1.0/24\nnodes:\n"
                    "  - {name: node-a, wan_ip: 172.31.1.11, lan: 192.168.91.0/24, user: admin}\n"
                    "  - {name: node-b, wan_ip: 172.31.1.12, lan: 192.168.92.0/24, user: root}\n"
                    "  - {name: node-c, wan_ip: 172.31.1.13, lan: 192.168.93.0/24}\n")
    users = lab.load_scenario(str(good))
    assert [n["user"] for n in users["nodes"]] == ["admin", None, None]
    hosts = lab.inventory(users)["all"]["children"]["wgmesh_nodes"]["hosts"]
    assert [hosts[n]["ansible_user"] for n in ("node-a", "node-b", "node-c")] == ["admin", "root", "root"]
    bad = tmp_path / "bad-user.yml"
    bad.write_text(good.read_text().replace("user: admin", "user: 'x; rm -rf /'"))
    with pytest.raises(lab.LabError, match="node user"):
        lab.load_scenario(str(bad))


def test_wan_mtu_option():
    """`wan_mtu:` (a PPPoE or tunnelled uplink) is set on the node's WAN after start; absent: left at 1500."""
    scen = lab.load_scenario(os.path.join(HERE, "scenarios", "mtu.yml"))
    assert [(n["name"], n["wan_mtu"]) for n in scen["nodes"]] == [("node-a", 1400), ("node-b", 1400), ("node-c", None)]
