# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Backhaul test double (tests/backhaul_double/backhaul-double) against DESIGN.md section 3.

Everything runs on loopback with free ports; every wait is on a condition with a timeout.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

DOUBLE = os.path.join(os.path.dirname(__file__), "..", "..", "backhaul_double", "backhaul-double")
TOKEN = "0123456789abcdef0123456789abcdef"

if sys.version_info < (3, 11):
    pytest.skip("the Backhaul double needs Python 3.11+ (tomllib)", allow_module_level=True)


def wait_for(condition, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_tcp_udp_port():
    """A port free on both TCP and UDP: the server binds both."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Proc:
    """One double process; its combined output goes to a file we can poll."""

    def __init__(self, tmp_path, name, config, env=None):
        self.path = tmp_path / (name + ".toml")
        self.path.write_text(config)
        self.logfile = tmp_path / (name + ".log")
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, DOUBLE, "-c", str(self.path)],
                                         stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))

    def log(self):
        return self.logfile.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Echo:
    """UDP echo server standing in for WireGuard's ListenPort."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append(data)
            self.sock.sendto(b"echo:" + data, addr)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def idle(seconds):
    return {"BACKHAUL_DOUBLE_IDLE_TIMEOUT": str(seconds)}


def sender():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    return sock


def roundtrip(sock, dest, payload, timeout=10.0):
    """Send until the echo of payload comes back (the tunnel may still be coming up)."""
    def attempt():
        sock.sendto(payload, dest)
        try:
            while True:
                data = sock.recv(65535)
                if data == b"echo:" + payload:
                    return True
        except socket.timeout:
            return False
    return wait_for(attempt, timeout=timeout, interval=0)


def server_config(port, listen, target, token=TOKEN):
    # The keys smite.wgmesh writes, plus some it does not: the double ignores them all.
    return f"""
[server]
bind_addr = "0.0.0.0:{port}"
transport = "udp"
token = "{token}"
heartbeat = 20
channel_size = 2048
keepalive_period = 75
nodelay = true
sniffer = false
sniffer_log = "/nonexistent/backhaul.json"
web_port = 0
skip_optz = true
log_level = "info"
ports = ["127.0.0.1:{listen}=127.0.0.1:{target}"]
"""


def client_config(port, token=TOKEN):
    return f"""
[client]
remote_addr = "127.0.0.1:{port}"
transport = "udp"
token = "{token}"
retry_interval = 1
connection_pool = 8
sniffer = false
web_port = 0
skip_optz = true
log_level = "info"
"""


@pytest.fixture
def lab(tmp_path):
    """Ports, a process launcher and cleanup of everything started."""
    started = []

    class Lab:
        port = free_tcp_udp_port()
        listen = free_udp_port()
        target = free_udp_port()

        def start(self, name, config, env):
            proc = Proc(tmp_path, name, config, env)
            started.append(proc)
            return proc

        def server(self, name="server", env=None, token=TOKEN):
            proc = self.start(name, server_config(self.port, self.listen, self.target, token), env)
            assert wait_for(lambda: "server listening" in proc.log()), proc.log()
            return proc

        def client(self, name="client", env=None, token=TOKEN):
            return self.start(name, client_config(self.port, token), env)

        def echo(self):
            echo = Echo(self.target)
            started.append(echo)
            return echo

        @property
        def dest(self):
            return ("127.0.0.1", self.listen)

    yield Lab()
    for item in reversed(started):
        item.close() if isinstance(item, Echo) else item.stop()


@pytest.mark.parametrize("config, message", [
    ("[server]\ntransport = \"udp\"\ntoken = \"t\"\n", "neither server nor client"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"carrier-pigeon\"\ntoken = \"t\"\n",
     "unknown transport"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntoken = \"t\"\n", "unknown transport"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"tcpmux\"\ntoken = \"t\"\n",
     "not implemented by the test double"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\ntransport = \"udp\"\n", "missing token"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\ntransport = \"udp\"\ntoken = \"\"\n", "missing token"),
    ("[client]\nremote_addr = \"127.0.0.1:1\"\ntransport = \"udp\"\ntoken = \"musix\"\n",
     "default token"),
    ("[server]\nbind_addr = \"0.0.0.0:1\"\ntransport = \"udp\"\ntoken = \"t\"\nports = [\"443-600\"]\n",
     "port ranges"),
    ("[server]\nbind_addr = \"0.0.0.0\"\ntransport = \"udp\"\ntoken = \"t\"\n", "invalid address"),
    ("[server\nbind_addr = 1\n", "failed to load configuration"),
])
def test_config_refusals(tmp_path, config, message):
    path = tmp_path / "bad.toml"
    path.write_text(config)
    result = subprocess.run([sys.executable, DOUBLE, "-c", str(path)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_missing_config_file_fails(tmp_path):
    result = subprocess.run([sys.executable, DOUBLE, "-c", str(tmp_path / "absent.toml")],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode != 0
    assert "failed to load configuration" in result.stderr


def test_datagrams_reach_target_and_replies_come_back(lab):
    echo = lab.echo()
    server, client = lab.server(), lab.client()
    first, second = sender(), sender()
    try:
        assert roundtrip(first, lab.dest, b"one"), server.log() + client.log()
        assert roundtrip(second, lab.dest, b"two")
        # Each source is its own flow and gets only its own replies.
        first.sendto(b"again", lab.dest)
        assert first.recv(65535) == b"echo:again"
        assert b"one" in echo.received and b"two" in echo.received
        assert "flow 1 new" in server.log() and "flow 2 new" in server.log()
    finally:
        first.close()
        second.close()


def test_server_takes_exactly_one_client(lab):
    lab.echo()
    server = lab.server()
    first = lab.client("first")
    probe = sender()
    try:
        assert roundtrip(probe, lab.dest, b"via first")
        second = lab.client("second")
        assert wait_for(lambda: "ERR busy" in second.log()), second.log()
        assert "exactly one client" in server.log()
        assert roundtrip(probe, lab.dest, b"still via first")
        # The second client keeps retrying and takes over once the first is gone.
        first.stop()
        assert roundtrip(probe, lab.dest, b"via second", timeout=15), second.log()
        assert wait_for(lambda: "connected to" in second.log())
    finally:
        probe.close()


def test_wrong_token_is_rejected(lab):
    echo = lab.echo()
    server = lab.server()
    client = lab.client(token="f" * 32)
    probe = sender()
    try:
        assert wait_for(lambda: "ERR token" in client.log()), client.log()
        assert "bad token" in server.log()
        assert not roundtrip(probe, lab.dest, b"nope", timeout=1.5)
        assert echo.received == []
    finally:
        probe.close()


def test_idle_flow_is_dropped(lab):
    lab.echo()
    server, client = lab.server(env=idle(1)), lab.client(env=idle(1))
    probe = sender()
    try:
        assert roundtrip(probe, lab.dest, b"first")
        assert wait_for(lambda: "flow 1 idle, dropped" in server.log()), server.log()
        assert wait_for(lambda: "flow 1 idle, dropped" in client.log()), client.log()
        # The same source after the drop is a new flow, and it works.
        assert roundtrip(probe, lab.dest, b"second")
        assert "flow 2 new" in server.log()
    finally:
        probe.close()


def test_refused_first_delivery_leaves_flow_half_open(lab):
    """WireGuard not listening yet when the first datagram arrives: the start-order bug."""
    timeout = 2
    server, client = lab.server(env=idle(timeout)), lab.client(env=idle(timeout))
    early = sender()
    try:
        # Nothing listens on the target yet: wait until the client has had a refusal.
        assert wait_for(lambda: (early.sendto(b"early", lab.dest), "half-open" in client.log())[1]), \
            server.log() + client.log()
        echo = lab.echo()
        # Server->client still delivers (keepalives keep the flow alive past the idle
        # timeout) but no reply ever comes back on this flow.
        deadline = time.monotonic() + timeout * 2
        replies = 0
        while time.monotonic() < deadline:
            early.sendto(b"keepalive", lab.dest)
            try:
                early.recv(65535)
                replies += 1
            except socket.timeout:
                pass
        assert b"keepalive" in echo.received
        assert replies == 0
        assert "idle, dropped" not in server.log()
        # A new flow works; the stuck one heals only after it idles out.
        fresh = sender()
        try:
            assert roundtrip(fresh, lab.dest, b"fresh")
        finally:
            fresh.close()
        assert wait_for(lambda: "flow 1 idle, dropped" in server.log(), timeout=timeout * 5)
        assert roundtrip(early, lab.dest, b"healed")
    finally:
        early.close()


def test_client_reconnects_after_server_restart(lab):
    lab.echo()
    server, client = lab.server(), lab.client()
    probe = sender()
    try:
        assert roundtrip(probe, lab.dest, b"before")
        server.stop()
        assert wait_for(lambda: "reconnecting" in client.log()), client.log()
        lab.server("server2")
        assert roundtrip(probe, lab.dest, b"after", timeout=15), client.log()
    finally:
        probe.close()


def test_silent_peers_are_dropped(lab):
    """A peer that vanishes without closing its connection (host down) is given up on."""
    quick = {"BACKHAUL_DOUBLE_PEER_TIMEOUT": "2"}
    lab.echo()
    server, first = lab.server(env=quick), lab.client("first", env=quick)
    probe = sender()
    try:
        assert roundtrip(probe, lab.dest, b"via first")
        first.proc.send_signal(signal.SIGSTOP)  # its sockets stay open, it says nothing
        second = lab.client("second", env=quick)
        assert wait_for(lambda: "client silent" in server.log()), server.log()
        assert roundtrip(probe, lab.dest, b"via second", timeout=15), second.log()
        first.proc.send_signal(signal.SIGCONT)

        server.proc.send_signal(signal.SIGSTOP)
        assert wait_for(lambda: "server silent" in second.log()), second.log()
        server.proc.send_signal(signal.SIGCONT)
        assert roundtrip(probe, lab.dest, b"after", timeout=15), second.log()
    finally:
        probe.close()
