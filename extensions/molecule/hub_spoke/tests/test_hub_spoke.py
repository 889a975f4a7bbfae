# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hub-spoke (hub node-ir): spokes have one peer (the hub) and reach each other's LAN through it."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import itertools
import re

from labtest import assert_run_ok, names, public_key, run_playbook
from mesh_checks import (  # noqa: F401  pylint: disable=unused-import
    test_every_node_pings_every_overlay_address, test_every_peer_has_a_recent_handshake,
    test_host_isolation_drops_lan_traffic_routed_by_the_host, test_interfaces_up_with_planned_address_and_mtu,
    test_lan_hosts_reach_each_other_without_nat, test_peers_are_exactly_the_planned_ones,
    test_routes_to_every_remote_lan_via_the_mesh)


def _mesh(lab):
    return lab["meshes"][0]


def test_spokes_have_exactly_one_peer_and_the_hub_all_others(lab, nodes):
    mesh = _mesh(lab)
    for name in mesh["nodes"]:
        found = nodes[name].check_output("wg show %s peers", names.interface(mesh["name"])).split()
        assert len(found) == (len(mesh["nodes"]) - 1 if name == mesh["hub"] else 1), (name, found)


def _transfer(hub, iface):
    """{peer public key: (bytes received from it, bytes sent to it)} on the hub."""
    out = hub.check_output("wg show %s transfer", iface)
    return {line.split()[0]: (int(line.split()[1]), int(line.split()[2])) for line in out.splitlines()}


def test_spoke_lan_traffic_crosses_the_hub(lab, nodes, lanhosts, isolated):
    """Spoke LAN host to other spoke LAN host: the bytes arrive at the hub from the sender's
    spoke and leave it to the receiver's spoke (keepalives alone are far smaller)."""
    mesh = _mesh(lab)
    iface = names.interface(mesh["name"])
    hub = nodes[mesh["hub"]]
    spokes = sorted((value[2], name) for name, value in lanhosts.items() if value[2] != mesh["hub"])
    for (src_node, src), (dst_node, dst) in itertools.permutations(spokes, 2):
        src_key, dst_key = public_key(nodes[src_node], mesh["name"]), public_key(nodes[dst_node], mesh["name"])
        before = _transfer(hub, iface)
        assert lanhosts[src][0].run("ping -n -c 5 -i 0.2 -W 3 -s 1000 %s", lanhosts[dst][1]).rc == 0, (src, dst)
        after = _transfer(hub, iface)
        assert after[src_key][0] - before[src_key][0] >= 5000, (src, dst, before, after)
        assert after[dst_key][1] - before[dst_key][1] >= 5000, (src, dst, before, after)


def test_hub_redirects_are_hardening_set_where_possible_and_warned_where_not(lab, nodes, lanhosts):
    """The hub forwards wg->wg out of the interface the packet came in on, so it should not send
    ICMP redirects (the kernel sends them when conf/all OR conf/<iface> is 1). That is hardening:
    where /proc/sys is read-only (this lab, like many container VPS, presets nothing but
    ip_forward) the converge warns and goes on; the setting is persisted for the next boot."""
    mesh = _mesh(lab)
    hub = nodes[mesh["hub"]]
    persisted = hub.run("cat /etc/sysctl.d/*.conf").stdout
    assert re.search(r"^\s*net[./]ipv4[./]conf[./]all[./]send_redirects\s*=\s*0\s*$", persisted, re.M), persisted
    read_only = hub.run("sh -c 'echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects'").rc != 0
    assert read_only, "the lab must show a read-only /proc/sys, as container VPS do"
    assert hub.file("/proc/sys/net/ipv4/conf/all/send_redirects").content_string.strip() == "1"
    # The hub drops the redirects it cannot stop sending, so spokes never follow one.
    assert "icmp type redirect drop" in hub.run("nft list table inet smite_wgmesh").stdout
    spokes = [(name, value) for name, value in lanhosts.items() if value[2] != mesh["hub"]]
    (_src, (src_host, _ip, _node)), (_dst, (_dst_host, dst_ip, _dst_node)) = spokes[:2]
    probe = src_host.run("ping -n -c 5 -i 0.2 -W 3 %s", dst_ip)
    assert probe.rc == 0 and "Redirect" not in probe.stdout, probe.stdout
    run = run_playbook("site.yml")
    stats = assert_run_ok(run, [n["name"] for n in lab["nodes"]])
    assert all(s["changed"] == 0 for s in stats.values()), run.stdout[-3000:]
    warnings = " ".join(run.stdout.split())
    assert "sysctl net.ipv4.conf.all.send_redirects is 1 (wanted: 0), left as it is" in warnings, run.stdout[-3000:]
