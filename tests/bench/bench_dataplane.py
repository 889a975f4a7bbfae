# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-plane benchmark: LAN host to LAN host over the overlay, transport direct vs backhaul,
and the mesh's fixed MTU (the scenario's, 1280) vs `mtu: auto` on the lab's 1500-byte path.

For each run - direct, backhaul, then direct with mtu auto - brings up a fresh lab (tests/bench/dataplane_lab.yml,
via tests/lab/lab.py), applies playbooks/site.yml with the mesh's transport set by `-e` (the
lab inventory installs the Backhaul test double), measures, checks the peers' endpoints are the
transport's, and finally prints the figures and their ratios. Measured between the two LAN hosts, with the host's isolation
rule on (so the traffic crosses the overlay):

- TCP throughput: a python3 socket sender/receiver (nothing installed in the image);
- ping RTT (min/avg/max) and loss;
- a DF ping of MTU-28 bytes payload must pass end to end, one byte more must be refused
  with the overlay's MTU (fragmentation-needed), so the MTU avoids fragmentation.

On the test double the backhaul figures say nothing about real Backhaul's speed (the double
is a single-threaded Python relay); they show the path works and what the tunnel costs here.

    python tests/bench/bench_dataplane.py [--seconds 5] [--keep] [--playbook PATH] [--scenario PATH]

Figures are also written to build/bench/dataplane.json. Not a test with a time limit.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import lab as lablib  # noqa: E402  pylint: disable=wrong-import-position

SCENARIO = os.path.join(REPO, "tests", "bench", "dataplane_lab.yml")
RESULT = os.path.join(REPO, "build", "bench", "dataplane.json")
PORT = 5201

RECEIVER = r"""
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d))
s.listen(1)
s.settimeout(30)
print("ready", flush=True)
c, peer = s.accept()
c.settimeout(30)
n, t0 = 0, None
while True:
    d = c.recv(262144)
    if not d:
        break
    if t0 is None:
        t0 = time.monotonic()
    n += len(d)
print(n, time.monotonic() - t0, peer[0], flush=True)
""" % PORT

SENDER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], %d), timeout=30)
buf = b"\0" * 65536
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    s.sendall(buf)
s.close()
""" % PORT


def sh(container, *argv, check=True):
    proc = subprocess.run(["podman", "exec", container] + list(argv), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise lablib.LabError("%s: %s failed:\n%s" % (container, " ".join(argv), proc.stdout))
    return proc


RUNS = (("direct", "direct", None), ("backhaul", "backhaul", None), ("mtu_auto", "direct", "auto"))


def apply(lab, transport, playbook, mtu=None):
    """site.yml with the scenario's mesh switched to `transport` (and `mtu` when given; extra
    vars win over inventory)."""
    meshes = copy.deepcopy(lab["meshes"])
    for mesh in meshes:
        mesh["transport"] = transport
        if mtu is not None:
            mesh["mtu"] = mtu
    extra = os.path.join(lab["dir"], "bench-%s-%s.json" % (transport, mtu or "planned"))
    with open(extra, "w") as f:
        json.dump({"wgmesh_meshes": meshes}, f)
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "tests", "lab", "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    cmd = [os.path.join(bindir, "ansible-playbook"), "-i", os.path.join(lab["dir"], "inventory.yml"),
           playbook, "-e", "@" + extra]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise lablib.LabError("site.yml (transport %s) failed:\n%s" % (transport, proc.stdout[-6000:]))
    return time.monotonic() - start


def check_path(lab, transport):
    """The peer endpoints are what the transport says: the peer's public address (direct) or a
    loopback Backhaul listener (backhaul); so the figures belong to that transport."""
    wan = {n["wan_ip"] for n in lab["nodes"]}
    for node in lab["nodes"]:
        for mesh in lab["meshes"]:
            out = sh(node["container"], "wg", "show", lablib.names.interface(mesh["name"]), "endpoints").stdout
            hosts = [line.split("\t")[1].rpartition(":")[0] for line in out.splitlines()]
            if transport == "direct":
                ok = hosts and all(h in wan for h in hosts)
            else:
                ok = hosts and all(h in ("127.0.0.1", "(none)") for h in hosts) and "127.0.0.1" in hosts
            if not ok:
                raise lablib.LabError("%s: endpoints %r do not match transport %s" % (node["name"], out, transport))


def ping_stats(src, dst, count=20):
    out = sh(src["container"], "ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", dst["ip"]).stdout
    loss = float(re.search(r"([\d.]+)% packet loss", out).group(1))
    rtt = [float(x) for x in re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", out).groups()]
    return {"loss_pct": loss, "rtt_min_ms": rtt[0], "rtt_avg_ms": rtt[1], "rtt_max_ms": rtt[2]}


def df_pings(src, dst, mtu):
    """(MTU-28 payload with DF passes, MTU-27 is refused with 'mtu = MTU')."""
    fits = sh(src["container"], "ping", "-n", "-c", "1", "-W", "3", "-M", "do", "-s", str(mtu - 28), dst["ip"],
              check=False)
    over = sh(src["container"], "ping", "-n", "-c", "2", "-W", "3", "-M", "do", "-s", str(mtu - 27), dst["ip"],
              check=False)
    refused = over.returncode != 0 and "mtu = %d" % mtu in over.stdout.replace("mtu=", "mtu = ")
    return {"df_payload": mtu - 28, "df_fits_passes": fits.returncode == 0, "df_plus_one_refused": refused,
            "df_plus_one_output": [line for line in over.stdout.splitlines() if "mtu" in line.lower()][:2]}


def throughput(src, dst, seconds):
    recv = subprocess.Popen(["podman", "exec", dst["container"], "python3", "-c", RECEIVER],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        if recv.stdout.readline().strip() != "ready":
            raise lablib.LabError("receiver did not start: %s" % recv.stderr.read())
        sh(src["container"], "python3", "-c", SENDER, dst["ip"], str(seconds))
        out, err = recv.communicate(timeout=60)
    finally:
        if recv.poll() is None:
            recv.kill()
    if recv.returncode != 0:
        raise lablib.LabError("receiver failed: %s" % err)
    nbytes, elapsed, peer = out.split()
    if peer != src["ip"]:
        raise lablib.LabError("receiver saw %s, not the sender's LAN address %s (NAT?)" % (peer, src["ip"]))
    return {"tcp_bytes": int(nbytes), "tcp_seconds": round(float(elapsed), 3),
            "tcp_mbit_s": round(int(nbytes) * 8 / float(elapsed) / 1e6, 2)}


def live_mtu(lab):
    """The MTU the mesh interface has on the first node (mtu auto: the one chosen)."""
    return int(sh(lab["nodes"][0]["container"], "cat", "/sys/class/net/wg-%s/mtu" % lab["meshes"][0]["name"]).stdout)


def measure(lab, seconds):
    src, dst = lab["nodes"][0]["lanhost"], lab["nodes"][1]["lanhost"]
    # A fresh link needs a handshake first: wait for the first reply, bounded.
    lablib.wait_for("%s -> %s over the overlay" % (src["name"], dst["name"]),
                    lambda: sh(src["container"], "ping", "-n", "-c", "1", "-W", "1", dst["ip"],
                               check=False).returncode == 0, timeout=30)
    result = {"from": src["ip"], "to": dst["ip"], "mtu": live_mtu(lab)}
    result.update(ping_stats(src, dst))
    result.update(df_pings(src, dst, result["mtu"]))
    result.update(throughput(src, dst, seconds))
    return result


def report(results):
    rows = [("TCP throughput (Mbit/s)", "tcp_mbit_s"), ("ping RTT avg (ms)", "rtt_avg_ms"),
            ("ping RTT min (ms)", "rtt_min_ms"), ("ping RTT max (ms)", "rtt_max_ms"), ("ping loss (%)", "loss_pct")]
    d, b = results["direct"], results["backhaul"]
    print("\n%-26s %12s %12s %16s" % ("LAN host -> LAN host", "direct", "backhaul", "backhaul/direct"))
    for label, key in rows:
        ratio = "%.3f" % (b[key] / d[key]) if d[key] else "-"
        print("%-26s %12s %12s %16s" % (label, d[key], b[key], ratio))
    a = results["mtu_auto"]
    print("\n%-26s %12s %12s %16s" % ("direct, LAN -> LAN", "MTU %d" % d["mtu"], "auto (%d)" % a["mtu"], "auto/fixed"))
    for label, key in rows[:2]:
        ratio = "%.3f" % (a[key] / d[key]) if d[key] else "-"
        print("%-26s %12s %12s %16s" % (label, d[key], a[key], ratio))
    for name, r in (("direct", d), ("backhaul", b), ("mtu_auto", a)):
        print("%-8s DF ping %d bytes payload passes: %s; %d bytes refused (frag needed): %s" % (
            name, r["df_payload"], r["df_fits_passes"], r["df_payload"] + 1, r["df_plus_one_refused"]))
    print("(backhaul runs on the Python test double: its figures say nothing about real Backhaul.)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5, help="TCP send time per transport")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    parser.add_argument("--playbook", default=os.path.join(REPO, "playbooks", "site.yml"))
    parser.add_argument("--scenario", default=SCENARIO, help="lab description (two nodes with a LAN host each)")
    opts = parser.parse_args(argv)
    lab = lablib.load_scenario(opts.scenario)
    results = {}
    try:
        for run, transport, mtu in RUNS:
            # A fresh lab per transport: nothing of the other transport's state is left
            # (a live switch keeps WireGuard's learned endpoints: traffic would stay direct).
            lablib.down(lab)
            lablib.up(lab)
            took = apply(lab, transport, opts.playbook, mtu)
            results[run] = measure(lab, opts.seconds)
            check_path(lab, transport)
            results[run]["apply_seconds"] = round(took, 1)
            print("%s: %s" % (run, json.dumps(results[run])))
    except lablib.LabError as exc:
        print("bench_dataplane: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if not opts.keep:
            lablib.down(lab)
    report(results)
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w") as f:
        json.dump(results, f, indent=2)
    failed = [t for t, r in results.items() if not (r["df_fits_passes"] and r["df_plus_one_refused"])]
    if failed:
        print("bench_dataplane: the DF ping check failed for %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
