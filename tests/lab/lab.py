# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container lab: podman networks and containers for one scenario description.

One source of truth for `make lab` and the Molecule scenarios' create/destroy.

    lab.py up SCENARIO.yml        networks, nodes, LAN hosts, NAT rules, host isolation, inventory
    lab.py down SCENARIO.yml      remove exactly what `up` made (by name, checked by label)
    lab.py isolate on|off SCENARIO.yml
    lab.py inventory SCENARIO.yml [--list | --host H]   (Ansible script-inventory protocol)
    lab.py check SCENARIO.yml     the seed checks (after site.yml)

Every resource is named wgmesh-<lab>-... and labelled org.smite.wgmesh.lab=<lab>.
State for tests is written to build/lab/<lab>/lab.json, the inventory to
build/lab/<lab>/inventory.yml.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
import time

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# smite.wgmesh itself (`make venv` links build/collections to this checkout): the lab and the
# tests take names and addresses from the collection's rules, never from a copy of them.
sys.path.insert(0, os.path.join(REPO, "build", "collections"))
from ansible_collections.smite.wgmesh.plugins.module_utils import names  # noqa: E402
from ansible_collections.smite.wgmesh.plugins.plugin_utils.planner import plan_meshes  # noqa: E402
IMAGE = os.environ.get("WGMESH_IMAGE", "localhost/wgmesh-node:bookworm")
CACHE = os.environ.get("WGMESH_LAB_CACHE", "/var/cache/wgmesh-lab")
LABEL = "org.smite.wgmesh.lab"
SSH_KEY = os.path.join(CACHE, "ssh", "id_ed25519")
# Addresses that must never be routed by the host between lab bridges:
# LANs and overlays only cross the lab through the mesh.
ISOLATED_NETS = ("192.168.0.0/16", "10.250.0.0/16", "10.251.0.0/16")
WAN_IF = "wan0"
LAN_IF = "lan0"
# Lab-only secret; real deployments vault their own.
LAB_SECRET = "wgmesh-lab-only-secret-0123456789abcdef"


class LabError(Exception):
    pass


def _lab_user(user):
    if user is None or user == "root":
        return None
    if not isinstance(user, str) or not re.match(r"^[a-z_][a-z0-9_-]{0,30}$", user):
        raise LabError("node user %r: use a Linux user name ([a-z_][a-z0-9_-]*)" % (user,))
    return user


def add_sudo_user(container, user):
    """A login user with passwordless sudo and the lab's SSH key (idempotent)."""
    script = (
        'id -u "$1" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$1"\n'
        'install -d -m 0700 -o "$1" -g "$1" "/home/$1/.ssh"\n'
        'install -m 0600 -o "$1" -g "$1" /root/.ssh/authorized_keys "/home/$1/.ssh/authorized_keys"\n'
        'printf "%s ALL=(ALL) NOPASSWD: ALL\\n" "$1" > "/etc/sudoers.d/90-wgmesh-lab-$1"\n'
        'chmod 0440 "/etc/sudoers.d/90-wgmesh-lab-$1"\n'
        'visudo -cf "/etc/sudoers.d/90-wgmesh-lab-$1" >/dev/null\n')
    podman("exec", container, "sh", "-ec", script, "sh", user)


def load_scenario(path):
    """Read a scenario file and derive every name and address from it."""
    with open(path) as f:
        data = yaml.safe_load(f)
    name = data["name"]
    if not re.match(r"^[a-z0-9_]{1,12}$", name):
        raise LabError("scenario name %r: use 1-12 of [a-z0-9_]" % name)
    wan = ipaddress.ip_network(data["wan_subnet"])
    nodes = []
    for node in data["nodes"]:
        lan = ipaddress.ip_network(node["lan"])
        short = node["name"].split("-", 1)[-1]
        nodes.append({
            "name": node["name"],
            "container": "wgmesh-%s-%s" % (name, node["name"]),
            "wan_ip": str(ipaddress.ip_address(node["wan_ip"])),
            "lan": str(lan),
            "lan_ip": str(lan.network_address + 1),
            "lan_gateway": str(lan.network_address + 254),
            "lan_network": "wgmesh-%s-lan-%s" % (name, short),
            "nat": bool(node.get("nat", False)),
            # Optional MTU of the node's WAN interface (a PPPoE or tunnelled uplink): set after start.
            "wan_mtu": int(node["wan_mtu"]) if node.get("wan_mtu") else None,
            # Optional non-root login with passwordless sudo (playbooks use become).
            "user": _lab_user(node.get("user")),
            "lanhost": None if node.get("lanhost", True) is False else {
                "name": "lanhost-%s" % short,
                "container": "wgmesh-%s-lanhost-%s" % (name, short),
                "ip": str(lan.network_address + 10),
            },
        })
    meshes = []
    for mesh in data.get("meshes", []):
        mesh = dict(mesh)
        mesh.setdefault("lan_subnets", {n["name"]: n["lan"] for n in nodes if n["name"] in mesh["nodes"]})
        meshes.append(mesh)
    return {
        "name": name,
        "wan_subnet": str(wan),
        "wan_gateway": str(wan.network_address + 1),
        "wan_network": "wgmesh-%s-wan" % name,
        "nodes": nodes,
        "meshes": meshes,
        "vars": data.get("vars", {}),
        "nft_table": "wgmesh_lab_%s" % name,
        "dir": os.path.join(REPO, "build", "lab", name),
    }


def podman(*args, check=True, capture=True):
    proc = subprocess.run(("podman",) + args, stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise LabError("podman %s: %s" % (" ".join(args), (proc.stderr or "").strip()))
    return proc


def label_of(kind, name):
    """The lab label of an existing container/network, None if it does not exist."""
    field = ".Config.Labels" if kind == "container" else ".Labels"
    proc = podman(kind, "inspect", "--format", "{{ json %s }}" % field, name, check=False)
    if proc.returncode != 0:
        return None
    return (json.loads(proc.stdout.strip() or "{}") or {}).get(LABEL, "")


def ensure_network(lab, name, subnet, gateway, internal):
    have = label_of("network", name)
    if have == lab["name"]:
        return
    if have is not None:
        raise LabError("network %s exists and is not ours (label %r)" % (name, have))
    args = ["network", "create", "--label", "%s=%s" % (LABEL, lab["name"]), "--disable-dns",
            "--subnet", subnet, "--gateway", gateway]
    if internal:
        # No masquerade, no default route: the node is the LAN's only way out.
        args.append("--internal")
    proc = podman(*(args + [name]), check=False)
    if proc.returncode != 0:
        raise LabError("creating network %s (%s) failed: %s\nIs another lab using this subnet? "
                       "`podman network ls --filter label=%s`" % (name, subnet, proc.stderr.strip(), LABEL))


def run_container(lab, name, hostname, networks, extra, command=()):
    have = label_of("container", name)
    if have == lab["name"]:
        state = podman("container", "inspect", "--format", "{{ .State.Running }}", name).stdout.strip()
        if state == "true":
            return
        podman("rm", "-f", "-t", "0", name)
    elif have is not None:
        raise LabError("container %s exists and is not ours (label %r)" % (name, have))
    args = ["run", "-d", "--name", name, "--hostname", hostname,
            "--label", "%s=%s" % (LABEL, lab["name"]), "--cap-add", "NET_ADMIN"]
    for net, ip, ifname in networks:
        # A fixed MAC (from the address): after `podman restart` the LAN hosts' ARP caches
        # still point at the node, instead of going stale for ~20 s.
        mac = "02:57:" + ":".join("%02x" % int(octet) for octet in ip.split("."))
        args += ["--network", "%s:ip=%s,mac=%s,interface_name=%s" % (net, ip, mac, ifname)]
    podman(*(args + list(extra) + [IMAGE] + list(command)))


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise LabError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.5)


def ensure_ssh_key():
    """The lab's SSH key pair (made once, kept in the cache): Ansible's way into the nodes."""
    key = SSH_KEY
    if not os.path.exists(key):
        os.makedirs(os.path.dirname(key), mode=0o700, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wgmesh-lab", "-f", key],
                       check=True, stdout=subprocess.DEVNULL)
    return key


def systemd_up(container):
    proc = podman("exec", container, "systemctl", "is-system-running", check=False)
    return proc.stdout.strip() in ("running", "degraded")


def nat_rules(manager):
    """A NATed node: no inbound reachability on its WAN, replies to its own flows only.

    One exception: SSH from the host (`manager`, its address on the WAN bridge), which is
    how Ansible reaches the node; the mesh's traffic never comes from there.
    """
    return (
        "add table inet wgmesh_lab_nat\n"
        "delete table inet wgmesh_lab_nat\n"
        "table inet wgmesh_lab_nat {\n"
        "  chain input {\n"
        "    type filter hook input priority -10; policy accept;\n"
        "    iifname \"%(wan)s\" ct state established,related accept\n"
        "    iifname \"%(wan)s\" ip saddr %(manager)s tcp dport 22 accept\n"
        "    iifname \"%(wan)s\" drop\n"
        "  }\n"
        "  chain forward {\n"
        "    type filter hook forward priority -10; policy accept;\n"
        "    iifname \"%(wan)s\" ct state established,related accept\n"
        "    iifname \"%(wan)s\" drop\n"
        "  }\n"
        "}\n" % {"wan": WAN_IF, "manager": manager}
    )


def install_nat(lab, node):
    # Kept in /etc/nftables.conf and loaded by nftables.service so it survives a container restart.
    proc = subprocess.run(["podman", "exec", "-i", node["container"], "sh", "-c",
                           "cat > /etc/nftables.conf && nft -f /etc/nftables.conf"
                           " && systemctl enable -q nftables"],
                          input=nat_rules(lab["wan_gateway"]), universal_newlines=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise LabError("NAT rules on %s: %s" % (node["name"], proc.stderr.strip()))


def bridges(lab):
    names = [lab["wan_network"]] + [n["lan_network"] for n in lab["nodes"]]
    result = []
    for net in names:
        proc = podman("network", "inspect", "--format", "{{ .NetworkInterface }}", net, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            result.append(proc.stdout.strip())
    return result


def nft(script):
    proc = subprocess.run(["nft", "-f", "-"], input=script, universal_newlines=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise LabError("nft: %s" % proc.stderr.strip())


def isolate(lab, on):
    """Host table dropping LAN/overlay addresses routed between two different lab bridges.

    Only routed packets are matched (input and output bridge differ), so traffic inside
    one LAN (bridged, br_netfilter) is untouched.
    """
    table = lab["nft_table"]
    script = "add table inet %s\ndelete table inet %s\n" % (table, table)
    if on:
        brs = bridges(lab)
        pairs = ", ".join('"%s" . "%s"' % (a, b) for a in brs for b in brs if a != b)
        nets = ", ".join(ISOLATED_NETS)
        script += (
            "table inet %(t)s {\n"
            "  chain forward {\n"
            "    type filter hook forward priority -10; policy accept;\n"
            "    iifname . oifname { %(p)s } ip saddr { %(n)s } counter drop\n"
            "    iifname . oifname { %(p)s } ip daddr { %(n)s } counter drop\n"
            "  }\n"
            "}\n" % {"t": table, "p": pairs, "n": nets})
    nft(script)


def inventory(lab):
    hosts = {}
    for node in lab["nodes"]:
        # Over SSH with pipelining, as Ansible reaches real VPS (podman exec costs several
        # round trips per task).
        hv = {
            "ansible_host": node["wan_ip"],
            "ansible_user": node["user"] or "root",
            "ansible_ssh_private_key_file": SSH_KEY,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            "ansible_python_interpreter": "/usr/bin/python3",
            "wgmesh_public_address": node["wan_ip"],
        }
        if node["nat"]:
            hv["wgmesh_nat"] = True
        hosts[node["name"]] = hv
    group_vars = {
        "wgmesh_meshes": lab["meshes"],
        "wgmesh_secret": LAB_SECRET,
        # The test double; WGMESH_BACKHAUL_BIN names a real Backhaul binary for checks by hand.
        "backhaul_binary_src": os.environ.get("WGMESH_BACKHAUL_BIN")
        or os.path.join(REPO, "tests", "backhaul_double", "backhaul-double"),
    }
    group_vars.update(lab["vars"])
    return {"all": {"children": {"wgmesh_nodes": {"hosts": hosts}}, "vars": group_vars}}


def mesh_plan(lab, meshes=None):
    """The planner's plan of the lab's meshes (or of `meshes`, e.g. a changed mesh): {mesh name: mesh plan}."""
    inventory = {n["name"]: {"public_address": n["wan_ip"], "nat": n["nat"]} for n in lab["nodes"]}
    return plan_meshes(lab["meshes"] if meshes is None else meshes, inventory, LAB_SECRET)["meshes"]


def script_inventory(inv):
    """The same inventory in Ansible's script-inventory JSON shape."""
    hosts = inv["all"]["children"]["wgmesh_nodes"]["hosts"]
    return {
        "all": {"children": ["wgmesh_nodes"], "vars": inv["all"]["vars"]},
        "wgmesh_nodes": {"hosts": sorted(hosts)},
        "_meta": {"hostvars": hosts},
    }


def write_outputs(lab):
    os.makedirs(lab["dir"], exist_ok=True)
    with open(os.path.join(lab["dir"], "inventory.yml"), "w") as f:
        f.write("# Written by tests/lab/lab.py for lab %s; do not edit.\n" % lab["name"])
        yaml.safe_dump(inventory(lab), f, default_flow_style=False, sort_keys=False)
    state = {k: lab[k] for k in ("name", "wan_subnet", "wan_gateway", "wan_network", "nodes", "meshes")}
    with open(os.path.join(lab["dir"], "lab.json"), "w") as f:
        json.dump(state, f, indent=2)


def up(lab):
    missing = podman("image", "exists", IMAGE, check=False).returncode != 0
    if missing:
        raise LabError("image %s missing: run `make image`" % IMAGE)
    ensure_network(lab, lab["wan_network"], lab["wan_subnet"], lab["wan_gateway"], internal=False)
    for node in lab["nodes"]:
        ensure_network(lab, node["lan_network"], node["lan"], node["lan_gateway"], internal=True)
    for node in lab["nodes"]:
        # Per-lab, per-node apt archive: reused across runs; never shared by two containers
        # that may run at once (labs run side by side), because apt's archives lock does not wait.
        apt_cache = os.path.join(CACHE, "apt", lab["name"], node["name"])
        os.makedirs(os.path.join(apt_cache, "partial"), exist_ok=True)
        run_container(
            lab, node["container"], node["name"],
            [(lab["wan_network"], node["wan_ip"], WAN_IF), (node["lan_network"], node["lan_ip"], LAN_IF)],
            # ip_forward=1 at creation, as LXC/VPS providers set it; nothing else is preset:
            # /proc/sys is read-only inside, as on many container VPS, and the roles must cope.
            ["--systemd=always", "--device", "/dev/net/tun",
             "--sysctl", "net.ipv4.ip_forward=1",
             "-v", "%s:/var/cache/apt/archives" % apt_cache,
             "-v", "%s.pub:/root/.ssh/authorized_keys:ro" % ensure_ssh_key()])
        host = node["lanhost"]
        if host:
            run_container(lab, host["container"], host["name"],
                          [(node["lan_network"], host["ip"], LAN_IF)],
                          ["--init"], ["sleep", "infinity"])
            podman("exec", host["container"], "ip", "route", "replace", "default", "via", node["lan_ip"])
    for node in lab["nodes"]:
        wait_for("systemd in %s" % node["container"], lambda c=node["container"]: systemd_up(c))
        if node["user"]:
            add_sudo_user(node["container"], node["user"])
        if node["nat"]:
            install_nat(lab, node)
        if node["wan_mtu"]:
            podman("exec", node["container"], "ip", "link", "set", "dev", WAN_IF, "mtu", str(node["wan_mtu"]))
    isolate(lab, True)
    write_outputs(lab)
    print("lab %s up: %s" % (lab["name"], ", ".join(
        [n["container"] for n in lab["nodes"]] + [n["lanhost"]["container"] for n in lab["nodes"] if n["lanhost"]])))
    print("inventory: %s" % os.path.relpath(os.path.join(lab["dir"], "inventory.yml"), os.getcwd()))


def down(lab):
    isolate(lab, False)
    names = []
    for node in lab["nodes"]:
        names.append(node["container"])
        if node["lanhost"]:
            names.append(node["lanhost"]["container"])
    ours = [n for n in names if label_of("container", n) == lab["name"]]
    if ours:
        podman("rm", "-f", "-t", "0", *ours)
    for net in [n["lan_network"] for n in lab["nodes"]] + [lab["wan_network"]]:
        if label_of("network", net) == lab["name"]:
            podman("network", "rm", net)
    print("lab %s down" % lab["name"])


def sh(container, cmd):
    proc = podman("exec", container, "sh", "-c", cmd, check=False, capture=True)
    print("[%s] $ %s\n%s" % (container, cmd, (proc.stdout + proc.stderr).rstrip()))
    return proc.returncode == 0


def check(lab):
    """The seed's acceptance checks, run against the lab after site.yml."""
    ok = True
    first = lab["nodes"][0]
    plan = mesh_plan(lab)
    for mesh in lab["meshes"]:
        iface = names.interface(mesh["name"])
        members = [n for n in lab["nodes"] if n["name"] in mesh["nodes"]]
        for node in members:
            ok &= sh(node["container"], "ip -br link show %s | grep -qw UP && ip -br addr show %s" % (iface, iface))
        # The seed's step 4 (ping 10.250.0.2 from the first node), then every other pair:
        # a fresh link answers once its first handshake is through, so wait for one reply
        # (15 s at most).
        address = {name: node["address"] for name, node in plan[mesh["name"]]["nodes"].items()}
        for node in members:
            for other in members:
                if other is not node:
                    ok &= sh(node["container"], "ping -c1 -w15 %s" % address[other["name"]])
        lanhosts = [n for n in members if n["lanhost"]]
        if len(lanhosts) >= 2:
            ok &= sh(lanhosts[0]["lanhost"]["container"], "ping -c1 -w15 %s" % lanhosts[1]["lanhost"]["ip"])
        for node in members:
            ok &= sh(node["container"], "wg show %s latest-handshakes | awk '$2 == 0 {bad=1} END {exit bad}'"
                     " && wg show %s latest-handshakes" % (iface, iface))
    print("seed checks: %s" % ("passed" if ok else "FAILED"))
    if not ok:
        raise LabError("seed checks failed on lab %s (first node %s)" % (lab["name"], first["name"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "isolate", "inventory", "check"])
    parser.add_argument("args", nargs="+", help="[on|off] SCENARIO.yml")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--host")
    opts = parser.parse_args(argv)
    try:
        if opts.action == "isolate":
            if len(opts.args) != 2 or opts.args[0] not in ("on", "off"):
                parser.error("usage: isolate on|off SCENARIO.yml")
            isolate(load_scenario(opts.args[1]), opts.args[0] == "on")
            return 0
        lab = load_scenario(opts.args[0])
        if opts.action == "inventory":
            inv = inventory(lab)
            if opts.host:
                print(json.dumps(inv["all"]["children"]["wgmesh_nodes"]["hosts"].get(opts.host, {})))
            else:
                print(json.dumps(script_inventory(inv), indent=2))
            return 0
        {"up": up, "down": down, "check": check}[opts.action](lab)
    except LabError as exc:
        print("lab: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
