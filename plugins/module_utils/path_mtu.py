# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path MTU probing on a node (standard library only; the smite.wgmesh.path_mtu module).

A probe is one ICMP echo of a given IP packet size with the Don't Fragment bit set
(`ping -M do`): it passes when a reply comes back. The largest passing size between
PROBE_LOW and PROBE_HIGH is found by a binary search, for every address at once (one thread
per address). A size that is too big either fails at once (the local interface or a cached
"fragmentation needed" says so) or vanishes (a black hole, e.g. a veth or a tunnel dropping
oversized frames silently), hence the short per-probe timeout.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import subprocess
import threading
import time

from ansible_collections.smite.wgmesh.plugins.module_utils.files import read_file

# Path MTUs searched: 1280 (the IPv6 minimum, below which the mesh MTU would clamp to 1280
# anyway) to 1500 (Ethernet: a mesh MTU of 1420 needs no more).
PROBE_LOW, PROBE_HIGH = 1280, 1500
# Bytes of headers in front of the echo payload: IP + ICMP.
ECHO_OVERHEAD = {4: 20 + 8, 6: 40 + 8}
# One probe sends PROBE_COUNT echoes PROBE_INTERVAL s apart and waits PROBE_TIMEOUT s for a
# reply: a single lost packet does not make a size look too big.
PROBE_COUNT, PROBE_INTERVAL, PROBE_TIMEOUT = 2, 0.2, 0.5


def search(probe, low=PROBE_LOW, high=PROBE_HIGH):
    """The largest size in [low, high] for which probe(size) is true, assuming sizes pass up
    to the path MTU and fail above it. None when even `low` fails (all probes failed)."""
    if not probe(low):
        return None
    if probe(high):
        return high
    good, bad = low, high
    while bad - good > 1:
        middle = (good + bad) // 2
        if probe(middle):
            good = middle
        else:
            bad = middle
    return good


def ip_version(address):
    return 6 if ':' in address else 4


def ping_command(address, size, timeout=PROBE_TIMEOUT):
    """The iputils ping command that sends `size`-byte IP packets to `address` with DF set."""
    payload = size - ECHO_OVERHEAD[ip_version(address)]
    return ['ping', '-%d' % ip_version(address), '-n', '-q', '-M', 'do', '-s', str(payload),
            '-c', str(PROBE_COUNT), '-i', str(PROBE_INTERVAL), '-W', str(timeout), address]


def ping_probe(address, timeout=PROBE_TIMEOUT, run=subprocess.run):
    """A probe function for search(): true when `address` answers a DF echo of that size."""
    def probe(size):
        proc = run(ping_command(address, size, timeout), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
        return proc.returncode == 0
    return probe


def measure(addresses, make_probe=ping_probe, low=PROBE_LOW, high=PROBE_HIGH):
    """{address: {'path_mtu': int or None, 'probes': n, 'seconds': s}}, all addresses probed
    in parallel threads (None: every probe failed)."""
    results = {}

    def one(address):
        probe = make_probe(address)
        count = [0]

        def counted(size):
            count[0] += 1
            return probe(size)
        start = time.monotonic()
        found = search(counted, low, high)
        results[address] = {'path_mtu': found, 'probes': count[0],
                            'seconds': round(time.monotonic() - start, 3)}

    threads = [threading.Thread(target=one, args=(address,)) for address in sorted(set(addresses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def interface_mtu(name, sys_class_net='/sys/class/net'):
    """The MTU of a network interface, None when it does not exist."""
    text = read_file('%s/%s/mtu' % (sys_class_net, name))
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
