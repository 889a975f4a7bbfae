# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mtu: auto and TCP MSS clamping (issue #10), in order:

1. measured: node-a's and node-b's WAN links are at MTU 1400, node-c's at 1500 (the scenario):
   converge (molecule) chose 1340 everywhere, the clamp is in place, a DF ping LAN host to LAN
   host with a 1312-byte payload crosses and 1313 does not; plan.yml shows `auto`, status.yml
   the chosen MTU and each link's path MTU (text and JSON).
2. clamped: with ICMP dropped on the LAN hosts, a 20 MB TCP transfer LAN to LAN (LAN MTU 1500)
   completes; with wireguard_mss_clamp=false (check mode first: nothing changes) the same
   transfer stalls (bounded wait), proving the clamp is what makes it work; the clamp then comes back.
3. blocked: every node drops ICMP echo requests on its WAN: site.yml warns, does not fail, and
   the mesh falls back to 1280; unblocked, the next run measures 1340 again and a rerun changes
   nothing.
4. removed: remove.yml takes the last mesh away, and the collection's nftables table with it.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import subprocess

import pytest

from labtest import assert_run_ok, link, node_by_name, recap, run_playbook, wait_ping

MESH = "pmtu"
IFACE = "wg-%s" % MESH
MESH_MTU = 1340  # 1400 (the smallest WAN of every link) - 60 (WireGuard over IPv4)
PATH_MTU = 1400
SIZE = 20 * 1024 * 1024
PORT = 5311
TEST_TABLE = "wgmesh_mtu_test"  # the tests' own nftables table, in the containers they use


def _container_nft(container, script):
    proc = subprocess.run(["podman", "exec", "-i", container, "nft", "-f", "-"], input=script,
                          universal_newlines=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, (container, proc.stdout)


def _drop_in(container, rule):
    """Our own table in `container` with an input rule dropping what `rule` matches."""
    _container_nft(container, "add table inet %(t)s\ndelete table inet %(t)s\ntable inet %(t)s {\n"
                              "  chain input {\n    type filter hook input priority -5; policy accept;\n"
                              "    %(r)s counter drop\n  }\n}\n" % {"t": TEST_TABLE, "r": rule})


def _drops(container):
    out = subprocess.run(["podman", "exec", container, "nft", "list", "table", "inet", TEST_TABLE],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    return int(out.split("counter packets ")[1].split()[0])


def _undrop(container):
    _container_nft(container, "add table inet %(t)s\ndelete table inet %(t)s\n" % {"t": TEST_TABLE})


def _dropping(containers, rule):
    """Fixture body: `rule` dropped on input in every container while the tests that use it run."""
    for container in containers:
        _drop_in(container, rule)
    yield containers
    for container in containers:
        _undrop(container)


def _interface_mtus(nodes):
    return dict((name, (link(host, IFACE) or {}).get("mtu")) for name, host in nodes.items())


def _df_ping(host, address, payload):
    return host.run("ping -n -c 1 -W 3 -M do -s %s %s", str(payload), address)


def _transfer(src, dst, size=SIZE, bound=60):
    """Send `size` bytes over TCP from LAN host container `src` to LAN host `dst` (container,
    address), neither of which learnt the path MTU towards the other; returns the bytes `dst` received when the sender closed, or when `bound` seconds
    passed first (the receiver's own alarm: a bounded wait, not a sleep)."""
    recv_code = (
        "import signal,socket,sys\n"
        "n=0\n"
        "def stop(*_):\n print(n,flush=True);sys.exit(0)\n"
        "signal.signal(signal.SIGALRM,stop);signal.alarm(%d)\n"
        "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        "s.bind(('0.0.0.0',%d));s.listen(1);print('ready',flush=True)\n"
        "c,_=s.accept()\n"
        "while True:\n d=c.recv(65536)\n if not d: break\n n+=len(d)\n"
        "stop()\n" % (bound, PORT))
    send_code = ("import socket\ns=socket.create_connection(('%s',%d),timeout=10)\ns.settimeout(%d)\n"
                 "s.sendall(bytes(%d))\ns.close()\n" % (dst[1], PORT, bound + 5, size))
    receiver = subprocess.Popen(["podman", "exec", dst[0], "timeout", str(bound + 15), "python3", "-c", recv_code],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    sender = None
    try:
        assert receiver.stdout.readline().strip() == "ready", receiver.stderr.read()
        sender = subprocess.Popen(["podman", "exec", src, "timeout", str(bound + 10), "python3", "-c", send_code],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, err = receiver.communicate(timeout=bound + 30)
        assert receiver.returncode == 0, err
        return int(out.strip())
    finally:
        for proc in (receiver, sender):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if sender is not None:
            sender.wait(timeout=bound + 30)


@pytest.fixture(scope="module")
def lan(lab):
    """(source LAN host container, (destination container, address)) across a 1400/1500 link."""
    a, c = node_by_name(lab, "node-a")["lanhost"], node_by_name(lab, "node-c")["lanhost"]
    return a["container"], (c["container"], c["ip"])


# 1. measured ------------------------------------------------------------------------------


def test_measured_mesh_mtu_is_the_smallest_path_minus_60(nodes):
    assert _interface_mtus(nodes) == dict.fromkeys(nodes, MESH_MTU)
    for name, host in nodes.items():
        assert "MTU = %d" % MESH_MTU in host.file("/etc/wireguard/%s.conf" % IFACE).content_string, name


def test_clamp_rules_hold_the_mesh_mtu(nodes):
    for name, host in nodes.items():
        table = host.check_output("nft list table inet smite_wgmesh")
        for direction in ("iifname", "oifname"):
            assert ('%s "%s" meta nfproto ipv4' % (direction, IFACE)) in table, (name, table)
        assert table.count("maxseg size set %d" % (MESH_MTU - 40)) == 2, (name, table)
        assert table.count("maxseg size set %d" % (MESH_MTU - 60)) == 2, (name, table)


def test_df_ping_of_mesh_mtu_crosses_lan_to_lan_and_one_byte_more_does_not(lab, lanhosts, isolated):
    # Towards lanhost-b only, over a 1400/1400 and a 1500/1400 link: the "fragmentation needed"
    # the 1313 ping gets is cached by its sender for 10 minutes (so is the MTU of the path),
    # which must not help the transfers between lanhost-a and lanhost-c below.
    dst_ip = lanhosts["lanhost-b"][1]
    for src_name in ("lanhost-a", "lanhost-c"):
        src = lanhosts[src_name][0]
        wait_ping(src, dst_ip)
        assert _df_ping(src, dst_ip, MESH_MTU - 28).rc == 0, (src_name, dst_ip)
        over = _df_ping(src, dst_ip, MESH_MTU - 27)
        text = (over.stdout + over.stderr).replace("mtu=", "mtu = ")
        assert over.rc != 0 and "mtu = %d" % MESH_MTU in text, (src_name, dst_ip, text)


def test_plan_shows_auto(tmp_path):
    proc = run_playbook("plan.yml", "-e", "wgmesh_plan_file=%s" % (tmp_path / "plan.json"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "MTU auto" in proc.stdout
    assert json.loads((tmp_path / "plan.json").read_text())["meshes"][MESH]["mtu"] == "auto"


def test_status_shows_the_chosen_mtu_and_each_link_path_mtu(nodes, tmp_path):
    proc = run_playbook("status.yml", "-e", "wgmesh_report_dir=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "mesh %s: MTU auto, on the interfaces: %d" % (MESH, MESH_MTU) in proc.stdout, proc.stdout[-3000:]
    mtu = json.loads((tmp_path / "status.json").read_text())["meshes"][MESH]["mtu"]
    assert mtu["mode"] == "auto" and mtu["would_choose"] == MESH_MTU
    assert mtu["interface_mtu"] == dict.fromkeys(nodes, MESH_MTU)
    assert sorted(tuple(l["nodes"]) for l in mtu["links"]) == [("node-a", "node-b"), ("node-a", "node-c"),
                                                               ("node-b", "node-c")]
    for entry in mtu["links"]:
        assert entry["state"] == "measured" and entry["path_mtu"] == PATH_MTU, entry
        assert "path MTU %s <-> %s: %d (measured)" % (entry["nodes"][0], entry["nodes"][1], PATH_MTU) in proc.stdout


# 2. clamped -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def icmp_dropped(lab, lanhosts):
    """ICMP dropped on every LAN host (so no "fragmentation needed" reaches them), while the tests run."""
    yield from _dropping([node_by_name(lab, node)["lanhost"]["container"] for _h, (_x, _ip, node) in lanhosts.items()],
                         "meta l4proto icmp")


def test_tcp_lan_to_lan_at_1500_with_icmp_filtered_completes_thanks_to_the_clamp(lan, icmp_dropped, isolated):
    assert _transfer(*lan) == SIZE


def test_check_mode_shows_the_clamp_going_and_changes_nothing(nodes, tmp_path):
    before = dict((name, host.check_output("nft list table inet smite_wgmesh")) for name, host in nodes.items())
    proc = run_playbook("site.yml", "--check", "--diff", extra_vars={"wireguard_mss_clamp": False}, tmp_path=tmp_path)
    assert_run_ok(proc, nodes)
    assert "-PostUp = nft -f /etc/wireguard/wgmesh.nft" in proc.stdout, proc.stdout[-3000:]
    for name, host in nodes.items():
        assert host.check_output("nft list table inet smite_wgmesh") == before[name], name


def test_without_the_clamp_the_same_transfer_stalls(nodes, lan, icmp_dropped, tmp_path):
    proc = run_playbook("site.yml", extra_vars={"wireguard_mss_clamp": False}, tmp_path=tmp_path)
    assert_run_ok(proc, nodes)
    for name, host in nodes.items():
        assert host.run("nft list table inet smite_wgmesh").rc != 0, name
        assert not host.file("/etc/wireguard/wgmesh.nft").exists, name
    drops = _drops(icmp_dropped[0])
    received = _transfer(*lan, bound=20)
    assert received < SIZE // 10, received
    # The sender's LAN host was told to shrink its packets, and did not hear it.
    assert _drops(icmp_dropped[0]) > drops


def test_the_clamp_comes_back(nodes, lan, icmp_dropped, tmp_path):
    proc = run_playbook("site.yml", tmp_path=tmp_path)
    stats = assert_run_ok(proc, nodes)
    assert all(stats[name]["changed"] > 0 for name in nodes), stats
    test_clamp_rules_hold_the_mesh_mtu(nodes)
    assert _transfer(*lan) == SIZE


# 3. blocked -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probes_blocked(lab, nodes):
    """Every node drops ICMP echo requests arriving on its WAN: every probe fails."""
    yield from _dropping([node_by_name(lab, name)["container"] for name in nodes], 'iifname "wan0" icmp type echo-request')


def test_all_probes_blocked_falls_back_to_1280_with_a_warning(nodes, probes_blocked, tmp_path):
    proc = run_playbook("site.yml", tmp_path=tmp_path)
    assert_run_ok(proc, nodes)
    warned = " ".join(proc.stdout.split())
    for src, dst in (("node-a", "172.31.243.12"), ("node-c", "172.31.243.11")):
        assert "every path MTU probe from %s to %s failed" % (src, dst) in warned, proc.stdout[-4000:]
    assert _interface_mtus(nodes) == dict.fromkeys(nodes, 1280)
    assert all(_drops(container) > 0 for container in probes_blocked)


def test_unblocked_the_next_run_measures_again_and_a_rerun_changes_nothing(nodes, probes_blocked, tmp_path):
    for container in probes_blocked:
        _undrop(container)
    proc = run_playbook("site.yml", tmp_path=tmp_path)
    assert_run_ok(proc, nodes)
    assert _interface_mtus(nodes) == dict.fromkeys(nodes, MESH_MTU)
    proc = run_playbook("site.yml", tmp_path=tmp_path)
    stats = assert_run_ok(proc, nodes)
    assert all(stats[name]["changed"] == 0 for name in nodes), (stats, recap(proc.stdout))
    assert "every path MTU probe" not in proc.stdout


# 4. removed -------------------------------------------------------------------------------


def test_removing_the_last_mesh_removes_the_table(nodes, tmp_path):
    proc = run_playbook("remove.yml", "-e", "mesh=%s" % MESH)
    assert_run_ok(proc, nodes)
    for name, host in nodes.items():
        assert link(host, IFACE) is None, name
        assert host.run("nft list table inet smite_wgmesh").rc != 0, name
        assert not host.file("/etc/wireguard/wgmesh.nft").exists, name
