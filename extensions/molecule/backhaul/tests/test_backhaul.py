# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backhaul transport (the test double, installed through the role's controller-binary path):
node-uae is NATed and accepts nothing inbound, so it is the client on both its links, and
WireGuard travels between the nodes only inside the Backhaul tunnels.

Test order matters: the checks of the converged mesh come first, the ones that stop and kill
Backhaul instances last (each restores what it broke and waits for the link to carry traffic).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import json
import os
import re
import subprocess
import time
import tomllib

import pytest

from labtest import lablib, node_by_name, overlay_address, ping, wait_for
from mesh_checks import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import

# docs/plan-format.md: one TOML per link, /etc/backhaul/wgmesh/<mesh>.<peer>.toml.
BACKHAUL_DIR = "/etc/backhaul/wgmesh"
# Restart and recovery bounds (docs/architecture.md, "Backhaul facts").
RECOVERY = 30
LOOPBACK_PORTS = re.compile(r"^127\.0\.0\.1:(\d+)=127\.0\.0\.1:(\d+)$")
UDP_LINE = re.compile(r" IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): UDP, length (\d+)")
# A WireGuard data packet carrying a ping is >= 128 bytes; the double's hellos are 9.
DATA_MIN = 100


def _scenario_meshes():
    return [m for m in lablib.load_scenario(os.environ["WGMESH_LAB_SCENARIO"])["meshes"]
            if m.get("transport", "backhaul") == "backhaul"]


def pytest_generate_tests(metafunc):
    """`pair`: every link (mesh name, node, node) of the scenario's backhaul meshes."""
    if "pair" in metafunc.fixturenames:
        pairs = [(m["name"], a, b) for m in _scenario_meshes() for a, b in itertools.combinations(m["nodes"], 2)]
        metafunc.parametrize("pair", pairs, ids=["%s:%s-%s" % p for p in pairs])


# One podman exec per node: owner, mode and text of every link file.
_READ_CONFIGS = (
    "import glob,json,os,pwd,grp;print(json.dumps({os.path.basename(p): {"
    "'user': pwd.getpwuid(os.stat(p).st_uid).pw_name, 'group': grp.getgrgid(os.stat(p).st_gid).gr_name,"
    "'mode': os.stat(p).st_mode & 0o7777, 'text': open(p).read()} for p in glob.glob('%s/*')}))" % BACKHAUL_DIR)


@pytest.fixture(scope="module")
def configs(lab, nodes):
    """node -> {file name: {user, group, mode, text, toml}} of /etc/backhaul/wgmesh."""
    result = {}
    for name, host in nodes.items():
        files = json.loads(host.check_output("python3 -c %s", _READ_CONFIGS))
        for entry in files.values():
            entry["toml"] = tomllib.loads(entry["text"])
        result[name] = files
    return result


def _config(configs, node, mesh_name, peer):
    entry = configs[node].get("%s.%s.toml" % (mesh_name, peer))
    assert entry, "%s: %s/%s.%s.toml missing" % (node, BACKHAUL_DIR, mesh_name, peer)
    return entry


@pytest.fixture(scope="module")
def links(lab, configs):
    """(mesh name, a, b) -> the link as the two nodes' TOMLs describe it."""
    result = {}
    for mesh in [m for m in lab["meshes"] if m.get("transport", "backhaul") == "backhaul"]:
        for a, b in itertools.combinations(mesh["nodes"], 2):
            cfg = {a: _config(configs, a, mesh["name"], b)["toml"], b: _config(configs, b, mesh["name"], a)["toml"]}
            servers = [n for n in (a, b) if "server" in cfg[n]]
            if len(servers) != 1:
                pytest.fail("link %s-%s: want one [server] side, got %s" % (a, b, servers))
            server = servers[0]
            client = b if server == a else a
            ports = cfg[server]["server"].get("ports", [])
            match = LOOPBACK_PORTS.match(ports[0]) if len(ports) == 1 else None
            if not match:
                pytest.fail("link %s-%s: server ports %r is not one 127.0.0.1:L=127.0.0.1:W" % (a, b, ports))
            result[(mesh["name"], a, b)] = {
                "mesh": mesh, "server": server, "client": client,
                "server_cfg": cfg[server]["server"], "client_cfg": cfg[client].get("client", {}),
                "server_instance": "%s.%s" % (mesh["name"], client),
                "client_instance": "%s.%s" % (mesh["name"], server),
                "bind_port": int(cfg[server]["server"]["bind_addr"].rpartition(":")[2]),
                "loopback_port": int(match.group(1)), "target_port": int(match.group(2)),
            }
    return result


def _wg(host, iface):
    """Live WireGuard state without the private key: (public key, ListenPort, {peer: endpoint})."""
    out = host.check_output("wg show %s public-key && wg show %s listen-port && wg show %s endpoints",
                            iface, iface, iface).splitlines()
    return out[0].strip(), int(out[1]), dict(line.split("\t") for line in out[2:])


def _both_ways(nodes, link, timeout=2):
    """One ping each way over the overlay; the server side first (only it can start a flow)."""
    mesh, server, client = link["mesh"], link["server"], link["client"]
    return (ping(nodes[server], overlay_address(mesh, client), timeout=timeout).rc == 0
            and ping(nodes[client], overlay_address(mesh, server), timeout=timeout).rc == 0)


def _neither_way(nodes, link):
    mesh, server, client = link["mesh"], link["server"], link["client"]
    return (ping(nodes[server], overlay_address(mesh, client), timeout=2).rc != 0
            and ping(nodes[client], overlay_address(mesh, server), timeout=2).rc != 0)


def test_nat_node_refuses_inbound(lab, nodes):
    nat = [n for n in lab["nodes"] if n["nat"]]
    assert nat, "scenario must NAT a node"
    for node in nat:
        for other in lab["nodes"]:
            if other is not node:
                assert ping(nodes[other["name"]], node["wan_ip"], timeout=1).rc != 0, other["name"]


def test_nat_node_is_the_client_on_every_link(lab, links):
    nat = {n["name"] for n in lab["nodes"] if n["nat"]}
    for key, link in links.items():
        assert link["server"] not in nat, key
        assert link["client_cfg"].get("remote_addr"), key
    for name in nat:
        assert any(name in key[1:] for key in links), "%s has no link" % name


def test_only_planned_link_files(lab, configs):
    for mesh in lab["meshes"]:
        for name in mesh["nodes"]:
            want = sorted("%s.%s.toml" % (mesh["name"], p) for p in mesh["nodes"] if p != name)
            assert sorted(configs[name]) == want, name


def test_configs_are_private_and_safe(configs, links):
    tokens = set()
    for (mesh_name, a, b), link in links.items():
        for node, peer in ((a, b), (b, a)):
            conf = _config(configs, node, mesh_name, peer)
            where = "%s:%s.%s.toml" % (node, mesh_name, peer)
            assert (conf["user"], conf["group"], conf["mode"]) == ("root", "root", 0o600), (where, conf["mode"])
            assert "musix" not in conf["text"].lower(), where
            section = conf["toml"].get("server") or conf["toml"].get("client")
            assert section["skip_optz"] is True and section["web_port"] == 0, (where, section)
            assert section["transport"] == "udp", where
        token = link["server_cfg"]["token"]
        assert token == link["client_cfg"]["token"] and len(token) >= 16, (a, b)
        tokens.add(token)
    assert len(tokens) == len(links), "tokens must be per link"


def test_client_dials_the_server_public_bind_port(lab, links):
    for key, link in links.items():
        assert link["server_cfg"]["bind_addr"] == "0.0.0.0:%d" % link["bind_port"], key
        want = "%s:%d" % (node_by_name(lab, link["server"])["wan_ip"], link["bind_port"])
        assert link["client_cfg"]["remote_addr"] == want, key


def test_server_side_endpoint_is_the_loopback_listener(nodes, links):
    """S's peer C: Endpoint 127.0.0.1:L, L the TOML's ports listener, forwarding to C's ListenPort.
    C's peer S: learned from the tunnel, so a loopback address too, never S's public address."""
    live = {}
    for key, link in links.items():
        iface = lablib.names.interface(link["mesh"]["name"])
        for name in (link["server"], link["client"]):
            if (name, iface) not in live:
                live[(name, iface)] = _wg(nodes[name], iface)
        s_key, s_port, s_endpoints = live[(link["server"], iface)]
        c_key, c_port, c_endpoints = live[(link["client"], iface)]
        assert link["target_port"] == c_port, key
        assert link["loopback_port"] not in (link["bind_port"], s_port), key
        assert s_endpoints[c_key] == "127.0.0.1:%d" % link["loopback_port"], (key, s_endpoints)
        assert c_endpoints[s_key].startswith("127.0.0.1:"), (key, c_endpoints)


def test_instances_run_after_their_wireguard_interface(nodes, links):
    """Start order (docs/architecture.md, "Backhaul facts"): a client that starts before WireGuard listens stays
    half-open, so every instance is ordered after, and bound to, its mesh's wg-quick unit."""
    units = {}
    for link in links.values():
        for side in ("server", "client"):
            units.setdefault(link[side], {})["backhaul@%s.service" % link[side + "_instance"]] = link["mesh"]["name"]
    for name, wanted in units.items():
        # One exec per node: `systemctl show` prints one blank-line separated block per unit.
        out = nodes[name].check_output("systemctl show -p Id -p ActiveState -p UnitFileState -p After -p Wants"
                                       " -p PartOf" + " %s" * len(wanted), *sorted(wanted))
        blocks = [dict(line.split("=", 1) for line in block.splitlines()) for block in out.strip().split("\n\n")]
        assert sorted(b["Id"] for b in blocks) == sorted(wanted), (name, out)
        for props in blocks:
            wg_unit = lablib.names.mesh_unit(wanted[props["Id"]])
            assert (props["ActiveState"], props["UnitFileState"]) == ("active", "enabled"), (name, props)
            for prop in ("After", "Wants", "PartOf"):
                assert wg_unit in props[prop].split(), (name, props["Id"], prop, props[prop])


class WanCapture(object):
    """tcpdump of the UDP packets on a node's WAN interface; stop() returns
    [(src, sport, dst, dport, length)]."""

    def __init__(self, container):
        self.container = container
        self.proc = self.pid = None

    def start(self):
        self.proc = subprocess.Popen(
            # tcpdump needs CAP_NET_RAW, which the node's own processes do not get.
            ["podman", "exec", "--privileged", self.container, "sh", "-c",
             "echo $$; exec tcpdump -i %s -nn -l -q udp 2>&1" % lablib.WAN_IF],
            stdout=subprocess.PIPE, universal_newlines=True)
        self.pid = int(self.proc.stdout.readline())
        seen = []
        # tcpdump says "listening on" once the capture is open: no sleep needed.
        while not seen or "listening on" not in seen[-1]:
            line = self.proc.stdout.readline()
            assert line, "tcpdump in %s ended: %s" % (self.container, seen)
            seen.append(line)
        return self

    def stop(self):
        subprocess.run(["podman", "exec", self.container, "kill", "-INT", str(self.pid)], check=True)
        out = self.proc.communicate(timeout=15)[0]
        return [(m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), int(m.group(5)))
                for m in UDP_LINE.finditer(out)]

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()


def test_no_wireguard_between_public_addresses(lab, nodes, links):
    """While every node pings every overlay address, the WAN interfaces carry no packet to or from
    a WireGuard ListenPort between the nodes' public addresses, and every link's bind port
    carries data both ways."""
    wan = {n["name"]: n["wan_ip"] for n in lab["nodes"]}
    wg_ports = {_wg(nodes[name], lablib.names.interface(mesh["name"]))[1] for mesh in lab["meshes"] for name in mesh["nodes"]}
    captures = {n["name"]: WanCapture(n["container"]) for n in lab["nodes"]}
    try:
        for capture in captures.values():
            capture.start()
        for link in links.values():
            for src, dst in ((link["server"], link["client"]), (link["client"], link["server"])):
                assert nodes[src].run("ping -n -q -c 3 -i 0.2 -W 2 %s",
                                      overlay_address(link["mesh"], dst)).rc == 0, (src, dst)
        packets = {name: capture.stop() for name, capture in captures.items()}
    finally:
        for capture in captures.values():
            capture.kill()
    public = set(wan.values())
    for name, seen in packets.items():
        leaked = [p for p in seen if p[0] in public and p[2] in public and {p[1], p[3]} & wg_ports]
        assert not leaked, "%s: WireGuard on the public addresses: %s" % (name, leaked[:5])
    for key, link in links.items():
        s_ip, c_ip, port = wan[link["server"]], wan[link["client"]], link["bind_port"]
        seen = packets[link["server"]]
        up = [p for p in seen if p[0] == c_ip and p[2] == s_ip and p[3] == port and p[4] >= DATA_MIN]
        down = [p for p in seen if p[0] == s_ip and p[1] == port and p[2] == c_ip and p[4] >= DATA_MIN]
        assert up and down, "%s: no data on bind port %d (client->server %d, server->client %d)" % (
            key, port, len(up), len(down))


def test_df_ping_of_mtu_payload_crosses_lan_to_lan(lab, lanhosts, isolated):
    """MTU - 28 bytes of ICMP payload with DF set pass LAN host to LAN host over the overlay
    (no fragmentation inside the tunnel); one byte more is refused with the overlay's MTU."""
    for mesh in isolated["meshes"]:
        a, b = (node_by_name(lab, n)["lanhost"] for n in mesh["nodes"][:2])
        src = lanhosts[a["name"]][0]
        payload = mesh["mtu"] - 28
        ok = src.run("ping -n -c 1 -W 3 -M do -s %s %s", str(payload), b["ip"])
        assert ok.rc == 0, ok.stdout + ok.stderr
        big = src.run("ping -n -c 2 -W 3 -M do -s %s %s", str(payload + 1), b["ip"])
        text = big.stdout + big.stderr
        assert big.rc != 0 and "mtu = %d" % mesh["mtu"] in text.replace("mtu=", "mtu = "), text


def test_stopping_a_link_instance_breaks_exactly_that_link(lab, nodes, links, pair):
    """Stops the NATed node's side of its links (the client) and the server side of the others."""
    link = links[pair]
    side = "client" if node_by_name(lab, link["client"])["nat"] else "server"
    host, unit = nodes[link[side]], "backhaul@%s.service" % link[side + "_instance"]
    others = [other for key, other in links.items() if key != pair]
    assert _both_ways(nodes, link), "link down before the test"
    host.check_output("systemctl stop %s", unit)
    try:
        assert _neither_way(nodes, link), "%s stopped on %s, the link still carries pings" % (unit, link[side])
        for other in others:
            assert _both_ways(nodes, other), "%s-%s broke with %s" % (other["server"], other["client"], unit)
    finally:
        host.check_output("systemctl start %s", unit)
    wait_for("%s-%s to carry pings again" % (link["server"], link["client"]),
             lambda: _both_ways(nodes, link, timeout=1), timeout=RECOVERY)


def _main_pid(host, unit):
    return int(host.check_output("systemctl show -p MainPID --value %s", unit))


@pytest.mark.parametrize("side", ["server", "client"])
def test_killed_backhaul_is_restarted_and_traffic_resumes(lab, nodes, links, side):
    # The NATed node's link: its client side is the one that sits behind NAT.
    nat = [n["name"] for n in lab["nodes"] if n["nat"]]
    link = next(lk for lk in links.values() if lk["client"] in nat)
    host, unit = nodes[link[side]], "backhaul@%s.service" % link[side + "_instance"]
    assert _both_ways(nodes, link), "link down before the test"
    old = _main_pid(host, unit)
    assert old > 0, unit
    start = time.monotonic()
    host.check_output("kill -9 %s", str(old))
    wait_for("systemd to restart %s" % unit,
             lambda: _main_pid(host, unit) not in (0, old) and host.service(unit).is_running, timeout=RECOVERY)
    wait_for("%s-%s to carry pings again" % (link["server"], link["client"]),
             lambda: _both_ways(nodes, link, timeout=1), timeout=max(1, RECOVERY - (time.monotonic() - start)))
