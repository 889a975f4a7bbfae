# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest fixtures and helpers for the Molecule verify steps (testinfra, podman backend).

Loaded as a pytest plugin (`-p labtest`, set in extensions/molecule/config.yml) by every scenario's
verify step, so its fixtures need no conftest.py. The lab is described by $WGMESH_LAB_SCENARIO
(also set there) and read through tests/lab/lab.py, the same code that created the containers.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import functools
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import testinfra

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# The scenario's inventory, as Molecule uses it (shared/inventory.sh).
INVENTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inventory.sh")
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import lab as lablib  # noqa: E402  pylint: disable=wrong-import-position

names = lablib.names  # the collection's naming rules (interface, unit and link names)

# docs/plan-format.md: where wg_keypair keeps <mesh>.key / <mesh>.pub on a node.
KEY_DIR = "/etc/wireguard/wgmesh"
CONFIG_DIR = "/etc/wireguard"
# Bounded polling (raises lab.LabError on timeout): one copy, shared with the lab tool.
wait_for = lablib.wait_for


@pytest.fixture(scope="session")
def lab():
    """The scenario as tests/lab/lab.py derives it: nodes, containers, addresses, meshes."""
    path = os.environ.get("WGMESH_LAB_SCENARIO")
    if not path:
        pytest.fail("WGMESH_LAB_SCENARIO is not set (run through molecule, or export it)")
    return lablib.load_scenario(path)


@pytest.fixture(scope="session")
def nodes(lab):
    """Inventory name -> testinfra host for every mesh node container."""
    return {n["name"]: testinfra.get_host("podman://" + n["container"]) for n in lab["nodes"]}


@pytest.fixture(scope="session")
def lanhosts(lab):
    """LAN host name -> (testinfra host, LAN address, node it hangs off)."""
    return {n["lanhost"]["name"]: (testinfra.get_host("podman://" + n["lanhost"]["container"]),
                                   n["lanhost"]["ip"], n["name"])
            for n in lab["nodes"] if n["lanhost"]}


@pytest.fixture(scope="session")
def isolated(lab):
    """The host's isolation rule is on: LAN and overlay addresses cannot be routed by the host
    between lab bridges, so a packet that arrives crossed the overlay."""
    lablib.isolate(lab, True)
    isolation_drops(lab)
    return lab


def isolation_drops(lab):
    """Packets the host's isolation rules have dropped so far (asserts the two rules exist)."""
    table = subprocess.run(["nft", "list", "table", "inet", lab["nft_table"]], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, check=False).stdout
    counters = re.findall(r"counter packets (\d+) bytes \d+ drop", table)
    assert len(counters) == 2, table
    return sum(int(c) for c in counters)


def node_by_name(lab, name):
    return next(n for n in lab["nodes"] if n["name"] == name)


@functools.lru_cache(maxsize=None)
def _planned(mesh_json):
    scenario = lablib.load_scenario(os.environ["WGMESH_LAB_SCENARIO"])
    mesh = json.loads(mesh_json)
    return lablib.mesh_plan(scenario, [mesh])[mesh["name"]]


def mesh_plan(mesh):
    """The planner's plan of one mesh of the lab (as given: a test may change it)."""
    return _planned(json.dumps(mesh, sort_keys=True))


def overlay_address(mesh, node):
    """The overlay address the planner gives `node` in `mesh`."""
    return mesh_plan(mesh)["nodes"][node]["address"]


def overlay_cidr(mesh, node):
    """The node's planned interface address with the overlay's prefix length (wg-quick Address=)."""
    return mesh_plan(mesh)["nodes"][node]["address_cidr"]


def planned_peers(mesh, node):
    """Nodes `node` has as WireGuard peers in the plan."""
    return [peer["node"] for peer in mesh_plan(mesh)["nodes"][node]["peers"]]


def remote_lans(mesh, node):
    """LANs `node` must route over the mesh, as planned."""
    return sorted(mesh_plan(mesh)["nodes"][node]["routes"])


def ping(host, address, count=1, timeout=3):
    return host.run("ping -n -c %s -W %s %s", str(count), str(timeout), address)


def wait_ping(host, address, timeout=30):
    """Wait until one ping to `address` is answered (a fresh link needs a handshake first)."""
    wait_for("ping %s" % address, lambda: ping(host, address, timeout=1).rc == 0, timeout=timeout)


def link(host, iface):
    """{index, flags, mtu} of an interface, None when it does not exist."""
    out = host.run("ip -o link show dev %s", iface)
    if out.rc != 0:
        return None
    match = re.match(r"^(\d+): \S+: <([^>]*)> mtu (\d+) ", out.stdout)
    assert match, out.stdout
    return {"index": int(match.group(1)), "flags": match.group(2).split(","), "mtu": int(match.group(3))}


def ipv4_addresses(host, iface):
    out = host.check_output("ip -o -4 addr show dev %s", iface)
    return sorted(line.split()[3] for line in out.splitlines())


def routes_via(host, iface):
    """Destinations of the IPv4 routes (main table) that leave through `iface`."""
    out = host.run("ip -4 route show dev %s", iface)
    return sorted(line.split()[0] for line in out.stdout.splitlines()) if out.rc == 0 else []


def peers(host, iface):
    out = host.run("wg show %s peers", iface)
    return sorted(out.stdout.split()) if out.rc == 0 else []


def public_key(host, mesh_name):
    return host.file("%s/%s.pub" % (KEY_DIR, mesh_name)).content_string.strip()


def private_key(host, mesh_name):
    return host.file("%s/%s.key" % (KEY_DIR, mesh_name)).content_string.strip()


def key_forms(key):
    """Ways a private key could show up in a log: as is, base64 of the file (slurp), hex."""
    raw = base64.b64decode(key)
    return [key, base64.b64encode((key + "\n").encode()).decode(), base64.b64encode(key.encode()).decode(),
            raw.hex()]


def observed_source(receiver, sender, dst_ip, port=50999):
    """Send one UDP datagram from container `sender` to dst_ip and return the source address
    the process in container `receiver` saw. The receiver reports 'ready' once bound, so no
    sleep is needed before sending."""
    recv_code = ("import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                 "s.bind(('0.0.0.0',%d));s.settimeout(10);print('ready',flush=True);"
                 "d,a=s.recvfrom(64);print(a[0],flush=True)" % port)
    send_code = ("import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                 "s.sendto(b'wgmesh',('%s',%d))" % (dst_ip, port))
    proc = subprocess.Popen(["podman", "exec", receiver, "python3", "-c", recv_code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        subprocess.run(["podman", "exec", sender, "python3", "-c", send_code], check=True)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return out.strip()


def run_playbook(playbook, *args, extra_vars=None, tmp_path=None):
    """Run a playbook of this collection against the scenario's inventory, as a user would.

    extra_vars (a dict) is passed as `-e @file` (written under tmp_path). Returns the
    CompletedProcess with stdout and stderr merged into stdout."""
    bindir = os.path.dirname(sys.executable)
    exe = os.path.join(bindir, "ansible-playbook")
    if not os.path.exists(exe):
        exe = shutil.which("ansible-playbook")
    cmd = [exe, "-i", INVENTORY,
           os.path.join(REPO, "playbooks", playbook)] + list(args)
    if extra_vars is not None:
        path = os.path.join(str(tmp_path), "extra-vars.json")
        with open(path, "w") as f:
            json.dump(extra_vars, f)
        cmd += ["-e", "@" + path]
    env = dict(os.environ,
               ANSIBLE_CONFIG=os.path.join(REPO, "tests", "lab", "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)


def recap(output):
    """PLAY RECAP counters per host: {host: {'ok': n, 'changed': n, 'unreachable': n, 'failed': n}}."""
    stats = {}
    for m in re.finditer(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M):
        stats[m.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()[1:])))
    return stats


def assert_run_ok(proc, hosts):
    """The playbook ran to the end on every host in `hosts` without a failure."""
    stats = recap(proc.stdout)
    tail = proc.stdout[-4000:]
    assert proc.returncode == 0, tail
    for host in hosts:
        assert host in stats and stats[host]["failed"] == 0 and stats[host]["unreachable"] == 0, (host, stats, tail)
    return stats


def mesh_by_name(lab, name):
    return next(m for m in lab["meshes"] if m["name"] == name)


def record_figures(lab, **figures):
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


def operations_file(*parts):
    """A file the scenario's side_effect runs wrote under $WGMESH_OPERATIONS_DIR (its molecule.yml
    sets it; its prepare step empties the directory, so what is there is from this run)."""
    top = os.environ.get("WGMESH_OPERATIONS_DIR")
    if not top:
        pytest.fail("WGMESH_OPERATIONS_DIR is not set (run through molecule)")
    path = os.path.join(top, *parts)
    assert os.path.exists(path), "%s: not written by the side_effect runs" % path
    return path


def recorded_runs(playbook):
    """The runs of `playbook` (a side_effect playbook, relative to the scenario directory), oldest
    first, as shared/callback_plugins/run_record.py recorded them in operations/runs.jsonl:
    [{'playbook', 'started', 'ended', 'stats': {host: {'ok', 'changed', 'unreachable', 'failures', ...}}}]."""
    want = os.path.realpath(os.path.join(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.getcwd()), playbook))
    with open(operations_file("runs.jsonl")) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return [run for run in runs if os.path.realpath(run["playbook"]) == want]


def assert_recorded_run_ok(run, hosts):
    """A recorded run went to the end on every host in `hosts` without a failure."""
    stats = run["stats"]
    for host in hosts:
        assert host in stats and stats[host]["failures"] == 0 and stats[host]["unreachable"] == 0, (host, stats)
    return stats


def ping_counts(output):
    """(transmitted, received) from the summary of a ping's output."""
    match = re.search(r"(\d+) packets transmitted, (\d+) received", output)
    assert match, output[-2000:]
    return int(match.group(1)), int(match.group(2))


class BackgroundPing(object):
    """`ping -i INTERVAL` (default 0.2 s) running inside a container while something else happens;
    stop() returns (transmitted, received). The ping gives up by itself after `deadline` seconds."""

    LOG = "/run/wgmesh-bgping.log"
    PID = "/run/wgmesh-bgping.pid"

    def __init__(self, container, address, deadline=900, interval=0.2):
        self.container = container
        self.address = address
        self.deadline = deadline
        self.interval = interval

    def _sh(self, cmd):
        return subprocess.run(["podman", "exec", self.container, "sh", "-c", cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, check=False)

    def start(self):
        proc = subprocess.run(
            ["podman", "exec", "-d", self.container, "sh", "-c",
             "echo $$ > %s; exec ping -n -i %s -w %d %s > %s 2>&1"
             % (self.PID, self.interval, self.deadline, self.address, self.LOG)],
            check=True)
        # Replies flowing before the change: a loss afterwards is the change's doing.
        wait_for("replies of the background ping", lambda: "bytes from" in self._sh("cat %s" % self.LOG).stdout,
                 timeout=30)
        return proc

    def stop(self):
        self._sh("kill -INT $(cat %s)" % self.PID)
        wait_for("the background ping's summary",
                 lambda: "packets transmitted" in self._sh("cat %s" % self.LOG).stdout, timeout=10)
        return ping_counts(self._sh("cat %s" % self.LOG).stdout)
