# -*- coding: utf-8 -*-
# Copyright (c) 2026 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node side of mtu auto: the binary search over a fake path, the ping command, parallel probing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import threading

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils import path_mtu


def path(mtu, log=None):
    """A fake prober: sizes up to `mtu` pass (None: nothing passes)."""
    def probe(size):
        if log is not None:
            log.append(size)
        return mtu is not None and size <= mtu
    return probe


@pytest.mark.parametrize('mtu', [1280, 1281, 1339, 1400, 1420, 1450, 1492, 1499, 1500])
def test_search_finds_every_path_mtu_in_range(mtu):
    log = []
    assert path_mtu.search(path(mtu, log)) == mtu
    assert len(log) <= 10  # 1280, 1500, then at most log2(220) halvings


def test_search_above_the_range_stops_at_1500_after_two_probes():
    log = []
    assert path_mtu.search(path(9000, log)) == 1500
    assert log == [1280, 1500]


@pytest.mark.parametrize('mtu', [None, 1279, 576])
def test_search_gives_none_when_even_1280_fails(mtu):
    log = []
    assert path_mtu.search(path(mtu, log)) is None
    assert log == [1280]


def test_ping_command_sends_df_probes_of_the_ip_size():
    assert path_mtu.ping_command('203.0.113.1', 1400) == [
        'ping', '-4', '-n', '-q', '-M', 'do', '-s', '1372', '-c', '2', '-i', '0.2', '-W', '0.5', '203.0.113.1']
    v6 = path_mtu.ping_command('2001:db8::1', 1400, timeout=1)
    assert v6[:2] == ['ping', '-6'] and v6[v6.index('-s') + 1] == '1352' and v6[v6.index('-W') + 1] == '1'


def test_ping_probe_passes_on_exit_status_zero():
    calls = []

    class Done(object):
        def __init__(self, returncode):
            self.returncode = returncode

    def run(argv, **_kwargs):
        calls.append(argv)
        return Done(0 if int(argv[argv.index('-s') + 1]) <= 1372 else 1)
    probe = path_mtu.ping_probe('203.0.113.1', run=run)
    assert probe(1400) and not probe(1401)
    assert path_mtu.search(probe) == 1400


def test_measure_probes_every_address_once_in_parallel():
    paths = {'203.0.113.1': 1400, '203.0.113.2': 1500, '203.0.113.3': None}
    barrier = threading.Barrier(len(paths), timeout=5)
    started = set()

    def make_probe(address):
        inner = path(paths[address])

        def probe(size):
            if address not in started:
                started.add(address)
                barrier.wait()  # every address is being probed at the same time, or this times out
            return inner(size)
        return probe
    results = path_mtu.measure(list(paths) + ['203.0.113.1'], make_probe)
    assert dict((a, r['path_mtu']) for a, r in results.items()) == paths
    assert results['203.0.113.3']['probes'] == 1 and results['203.0.113.2']['probes'] == 2


def test_interface_mtu_reads_sys_class_net(tmp_path):
    (tmp_path / 'wg-office').mkdir()
    (tmp_path / 'wg-office' / 'mtu').write_text('1340\n')
    assert path_mtu.interface_mtu('wg-office', str(tmp_path)) == 1340
    assert path_mtu.interface_mtu('wg-gone', str(tmp_path)) is None
