# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What smite.wgmesh relies on from Backhaul's udp transport: one test per behaviour.

Each test runs against the test double and, when BACKHAUL_BIN names a real Backhaul
v0.7.2 binary, against that binary too (see conftest.py). A behaviour that only one of
them shows is a bug in the double. The tests look at datagrams, sockets, processes and
sysctls only (never at log lines), with every wait on a condition and a deadline.

    BACKHAUL_BIN=/opt/backhaul-real/backhaul .venv/bin/python -m pytest tests/unit/backhaul_double -q
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import functools
import os
import signal
import subprocess
import time

import pytest

# The hard-coded idle timeout of a flow (docs/architecture.md, "Backhaul facts") and the slack the tests allow
# around it; "a few seconds" for a link to come back after a restart.
IDLE = 60.0
RECOVERY = 10.0
# Sysctls Backhaul v0.7.2 rewrites unless skip_optz = true (cmd/optimization.go) that
# belong to a network namespace, so a fresh namespace shows any change.
TUNED_SYSCTLS = (
    "net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout",
    "net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_fastopen", "net.ipv4.tcp_notsent_lowat", "net.core.rmem_max", "net.core.wmem_max",
    "net.core.rmem_default", "net.core.wmem_default",
)


def sleep_until(deadline):
    """The behaviour under test is a timer: let it run out (monotonic deadline)."""
    left = deadline - time.monotonic()
    if left > 0:
        time.sleep(left)


def tunnel_up(lab, bh):
    """Real Backhaul opens its UDP listeners only once a client is in."""
    assert bh.wait_for(lambda: bh.udp_bound(lab.listen, lab.pid), timeout=15), lab.logs()


def refuse_first_delivery(lab, bh, sender, count=1):
    """Send count datagrams while nothing listens on the target, each refused by the kernel
    (ICMP port unreachable) at the client's delivery socket, before the target comes up."""
    def refused_since(before):
        return bh.udp_noports(lab.pid) > before and bh.udp_sockets_to(lab.target, lab.pid)

    for number in range(count):
        before = bh.udp_noports(lab.pid)
        sender.send(b"early%d" % number)
        assert bh.wait_for(functools.partial(refused_since, before), timeout=10), \
            "the client never tried to deliver" + lab.logs()
    return lab.echo()


@pytest.mark.parametrize("config", [None, "[server]\ntransport = \"udp\"\ntoken = \"t0ken\"\nskip_optz = true\n"],
                         ids=["missing-file", "neither-server-nor-client"])
def test_bad_configuration_exits_nonzero(lab, config):
    path = lab.workdir / "bad.toml"
    if config is not None:
        path.write_text(config)
    result = subprocess.run(lab.argv + ["-c", str(path)], capture_output=True, timeout=20, check=False)
    assert result.returncode != 0


def test_ports_delivery_both_ways(lab):
    """A datagram at the server's listener reaches the target through the client; the
    reply comes back to its sender. Each sender is its own flow with its own replies."""
    echo = lab.echo()
    lab.server()
    lab.client()
    first, second = lab.sender(), lab.sender()
    assert first.roundtrip(b"one"), lab.logs()
    assert second.roundtrip(b"two"), lab.logs()
    big = bytes(range(256)) * 5 + b"end"
    assert first.roundtrip(big), lab.logs()
    assert echo.got(b"one") and echo.got(b"two") and echo.got(big)
    # Two senders, two flows: the client delivers each from its own socket.
    assert set(echo.sources(b"one")).isdisjoint(echo.sources(b"two"))
    assert set(echo.sources(b"one")) == set(echo.sources(big))
    first.send(b"only-first")
    assert b"echo:only-first" in first.replies(1.0)
    assert second.replies(0.5) == []


def test_one_client_per_server(lab, bh):
    """A second client gets nothing while the first one is in; it takes over once the
    first is gone. Each client reaches the server through its own relay, which shows
    which client carries the datagrams."""
    lab.echo()
    lab.server()
    path1, path2 = lab.relay(), lab.relay()
    first = lab.client("first", port=path1.port)
    probe = lab.sender()
    assert probe.roundtrip(b"via first"), lab.logs()
    lab.client("second", port=path2.port)
    # The second client keeps trying (each try is a new TCP connection): it is refused.
    assert bh.wait_for(lambda: path2.tcp_connections >= 2, timeout=20), lab.logs()
    for number in range(3):
        fresh = lab.sender()
        assert fresh.roundtrip(b"new flow %d" % number), lab.logs()
        assert probe.roundtrip(b"still via first %d" % number), lab.logs()
    assert path2.carried("up") == [] and path2.carried("down") == []
    assert any(data == b"new flow 2" for data in path1.carried("down"))
    first.stop(signal.SIGKILL)
    # The same sender (WireGuard keeps its port): now through the second client.
    assert probe.roundtrip(b"via second", timeout=20), lab.logs()
    assert any(data == b"via second" for data in path2.carried("down"))


def test_wrong_token_is_refused(lab, bh):
    """A client with another token never carries anything; the right one then does."""
    echo = lab.echo()
    lab.server()
    path = lab.relay()
    lab.client("wrong-token", token="f" * 32, port=path.port)
    assert bh.wait_for(lambda: path.tcp_connections >= 2, timeout=20), lab.logs()
    probe = lab.sender()
    assert not probe.roundtrip(b"nope", timeout=2)
    assert echo.received == [] and path.carried("up") == []
    lab.client("right-token")
    assert probe.roundtrip(b"yes", timeout=15), lab.logs()


def test_udp_transport_adds_no_bytes(lab):
    """Every payload crosses the client-server path as one datagram of the same bytes,
    both ways: the tunnel costs only the outer IP/UDP headers (MTU = path MTU - 60)."""
    lab.echo()
    lab.server()
    path = lab.relay()
    lab.client(port=path.port)
    probe = lab.sender()
    payloads = [b"x" * size for size in (16, 148, 1232, 1280, 1420)]
    for payload in payloads:
        assert probe.roundtrip(payload), lab.logs()
    down, up = path.carried("down"), path.carried("up")
    for payload in payloads:
        assert payload in down, "server->client datagram for %d bytes not carried as is" % len(payload)
        assert b"echo:" + payload in up, "client->server datagram for %d bytes not carried as is" % len(payload)
    carried_sizes = {len(data) for data in down + up}
    assert {len(p) for p in payloads} <= carried_sizes


def test_idle_flow_is_dropped_after_60_s(lab):
    """A flow idle for 60 s is gone (the same sender then gets a new flow, seen as a new
    source at the target); one idle for less, or refreshed, stays."""
    echo = lab.echo()
    lab.server()
    lab.client()
    idle, refreshed = lab.sender(), lab.sender()
    assert idle.roundtrip(b"idle-1"), lab.logs()
    assert refreshed.roundtrip(b"refreshed-1"), lab.logs()
    start = time.monotonic()
    sleep_until(start + IDLE - 10)
    assert refreshed.roundtrip(b"refreshed-2"), lab.logs()
    assert echo.sources(b"refreshed-2") == echo.sources(b"refreshed-1"), "dropped before 60 s idle"
    sleep_until(start + IDLE + 6)
    assert idle.roundtrip(b"idle-2"), lab.logs()
    assert refreshed.roundtrip(b"refreshed-3"), lab.logs()
    assert echo.sources(b"idle-2") != echo.sources(b"idle-1"), "flow idle for more than 60 s was kept"
    assert echo.sources(b"refreshed-3") == echo.sources(b"refreshed-1"), "refreshed flow was dropped"


def test_refused_first_delivery_leaves_flow_half_open(lab, bh):
    """The start-order bug (docs/architecture.md, "Backhaul facts"): the client's first delivery to the target
    is refused (WireGuard not listening yet). Afterwards the server->client direction of
    that flow still delivers, but no reply ever comes back, and keepalives (25 s in
    WireGuard) keep the flow from idling out: half-open for good. New flows work."""
    lab.server()
    lab.client()
    tunnel_up(lab, bh)
    early = lab.sender()
    echo = refuse_first_delivery(lab, bh, early)
    fresh = lab.sender()
    assert fresh.roundtrip(b"fresh-1"), lab.logs()
    end = time.monotonic() + IDLE + 5
    sent, replies = [], []
    while time.monotonic() < end:
        payload = b"keepalive-%d" % len(sent)
        early.send(payload)
        sent.append(payload)
        replies += early.replies(2.5)
    assert replies == [], "the half-open flow answered"
    delivered = [payload for payload in sent if echo.got(payload)]
    assert len(delivered) >= len(sent) - 1, "server->client direction died too"
    assert fresh.roundtrip(b"fresh-2"), lab.logs()


def test_two_refused_deliveries_kill_the_flow(lab, bh):
    """Two refused deliveries (WireGuard retries a handshake every 5 s) end both directions
    of that flow: nothing is delivered, nothing comes back, while the sender keeps it alive."""
    lab.server()
    lab.client()
    tunnel_up(lab, bh)
    early = lab.sender()
    echo = refuse_first_delivery(lab, bh, early, count=2)
    fresh = lab.sender()
    assert fresh.roundtrip(b"fresh"), lab.logs()
    replies = []
    for number in range(5):
        early.send(b"keepalive-%d" % number)
        replies += early.replies(1.0)
    assert replies == []
    assert not any(echo.got(b"keepalive-%d" % number) for number in range(5))


@pytest.mark.parametrize("side", ["server", "client"])
def test_half_open_flow_is_repaired_by_a_restart(lab, bh, side):
    """Restarting either process ends the half-open flow: the same sender then gets
    replies again within a few seconds (what a health check's repair relies on)."""
    procs = {"server": lab.server(), "client": lab.client()}
    tunnel_up(lab, bh)
    early = lab.sender()
    refuse_first_delivery(lab, bh, early)
    assert not early.roundtrip(b"still dead", timeout=2)
    procs[side].stop()
    getattr(lab, side)(side + "-restarted")
    took = early.time_to_roundtrip(b"repaired", timeout=30)
    assert took is not None and took < RECOVERY, "%s restart: %s s" % (side, took) + lab.logs()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "kill"])
@pytest.mark.parametrize("side", ["server", "client"])
def test_traffic_resumes_after_a_restart(lab, side, sig):
    """After a server or client restart (systemctl restart, or a crash and Restart=always)
    the client reconnects by itself and the same sender's traffic passes again."""
    lab.echo()
    procs = {"server": lab.server(), "client": lab.client()}
    probe = lab.sender()
    assert probe.roundtrip(b"before"), lab.logs()
    procs[side].stop(sig)
    getattr(lab, side)(side + "-restarted")
    took = probe.time_to_roundtrip(b"after", timeout=30)
    assert took is not None and took < RECOVERY, "%s restart: %s s" % (side, took) + lab.logs()


def test_config_change_takes_effect_under_systemd(lab, bh):
    """Backhaul re-reads its file when its mtime changes (it looks every 2 s). v0.7.2's
    server often dies doing so ("failed to start listener ... address already in use": a
    restart of the old instance races the new one for the port); under systemd
    (Restart=always) the new ``ports`` target is in effect within seconds either way."""
    old_target = lab.echo()
    server = lab.server()
    lab.client()
    probe = lab.sender()
    assert probe.roundtrip(b"old"), lab.logs()
    lab.target = bh.free_udp_port()
    new_target = lab.echo()
    server.path.write_text(lab.server_config())
    servers = [server]

    def supervised_attempt():
        if not servers[-1].alive():  # what Restart=always does (without its 3 s pause)
            servers.append(lab.run("server-restarted", lab.server_config()))
        return probe.attempt(b"new") and new_target.got(b"new")

    assert bh.wait_for(supervised_attempt, timeout=30, interval=0), lab.logs()
    assert probe.roundtrip(b"after reload"), lab.logs()
    assert new_target.got(b"after reload") and not old_target.got(b"after reload")
    assert all(proc.proc.returncode in (None, 1) for proc in servers), lab.logs()


def _sysctls(run):
    """The namespace's values of TUNED_SYSCTLS (those it has), via run(argv)."""
    values = {}
    for key in TUNED_SYSCTLS:
        result = run(["sysctl", "-n", key])
        if result.returncode == 0:
            values[key] = " ".join(result.stdout.split())
    return values


def _here(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _pair_in_netns(lab, netns_prefix, skip_optz):
    """A server and its client in a fresh network namespace: its sysctls before, the processes."""
    netns = lab.use_netns(netns_prefix)
    before = _sysctls(netns.run)
    assert before, "no sysctl readable in the namespace"
    extra = "skip_optz = %s\n" % ("true" if skip_optz else "false")
    server = lab.run("server", lab.server_config(extra=extra))
    client = lab.run("client", lab.client_config(extra=extra))
    return netns, before, server, client


def test_skip_optz_leaves_sysctls_alone(lab, bh, netns_prefix):
    """With skip_optz = true neither side touches sysctls (checked in a fresh network
    namespace, whose own sysctls would show any write)."""
    host_before = _sysctls(_here)
    netns, before, server, client = _pair_in_netns(lab, netns_prefix, skip_optz=True)
    assert bh.wait_for(lambda: bh.tcp_established(lab.port, netns.pid) or not (server.alive() and client.alive()),
                       timeout=20), lab.logs()
    assert server.alive() and client.alive(), lab.logs()
    assert _sysctls(netns.run) == before
    assert _sysctls(_here) == host_before


def test_without_skip_optz(lab, bh, netns_prefix):
    """Why the collection writes skip_optz = true: without it real Backhaul rewrites the
    sysctls (here only those of a throwaway namespace). The double refuses to run."""
    host_before = _sysctls(_here)
    netns, before, server, client = _pair_in_netns(lab, netns_prefix, skip_optz=False)
    if lab.impl == "double":
        assert server.proc.wait(10) != 0 and client.proc.wait(10) != 0
        assert "skip_optz" in server.log() and "skip_optz" in client.log()
        return
    assert bh.wait_for(lambda: bh.tcp_established(lab.port, netns.pid), timeout=20), lab.logs()
    after = _sysctls(netns.run)
    assert after["net.ipv4.ip_local_port_range"] == "1024 65535" != before["net.ipv4.ip_local_port_range"]
    assert _sysctls(_here) == host_before


SLOW = pytest.mark.skipif(os.environ.get("BACKHAUL_SLOW_TESTS") != "1",
                          reason="takes 2-4 minutes: set BACKHAUL_SLOW_TESTS=1 to run it")


@SLOW
@pytest.mark.parametrize("repair", ["none", "restart-server"])
def test_blackholed_bind_port(lab, netns_prefix, repair):
    """Every packet to and from the server's bind port (TCP and UDP) is lost for 70 s, then
    the path is back. The client notices after at most ~25 s (TCP keepalive: 15 s idle, 9
    probes 1 s apart) and redials; the server notices nothing and keeps the stale control
    connection, so it does not take the client back until a retransmitted heartbeat of that
    connection is reset (40-55 s after the release here; bounded by TCP's 120 s maximum
    retransmission interval). Restarting the server at the release brings the link back
    at once; restarting the client does not help."""
    netns = lab.use_netns(netns_prefix)
    lab.echo()
    server = lab.server()
    lab.client()
    probe = lab.sender()
    assert probe.roundtrip(b"before", timeout=15), lab.logs()
    rules = ("table inet backhaul_blackhole { chain input { type filter hook input priority 0; "
             "tcp dport %(p)d drop; tcp sport %(p)d drop; udp dport %(p)d drop; udp sport %(p)d drop; }; }"
             % {"p": lab.port})
    added = netns.run(["nft", "-f", "-"], input=rules)
    if added.returncode != 0:
        pytest.skip("nft cannot add rules here: %s" % added.stderr.strip())
    release = time.monotonic() + 70
    while time.monotonic() < release:  # WireGuard keeps sending through the outage
        probe.send(b"keepalive")
        probe.replies(min(5.0, max(0.0, release - time.monotonic())))
    assert netns.run(["nft", "delete", "table", "inet", "backhaul_blackhole"]).returncode == 0
    if repair == "restart-server":
        server.stop()
        lab.server("server-restarted")
    took = probe.time_to_roundtrip(b"after", timeout=150)
    assert took is not None, "not back within 150 s of the release" + lab.logs()
    if repair == "restart-server":
        assert took < RECOVERY, "%.1f s" % took
