# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path MTU probing cost per converge (mtu: auto), for full meshes of 3 and 6 nodes.

For each size, a fresh lab (tests/lab/lab.py; scenario written to build/bench/, WAN
172.31.243.0/24 and LANs 192.168.131-136.0/24, the subnets of extensions/molecule/mtu: do not run both at
once) where every other node's WAN is at MTU 1400 (so searches meet black holes, as on real
paths), then site.yml twice. Reported: the wall time of the one probing task ("Measure the path
MTU ...", from the profile_tasks callback), then from an ad-hoc run of smite.wgmesh.path_mtu on
each node with the same targets its own measuring time and the most probes one address needed,
and the MTU chosen.

    python tests/bench/bench_mtu.py [--sizes 3 6] [--keep]

Figures are also written to build/bench/mtu.json. Not a test with a time limit.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import json
import os
import re
import subprocess
import sys
import time

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import lab as lablib  # noqa: E402  pylint: disable=wrong-import-position

RESULT = os.path.join(REPO, "build", "bench", "mtu.json")
TASK = re.compile(r"Measure the path MTU to the peers of the meshes with mtu auto -+ ([\d.]+)s")


def scenario(size):
    nodes = [{"name": "mb-%d" % i, "wan_ip": "172.31.243.%d" % (20 + i), "lan": "192.168.13%d.0/24" % i,
              "lanhost": False} for i in range(1, size + 1)]
    for node in nodes[::2]:
        node["wan_mtu"] = 1400
    data = {"name": "mtubench", "wan_subnet": "172.31.243.0/24", "nodes": nodes,
            "meshes": [{"name": "mb", "nodes": [n["name"] for n in nodes], "overlay_subnet": "10.243.0.0/24",
                        "topology": "full-mesh", "mtu": "auto", "transport": "direct"}]}
    path = os.path.join(REPO, "build", "bench", "mtu-lab-%d.yml" % size)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("# Written by tests/bench/bench_mtu.py.\n")
        yaml.safe_dump(data, f, sort_keys=False)
    return path


def ansible(lab, argv):
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "tests", "lab", "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"), ANSIBLE_NOCOLOR="1",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    cmd = [os.path.join(bindir, argv[0]), "-i", os.path.join(lab["dir"], "inventory.yml")] + argv[1:]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise lablib.LabError("%s failed:\n%s" % (" ".join(argv), proc.stdout[-6000:]))
    return proc.stdout, time.monotonic() - start


def measure(lab):
    result = {"nodes": len(lab["nodes"]), "links": len(lab["nodes"]) * (len(lab["nodes"]) - 1) // 2}
    for run in ("first", "rerun"):
        out, took = ansible(lab, ["ansible-playbook", "playbooks/site.yml"])
        match = TASK.search(out)
        result["probe_task_seconds_%s" % run] = float(match.group(1)) if match else None
        result["site_seconds_%s" % run] = round(took, 1)
    # The module alone on every node, as the role runs it: per node, its time and probe counts.
    per_node = {}
    for node in lab["nodes"]:
        targets = [n["wan_ip"] for n in lab["nodes"] if n is not node]
        out, _took = ansible(lab, ["ansible", node["name"], "-m", "smite.wgmesh.path_mtu", "-a",
                                   json.dumps({"targets": targets}), "-o"])
        data = json.loads(out.split(" => ", 1)[1])
        per_node[node["name"]] = {"seconds": data["seconds"],
                                  "probes_max": max(p["probes"] for p in data["paths"].values()),
                                  "path_mtus": sorted(set(p["path_mtu"] for p in data["paths"].values()))}
    result["module_seconds_max"] = max(v["seconds"] for v in per_node.values())
    result["probes_per_address_max"] = max(v["probes_max"] for v in per_node.values())
    result["per_node"] = per_node
    result["mesh_mtu"] = int(subprocess.run(["podman", "exec", lab["nodes"][0]["container"], "cat",
                                             "/sys/class/net/wg-mb/mtu"], stdout=subprocess.PIPE,
                                            universal_newlines=True, check=True).stdout)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--keep", action="store_true", help="leave the last lab up")
    opts = parser.parse_args(argv)
    results = {}
    lab = None
    try:
        for size in opts.sizes:
            if lab is not None:
                lablib.down(lab)
            lab = lablib.load_scenario(scenario(size))
            lablib.down(lab)
            lablib.up(lab)
            results[size] = measure(lab)
            shown = dict((k, v) for k, v in results[size].items() if k != "per_node")
            print("%d nodes: %s" % (size, json.dumps(shown)))
    except lablib.LabError as exc:
        print("bench_mtu: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if lab is not None and not opts.keep:
            lablib.down(lab)
    print("\n%-6s %-6s %-22s %-22s %-20s %-10s" % ("nodes", "links", "probe task (first/re)", "module max (s)",
                                                   "probes/address max", "mesh MTU"))
    for size, r in sorted(results.items()):
        print("%-6d %-6d %-22s %-22s %-20s %-10d" % (
            size, r["links"], "%s / %s s" % (r["probe_task_seconds_first"], r["probe_task_seconds_rerun"]),
            r["module_seconds_max"], r["probes_per_address_max"], r["mesh_mtu"]))
    os.makedirs(os.path.dirname(RESULT), exist_ok=True)
    with open(RESULT, "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
