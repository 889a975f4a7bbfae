# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.wg_dump import (
    DumpParseError,
    missing_peers,
    parse_dump,
    parse_ping,
    peer_status,
    ping_command,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')

# Secrets present in the real fixtures (throwaway namespace keys): must never be parsed out.
PRIVATE_KEY_A = 'CPU/ww+Oc4+uoI8hjJ2jddliwka8ugpQySj2qutE90o='
PRIVATE_KEY_B = 'OHCRHbjf3yr0L1cj3qNyQshXAAI+JJfCzegbz6InXXw='
PRESHARED_KEY = '8B6/zgH2HgmfLqL5PLQGn+AbO+9GvKQPDS3CrczUpOg='
PUB_A = '4FW/FXpLDGYpkozU+EnS6IPGMZoVP5X8GYfC6d7juRY='
PUB_B = 't1KBLMZQm5XqYck3YAgrF2W02Jh5IZTeW/si2li1nmQ='
PUB_NEVER = 'a+AeZFRg6lx5Ryl8zcJr7LgVJ4kkljd3NfhdtciPjhE='
HANDSHAKE = 1795663789


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_parse_dump_with_never_handshaken_peer():
    parsed = parse_dump(fixture('wg_dump_two_peers_one_never.txt'))
    assert parsed == {
        'interface': {'public_key': PUB_A, 'listen_port': 51820, 'fwmark': None},
        'peers': [
            {'public_key': PUB_B, 'endpoint': '172.31.77.2:51821',
             'allowed_ips': ['10.99.0.2/32', '192.168.20.0/24'],
             'latest_handshake': HANDSHAKE, 'rx_bytes': 1756, 'tx_bytes': 2024,
             'persistent_keepalive': 25},
            {'public_key': PUB_NEVER, 'endpoint': None, 'allowed_ips': ['10.99.0.3/32'],
             'latest_handshake': None, 'rx_bytes': 0, 'tx_bytes': 0,
             'persistent_keepalive': None},
        ],
    }


def test_parse_dump_fwmark_and_learnt_endpoint():
    parsed = parse_dump(fixture('wg_dump_psk_fwmark.txt'))
    assert parsed['interface'] == {'public_key': PUB_B, 'listen_port': 51821, 'fwmark': 0x1234}
    assert parsed['peers'][0]['endpoint'] == '172.31.77.1:51820'
    assert parsed['peers'][0]['persistent_keepalive'] is None


@pytest.mark.parametrize('name', ['wg_dump_two_peers_one_never.txt', 'wg_dump_psk_fwmark.txt'])
def test_parse_dump_drops_private_and_preshared_keys(name):
    text = repr(parse_dump(fixture(name)))
    for secret in (PRIVATE_KEY_A, PRIVATE_KEY_B, PRESHARED_KEY):
        assert secret not in text


@pytest.mark.parametrize('text, message', [
    ('', 'empty'),
    ('only\tthree\tfields\n', 'interface line'),
    ('%s\t%s\t51820\toff\nshort\tline\n' % (PRIVATE_KEY_A, PUB_A), 'peer line 2'),
    ('%s\t%s\tnotaport\toff\n' % (PRIVATE_KEY_A, PUB_A), 'malformed'),
])
def test_parse_dump_rejects_malformed_text(text, message):
    with pytest.raises(DumpParseError, match=message) as info:
        parse_dump(text)
    assert PRIVATE_KEY_A not in str(info.value)


def test_parse_dump_error_does_not_quote_a_key_in_a_number_field():
    # A key where a number belongs must not leak through int()'s error message.
    text = '%s\t%s\t%s\toff\n' % (PRIVATE_KEY_A, PUB_A, PRIVATE_KEY_A)
    with pytest.raises(DumpParseError) as info:
        parse_dump(text)
    assert PRIVATE_KEY_A not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_parse_dump_interface_without_key_or_peers():
    assert parse_dump('(none)\t(none)\t0\toff\n') == {
        'interface': {'public_key': None, 'listen_port': 0, 'fwmark': None}, 'peers': []}


def test_peer_status_names_and_ages():
    parsed = parse_dump(fixture('wg_dump_two_peers_one_never.txt'))
    peers = peer_status(parsed['peers'], HANDSHAKE + 42.9, {PUB_B: 'node-tr'})
    assert [(p['node'], p['handshake_age']) for p in peers] == [('node-tr', 42), (None, None)]
    # The parsed input is not modified.
    assert 'node' not in parsed['peers'][0]


def test_peer_status_clock_behind_handshake_gives_zero_age():
    parsed = parse_dump(fixture('wg_dump_two_peers_one_never.txt'))
    assert peer_status(parsed['peers'], HANDSHAKE - 5)[0]['handshake_age'] == 0


def test_missing_peers_lists_planned_keys_not_live():
    parsed = parse_dump(fixture('wg_dump_two_peers_one_never.txt'))
    names = {PUB_B: 'node-tr', 'Z' * 43 + '=': 'node-uae', 'Y' * 43 + '=': 'node-de'}
    assert missing_peers(parsed['peers'], names) == [
        {'node': 'node-de', 'public_key': 'Y' * 43 + '='},
        {'node': 'node-uae', 'public_key': 'Z' * 43 + '='},
    ]


PING_CASES = [
    ('ping_all_received.txt', {
        'transmitted': 5, 'received': 5, 'loss_percent': 0.0,
        'latency_min_ms': 0.339, 'latency_avg_ms': 0.432, 'latency_max_ms': 0.651}),
    ('ping_partial_loss.txt', {
        'transmitted': 10, 'received': 6, 'loss_percent': 40.0,
        'latency_min_ms': 0.325, 'latency_avg_ms': 1.154, 'latency_max_ms': 4.02}),
    ('ping_total_loss.txt', {
        'transmitted': 5, 'received': 0, 'loss_percent': 100.0,
        'latency_min_ms': None, 'latency_avg_ms': None, 'latency_max_ms': None}),
]


@pytest.mark.parametrize('name, expected', PING_CASES)
def test_parse_ping_real_samples(name, expected):
    assert parse_ping(fixture(name)) == expected


@pytest.mark.parametrize('text, expected', [
    # iputils with ICMP errors (host unreachable) in the summary.
    ('3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2003ms\n', (3, 0, 100.0, None)),
    # busybox ping.
    ('3 packets transmitted, 2 packets received, 33% packet loss\n'
     'round-trip min/avg/max = 0.1/0.2/0.3 ms\n', (3, 2, 33.3, 0.2)),
    ('0 packets transmitted, 0 received\n', (0, 0, 100.0, None)),
])
def test_parse_ping_variants(text, expected):
    result = parse_ping(text)
    assert (result['transmitted'], result['received'], result['loss_percent'],
            result['latency_avg_ms']) == expected


@pytest.mark.parametrize('text', ['', 'ping: connect: Network is unreachable\n'])
def test_parse_ping_without_summary(text):
    assert parse_ping(text) is None


def test_ping_command():
    assert ping_command('/usr/bin/ping', '10.250.0.2', 5, 1, 'wg-office') == [
        '/usr/bin/ping', '-c', '5', '-i', '0.2', '-W', '1', '-q', '-I', 'wg-office', '10.250.0.2']
    assert ping_command('ping', '10.0.0.1', 3, 2) == [
        'ping', '-c', '3', '-i', '0.2', '-W', '2', '-q', '10.0.0.1']
