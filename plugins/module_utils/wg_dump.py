# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for ``wg show <iface> dump`` and ``ping -q`` output (pure Python).

The dump's private key and preshared key fields are dropped while parsing, so
they never reach a return value.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re


class DumpParseError(ValueError):
    """The text is not ``wg show <iface> dump`` output."""


def _none_if(value, *empty):
    return None if value in empty else value


def _optional_int(value):
    """'off' / '(none)' -> None; decimal or 0x hex text -> int."""
    value = _none_if(value, 'off', '(none)')
    return None if value is None else int(value, 0)


def parse_dump(text):
    """Parse ``wg show <iface> dump`` into {'interface': {...}, 'peers': [...]}.

    interface: public_key, listen_port, fwmark (int or None).
    peers: public_key, endpoint (str or None), allowed_ips (list),
    latest_handshake (epoch seconds or None if never), rx_bytes, tx_bytes,
    persistent_keepalive (seconds or None).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DumpParseError('empty wg dump')
    head = lines[0].split('\t')
    if len(head) != 4:
        raise DumpParseError('interface line has %d fields, expected 4' % len(head))
    try:
        interface = {
            # head[0] is the private key: deliberately not kept.
            'public_key': _none_if(head[1], '(none)'),
            'listen_port': int(head[2]),
            'fwmark': _optional_int(head[3]),
        }
        peers = []
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split('\t')
            if len(fields) != 8:
                raise DumpParseError('peer line %d has %d fields, expected 8' % (number, len(fields)))
            allowed = _none_if(fields[3], '(none)')
            handshake = int(fields[4])
            peers.append({
                # fields[1] is the preshared key: deliberately not kept.
                'public_key': fields[0],
                'endpoint': _none_if(fields[2], '(none)'),
                'allowed_ips': allowed.split(',') if allowed else [],
                'latest_handshake': handshake or None,
                'rx_bytes': int(fields[5]),
                'tx_bytes': int(fields[6]),
                'persistent_keepalive': _optional_int(fields[7]),
            })
    except DumpParseError:
        raise
    except ValueError:
        # int()'s message would quote the field, which may be a key: do not chain it.
        raise DumpParseError('malformed number in wg dump') from None
    return {'interface': interface, 'peers': peers}


def peer_status(peers, now, names=None):
    """Add ``node`` (from names: public key -> node) and ``handshake_age`` to parsed peers.

    handshake_age is seconds since the latest handshake (never negative), None if never.
    """
    names = names or {}
    result = []
    for peer in peers:
        item = dict(peer)
        item['node'] = names.get(peer['public_key'])
        handshake = peer['latest_handshake']
        item['handshake_age'] = None if handshake is None else max(0, int(now) - handshake)
        result.append(item)
    return result


def missing_peers(peers, names):
    """Planned peers (names: public key -> node) absent from the live interface."""
    live = set(peer['public_key'] for peer in peers)
    return [{'node': node, 'public_key': key}
            for key, node in sorted(names.items(), key=lambda kv: (str(kv[1]), kv[0]))
            if key not in live]


_PING_COUNTS = re.compile(r'(\d+) packets transmitted, (\d+) (?:packets )?received')
_PING_RTT = re.compile(r'(?:rtt|round-trip) min/avg/max(?:/\w+)? = ([\d.]+)/([\d.]+)/([\d.]+)')


def ping_command(ping, address, count, timeout, interface=None):
    """argv for a short quiet ping burst (0.2 s apart, ``timeout`` s per reply)."""
    argv = [ping, '-c', str(count), '-i', '0.2', '-W', str(timeout), '-q']
    if interface:
        argv += ['-I', interface]
    return argv + [address]


def parse_ping(text):
    """Parse the summary of ``ping -q`` (iputils or busybox).

    Returns transmitted, received, loss_percent (computed from the counts, one
    decimal), latency_min_ms/avg/max (None when nothing came back), or None
    when the text has no summary (e.g. ping failed before sending).
    """
    counts = _PING_COUNTS.search(text)
    if not counts:
        return None
    transmitted, received = int(counts.group(1)), int(counts.group(2))
    loss = 100.0 if transmitted == 0 else round(100.0 * (transmitted - received) / transmitted, 1)
    rtt = _PING_RTT.search(text)
    latency = [float(value) for value in rtt.groups()] if rtt and received else [None, None, None]
    return {
        'transmitted': transmitted,
        'received': received,
        'loss_percent': loss,
        'latency_min_ms': latency[0],
        'latency_avg_ms': latency[1],
        'latency_max_ms': latency[2],
    }
