# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node reached as a non-root user with passwordless sudo (scenario option `user:`): the
playbooks become root there, and the mesh works through it (issue #13)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import subprocess
import sys

from labtest import INVENTORY, REPO, lablib, overlay_address, ping


def _non_root(lab):
    users = [(n["name"], n["user"]) for n in lab["nodes"] if n.get("user")]
    assert users, "the scenario has no node with a non-root user"
    return users


def test_inventory_logs_in_as_the_user(lab):
    hosts = lablib.inventory(lab)["all"]["children"]["wgmesh_nodes"]["hosts"]
    for name, user in _non_root(lab):
        assert hosts[name]["ansible_user"] == user
    for node in lab["nodes"]:
        if not node.get("user"):
            assert hosts[node["name"]]["ansible_user"] == "root"


def test_ansible_reaches_the_node_as_the_user_and_becomes_root(lab):
    """`ansible` with the scenario's inventory: the login is the user, become gives root."""
    exe = os.path.join(os.path.dirname(sys.executable), "ansible")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "tests", "lab", "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    inventory = INVENTORY
    for name, user in _non_root(lab):
        for become, expected in ((False, user), (True, "root")):
            cmd = [exe, "-i", inventory, name, "-o", "-m", "ansible.builtin.command", "-a", "id -un"]
            if become:
                cmd.append("--become")
            proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, check=False)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
            # -o: "NAME | CHANGED | rc=0 | (stdout) USER"
            assert proc.stdout.strip().endswith("(stdout) %s" % expected), (name, become, proc.stdout)


def test_user_has_no_root_and_the_mesh_is_up_through_it(lab, nodes):
    for name, user in _non_root(lab):
        host = nodes[name]
        assert host.run("id -u %s" % user).stdout.strip() not in ("", "0")
        assert host.file("/etc/sudoers.d/90-wgmesh-lab-%s" % user).exists
        for mesh in lab["meshes"]:
            if name not in mesh["nodes"]:
                continue
            assert host.run("ip link show %s" % lablib.names.interface(mesh["name"])).rc == 0
            for peer in mesh["nodes"]:
                if peer != name:
                    assert ping(host, overlay_address(mesh, peer)).rc == 0, (name, peer)
                    assert ping(nodes[peer], overlay_address(mesh, name)).rc == 0, (peer, name)
