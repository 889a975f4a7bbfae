# -*- coding: utf-8 -*-
# Copyright (c) 2025 smite.wgmesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harness for the Backhaul contract suite (test_contract.py).

Every contract test takes the ``lab`` fixture, which is parametrized over the
implementations at hand: the test double (tests/backhaul_double/backhaul-double),
always, and the real Backhaul binary named by the environment variable BACKHAUL_BIN,
when it is set (skipped with the reason otherwise). The tests only look at what the
collection relies on from the outside (datagrams in and out, processes, sockets,
sysctls), never at log lines, so the same test holds for both.

Everything listens on 127.0.0.1 with ports the kernel hands out; every process and
socket a test starts is stopped by the fixture. Waits poll a condition with a deadline.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ctypes
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types

import pytest

DOUBLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "backhaul_double", "backhaul-double"))
TOKEN = "0123456789abcdef0123456789abcdef"
MAX_DATAGRAM = 65535

if sys.version_info < (3, 11):
    pytest.skip("the Backhaul double needs Python 3.11+ (tomllib)", allow_module_level=True)


def implementations():
    """pytest params: the double always, the real binary when BACKHAUL_BIN names one."""
    params = [pytest.param(("double", [sys.executable, DOUBLE]), id="double")]
    real = os.environ.get("BACKHAUL_BIN", "")
    if not real:
        reason = "BACKHAUL_BIN is not set: set it to a real Backhaul v0.7.2 binary to run the contract against it"
        params.append(pytest.param(("real", None), id="real", marks=pytest.mark.skip(reason=reason)))
    elif not (os.path.isfile(real) and os.access(real, os.X_OK)):
        reason = "BACKHAUL_BIN=%s is not an executable file" % real
        params.append(pytest.param(("real", None), id="real", marks=pytest.mark.skip(reason=reason)))
    else:
        params.append(pytest.param(("real", [os.path.abspath(real)]), id="real"))
    return params


def wait_for(condition, timeout=10.0, interval=0.05):
    """Poll condition() until it is true or timeout seconds have passed; its last value."""
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
    """A port free on both TCP and UDP: a Backhaul server binds both."""
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


def _proc_net(name, pid="self"):
    """Rows of /proc/PID/net/{tcp,udp} (PID's network namespace) as (local, remote, state)."""
    rows = []
    with open("/proc/%s/net/%s" % (pid, name)) as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            rows.append((_addr(fields[1]), _addr(fields[2]), fields[3]))
    return rows


def _addr(text):
    host, port = text.split(":")
    packed = bytes.fromhex(host)[::-1]
    return socket.inet_ntoa(packed), int(port, 16)


def tcp_listening(port, pid="self"):
    return any(local[1] == port and state == "0A" for local, dummy, state in _proc_net("tcp", pid))


def tcp_established(port, pid="self"):
    """A TCP connection to port is up (in PID's network namespace)."""
    return any(remote[1] == port and state == "01" for dummy, remote, state in _proc_net("tcp", pid))


def udp_bound(port, pid="self"):
    return any(local[1] == port for local, dummy, state in _proc_net("udp", pid))


def udp_sockets_to(port, pid="self"):
    """Local addresses of UDP sockets connected to 127.0.0.1:port (a client's deliveries)."""
    return {local for local, remote, dummy in _proc_net("udp", pid) if remote == ("127.0.0.1", port)}


def udp_noports(pid="self"):
    """Datagrams the namespace received for a UDP port nobody listens on (ICMP unreachable)."""
    with open("/proc/%s/net/snmp" % pid) as handle:
        lines = [line.split() for line in handle if line.startswith("Udp:")]
    return int(lines[1][lines[0].index("NoPorts")])


class Proc:
    """One Backhaul (real or double) process; stdout and stderr go to a log file."""

    def __init__(self, argv, workdir, name, config, prefix=(), env=None):
        self.name = name
        self.path = workdir / (name + ".toml")
        self.path.write_text(config)
        self.logfile = workdir / (name + ".log")
        with open(self.logfile, "ab") as out:
            # cwd: a sniffer log, if ever written, lands in the test's directory.
            self.proc = subprocess.Popen(list(prefix) + argv + ["-c", str(self.path)], cwd=str(workdir),
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=dict(os.environ, **(env or {})))

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        return self.logfile.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)  # in case a test froze it
                self.proc.send_signal(sig)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    close = stop


class Helper:
    """A helper process (e.g. the holder of a network namespace)."""

    def __init__(self, popen):
        self.proc = popen

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Echo:
    """UDP echo standing in for the client side's WireGuard ListenPort.

    Records every datagram with its source address: the source is the client's
    per-flow socket, so a new source port means the client made a new flow.
    """

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.1)
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append((data, addr))
            try:
                self.sock.sendto(b"echo:" + data, addr)
            except OSError:
                pass

    def sources(self, payload):
        return [addr for data, addr in self.received if data == payload]

    def got(self, payload):
        return any(data == payload for data, dummy in self.received)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class Sender:
    """The server side's WireGuard: one UDP socket (one source port, so one flow)."""

    def __init__(self, dest):
        self.dest = dest
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)

    def send(self, payload):
        try:
            self.sock.sendto(payload, self.dest)
        except ConnectionRefusedError:
            pass  # ICMP from an earlier datagram (a real server binds its listener late)

    def replies(self, wait=0.2):
        """Every datagram that arrives within wait seconds."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            self.sock.settimeout(left)
            try:
                out.append(self.sock.recv(MAX_DATAGRAM))
            except socket.timeout:
                return out
            except ConnectionRefusedError:
                continue
            finally:
                self.sock.settimeout(0.2)

    def attempt(self, payload):
        """Send once; True when its echo comes back within 0.2 s."""
        self.send(payload)
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            try:
                if self.sock.recv(MAX_DATAGRAM) == b"echo:" + payload:
                    return True
            except socket.timeout:
                return False
            except ConnectionRefusedError:
                continue
        return False

    def roundtrip(self, payload, timeout=10.0):
        """Send until the echo of payload comes back (the tunnel may be coming up)."""
        return wait_for(lambda: self.attempt(payload), timeout=timeout, interval=0)

    def time_to_roundtrip(self, payload, timeout=30.0):
        start = time.monotonic()
        return time.monotonic() - start if self.roundtrip(payload, timeout) else None

    def close(self):
        self.sock.close()


class Relay:
    """TCP+UDP relay between a client and its server: a path we can watch.

    The client dials the relay's port (its remote_addr); the relay carries each TCP
    connection and each UDP source to the server's bind port. ``datagrams`` records
    every UDP datagram carried as (direction, bytes), direction "up" (client to
    server) or "down"; ``tcp_connections`` counts the TCP connections made through it.
    """

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = free_tcp_udp_port()
        self.tcp = socket.create_server(("127.0.0.1", self.port))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.tcp, selectors.EVENT_READ, self.on_accept)
        self.sel.register(self.udp, selectors.EVENT_READ, self.on_client_datagram)
        self.by_client, self.pipes = {}, {}
        self.datagrams, self.tcp_connections = [], 0
        self.running = True
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            for key, dummy in self.sel.select(0.1):
                try:
                    key.data(key.fileobj)
                except OSError:
                    pass

    def on_accept(self, sock):
        conn, dummy = sock.accept()
        try:
            upstream = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            conn.close()
            return
        conn.setblocking(False)
        upstream.setblocking(False)
        self.tcp_connections += 1
        self.pipes[conn] = upstream
        self.pipes[upstream] = conn
        for end in (conn, upstream):
            self.sel.register(end, selectors.EVENT_READ, self.copy_tcp)

    def copy_tcp(self, sock):
        other = self.pipes.get(sock)
        if other is None:
            return
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close_pipe(sock)
            return
        try:
            other.setblocking(True)
            other.sendall(data)
            other.setblocking(False)
        except OSError:
            self.close_pipe(sock)

    def close_pipe(self, sock):
        other = self.pipes.pop(sock, None)
        for end in (sock, other):
            if end is None:
                continue
            self.pipes.pop(end, None)
            try:
                self.sel.unregister(end)
            except (KeyError, ValueError):
                pass
            end.close()

    def on_client_datagram(self, sock):
        data, client = sock.recvfrom(MAX_DATAGRAM)
        upstream = self.by_client.get(client)
        if upstream is None:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.bind(("127.0.0.1", 0))
            upstream.connect(self.upstream)
            self.by_client[client] = upstream
            self.sel.register(upstream, selectors.EVENT_READ, lambda s, c=client: self.on_server_datagram(s, c))
        with self.lock:
            self.datagrams.append(("up", data))
        try:
            upstream.send(data)
        except OSError:
            pass

    def on_server_datagram(self, sock, client):
        try:
            data = sock.recv(MAX_DATAGRAM)
        except OSError:
            return
        with self.lock:
            self.datagrams.append(("down", data))
        self.udp.sendto(data, client)

    def carried(self, direction):
        with self.lock:
            return [data for way, data in self.datagrams if way == direction]

    def close(self):
        self.running = False
        self.thread.join(2)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


class Netns:
    """A fresh network namespace (lo up) for the whole of one test: Backhaul processes
    run in it through ``prefix``, the test's own sockets are made in it by ``call``
    (setns() in a helper thread: a socket stays in the namespace it was made in), and
    nft rules in it touch nothing outside."""

    CLONE_NEWNET = 0x40000000

    def __init__(self, lab, unshare_prefix):
        self.holder = lab.track_process(subprocess.Popen(unshare_prefix + ["sleep", "3600"],
                                                         stdin=subprocess.DEVNULL))
        self.pid = self.holder.pid
        ours = os.readlink("/proc/self/ns/net")
        assert wait_for(lambda: self.holder.poll() is None and os.readlink("/proc/%d/ns/net" % self.pid) != ours
                        and "LOOPBACK,UP" in self.run(["ip", "-o", "link", "show", "lo"]).stdout, timeout=10), \
            "could not make a network namespace"
        self.prefix = ["nsenter", "-t", str(self.pid), "-n"]

    def run(self, argv, **kwargs):
        """Run a command in the namespace (e.g. sysctl, nft)."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n"] + argv, capture_output=True, text=True,
                              timeout=30, check=False, **kwargs)

    def call(self, function, *args):
        """function(*args), run by a thread inside the namespace; its result."""
        result = {}

        def inside():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open("/proc/%d/ns/net" % self.pid, os.O_RDONLY)
            try:
                if libc.setns(fd, self.CLONE_NEWNET) != 0:
                    result["error"] = OSError(ctypes.get_errno(), "setns failed")
                    return
            finally:
                os.close(fd)
            try:
                result["value"] = function(*args)
            except (OSError, AssertionError, ValueError) as exc:
                result["error"] = exc

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]


class Lab:
    """One server/client pair under test, and everything around it."""

    def __init__(self, impl, argv, workdir):
        self.impl, self.argv, self.workdir = impl, argv, workdir
        self.port = free_tcp_udp_port()   # the server's bind port (TCP and UDP)
        self.listen = free_udp_port()     # the server's `ports` listener
        self.target = free_udp_port()     # where the client delivers (WireGuard's port)
        self.started = []
        self.count = 0
        self.netns = None  # set by use_netns(): everything then runs inside it

    def use_netns(self, unshare_prefix):
        """Run this lab's processes and sockets in a fresh network namespace from now on."""
        self.netns = Netns(self, unshare_prefix)
        return self.netns

    def _here(self, function, *args):
        return self.netns.call(function, *args) if self.netns else function(*args)

    @property
    def pid(self):
        """Whose /proc/PID/net to read: the namespace's holder, or ourselves."""
        return self.netns.pid if self.netns else "self"

    @property
    def dest(self):
        return ("127.0.0.1", self.listen)

    def _track(self, item):
        self.started.append(item)
        return item

    def server_config(self, token=TOKEN, extra=""):
        return ("[server]\n"
                'bind_addr = "127.0.0.1:%d"\n'
                'transport = "udp"\n'
                'token = "%s"\n'
                "heartbeat = 20\n"
                "channel_size = 2048\n"
                "sniffer = false\n"
                "web_port = 0\n"
                "%s"
                'log_level = "info"\n'
                'ports = ["127.0.0.1:%d=127.0.0.1:%d"]\n'
                % (self.port, token, extra or "skip_optz = true\n", self.listen, self.target))

    def client_config(self, token=TOKEN, port=None, extra=""):
        return ("[client]\n"
                'remote_addr = "127.0.0.1:%d"\n'
                'transport = "udp"\n'
                'token = "%s"\n'
                "retry_interval = 1\n"
                "sniffer = false\n"
                "web_port = 0\n"
                "%s"
                'log_level = "info"\n'
                % (port or self.port, token, extra or "skip_optz = true\n"))

    def run(self, name, config, prefix=None, env=None):
        self.count += 1
        if prefix is None:
            prefix = self.netns.prefix if self.netns else ()
        return self._track(Proc(self.argv, self.workdir, "%02d-%s" % (self.count, name), config, prefix, env))

    def server(self, name="server", token=TOKEN, wait=True, env=None):
        proc = self.run(name, self.server_config(token), env=env)
        # Real Backhaul opens its TCP port at once, its UDP ports only once a client is in.
        if wait:
            assert wait_for(lambda: tcp_listening(self.port, self.pid) or not proc.alive()), proc.log()
            assert proc.alive(), proc.log()
        return proc

    def client(self, name="client", token=TOKEN, port=None, env=None):
        return self.run(name, self.client_config(token, port), env=env)

    def echo(self):
        return self._track(self._here(Echo, self.target))

    def track_process(self, popen):
        """Any other process the test starts: terminated at cleanup."""
        self._track(Helper(popen))
        return popen

    def sender(self):
        return self._track(self._here(Sender, self.dest))

    def relay(self):
        return self._track(self._here(Relay, self.port))

    def logs(self):
        return "".join("\n--- %s (%s)\n%s" % (item.name, self.impl, item.log())
                       for item in self.started if isinstance(item, Proc))

    def cleanup(self):
        # Ask every process to stop at once (each takes about 1 s to exit), then close all.
        for item in self.started:
            if isinstance(item, Proc) and item.alive():
                item.proc.send_signal(signal.SIGCONT)
                item.proc.send_signal(signal.SIGTERM)
        for item in reversed(self.started):
            try:
                item.close()
            except OSError:
                pass


@pytest.fixture(params=implementations())
def impl(request):
    """(name, argv) of one Backhaul implementation."""
    return request.param


@pytest.fixture
def lab(impl, tmp_path):
    """A Lab for the implementation; stops every process and socket it started."""
    name, argv = impl
    lab = Lab(name, argv, tmp_path)
    try:
        yield lab
    finally:
        lab.cleanup()


@pytest.fixture
def bh():
    """The harness's helpers, for test modules (which cannot import conftest)."""
    return types.SimpleNamespace(wait_for=wait_for, udp_bound=udp_bound, udp_noports=udp_noports,
                                 udp_sockets_to=udp_sockets_to, tcp_listening=tcp_listening,
                                 tcp_established=tcp_established, free_udp_port=free_udp_port)


@pytest.fixture
def double_lab(tmp_path):
    """A Lab for the test double alone (tests of what only the double has)."""
    lab = Lab("double", [sys.executable, DOUBLE], tmp_path)
    try:
        yield lab
    finally:
        lab.cleanup()


@pytest.fixture
def netns_prefix():
    """Command prefix that runs a process in a fresh network namespace with lo up
    (for Lab.use_netns); skips the test where that cannot be done."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip to make a network namespace")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("cannot create a network namespace here: %s" % probe.stderr.decode(errors="replace").strip())
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "netns"]
