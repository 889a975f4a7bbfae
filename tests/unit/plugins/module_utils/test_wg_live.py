# -*- coding: utf-8 -*-
# Copyright (c) 2025, smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible_collections.smite.wgmesh.plugins.module_utils.wg_dump import parse_dump
from ansible_collections.smite.wgmesh.plugins.module_utils.wg_live import (
    ConfigError, compare, endpoint_matches, has_changes, list_changes, live_wg_state,
    parse_config, parse_ip_addr_json, parse_ip_link_mtu, parse_ip_route_json, split_endpoint,
    summarize, syncconf_stream, wg_changes, wg_needs_sync,
)

# Test-only keys (generated for these tests, used nowhere else).
PRIV = 'QHTFu+clzfAZCtjBMrQ219IxgDPm+w4N/maRi+FIq0Y='
PUB = 'RPuTrROZOVwXZUHwOt5NJrbUwesD8xzQwblRs/tR7yI='
PEER_A = 'TOMz/DJcJEvZSbHQc/1IhZa+c4NQI1itLNghgv97U0w='
PEER_B = 'To2d+wlmVGGvtT92iFVWnsQHIakfbUxpB18SiO8pm2s='
PEER_C = '2tYnkxggUR0xlL55Xw7QLE2aP84EHscdDGL5zXrwoD0='

CONFIG = """\
# managed by smite.wgmesh
[Interface]
Address = 10.250.0.1/24
ListenPort = 51871
MTU = 1280
Table = off
PostUp = wg set %i private-key /etc/wireguard/wgmesh/office.key
PostUp = ip route replace 192.168.20.0/24 dev %i
PostUp = ip route replace 192.168.30.0/24 dev %i

[Peer]
# node-tr
PublicKey = {a}
AllowedIPs = 10.250.0.2/32, 192.168.20.0/24
Endpoint = 127.0.0.1:24017
PersistentKeepalive = 25

[Peer]
# node-uae
PublicKey = {b}
AllowedIPs = 10.250.0.3/32, 192.168.30.0/24
PersistentKeepalive = 25
""".format(a=PEER_A, b=PEER_B)


def dump_text(peers, listen_port=51871, public_key=PUB):
    lines = ['%s\t%s\t%d\toff' % (PRIV, public_key, listen_port)]
    for key, endpoint, allowed, keepalive in peers:
        lines.append('\t'.join([key, '(none)', endpoint or '(none)', allowed or '(none)',
                                '1700000000', '100', '200', str(keepalive or 'off')]))
    return '\n'.join(lines) + '\n'


LIVE_MATCHING = dump_text([
    (PEER_A, '127.0.0.1:24017', '10.250.0.2/32,192.168.20.0/24', 25),
    # learned endpoint of a peer configured without one
    (PEER_B, '198.51.100.7:40000', '192.168.30.0/24,10.250.0.3/32', 25),
])


def live(dump=LIVE_MATCHING):
    return live_wg_state(parse_dump(dump))


def addr_json(*addresses):
    info = []
    for address in addresses:
        local, prefix = address.split('/')
        info.append({'family': 'inet6' if ':' in local else 'inet', 'local': local,
                     'prefixlen': int(prefix), 'scope': 'global'})
    return json.dumps([{'ifname': 'wg-office', 'mtu': 1280, 'addr_info': info}])


# --- parse_config -------------------------------------------------------------------

def test_parse_config_reads_interface_and_peers():
    state = parse_config(CONFIG)
    assert state['addresses'] == ['10.250.0.1/24']
    assert state['listen_port'] == 51871
    assert state['mtu'] == 1280
    assert state['routes'] == ['192.168.20.0/24', '192.168.30.0/24']
    assert state['private_key_file'] == '/etc/wireguard/wgmesh/office.key'
    assert state['has_private_key'] is False
    assert [p['public_key'] for p in state['peers']] == [PEER_A, PEER_B]
    assert state['peers'][0] == {'public_key': PEER_A,
                                 'allowed_ips': ['10.250.0.2/32', '192.168.20.0/24'],
                                 'endpoint': '127.0.0.1:24017', 'persistent_keepalive': 25}
    assert state['peers'][1]['endpoint'] is None


def test_parse_config_is_case_insensitive_and_normalizes():
    text = ('[interface]\naddress = 10.0.0.1/24, fd00::1/64\nADDRESS=10.0.1.1/24\n'
            'privatekey = %s\npostup = ip -4 route add 192.168.1.7/24 dev %%i\n'
            'PostUp = ip route replace 10.9.9.9 dev %%i\nPostUp = echo hi\n'
            '[PEER]\npublickey=%s\nallowedips = 10.0.0.2, fd00::/64\npersistentkeepalive = off\n'
            'PresharedKey = %s\n' % (PRIV, PEER_A, PRIV))
    state = parse_config(text)
    assert state['addresses'] == ['10.0.0.1/24', 'fd00::1/64', '10.0.1.1/24']
    assert state['has_private_key'] is True
    assert state['private_key_file'] is None
    # host bits cleared, bare address becomes a host route
    assert state['routes'] == ['192.168.1.0/24', '10.9.9.9/32']
    assert state['peers'][0]['allowed_ips'] == ['10.0.0.2/32', 'fd00::/64']
    assert state['peers'][0]['persistent_keepalive'] == 0


@pytest.mark.parametrize('text, message', [
    ('[Interface]\nAddress = 10.0.0.1/24\n[Peer]\nAllowedIPs = 10.0.0.2/32\n', 'no PublicKey'),
    ('[Peer]\nPublicKey = %s\n[Peer]\nPublicKey = %s\n' % (PEER_A, PEER_A), 'appears twice'),
    ('[Interface]\nMTU = big\n', 'line 2'),
    ('[Interface]\nAddress = 10.0.0.300/24\n', 'line 2'),
    ('Address = 10.0.0.1/24\n', 'outside of a section'),
    ('[Wat]\n', 'unknown section'),
    ('[Interface]\njust words\n', 'Key = Value'),
    ('[Peer]\nPublicKey = %s\nBogus = 1\n' % PEER_A, 'unknown peer key'),
])
def test_parse_config_rejects_bad_input(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


# --- live state parsing ---------------------------------------------------------------

def test_live_wg_state_normalizes_dump():
    state = live()
    assert state['public_key'] == PUB
    assert state['listen_port'] == 51871
    assert state['fwmark'] == 0
    assert state['peers'][PEER_B]['allowed_ips'] == ['10.250.0.3/32', '192.168.30.0/24']
    assert state['peers'][PEER_B]['persistent_keepalive'] == 25
    assert 'private_key' not in state


def test_parse_ip_addr_json_skips_link_local():
    text = json.dumps([{'addr_info': [
        {'family': 'inet', 'local': '10.250.0.1', 'prefixlen': 24, 'scope': 'global'},
        {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'},
        {'family': 'inet6', 'local': 'fd00::1', 'prefixlen': 64, 'scope': 'global'},
    ]}])
    assert parse_ip_addr_json(text) == ['10.250.0.1/24', 'fd00::1/64']
    assert parse_ip_addr_json('[]') == []


def test_parse_ip_link_mtu():
    assert parse_ip_link_mtu(json.dumps([{'ifname': 'wg-x', 'mtu': 1420}])) == 1420
    assert parse_ip_link_mtu('[]') is None


def test_parse_ip_route_json_keeps_only_our_routes():
    v4 = json.dumps([
        {'dst': '10.250.0.0/24', 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '10.250.0.1'},
        {'dst': '192.168.20.0/24', 'scope': 'link', 'flags': []},
        {'dst': '10.9.9.9', 'scope': 'link', 'flags': []},
        {'dst': 'default', 'scope': 'link', 'flags': []},
    ])
    assert parse_ip_route_json(v4, 4) == ['192.168.20.0/24', '10.9.9.9/32', '0.0.0.0/0']
    v6 = json.dumps([
        {'dst': 'fd00::/64', 'protocol': 'kernel', 'metric': 256},
        {'dst': 'fe80::/64', 'metric': 256},
        {'dst': 'ff00::/8', 'metric': 256},
        {'dst': 'fd20::/64', 'metric': 1024},
        {'dst': 'default', 'metric': 1024},
    ])
    assert parse_ip_route_json(v6, 6) == ['fd20::/64', '::/0']


# --- endpoints ------------------------------------------------------------------------

def test_split_endpoint():
    assert split_endpoint('1.2.3.4:51820') == ('1.2.3.4', 51820)
    assert split_endpoint('[fd00::1]:51820') == ('fd00::1', 51820)
    assert split_endpoint('vpn.example.org:443') == ('vpn.example.org', 443)
    with pytest.raises(ValueError):
        split_endpoint('1.2.3.4')


def test_endpoint_matches():
    assert endpoint_matches(None, '1.2.3.4:5')
    assert endpoint_matches(None, None)
    assert not endpoint_matches('1.2.3.4:5', None)
    assert endpoint_matches('1.2.3.4:5', '1.2.3.4:5')
    assert not endpoint_matches('1.2.3.4:5', '1.2.3.4:6')
    assert not endpoint_matches('1.2.3.4:5', '1.2.3.5:5')
    assert endpoint_matches('[fd00::01]:5', '[fd00::1]:5')
    assert endpoint_matches('vpn.example.org:5', '1.2.3.4:5', lambda host: ['9.9.9.9', '1.2.3.4'])
    assert not endpoint_matches('vpn.example.org:5', '1.2.3.4:5', lambda host: ['9.9.9.9'])
    assert not endpoint_matches('vpn.example.org:5', '1.2.3.4:5')
    # behind a local tunnel, only a learned loopback endpoint is current
    assert endpoint_matches(None, '127.0.0.1:40000', loopback_only=True)
    assert endpoint_matches(None, None, loopback_only=True)
    assert not endpoint_matches(None, '203.0.113.1:51820', loopback_only=True)


# --- diffs ----------------------------------------------------------------------------

def test_matching_live_state_means_no_change():
    desired = parse_config(CONFIG)
    changes, _diff = compare(desired, live(), ['10.250.0.1/24'], 1280,
                             ['192.168.30.0/24', '192.168.20.0/24'], PUB)
    assert not has_changes(changes)
    assert summarize(changes) == []


def test_learned_endpoint_is_not_a_difference_but_a_wrong_configured_one_is():
    desired = parse_config(CONFIG)
    dump = dump_text([
        (PEER_A, '127.0.0.1:9999', '10.250.0.2/32,192.168.20.0/24', 25),
        (PEER_B, '203.0.113.1:1', '10.250.0.3/32,192.168.30.0/24', 25),
    ])
    changes = wg_changes(desired, live(dump), PUB)
    assert changes['peers_updated'] == {PEER_A: ['endpoint']}
    assert changes['peers_reset'] == []


def test_stale_direct_endpoint_behind_a_tunnel_resets_the_peer():
    """Switching a mesh from direct to backhaul: the peer's old public endpoint must go."""
    desired = parse_config(CONFIG)
    dump = dump_text([
        (PEER_A, '127.0.0.1:9999', '10.250.0.2/32,192.168.20.0/24', 25),
        (PEER_B, '203.0.113.1:51820', '10.250.0.3/32,192.168.30.0/24', 25),
    ])
    changes = wg_changes(desired, live(dump), PUB, loopback_only=True)
    assert changes['peers_reset'] == [PEER_B]
    assert changes['peers_updated'][PEER_B] == ['endpoint']
    assert wg_changes(desired, live(dump), PUB)['peers_reset'] == []


def test_peer_added_removed_and_updated():
    desired = parse_config(CONFIG)
    dump = dump_text([
        (PEER_A, '127.0.0.1:24017', '10.250.0.2/32', 0),
        (PEER_C, None, '10.250.0.9/32', 25),
    ])
    changes = wg_changes(desired, live(dump), PUB)
    assert changes['peers_added'] == [PEER_B]
    assert changes['peers_removed'] == [PEER_C]
    assert changes['peers_updated'] == {PEER_A: ['allowed_ips', 'persistent_keepalive']}
    assert wg_needs_sync(changes)


def test_rotated_key_and_listen_port_need_sync():
    desired = parse_config(CONFIG)
    changes = wg_changes(desired, live(dump_text([], listen_port=40000, public_key=PEER_C)), PUB)
    assert changes['private_key'] is True
    assert changes['listen_port'] == (40000, 51871)
    assert wg_needs_sync(changes)
    # no key file to compare with: the key is not judged
    assert wg_changes(desired, live(dump_text([], public_key=PEER_C)), None)['private_key'] is False


def test_unset_listen_port_is_not_compared():
    desired = parse_config('[Interface]\nAddress = 10.0.0.1/24\n')
    changes = wg_changes(desired, live(dump_text([], listen_port=40000)), PUB)
    assert not wg_needs_sync(changes)


def test_address_mtu_and_route_reconcile():
    desired = parse_config(CONFIG)
    changes, diff = compare(desired, live(), ['10.250.0.7/24', '10.99.0.1/16'], 1420,
                            ['192.168.20.0/24', '192.168.99.0/24'], PUB)
    assert not wg_needs_sync(changes)
    assert changes['addresses_added'] == ['10.250.0.1/24']
    assert changes['addresses_removed'] == ['10.250.0.7/24', '10.99.0.1/16']
    assert changes['mtu'] == (1420, 1280)
    assert changes['routes_added'] == ['192.168.30.0/24']
    assert changes['routes_removed'] == ['192.168.99.0/24']
    assert summarize(changes) == [
        'address added 10.250.0.1/24', 'address removed 10.250.0.7/24',
        'address removed 10.99.0.1/16', 'mtu 1420 -> 1280',
        'route added 192.168.30.0/24', 'route removed 192.168.99.0/24',
    ]
    assert 'route: 192.168.99.0/24' in diff['before']
    assert 'route: 192.168.30.0/24' in diff['after']
    assert 'mtu: 1420' in diff['before'] and 'mtu: 1280' in diff['after']


def test_diff_names_peers_by_public_key_and_never_holds_the_private_key():
    desired = parse_config(CONFIG)
    dump = dump_text([(PEER_A, '127.0.0.1:24017', '10.250.0.2/32,192.168.20.0/24', 25)],
                     public_key=PEER_C)
    changes, diff = compare(desired, live(dump), ['10.250.0.1/24'], 1280,
                            ['192.168.20.0/24', '192.168.30.0/24'], PUB)
    assert 'peer: %s' % PEER_B not in diff['before']
    assert 'peer: %s' % PEER_B in diff['after']
    assert 'private_key: differs from key file' in diff['before']
    for text in list(diff.values()) + summarize(changes):
        assert PRIV not in text
    assert summarize(changes)[:2] == ['private key replaced from key file', 'peer added %s' % PEER_B]


def test_list_changes_keeps_order_and_drops_duplicates():
    assert list_changes(['b', 'a', 'b', 'c'], ['c', 'd', 'd']) == (['b', 'a'], ['d'])


# --- syncconf stream --------------------------------------------------------------------

STRIPPED = """[Interface]
ListenPort = 51871

[Peer]
PublicKey = %s
AllowedIPs = 10.250.0.2/32
""" % PEER_A


def test_syncconf_stream_carries_the_private_key_in_the_interface_section():
    stream = syncconf_stream(STRIPPED, PRIV)
    lines = stream.splitlines()
    assert lines[0] == '[Interface]'
    assert lines[1] == 'PrivateKey = %s' % PRIV
    assert stream.count('PrivateKey') == 1
    assert lines.index('[Peer]') > 1
    # everything else unchanged
    assert [line for line in lines if not line.startswith('PrivateKey')] == STRIPPED.splitlines()


def test_syncconf_stream_keeps_an_existing_private_key():
    text = '[Interface]\nPrivateKey = %s\n' % PRIV
    assert syncconf_stream(text, PEER_C) == text


def test_syncconf_stream_finds_interface_after_peers_and_comments():
    text = '[Peer]\nPublicKey = %s\n# c\n[interface] # x\nListenPort = 1\n' % PEER_A
    lines = syncconf_stream(text, PRIV).splitlines()
    assert lines[lines.index('[interface] # x') + 1] == 'PrivateKey = %s' % PRIV


def test_syncconf_stream_without_interface_fails():
    with pytest.raises(ConfigError):
        syncconf_stream('[Peer]\nPublicKey = %s\n' % PEER_A, PRIV)
